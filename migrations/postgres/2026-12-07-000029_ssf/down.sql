DROP INDEX webhook_subscriptions_client;
ALTER TABLE webhook_subscriptions DROP COLUMN client_id;
ALTER TABLE webhook_subscriptions DROP COLUMN kind;
