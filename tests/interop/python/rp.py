"""A relying party built on Authlib (Python), in two steps around the browser
sign-in that the Rust test drives:

  python rp.py start  <issuer> <client_id> <secret> <redirect_uri>
    -> {"url", "verifier", "state", "nonce"}
  python rp.py finish <issuer> <client_id> <secret> <redirect_uri> <callback_url> <verifier> <state> <nonce>
    -> what was checked and got (sub, userinfo, refresh, revocation, logout URL)
"""
import json
import os
import sys
from urllib.parse import parse_qs, urlencode, urlparse

# The test server is http://localhost; Authlib refuses plain http unless told.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"

import requests  # noqa: E402
from authlib.common.security import generate_token  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from authlib.integrations.base_client.errors import OAuthError  # noqa: E402
from authlib.jose import JsonWebKey, JsonWebToken  # noqa: E402

SCOPE = "openid profile email offline_access"


def metadata(issuer):
    meta = requests.get(issuer + "/.well-known/openid-configuration", timeout=10).json()
    assert meta["issuer"] == issuer, meta["issuer"]
    return meta


def start(issuer, client_id, secret, redirect_uri):
    meta = metadata(issuer)
    session = OAuth2Session(client_id, secret, scope=SCOPE, redirect_uri=redirect_uri, code_challenge_method="S256")
    verifier = generate_token(48)
    nonce = generate_token(20)
    url, state = session.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    return {"url": url, "verifier": verifier, "state": state, "nonce": nonce}


def finish(issuer, client_id, secret, redirect_uri, callback, verifier, state, nonce):
    meta = metadata(issuer)
    # RFC 9207: the response names its issuer.
    query = parse_qs(urlparse(callback).query)
    assert query.get("iss") == [issuer], query.get("iss")
    session = OAuth2Session(client_id, secret, scope=SCOPE, redirect_uri=redirect_uri, state=state, code_challenge_method="S256")
    token = session.fetch_token(meta["token_endpoint"], authorization_response=callback, code_verifier=verifier)
    keys = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    claims = JsonWebToken(meta["id_token_signing_alg_values_supported"]).decode(
        token["id_token"],
        keys,
        claims_options={"iss": {"essential": True, "value": issuer}, "aud": {"essential": True, "value": client_id}, "nonce": {"essential": True, "value": nonce}},
    )
    claims.validate()
    userinfo = session.get(meta["userinfo_endpoint"]).json()
    refreshed = session.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
    session.revoke_token(meta["revocation_endpoint"], token=refreshed["refresh_token"], token_type_hint="refresh_token")
    try:
        session.refresh_token(meta["token_endpoint"], refresh_token=refreshed["refresh_token"])
        reuse = "accepted"
    except OAuthError as e:
        reuse = e.error
    logout = meta["end_session_endpoint"] + "?" + urlencode({"id_token_hint": token["id_token"], "state": "bye"})
    return {
        "sub": claims["sub"],
        "token_type": token["token_type"],
        "refreshed_token_type": refreshed["token_type"],
        "iss": claims["iss"],
        "acr": claims.get("acr"),
        "userinfo_sub": userinfo["sub"],
        "userinfo_username": userinfo.get("preferred_username"),
        "refreshed": refreshed["refresh_token"] != token["refresh_token"],
        "revoked_refresh_then": reuse,
        "end_session_url": logout,
    }


def main(argv):
    mode, args = argv[1], argv[2:]
    try:
        out = start(*args[:4]) if mode == "start" else finish(*args)
    except Exception as e:  # reported to the test as JSON
        print(json.dumps({"error": repr(e)}), file=sys.stderr)
        return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
