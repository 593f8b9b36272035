-- Registered APIs (resource servers): their audience, scopes, token lifetime
-- and signing algorithm, and optional credentials to introspect their tokens.
CREATE TABLE apis (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    audience TEXT NOT NULL UNIQUE,
    access_token_ttl BIGINT NOT NULL,
    signing_alg TEXT NOT NULL,
    introspection_secret_hash TEXT,
    created_at BIGINT NOT NULL
);
-- A scope name belongs to exactly one API.
CREATE TABLE api_scopes (
    name TEXT PRIMARY KEY,
    api_id TEXT NOT NULL REFERENCES apis(id) ON DELETE CASCADE,
    description TEXT NOT NULL
);
CREATE INDEX api_scopes_api ON api_scopes(api_id);

CREATE TABLE user_groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES user_groups(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members(user_id);
-- An API's role, held by the members of a group.
CREATE TABLE api_roles (
    api_id TEXT NOT NULL REFERENCES apis(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    group_id TEXT NOT NULL REFERENCES user_groups(id) ON DELETE CASCADE,
    PRIMARY KEY (api_id, role, group_id)
);

-- Profile claims (OIDC Core §5.1), released with the `profile` scope.
ALTER TABLE users ADD COLUMN name TEXT;
ALTER TABLE users ADD COLUMN given_name TEXT;
ALTER TABLE users ADD COLUMN family_name TEXT;
ALTER TABLE users ADD COLUMN locale TEXT;
ALTER TABLE users ADD COLUMN updated_at BIGINT;
