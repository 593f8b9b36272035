-- Token exchange (RFC 8693, issue #27): per client, the API audiences it may
-- exchange a user's access tokens into (a JSON array; empty: it may not use
-- the grant), whether it may impersonate (a token without `act`), and the
-- clients that may act with its own tokens (`may_act`, a JSON array).
ALTER TABLE clients ADD COLUMN token_exchange_to TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN token_exchange_impersonation BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE clients ADD COLUMN may_act TEXT NOT NULL DEFAULT '[]';
