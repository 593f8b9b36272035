-- The audit trail's who, how and from where. Append-only: only the
-- retention job deletes (whole days).
ALTER TABLE audit_events ADD COLUMN outcome TEXT NOT NULL DEFAULT 'success';
ALTER TABLE audit_events ADD COLUMN actor TEXT;
ALTER TABLE audit_events ADD COLUMN ip TEXT;
ALTER TABLE audit_events ADD COLUMN user_agent TEXT;
ALTER TABLE audit_events ADD COLUMN request_id TEXT;
ALTER TABLE audit_events ADD COLUMN session_hash TEXT;
CREATE INDEX audit_events_user ON audit_events(user_id, at);
CREATE INDEX audit_events_client ON audit_events(client_id, at);
CREATE INDEX audit_events_kind ON audit_events(kind, at);

-- Disabled users cannot sign in; disabled clients cannot get tokens.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
ALTER TABLE clients ADD COLUMN disabled_at BIGINT;
