-- Authenticator policies (issue #29): which passkeys may be registered,
-- for everyone and for administrators, as chosen on the console's
-- "Passkey policy" page. Without a row, LATCHKEY_PASSKEY_POLICY[_ADMINS]
-- decides.
CREATE TABLE passkey_policies (
    -- 'everyone' or 'admins'.
    audience TEXT PRIMARY KEY NOT NULL,
    -- 'any', 'listed' or 'security-keys'.
    allowed TEXT NOT NULL,
    -- For 'listed': the AAGUIDs, comma-separated, lower-case.
    aaguids TEXT NOT NULL DEFAULT '',
    -- Attestation verified against the FIDO metadata BLOB.
    attestation BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at BIGINT NOT NULL
);
