//! The relay's own SQLite file (WAL): `devices` and `sign_responses`, in upstream's shape
//! (plus `consumed_at`, which keeps a read response as a tombstone until it expires so that
//! a later post for the same request is still refused). Nothing here is shared with the
//! daemon's store. Every statement is a short indexed one, run under one mutex.

use super::RelayError;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::Mutex;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS devices (
    push_token TEXT PRIMARY KEY,
    wallet_name TEXT NOT NULL,
    platform TEXT NOT NULL CHECK (platform IN ('ios', 'android')),
    subscription_token TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_devices_subscription_token ON devices(subscription_token);
CREATE TABLE IF NOT EXISTS sign_responses (
    request_id TEXT PRIMARY KEY,
    response TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_sign_responses_expires_at ON sign_responses(expires_at);
";

/// A registered device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub push_token: String,
    pub wallet_name: String,
    pub platform: String,
}

/// What storing a sign response did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Stored,
    /// A response for this request is already there (or was already read): first write wins.
    AlreadyAnswered,
}

pub struct RelayStore {
    conn: Mutex<Connection>,
}

impl RelayStore {
    /// Open (or create) the file at `path`; `:memory:` for an in-memory store.
    pub fn open(path: &Path) -> Result<RelayStore, RelayError> {
        let conn = Connection::open(path).map_err(|e| RelayError::config(format!("cannot open the relay database {}: {e}", path.display())))?;
        // Push tokens are personal data: owner-only (SQLite gives its -wal/-shm files the same mode).
        #[cfg(unix)]
        if path.is_file() {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        let has_consumed: bool = conn.prepare("SELECT 1 FROM pragma_table_info('sign_responses') WHERE name = 'consumed_at'")?.exists([])?;
        if !has_consumed {
            conn.execute_batch("ALTER TABLE sign_responses ADD COLUMN consumed_at INTEGER")?;
        }
        Ok(RelayStore { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Register or update `device`; a device already registered keeps its subscription token
    /// (`fresh` is used only for a new one). Returns the device's subscription token.
    pub fn upsert_device(&self, device: &Device, fresh: &str, now: i64) -> Result<String, RelayError> {
        let conn = self.conn();
        let token: String = conn.query_row(
            "INSERT INTO devices (push_token, wallet_name, platform, subscription_token, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)
             ON CONFLICT(push_token) DO UPDATE SET wallet_name = excluded.wallet_name, platform = excluded.platform,
                 subscription_token = COALESCE(devices.subscription_token, excluded.subscription_token), updated_at = excluded.updated_at
             RETURNING subscription_token",
            params![device.push_token, device.wallet_name, device.platform, fresh, now],
            |r| r.get(0),
        )?;
        Ok(token)
    }

    /// `None`: no such device; `Some(None)`: a device registered before upstream had
    /// subscription tokens (an upstream file), which gets one at its next registration.
    pub fn subscription_token(&self, push_token: &str) -> Result<Option<Option<String>>, RelayError> {
        let conn = self.conn();
        Ok(conn.query_row("SELECT subscription_token FROM devices WHERE push_token = ?1", [push_token], |r| r.get(0)).optional()?)
    }

    /// Whether a device was removed.
    pub fn delete_device(&self, push_token: &str) -> Result<bool, RelayError> {
        Ok(self.conn().execute("DELETE FROM devices WHERE push_token = ?1", [push_token])? > 0)
    }

    pub fn device_by_subscription(&self, subscription_token: &str) -> Result<Option<Device>, RelayError> {
        let conn = self.conn();
        Ok(conn
            .query_row("SELECT push_token, wallet_name, platform FROM devices WHERE subscription_token = ?1", [subscription_token], |r| {
                Ok(Device { push_token: r.get(0)?, wallet_name: r.get(1)?, platform: r.get(2)? })
            })
            .optional()?)
    }

    /// Remove the devices of these push tokens (the provider called them invalid).
    pub fn remove_tokens(&self, push_tokens: &[String]) -> Result<usize, RelayError> {
        let conn = self.conn();
        let mut n = 0;
        for t in push_tokens {
            n += conn.execute("DELETE FROM devices WHERE push_token = ?1", [t])?;
        }
        Ok(n)
    }

    pub fn device_count(&self) -> Result<i64, RelayError> {
        Ok(self.conn().query_row("SELECT COUNT(*) FROM devices", [], |r| r.get(0))?)
    }

    /// Responses stored, unexpired and not yet read.
    pub fn pending_responses(&self, now: i64) -> Result<i64, RelayError> {
        Ok(self.conn().query_row("SELECT COUNT(*) FROM sign_responses WHERE expires_at > ?1 AND consumed_at IS NULL", [now], |r| r.get(0))?)
    }

    /// Store the first response for `request_id`; a later one (even after the first was
    /// read, until it expires) is refused.
    pub fn store_response(&self, request_id: &str, response: &str, now: i64, ttl_secs: i64) -> Result<Stored, RelayError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM sign_responses WHERE request_id = ?1 AND expires_at <= ?2", params![request_id, now])?;
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO sign_responses (request_id, response, expires_at, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![request_id, response, now.saturating_add(ttl_secs), now],
        )?;
        tx.commit()?;
        Ok(if inserted == 1 { Stored::Stored } else { Stored::AlreadyAnswered })
    }

    /// The unexpired, unread response for `request_id`, marked read (one read only).
    pub fn take_response(&self, request_id: &str, now: i64) -> Result<Option<String>, RelayError> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                "UPDATE sign_responses SET consumed_at = ?2 WHERE request_id = ?1 AND consumed_at IS NULL AND expires_at > ?2 RETURNING response",
                params![request_id, now],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Delete expired responses (and their tombstones); how many.
    pub fn cleanup(&self, now: i64) -> Result<usize, RelayError> {
        Ok(self.conn().execute("DELETE FROM sign_responses WHERE expires_at <= ?1", [now])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(t: &str) -> Device {
        Device { push_token: t.into(), wallet_name: "dcent".into(), platform: "ios".into() }
    }

    #[test]
    fn upsert_keeps_the_token_and_delete_removes() {
        let s = RelayStore::open(Path::new(":memory:")).unwrap();
        assert_eq!(s.upsert_device(&device("p1"), "aaaa", 1).unwrap(), "aaaa");
        assert_eq!(s.upsert_device(&device("p1"), "bbbb", 2).unwrap(), "aaaa");
        assert_eq!(s.device_by_subscription("aaaa").unwrap().unwrap().push_token, "p1");
        assert_eq!(s.device_count().unwrap(), 1);
        assert!(s.delete_device("p1").unwrap());
        assert!(!s.delete_device("p1").unwrap());
        assert!(s.subscription_token("p1").unwrap().is_none());
    }

    #[test]
    fn an_upstream_file_opens_and_its_old_rows_work() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.db");
        let c = Connection::open(&path).unwrap();
        // Upstream's schema (push-relay's device-registry.ts), with a row from before subscription tokens.
        c.execute_batch(
            "CREATE TABLE devices (push_token TEXT PRIMARY KEY, wallet_name TEXT NOT NULL,
                platform TEXT NOT NULL CHECK (platform IN ('ios', 'android')), subscription_token TEXT,
                created_at INTEGER NOT NULL DEFAULT (unixepoch()), updated_at INTEGER NOT NULL DEFAULT (unixepoch()));
             CREATE UNIQUE INDEX idx_devices_subscription_token ON devices(subscription_token);
             CREATE TABLE sign_responses (request_id TEXT PRIMARY KEY, response TEXT NOT NULL, expires_at INTEGER NOT NULL, created_at INTEGER NOT NULL);
             INSERT INTO devices (push_token, wallet_name, platform) VALUES ('old', 'dcent', 'ios');
             INSERT INTO devices (push_token, wallet_name, platform, subscription_token) VALUES ('up', 'dcent', 'android', 'a1b2c3d4');",
        )
        .unwrap();
        drop(c);
        let s = RelayStore::open(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(s.subscription_token("old").unwrap(), Some(None));
        assert_eq!(s.upsert_device(&device("old"), "0123456789abcdef0123456789abcdef", 5).unwrap(), "0123456789abcdef0123456789abcdef");
        // Upstream's 8-hex tokens stay valid (the daemons that hold them keep working).
        assert_eq!(s.device_by_subscription("a1b2c3d4").unwrap().unwrap().push_token, "up");
        assert_eq!(s.store_response("r", "x", 1, 300).unwrap(), Stored::Stored);
        assert_eq!(s.take_response("r", 2).unwrap().as_deref(), Some("x"));
    }

    #[test]
    fn first_write_wins_one_read_and_expiry() {
        let s = RelayStore::open(Path::new(":memory:")).unwrap();
        assert_eq!(s.store_response("r", "approve", 100, 300).unwrap(), Stored::Stored);
        assert_eq!(s.store_response("r", "reject", 101, 300).unwrap(), Stored::AlreadyAnswered);
        assert_eq!(s.pending_responses(101).unwrap(), 1);
        assert_eq!(s.take_response("r", 102).unwrap().as_deref(), Some("approve"));
        assert_eq!(s.take_response("r", 103).unwrap(), None);
        // Read, but still refused until it expires.
        assert_eq!(s.store_response("r", "reject", 104, 300).unwrap(), Stored::AlreadyAnswered);
        assert_eq!(s.store_response("r", "reject", 400, 300).unwrap(), Stored::Stored);
        assert_eq!(s.take_response("r", 701).unwrap(), None);
        assert_eq!(s.cleanup(701).unwrap(), 1);
    }
}
