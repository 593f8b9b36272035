-- private_key_jwt (RFC 7523): a client's public keys (a JWK Set, JSON), and
-- whether it must authenticate with them (no secret accepted then).
ALTER TABLE clients ADD COLUMN jwks TEXT;
ALTER TABLE clients ADD COLUMN require_private_key_jwt BOOLEAN NOT NULL DEFAULT FALSE;
