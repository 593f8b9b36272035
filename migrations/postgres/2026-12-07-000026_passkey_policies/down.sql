DROP TABLE passkey_policies;
