// A relying party built on openid-client (Node), in two steps around the
// browser sign-in that the Rust test drives:
//   node rp.mjs start  <issuer> <client_id> <secret> <redirect_uri> [par]
//     -> {"url", "verifier", "state", "nonce"}
//   node rp.mjs finish <issuer> <client_id> <secret> <redirect_uri> <callback_url> <verifier> <state> <nonce> [dpop]
//     -> what the library checked and got (sub, userinfo, refresh, revocation, logout URL)
// With `dpop`, every token, userinfo and refresh request carries the
// library's DPoP proofs (a fresh ES256 key; server nonces handled by it).
// Every check is the library's own: discovery, PKCE, state, iss (RFC 9207),
// ID token signature / iss / aud / nonce / exp, userinfo sub.
import * as client from 'openid-client';

const [mode, issuer, clientId, secret, redirectUri, ...rest] = process.argv.slice(2);

async function config() {
  // The test server is http://localhost: allowed explicitly, as the library requires.
  return client.discovery(new URL(issuer), clientId, secret, undefined, { execute: [client.allowInsecureRequests] });
}

async function start(usePar) {
  const cfg = await config();
  const verifier = client.randomPKCECodeVerifier();
  const params = {
    redirect_uri: redirectUri,
    scope: 'openid profile email offline_access',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: client.randomState(),
    nonce: client.randomNonce(),
  };
  const url = usePar ? await client.buildAuthorizationUrlWithPAR(cfg, params) : client.buildAuthorizationUrl(cfg, params);
  return { url: url.href, verifier, state: params.state, nonce: params.nonce };
}

async function finish([callback, verifier, state, nonce, mode]) {
  const cfg = await config();
  const DPoP = mode === 'dpop' ? client.getDPoPHandle(cfg, await client.randomDPoPKeyPair('ES256')) : undefined;
  const tokens = await client.authorizationCodeGrant(cfg, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true }, undefined, { DPoP });
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(cfg, tokens.access_token, claims.sub, { DPoP });
  const refreshed = await client.refreshTokenGrant(cfg, tokens.refresh_token, undefined, { DPoP });
  await client.tokenRevocation(cfg, refreshed.refresh_token);
  let reuse = 'accepted';
  try {
    await client.refreshTokenGrant(cfg, refreshed.refresh_token, undefined, { DPoP });
  } catch (e) {
    reuse = e.error ?? String(e);
  }
  const logout = client.buildEndSessionUrl(cfg, { id_token_hint: tokens.id_token, state: 'bye' });
  return {
    sub: claims.sub,
    token_type: tokens.token_type,
    refreshed_token_type: refreshed.token_type,
    iss: claims.iss,
    acr: claims.acr ?? null,
    userinfo_sub: userinfo.sub,
    userinfo_username: userinfo.preferred_username ?? null,
    refreshed: typeof refreshed.access_token === 'string' && refreshed.refresh_token !== tokens.refresh_token,
    revoked_refresh_then: reuse,
    end_session_url: logout.href,
  };
}

try {
  const out = mode === 'start' ? await start(rest[0] === 'par') : await finish(rest);
  console.log(JSON.stringify(out));
} catch (e) {
  console.error(JSON.stringify({ error: String(e), code: e.code ?? null, cause: e.cause ? String(e.cause) : null }));
  process.exit(1);
}
