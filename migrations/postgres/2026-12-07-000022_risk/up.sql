-- Risky sign-ins (issue #32): what each user's recent sign-ins looked like,
-- for the risk signals of the next one. Bounded: at most a few rows per
-- user and kind (the least recently seen go first) and nothing older than
-- 90 days, both enforced whenever a sign-in is remembered.
CREATE TABLE risk_history (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- 'network' (a /24 or /48 prefix), 'browser' (browser and OS family)
    -- or 'country' (ISO 3166-1 code from the operator's location database).
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, kind, value)
);

-- Where and when each user last signed in, when the location database
-- knew the coordinates: the other end of "impossible travel".
CREATE TABLE risk_last_place (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    latitude DOUBLE PRECISION NOT NULL,
    longitude DOUBLE PRECISION NOT NULL
);

-- The user's own risk policy ('off', 'standard' or 'strict'), set in the
-- console; NULL: the deployment's (LATCHKEY_RISK_POLICY, or for admins
-- LATCHKEY_RISK_POLICY_ADMINS).
ALTER TABLE users ADD COLUMN risk_policy TEXT;
