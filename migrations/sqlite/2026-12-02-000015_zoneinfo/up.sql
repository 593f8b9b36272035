-- The OIDC zoneinfo profile claim (an IANA time zone): the zone of the
-- times written in the user's mail.
ALTER TABLE users ADD COLUMN zoneinfo TEXT;
