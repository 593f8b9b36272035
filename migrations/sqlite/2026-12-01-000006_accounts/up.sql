-- Whether the user's address was proven by a link sent to it.
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;

-- Single-use links mailed to a user: account set-up (invitation, sign-up),
-- recovery, email change and its revert. Only a keyed hash of the token is
-- stored. `email` is the address the link proves (or restores).
CREATE TABLE account_links (
    id TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    revoked_at BIGINT,
    -- Recovery: when the account's second factor was presented for this link,
    -- and by which browser (keyed hash of its CSRF secret).
    factor_at BIGINT,
    factor_browser TEXT
);
CREATE INDEX account_links_user ON account_links(user_id, purpose);
