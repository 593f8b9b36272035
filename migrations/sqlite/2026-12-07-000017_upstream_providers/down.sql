DROP TABLE federated_identities;
DROP TABLE upstream_providers;
