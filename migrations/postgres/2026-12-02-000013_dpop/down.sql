ALTER TABLE clients DROP COLUMN jwks_uri;
ALTER TABLE refresh_families DROP COLUMN dpop_jkt;
ALTER TABLE clients DROP COLUMN require_dpop;
