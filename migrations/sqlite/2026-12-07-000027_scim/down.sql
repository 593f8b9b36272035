DROP INDEX users_scim_user_name;
ALTER TABLE user_groups DROP COLUMN updated_at;
ALTER TABLE user_groups DROP COLUMN external_id;
ALTER TABLE users DROP COLUMN scim_attributes;
ALTER TABLE users DROP COLUMN scim_client_id;
ALTER TABLE users DROP COLUMN scim_user_name;
ALTER TABLE users DROP COLUMN external_id;
DROP TABLE scim_clients;
