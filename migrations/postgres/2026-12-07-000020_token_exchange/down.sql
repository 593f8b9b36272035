ALTER TABLE clients DROP COLUMN may_act;
ALTER TABLE clients DROP COLUMN token_exchange_impersonation;
ALTER TABLE clients DROP COLUMN token_exchange_to;
