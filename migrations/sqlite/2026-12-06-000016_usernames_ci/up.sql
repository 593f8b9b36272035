-- Usernames are unique whatever their case (issue #24 item 2): `ALICE` and
-- `alice` are one account, so no second account can share the first one's
-- failure counters and device cookies. Usernames are ASCII, where lower()
-- agrees on both backends. Existing clashes stop the migration before it
-- runs (latchkey names them; see latchkey_store::db), they are never merged.
CREATE UNIQUE INDEX users_username_ci ON users (lower(username));
-- A self-service sign-up that was never completed holds its username and
-- address only until its verification link expires (item 9); invited
-- accounts leave it NULL and are never released.
ALTER TABLE users ADD COLUMN signup_expires_at BIGINT;
