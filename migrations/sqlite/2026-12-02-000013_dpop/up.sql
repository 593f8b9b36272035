-- DPoP (RFC 9449): a client that must prove possession of a key on every
-- token request, and the key (its JWK thumbprint) a public client's refresh
-- family is bound to.
ALTER TABLE clients ADD COLUMN require_dpop BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE refresh_families ADD COLUMN dpop_jkt TEXT;
-- private_key_jwt: keys published by the client at a URL instead of registered.
ALTER TABLE clients ADD COLUMN jwks_uri TEXT;
