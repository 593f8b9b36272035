-- Dynamic client registration (RFC 7591/7592, issue #27).
-- A client that registered itself: marked as such wherever it is shown.
ALTER TABLE clients ADD COLUMN self_registered BOOLEAN NOT NULL DEFAULT FALSE;
-- The keyed hash of its registration access token (RFC 7592), if any.
ALTER TABLE clients ADD COLUMN registration_token_hash TEXT;

-- Initial access tokens (RFC 7591 §3): minted by an operator, stored hashed.
CREATE TABLE registration_tokens (
    token_hash TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL,
    -- NULL: any number of registrations until it expires.
    uses_left BIGINT,
    created_at BIGINT NOT NULL
);
