DROP TABLE devices;
DROP TABLE session_clients;
ALTER TABLE clients DROP COLUMN backchannel_logout_uri;
DROP INDEX sessions_device_id;
ALTER TABLE sessions DROP COLUMN restored;
ALTER TABLE sessions DROP COLUMN device_id;
ALTER TABLE sessions DROP COLUMN device_name;
