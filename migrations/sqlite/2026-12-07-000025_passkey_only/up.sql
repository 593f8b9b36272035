-- Passkey-only accounts (issue #29): no password can be set on this
-- account; its password is removed once it has a passkey. Set by an
-- administrator; LATCHKEY_PASSKEY_ONLY can also make every account, or
-- every administrator's, passkey-only.
ALTER TABLE users ADD COLUMN passkey_only BOOLEAN NOT NULL DEFAULT FALSE;
