-- Client ID metadata documents (issue #27): a client whose id is the https
-- URL of its metadata document is kept as a row (grants and refresh
-- families refer to it) until the document is due to be fetched again.
ALTER TABLE clients ADD COLUMN metadata_expires_at BIGINT;
