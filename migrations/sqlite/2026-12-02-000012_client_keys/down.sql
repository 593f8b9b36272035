ALTER TABLE clients DROP COLUMN require_private_key_jwt;
ALTER TABLE clients DROP COLUMN jwks;
