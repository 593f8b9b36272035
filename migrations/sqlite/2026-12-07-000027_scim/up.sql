-- SCIM 2.0 provisioning (issue #30).
-- A SCIM client (Entra ID, Okta, an HR system): its bearer token as a keyed
-- hash (shown once), and what users it creates get to sign in: 'none' (an
-- upstream provider, or an invitation sent later) or 'invite' (mailed at once).
CREATE TABLE scim_clients (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    onboarding TEXT NOT NULL DEFAULT 'none',
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT,
    last_used_at BIGINT
);
-- What a provisioner knows a user by: its own id (externalId), its userName
-- (an address, often; latchkey's username is derived from it), which SCIM
-- client made it, and the attributes latchkey keeps but does not use
-- (title, phone numbers, the enterprise extension), as JSON, so a whole
-- PUT reads back as it was sent.
ALTER TABLE users ADD COLUMN external_id TEXT;
ALTER TABLE users ADD COLUMN scim_user_name TEXT;
ALTER TABLE users ADD COLUMN scim_client_id TEXT;
ALTER TABLE users ADD COLUMN scim_attributes TEXT;
CREATE UNIQUE INDEX users_scim_user_name ON users (lower(scim_user_name));
ALTER TABLE user_groups ADD COLUMN external_id TEXT;
ALTER TABLE user_groups ADD COLUMN updated_at BIGINT;
