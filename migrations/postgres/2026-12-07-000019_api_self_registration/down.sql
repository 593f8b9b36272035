ALTER TABLE apis DROP COLUMN publish_metadata;
ALTER TABLE apis DROP COLUMN self_registration;
