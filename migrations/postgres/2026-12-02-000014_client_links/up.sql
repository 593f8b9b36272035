-- What the consent page shows of a client besides its name (RFC 7591 §2):
-- its logo, privacy policy and terms of service, each an http(s) URL.
ALTER TABLE clients ADD COLUMN logo_uri TEXT;
ALTER TABLE clients ADD COLUMN policy_uri TEXT;
ALTER TABLE clients ADD COLUMN tos_uri TEXT;
