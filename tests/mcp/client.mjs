// The official MCP TypeScript SDK as an MCP client of an MCP server that
// latchkey protects, driven by tests/integration/mcp.rs:
//
//   node client.mjs <MCP server URL, e.g. http://127.0.0.1:9091/mcp>
//
// The SDK does the authorization on its own: the server's 401 points it at
// the protected resource metadata (RFC 9728), that at latchkey, whose
// metadata (RFC 8414) gives the registration endpoint (RFC 7591) and the
// code flow with PKCE and `resource` (RFC 8707). The user's browser is the
// test's: the authorization URL is printed, and the code comes back to a
// loopback callback server of this process (RFC 8252).
//
// One line per step on stdout, `TAG <value>`:
//   REGISTERED <client_id>   the client registered itself
//   AUTHORIZE <url>          open this in the browser
//   TOKEN <access token>     each access token the SDK saved
//   RESULT <json>            tools listed and `whoami` called with the first token
//   REFRESHED <json>         after the access token was spoiled: the SDK
//                            refreshed it and the calls went through
//   ERROR <json string>      anything else (then the exit status is 1)
// It exits when its stdin closes (so it does not outlive the test).

import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const say = (tag, value) => process.stdout.write(`${tag} ${typeof value === 'string' ? value : JSON.stringify(value)}\n`);

process.stdin.on('end', () => process.exit(2));
process.stdin.resume();

/**
 * A loopback server for the redirect: `code` resolves with the authorization
 * code of a callback whose `state` is `expected.state`.
 */
function callbackServer() {
  const expected = { state: undefined };
  let arrived;
  const code = new Promise((resolve, reject) => (arrived = { resolve, reject }));
  code.catch(() => {}); // a refusal before it is awaited is still thrown where it is
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname !== '/callback') {
      res.writeHead(404).end();
      return;
    }
    const params = url.searchParams;
    let refused;
    if (params.get('error')) refused = params.get('error');
    else if (!expected.state || params.get('state') !== expected.state) refused = 'state mismatch';
    else if (!params.get('code')) refused = 'no code';
    res.writeHead(refused ? 400 : 200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(refused ? '<p>Authorization failed.</p>' : '<p>Signed in to the MCP client. You can close this window.</p>');
    if (refused) arrived.reject(new Error(`authorization callback: ${refused} (${params})`));
    else arrived.resolve(params.get('code'));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, code, expected })));
}

/** Everything the SDK keeps, in memory. */
class InMemoryProvider {
  constructor(redirectUrl, expected) {
    this.redirectUrl = redirectUrl;
    this.expected = expected;
    this.authorizations = 0;
  }

  get clientMetadata() {
    return {
      client_name: 'MCP SDK test client',
      redirect_uris: [this.redirectUrl],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    };
  }

  state() {
    this.expected.state = randomBytes(16).toString('base64url');
    return this.expected.state;
  }

  clientInformation() {
    return this.client;
  }

  saveClientInformation(client) {
    if (!this.client) say('REGISTERED', client.client_id);
    this.client = client;
  }

  tokens() {
    return this.savedTokens;
  }

  saveTokens(tokens) {
    this.savedTokens = tokens;
    say('TOKEN', tokens.access_token);
  }

  redirectToAuthorization(url) {
    // The user signs in once; a second authorization means a refresh failed.
    if (this.authorizations++ > 0) throw new Error(`the SDK asked for another authorization: ${url}`);
    say('AUTHORIZE', url.href);
  }

  saveCodeVerifier(verifier) {
    this.verifier = verifier;
  }

  codeVerifier() {
    return this.verifier;
  }

  invalidateCredentials(scope) {
    process.stderr.write(`the SDK invalidated credentials: ${scope}\n`);
    if (scope === 'all' || scope === 'client') this.client = undefined;
    if (scope === 'all' || scope === 'tokens') this.savedTokens = undefined;
  }
}

async function main() {
  const target = process.argv[2];
  if (!target) throw new Error('usage: node client.mjs <MCP server URL>');
  const serverUrl = new URL(target);
  const { server, code, expected } = await callbackServer();
  try {
    const provider = new InMemoryProvider(`http://127.0.0.1:${server.address().port}/callback`, expected);

    // No token: 401, discovery, registration, and the authorization URL.
    const first = new StreamableHTTPClientTransport(serverUrl, { authProvider: provider });
    try {
      await new Client({ name: 'latchkey-mcp-test', version: '1.0.0' }).connect(first);
      throw new Error('the MCP server let a client without a token in');
    } catch (e) {
      if (!(e instanceof UnauthorizedError)) throw e;
    }
    await first.finishAuth(await code);

    // With the token.
    const transport = new StreamableHTTPClientTransport(serverUrl, { authProvider: provider });
    const mcp = new Client({ name: 'latchkey-mcp-test', version: '1.0.0' });
    await mcp.connect(transport);
    const { tools } = await mcp.listTools();
    const whoami = await mcp.callTool({ name: 'whoami', arguments: {} });
    say('RESULT', { protocolVersion: transport.protocolVersion, tools: tools.map((t) => t.name), whoami });

    // A spoiled access token: the server answers 401, the SDK refreshes and retries.
    const before = provider.tokens();
    provider.savedTokens = { ...before, access_token: 'spoiled-by-the-test' };
    const added = await mcp.callTool({ name: 'add_note', arguments: { text: 'written after a refresh' } });
    const notes = await mcp.callTool({ name: 'list_notes', arguments: {} });
    const after = provider.tokens();
    say('REFRESHED', { changed: after.access_token !== before.access_token, rotated: after.refresh_token !== before.refresh_token, added, notes });
    await mcp.close();
  } finally {
    server.close();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    say('ERROR', JSON.stringify(String(e?.stack ?? e)));
    process.exit(1);
  },
);
