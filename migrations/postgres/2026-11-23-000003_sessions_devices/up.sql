-- What a session shows on the device list, and how it began.
ALTER TABLE sessions ADD COLUMN device_name TEXT;
ALTER TABLE sessions ADD COLUMN device_id TEXT;
-- Restored from a remember-me device token (not an interactive sign-in).
ALTER TABLE sessions ADD COLUMN restored BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX sessions_device_id ON sessions(device_id);

-- Back-channel logout (OIDC Back-Channel Logout 1.0).
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT;

-- The relying parties a session has signed in to.
CREATE TABLE session_clients (
    sid TEXT NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    first_at BIGINT NOT NULL,
    PRIMARY KEY (sid, client_id)
);

-- "Keep me signed in": a long-lived, rotating device token (stored hashed).
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    -- The token before the last rotation: presenting it again is a replay.
    previous_hash TEXT,
    name TEXT NOT NULL,
    amr TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX devices_user ON devices(user_id);
