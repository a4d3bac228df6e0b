//! The relay's error: what its face renders as upstream's `{ "error": "<text>" }` (with
//! `details` on a 400) and the HTTP status. Not the daemon's [`crate::Error`]: the relay's
//! wire format has no code table, and its statuses are its own.

use serde_json::Value;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub struct RelayError {
    pub status: u16,
    pub message: String,
    /// Validation issues (`[{code, path, message}]`, zod's shape) on a 400.
    pub details: Option<Value>,
    /// Seconds, on a 429.
    pub retry_after: Option<u64>,
}

impl RelayError {
    fn new(status: u16, message: impl Into<String>) -> RelayError {
        RelayError { status, message: message.into(), details: None, retry_after: None }
    }
    /// 400 `Invalid request` with the issues (each `{code, path, message}`).
    pub fn invalid(issues: Vec<Value>) -> RelayError {
        RelayError { details: Some(Value::Array(issues)), ..RelayError::new(400, "Invalid request") }
    }
    /// One issue at `path`.
    pub fn issue(code: &str, path: &[&str], message: impl Into<String>) -> Value {
        serde_json::json!({ "code": code, "path": path, "message": message.into() })
    }
    pub fn unauthorized() -> RelayError {
        RelayError::new(401, "Unauthorized")
    }
    pub fn not_found(message: impl Into<String>) -> RelayError {
        RelayError::new(404, message)
    }
    pub fn conflict(message: impl Into<String>) -> RelayError {
        RelayError::new(409, message)
    }
    pub fn rate_limited(retry_after: u64) -> RelayError {
        RelayError { retry_after: Some(retry_after), ..RelayError::new(429, "Too many requests") }
    }
    /// 502: the push provider failed (not reachable, refused our credentials, kept failing).
    pub fn provider(message: impl Into<String>) -> RelayError {
        RelayError::new(502, message)
    }
    pub fn internal(message: impl Into<String>) -> RelayError {
        RelayError::new(500, message)
    }
    /// An invalid configuration (the relay refuses to start).
    pub fn config(message: impl Into<String>) -> RelayError {
        RelayError::new(500, message)
    }

    /// The response body: `{error, details?}`.
    pub fn body(&self) -> Value {
        let mut body = serde_json::json!({ "error": self.message });
        if let Some(d) = &self.details {
            body["details"] = d.clone();
        }
        body
    }
}

impl fmt::Display for RelayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RelayError {}

impl From<rusqlite::Error> for RelayError {
    fn from(e: rusqlite::Error) -> RelayError {
        tracing::error!("relay store: {e}");
        RelayError::internal("Internal error")
    }
}
