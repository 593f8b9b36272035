-- Shared signals (issue #30): a relying party's SSF stream is a subscription
-- of kind 'ssf', one per client; its deliveries are Security Event Tokens
-- (RFC 8417) pushed as RFC 8935 says. Webhooks are kind 'webhook'.
ALTER TABLE webhook_subscriptions ADD COLUMN kind TEXT NOT NULL DEFAULT 'webhook';
ALTER TABLE webhook_subscriptions ADD COLUMN client_id TEXT;
CREATE UNIQUE INDEX webhook_subscriptions_client ON webhook_subscriptions (client_id);
