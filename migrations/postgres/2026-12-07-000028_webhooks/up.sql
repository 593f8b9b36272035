-- Webhooks (issue #30): subscriptions to security events, signed as the
-- Standard Webhooks specification says.
CREATE TABLE webhook_subscriptions (
    id TEXT PRIMARY KEY NOT NULL,
    url TEXT NOT NULL,
    -- The event kinds, as ',sign_in,user_disabled,', or '*' for all.
    events TEXT NOT NULL,
    -- The signing secret (whsec_…), sealed with the master key.
    secret TEXT NOT NULL,
    -- Receivers on loopback or private networks, over http too (else https, public only).
    allow_private BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    disabled_at BIGINT,
    -- Since when every delivery attempt failed (NULL: the last one went through).
    failing_since BIGINT
);
-- The durable outbox: one row per event and subscription, written in the
-- transaction that records the event; delivered in order of seq per
-- subscription, at least once, by whichever node claims it.
CREATE TABLE webhook_deliveries (
    seq BIGSERIAL PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- When it may be tried next (a claim pushes it past the attempt's end).
    next_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    delivered_at BIGINT,
    UNIQUE (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (subscription_id, delivered_at, seq);
-- What each attempt got (the console shows the last 50 per subscription).
CREATE TABLE webhook_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    subscription_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    status INTEGER,
    error TEXT,
    millis BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_subscription ON webhook_attempts (subscription_id, at);
