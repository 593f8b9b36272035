ALTER TABLE users DROP COLUMN passkey_only;
