-- TOTP (RFC 6238): one authenticator app per user. The secret is sealed
-- (AES-256-GCM under the master key); last_step makes each code single-use.
CREATE TABLE totp_credentials (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret_enc TEXT NOT NULL,
    confirmed_at BIGINT,
    last_step BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

-- Single-use backup codes, stored as keyed hashes.
CREATE TABLE backup_codes (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at BIGINT
);
CREATE INDEX backup_codes_user ON backup_codes(user_id);
