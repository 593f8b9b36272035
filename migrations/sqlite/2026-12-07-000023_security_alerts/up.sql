-- Security alerts (issue #32): anomalies noticed in the security events
-- (a failure spike on one account, credential stuffing from one address, a
-- refresh token used twice, a sign-in from a new country, a new device right
-- after a recovery or an email change), one row per anomaly per window: a
-- repeat within the window adds to `count` and moves `last_seen`.
CREATE TABLE security_alerts (
    id TEXT PRIMARY KEY,
    -- failure_spike, credential_stuffing, refresh_token_reuse, new_country, new_device_after_change
    kind TEXT NOT NULL,
    -- The account it concerns (no foreign key: an alert outlives a deleted user).
    user_id TEXT,
    -- The client address it was noticed from.
    ip TEXT,
    -- The evidence in English words.
    evidence TEXT NOT NULL,
    -- The anomaly as JSON (latchkey_domain::Anomaly), worded in the reader's language by the console.
    facts TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    count BIGINT NOT NULL,
    -- The administrator who acknowledged it, and when.
    acknowledged_by TEXT,
    acknowledged_at BIGINT
);
-- The console lists open alerts newest first, then the acknowledged ones.
CREATE INDEX security_alerts_open ON security_alerts (acknowledged_at, last_seen);
