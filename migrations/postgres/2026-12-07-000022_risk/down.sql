ALTER TABLE users DROP COLUMN risk_policy;
DROP TABLE risk_last_place;
DROP TABLE risk_history;
