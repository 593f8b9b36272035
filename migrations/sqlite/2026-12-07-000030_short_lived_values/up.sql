-- Single-use values while Redis is unreachable (issue #31): pending
-- authorization requests, codes, second-factor steps, passkey ceremonies,
-- PAR request URIs, device codes, and the replay markers of DPoP proofs and
-- client assertions. Redis holds them normally; while the circuit breaker
-- says it is down, every node writes and spends them here (a compare-and-swap
-- on `value` wins exactly once, across nodes). A spent value is kept until
-- it expires, its `value` starting with 'spent:', so a copy that Redis still
-- holds is refused after it returns. `expires_at` is in milliseconds since
-- the epoch; expired rows are swept by every node's upkeep.
CREATE TABLE short_lived_values (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    owner TEXT
);
CREATE INDEX short_lived_values_expiry ON short_lived_values (expires_at);
CREATE INDEX short_lived_values_owner ON short_lived_values (owner, expires_at);
