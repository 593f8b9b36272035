// Standalone oidc-provider (stock in-memory adapter) for load tests.
// Port 3000: provider. Port 3001 (GET /mint?n=64): mints n refresh tokens (one Grant each) without a browser.
// latchkey's bench/ copy adds a relying party for whole authorization code flows (bench/whole_flow.sh):
// client `rp-1` (client_secret_basic, PKCE, RS256 ID tokens (ID_TOKEN_ALG), redirect http://localhost:3999/cb) and the
// provider's devInteractions pages (sign-in: any login and password; consent: "Continue"). A returning
// user (the `_session` cookie, a grant for the client) gets a code with no page: the stock
// loadExistingGrant finds the session's grant for the client.
import http from 'node:http';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

const PORT = Number(process.env.PEER_PORT ?? 3000);
const ISSUER = `http://127.0.0.1:${PORT}`;
const API = 'https://api.example';
const OPAQUE = 'urn:example:opaque-api';

function jwk(type, opts, alg, kid) {
  const { privateKey } = crypto.generateKeyPairSync(type, opts);
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid };
}
const jwks = {
  keys: [
    jwk('ec', { namedCurve: 'P-256' }, 'ES256', 'es256'),
    jwk('rsa', { modulusLength: 2048 }, 'RS256', 'rs256'),
    jwk('ed25519', {}, 'EdDSA', 'eddsa'),
  ],
};

const AT_ALG = process.env.AT_ALG || 'ES256';
// The relying party's ID token algorithm (whole_flow.sh's ID_TOKEN_ALG): RS256, the OIDC default.
const ID_TOKEN_ALG = process.env.ID_TOKEN_ALG || 'RS256';

const configuration = {
  clients: [{
    client_id: 'client-1',
    client_secret: 'secret-1',
    grant_types: ['client_credentials', 'refresh_token'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'api:read api:write',
  }, {
    client_id: 'rp-1',
    client_secret: 'rp-secret-1',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: ['http://localhost:3999/cb'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: ID_TOKEN_ALG,
    scope: 'openid',
  }],
  pkce: { required: () => true },
  jwks,
  scopes: ['openid', 'offline_access', 'api:read', 'api:write'],
  cookies: { keys: ['perf-cookie-key-1'] },
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
  rotateRefreshToken: true,
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // The sign-in client gets userinfo tokens (no resource), as latchkey's RP does.
      defaultResource: async (ctx, client, oneOf) => (client?.clientId === 'rp-1' ? undefined : (oneOf ? oneOf[0] : API)),
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, resourceIndicator) => {
        if (resourceIndicator === OPAQUE) {
          return { scope: 'api:read api:write', audience: OPAQUE, accessTokenFormat: 'opaque', accessTokenTTL: 3600 };
        }
        if (resourceIndicator === API) {
          return { scope: 'api:read api:write', audience: API, accessTokenFormat: 'jwt', accessTokenTTL: 3600, jwt: { sign: { alg: AT_ALG } } };
        }
        throw new Provider.errors.InvalidTarget();
      },
    },
  },
};

const provider = new Provider(ISSUER, configuration);
provider.on('server_error', (ctx, err) => console.error('server_error', err));
if (process.env.DEBUG_GRANT) provider.on('grant.error', (ctx, err) => console.error('grant.error', err.message, err.error_detail));
provider.listen(PORT, '127.0.0.1', () => console.log(`oidc-provider ${ISSUER} pid=${process.pid} AT_ALG=${AT_ALG}`));

let seq = 0;
async function mint(n) {
  const client = await provider.Client.find('client-1');
  const out = [];
  for (let i = 0; i < n; i += 1) {
    const accountId = `user-${seq += 1}`;
    const grant = new provider.Grant({ accountId, clientId: 'client-1' });
    grant.addResourceScope(API, 'api:read api:write');
    const grantId = await grant.save();
    const rt = new provider.RefreshToken({
      accountId, client, grantId, gty: 'authorization_code', scope: 'api:read api:write', resource: API,
    });
    out.push(await rt.save());
  }
  return out;
}

http.createServer(async (req, res) => {
  try {
    const u = new URL(req.url, 'http://x');
    if (u.pathname === '/mint') {
      const toks = await mint(Number(u.searchParams.get('n') || 64));
      res.end(`${toks.join('\n')}\n`);
      return;
    }
    res.statusCode = 404; res.end();
  } catch (e) { console.error(e); res.statusCode = 500; res.end(String(e)); }
}).listen(Number(process.env.PEER_MINT_PORT ?? 3001), '127.0.0.1');
