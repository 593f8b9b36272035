ALTER TABLE users DROP COLUMN zoneinfo;
