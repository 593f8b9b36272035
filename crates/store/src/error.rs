//! The store's one error type. Callers see "not found" and "conflict" as such;
//! everything else is an outage they should report as 503/500, never as "not found".

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("record not found")]
    NotFound,
    #[error("record already exists: {0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(#[source] diesel::result::Error),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The connection's server went away (restart, failover, network): the
    /// pool drops that connection, and the request is answered like an outage.
    #[error("database connection lost: {0}")]
    ConnectionLost(String),
    #[error("fast store (redis) error: {0}")]
    Cache(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl From<diesel::result::Error> for StoreError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => StoreError::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => StoreError::Conflict(info.message().to_string()),
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand, info) => StoreError::ConnectionLost(info.message().to_string()),
            // Class 08 (connection exception) and 57P (operator intervention:
            // the server shutting down or terminating this backend).
            Error::DatabaseError(_, ref info) if is_connection_lost_message(info.message()) => StoreError::ConnectionLost(info.message().to_string()),
            other => StoreError::Database(other),
        }
    }
}

/// libpq's words when the server is gone but no SQLSTATE says so.
fn is_connection_lost_message(m: &str) -> bool {
    m.contains("server closed the connection unexpectedly")
        || m.contains("terminating connection due to administrator command")
        || m.contains("no connection to the server")
        || m.contains("connection closed")
}

impl From<r2d2::Error> for StoreError {
    fn from(e: r2d2::Error) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

impl From<redis::RedisError> for StoreError {
    fn from(e: redis::RedisError) -> Self {
        metrics::counter!("latchkey_fast_store_errors_total").increment(1);
        StoreError::Cache(e.to_string())
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error};

    fn db_error(kind: DatabaseErrorKind, message: &str) -> StoreError {
        Error::DatabaseError(kind, Box::new(message.to_string())).into()
    }

    #[test]
    fn a_server_gone_away_is_a_lost_connection_and_other_errors_are_not() {
        assert!(matches!(db_error(DatabaseErrorKind::ClosedConnection, "closed"), StoreError::ConnectionLost(_)));
        assert!(matches!(db_error(DatabaseErrorKind::UnableToSendCommand, "no connection to the server"), StoreError::ConnectionLost(_)));
        assert!(matches!(db_error(DatabaseErrorKind::Unknown, "FATAL: terminating connection due to administrator command"), StoreError::ConnectionLost(_)));
        assert!(matches!(db_error(DatabaseErrorKind::Unknown, "syntax error at or near \"x\""), StoreError::Database(_)));
        assert!(matches!(db_error(DatabaseErrorKind::UniqueViolation, "duplicate key"), StoreError::Conflict(_)));
        assert!(matches!(StoreError::from(Error::NotFound), StoreError::NotFound));
    }
}
