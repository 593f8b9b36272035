-- Upstream identity providers (issue #26): latchkey as a relying party of
-- OpenID Connect providers (and GitHub's OAuth 2.0).
CREATE TABLE upstream_providers (
    -- A slug of the name: part of the callback URL registered upstream.
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    -- 'oidc' (discovery from the issuer) or 'github' (OAuth 2.0 + its API).
    kind TEXT NOT NULL,
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    -- Sealed with the master key (context: the provider id), like signing keys.
    client_secret_enc TEXT NOT NULL,
    -- Space-separated.
    scopes TEXT NOT NULL,
    -- Space-separated, lower case: emails here go to this provider.
    domains TEXT NOT NULL,
    -- 'existing-sign-in' or 'verified-email'.
    link_rule TEXT NOT NULL,
    signup BOOLEAN NOT NULL,
    trust_upstream_mfa BOOLEAN NOT NULL,
    -- Signing out of latchkey also signs out of the provider (its end_session_endpoint).
    upstream_logout BOOLEAN NOT NULL DEFAULT FALSE,
    disabled_at BIGINT,
    created_at BIGINT NOT NULL
);

-- An upstream account linked to a latchkey account: issuer + subject, never
-- the email, is what names it.
CREATE TABLE federated_identities (
    provider_id TEXT NOT NULL REFERENCES upstream_providers(id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- What the account page shows of the upstream account (name or email).
    display TEXT NOT NULL,
    linked_at BIGINT NOT NULL,
    last_used_at BIGINT,
    PRIMARY KEY (provider_id, subject),
    -- One upstream account per provider and user.
    UNIQUE (provider_id, user_id)
);
CREATE INDEX federated_identities_user ON federated_identities(user_id);

-- Which provider (and which of its sessions) signed a latchkey session in:
-- a back-channel logout token from that provider ends it.
CREATE TABLE upstream_sessions (
    sid TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL REFERENCES upstream_providers(id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    -- The provider's own session id (the ID token's `sid`), when it sent one.
    upstream_sid TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX upstream_sessions_subject ON upstream_sessions(provider_id, subject);
CREATE INDEX upstream_sessions_upstream_sid ON upstream_sessions(provider_id, upstream_sid);
