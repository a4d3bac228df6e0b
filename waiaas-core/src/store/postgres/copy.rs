//! `waiaas db migrate --to postgres://...`: copy a data dir's SQLite store into an empty
//! PostgreSQL database, every table in one PostgreSQL transaction (all or nothing), each value
//! converted to the PostgreSQL column's type (0/1 flags to `BOOLEAN`, blobs to `BYTEA`). Key
//! files stay in the data dir. The SQLite file is first brought to this build's schema, and the
//! daemon must be stopped (the caller holds the data dir's lock).

use super::*;
use rusqlite::types::Value as Lite;
use serde::Serialize;
use std::path::Path;
use tokio_postgres::types::ToSql;

/// Every table, parents before children.
const TABLES: &[&str] = &[
    "key_value_store",
    "wallets",
    "sessions",
    "session_wallets",
    "audit_log",
    "transactions",
    "nonces",
    "token_registry",
    "policies",
    "owner_nonces",
    "webhooks",
    "webhook_logs",
    "wallet_apps",
    "wallet_approval_routes",
    "sign_requests",
    "notification_logs",
    "telegram_users",
    "incoming_transactions",
];

/// What was copied.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CopyReport {
    pub schema_version: i64,
    /// Rows per table, in copy order.
    pub tables: Vec<(String, u64)>,
}

fn convert(table: &str, column: &str, pg_type: &str, v: Lite) -> Result<Box<dyn ToSql + Sync + Send>> {
    let bad = || Error::internal(format!("{table}.{column}: a {pg_type} column holds an unexpected SQLite value"));
    Ok(match (pg_type, v) {
        (_, Lite::Null) => match pg_type {
            "boolean" => Box::new(None::<bool>),
            "bigint" => Box::new(None::<i64>),
            "integer" => Box::new(None::<i32>),
            "double precision" => Box::new(None::<f64>),
            "bytea" => Box::new(None::<Vec<u8>>),
            _ => Box::new(None::<String>),
        },
        ("boolean", Lite::Integer(i)) => Box::new(i != 0),
        ("bigint", Lite::Integer(i)) => Box::new(i),
        ("integer", Lite::Integer(i)) => Box::new(i32::try_from(i).map_err(|_| bad())?),
        ("double precision", Lite::Real(f)) => Box::new(f),
        ("double precision", Lite::Integer(i)) => Box::new(i as f64),
        ("bytea", Lite::Blob(b)) => Box::new(b),
        ("text", Lite::Text(s)) => Box::new(s),
        _ => return Err(bad()),
    })
}

/// Copy the SQLite store at `sqlite_path` into the empty PostgreSQL database at `url` (TLS as
/// `opts` say, like the daemon's connections).
pub async fn copy_from_sqlite(sqlite_path: &Path, url: &str, opts: &PgOptions) -> Result<CopyReport> {
    if !sqlite_path.is_file() {
        return Err(Error::validation("database.path", format!("no SQLite database at {}", sqlite_path.display())));
    }
    // Bring the file to this build's schema (what `waiaas start` would do).
    let path = sqlite_path.to_path_buf();
    tokio::task::spawn_blocking(move || crate::store::sqlite::SqliteStore::open(&path).map(drop)).await.map_err(Error::internal_from)??;
    let target = PgStore::connect_with(url, opts).await?;
    let mut c = target.client().await?;
    let tx = c.transaction().await?;
    for t in TABLES {
        if tx.query_opt(&format!("SELECT 1 FROM {t} LIMIT 1"), &[]).await?.is_some() {
            return Err(Error::new(
                ErrorCode::DATABASE_IN_USE,
                format!("the PostgreSQL database is not empty (table {t} has rows): copy into an empty database"),
            ));
        }
    }
    // The PostgreSQL columns of each table (names and types), then every SQLite row of them,
    // read on a blocking thread (the rows of one data dir fit in memory).
    let mut columns: Vec<Vec<(String, String)>> = vec![];
    for t in TABLES {
        let cols = tx
            .query("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position", &[t])
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<Vec<(String, String)>>>()?;
        columns.push(cols);
    }
    let (path, names) = (sqlite_path.to_path_buf(), columns.iter().map(|c| c.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()).collect::<Vec<_>>());
    let data = tokio::task::spawn_blocking(move || -> Result<Vec<Vec<Vec<Lite>>>> {
        let lite = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let mut out = vec![];
        for (t, names) in TABLES.iter().zip(&names) {
            let mut st = lite.prepare(&format!("SELECT {} FROM {t}", names.join(", ")))?;
            let n = names.len();
            let rows = st.query_map([], |r| (0..n).map(|i| r.get::<_, Lite>(i)).collect())?.collect::<rusqlite::Result<Vec<Vec<Lite>>>>()?;
            out.push(rows);
        }
        Ok(out)
    })
    .await
    .map_err(Error::internal_from)??;
    let mut tables = vec![];
    for ((t, cols), rows) in TABLES.iter().zip(&columns).zip(data) {
        let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
        let overriding = if *t == "audit_log" { " OVERRIDING SYSTEM VALUE" } else { "" };
        let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
        let insert = tx.prepare(&format!("INSERT INTO {t} ({}){overriding} VALUES ({})", names.join(", "), placeholders.join(", "))).await?;
        let count = rows.len() as u64;
        for row in rows {
            let values = row.into_iter().zip(cols).map(|(v, (name, ty))| convert(t, name, ty, v)).collect::<Result<Vec<_>>>()?;
            let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|b| b.as_ref() as &(dyn ToSql + Sync)).collect();
            tx.execute(&insert, &params).await?;
        }
        tables.push((t.to_string(), count));
    }
    // The audit log's ids continue after the copied ones.
    tx.execute("SELECT setval(pg_get_serial_sequence('audit_log', 'id'), COALESCE((SELECT MAX(id) FROM audit_log), 0) + 1, false)", &[]).await?;
    tx.commit().await?;
    Ok(CopyReport { schema_version: LATEST_SCHEMA_VERSION, tables })
}
