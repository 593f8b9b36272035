-- Back-channel logout deliveries not yet acknowledged. A row is written
-- before the first attempt and deleted on success (or after giving up), so a
-- node that stops mid-delivery leaves it for any node to retry.
CREATE TABLE backchannel_deliveries (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    sid TEXT NOT NULL,
    -- Claimed by a node until then; due for a retry after.
    next_at BIGINT NOT NULL,
    -- How many times a node picked it up.
    rounds INTEGER NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX backchannel_deliveries_due ON backchannel_deliveries(next_at);
