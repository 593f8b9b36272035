ALTER TABLE users DROP COLUMN signup_expires_at;
DROP INDEX users_username_ci;
