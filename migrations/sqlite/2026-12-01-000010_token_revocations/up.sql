-- The durable copy of access-token revocations (a revoked `jti`, or a
-- "revoked everything issued before" marker of a client, grant or session).
-- The fast store holds the same keys for the hot path; when it comes back
-- empty (restart, flush, failover), every node reloads them from here.
CREATE TABLE token_revocations (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX token_revocations_expiry ON token_revocations(expires_at);
