-- Refresh-token families: one per grant (user x client x original authorization).
-- The family is the unit of revocation; tokens rotate inside it.
CREATE TABLE refresh_families (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    -- The browser session that created it; NULL for offline_access grants,
    -- which outlive the session.
    sid TEXT,
    scope TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    acr TEXT NOT NULL,
    amr TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    absolute_expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_reason TEXT
);
CREATE INDEX refresh_families_client_user ON refresh_families(client_id, user_id);
CREATE INDEX refresh_families_user ON refresh_families(user_id);
CREATE INDEX refresh_families_sid ON refresh_families(sid);

-- Only keyed hashes of refresh tokens are stored.
CREATE TABLE refresh_tokens (
    hash TEXT PRIMARY KEY,
    family_id TEXT NOT NULL REFERENCES refresh_families(id) ON DELETE CASCADE,
    generation INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    successor_hash TEXT,
    -- The access token issued together with this refresh token, revoked with the family.
    access_jti TEXT NOT NULL,
    access_exp BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);

-- Security-relevant events (reuse detection, admin revocations, key rotation).
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    user_id TEXT,
    client_id TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events(at);
