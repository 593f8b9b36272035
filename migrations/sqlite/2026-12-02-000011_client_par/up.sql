-- RFC 9126 §5: a client may be required to push its authorization requests.
ALTER TABLE clients ADD COLUMN require_par BOOLEAN NOT NULL DEFAULT FALSE;
