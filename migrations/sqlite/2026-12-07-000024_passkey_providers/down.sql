DROP TABLE passkey_providers;
ALTER TABLE passkeys DROP COLUMN aaguid;
