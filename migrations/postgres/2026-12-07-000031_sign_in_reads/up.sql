-- Every sign-in counts the user's failed attempts of the last hour (the risk
-- check, issue #32). With only (user_id, at) it read every event of the
-- user in that hour, ~180 rows a sign-in in the benchmark (issue #31); with
-- the kind in the index it reads the failures alone.
CREATE INDEX audit_events_user_kind ON audit_events (user_id, kind, at);
