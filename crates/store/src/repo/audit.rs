//! The audit trail of security-relevant events.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::schema::audit_events;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: String,
    pub at: i64,
    pub kind: String,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub detail: String,
}

pub fn record(conn: &mut DbConnection, event: &AuditEvent) -> Result<(), StoreError> {
    diesel::insert_into(audit_events::table).values(event).execute(conn)?;
    Ok(())
}

pub fn recent(conn: &mut DbConnection, kind: Option<&str>, limit: i64) -> Result<Vec<AuditEvent>, StoreError> {
    let mut q = audit_events::table.order(audit_events::at.desc()).limit(limit).into_boxed();
    if let Some(k) = kind {
        q = q.filter(audit_events::kind.eq(k));
    }
    Ok(q.select(AuditEvent::as_select()).load(conn)?)
}
