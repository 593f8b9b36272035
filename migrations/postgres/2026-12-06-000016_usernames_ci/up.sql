-- Usernames are unique whatever their case (issue #24 item 2): `ALICE` and
-- `alice` are one account, so no second account can share the first one's
-- failure counters and device cookies. Usernames are ASCII, where lower()
-- agrees on both backends. Existing clashes stop the migration (latchkey
-- names them before it runs; this block says so again for a migration run
-- by hand), they are never merged.
DO $$
DECLARE
    clashes TEXT;
BEGIN
    SELECT string_agg(names, '; ') INTO clashes FROM (
        SELECT string_agg(username, ', ' ORDER BY username) AS names
        FROM users GROUP BY lower(username) HAVING count(*) > 1
    ) c;
    IF clashes IS NOT NULL THEN
        RAISE EXCEPTION 'usernames that differ only in case: %; rename all but one of each and start again', clashes;
    END IF;
END $$;
CREATE UNIQUE INDEX users_username_ci ON users (lower(username));
-- A self-service sign-up that was never completed holds its username and
-- address only until its verification link expires (item 9); invited
-- accounts leave it NULL and are never released.
ALTER TABLE users ADD COLUMN signup_expires_at BIGINT;
