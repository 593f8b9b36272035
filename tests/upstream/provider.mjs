// node-oidc-provider as the upstream OpenID provider of latchkey's federation
// tests (driven by tests/integration/support/upstream.rs):
//   node provider.mjs '{"port": 0, "clients": [...], "accounts": {...}}'
//     -> prints one line `READY http://127.0.0.1:<port>` once listening
// It runs until killed, or until its stdin closes: the test holds that pipe, so
// a test process that dies takes this one with it.
//
// Sign-in goes through the library's development pages: a login form (`login`
// is the account's key in "accounts", any password) then a consent form. An
// unknown login signs in as `{sub: login}` with no other claims.
import crypto from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const config = JSON.parse(process.argv[2] ?? '{}');
const accounts = config.accounts ?? {};

function jwk(type, opts, alg) {
  const { privateKey } = crypto.generateKeyPairSync(type, opts);
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: alg.toLowerCase() };
}

// The port first (0 picks a free one), then the provider under its real issuer.
const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(config.port ?? 0, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: (config.clients ?? []).map((c) => ({
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    post_logout_redirect_uris: [],
    // With back-channel logout, `sid` in ID and logout tokens (as most providers do).
    backchannel_logout_session_required: Boolean(c.backchannel_logout_uri),
    ...c,
  })),
  jwks: {
    keys: [
      jwk('rsa', { modulusLength: 2048 }, 'RS256'),
      jwk('ec', { namedCurve: 'P-256' }, 'ES256'),
    ],
  },
  scopes: ['openid', 'email', 'profile', 'offline_access'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  // Email and name in the ID token too, not only at userinfo.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  cookies: { keys: ['latchkey-upstream-test-cookie-key'] },
  // latchkey runs on loopback in the tests; the library refuses to post
  // back-channel logout tokens to special-use addresses (its SSRF guard).
  // Test-only: drop that guard for outgoing requests.
  fetch: (url, options) => {
    delete options.dispatcher;
    return fetch(url, options);
  },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    backchannelLogout: { enabled: true },
  },
  // `id` is the sub (the login was mapped to it below); the library puts
  // `accountId` in `sub`.
  async findAccount(ctx, id) {
    const account = Object.values(accounts).find((a) => a.sub === id) ?? {};
    return {
      accountId: id,
      async claims() {
        const claims = { sub: id };
        for (const k of ['email', 'email_verified', 'name']) {
          if (account[k] !== undefined && account[k] !== null) claims[k] = account[k];
        }
        return claims;
      },
    };
  },
});
// The development login form signs in whatever was typed as the account id
// (the sub); map a configured login to its sub first. The form is read here,
// and the library takes an already parsed body as it is.
provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && ctx.path.startsWith('/interaction/') && ctx.is('application/x-www-form-urlencoded')) {
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()));
    if (form.prompt === 'login' && Object.hasOwn(accounts, form.login)) form.login = accounts[form.login].sub;
    ctx.request.body = form;
  }
  await next();
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.on('backchannel.error', (ctx, err, client) => console.error('backchannel.error', client.clientId, err.message, err.cause && (err.cause.code || err.cause.message)));
provider.on('backchannel.success', (ctx, client) => console.error('backchannel.success', client.clientId));
provider.on('end_session.success', () => console.error('end_session.success'));

server.on('request', provider.callback());
console.log(`READY ${issuer}`);

process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
