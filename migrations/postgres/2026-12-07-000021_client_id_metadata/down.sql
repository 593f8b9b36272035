ALTER TABLE clients DROP COLUMN metadata_expires_at;
