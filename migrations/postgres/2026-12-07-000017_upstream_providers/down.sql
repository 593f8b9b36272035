DROP TABLE upstream_sessions;
DROP TABLE federated_identities;
DROP TABLE upstream_providers;
