DROP INDEX security_alerts_open;
DROP TABLE security_alerts;
