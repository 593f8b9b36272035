-- Passkeys as good as the platforms make them (issue #29).
-- Each passkey's AAGUID (the authenticator model, from its registration;
-- NULL when it said none): its provider's name and icon on the pages.
ALTER TABLE passkeys ADD COLUMN aaguid TEXT;
-- The operator's list of passkey providers (`latchkey passkeys aaguids
-- --file`), replacing the one shipped in the binary while it has rows.
CREATE TABLE passkey_providers (
    aaguid TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    icon_light TEXT,
    icon_dark TEXT
);
