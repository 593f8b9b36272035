-- Issue #27: an API may take clients that registered themselves (RFC 7591
-- or a client ID metadata document): they may ask for its scopes.
ALTER TABLE apis ADD COLUMN self_registration BOOLEAN NOT NULL DEFAULT FALSE;
-- latchkey serves the API's protected resource metadata (RFC 9728) for it.
ALTER TABLE apis ADD COLUMN publish_metadata BOOLEAN NOT NULL DEFAULT FALSE;
