//! Listing the backups of a data dir (from their plaintext metadata only) and the
//! retention settings and pruning.

use super::format::read_head;
use super::*;
use crate::config::Config;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// `GET /v1/admin/backups` (upstream `BackupListResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = BackupListResponse))]
pub struct BackupList {
    pub backups: Vec<BackupInfo>,
    pub total: u64,
    pub retention_count: u64,
}

/// `<data>/<[backup] dir>` (default `backups`; an absolute `dir` is used as is).
pub fn backups_dir(data_dir: &Path, config: &Config) -> PathBuf {
    let dir = config.other.get("backup").and_then(|t| t.get("dir")).and_then(|v| v.as_str()).unwrap_or("backups");
    data_dir.join(dir)
}

/// `[backup] retention_count` (default 7).
pub fn retention_count(config: &Config) -> u64 {
    config
        .other
        .get("backup")
        .and_then(|t| t.get("retention_count"))
        .and_then(|v| v.as_integer())
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(DEFAULT_RETENTION_COUNT)
}

impl Backups {
    /// Where this data dir's backups go.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `[backup] retention_count`.
    pub fn retention_count(&self) -> u64 {
        self.retention
    }

    /// `GET /v1/admin/backups`: newest first, read from the plaintext metadata only.
    pub async fn list(&self) -> Result<Vec<BackupInfo>> {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || list_backups_in(&dir)).await.map_err(Error::internal_from)?
    }

    /// The `GET /v1/admin/backups` body.
    pub async fn page(&self) -> Result<BackupList> {
        let backups = self.list().await?;
        Ok(BackupList { total: backups.len() as u64, retention_count: self.retention, backups })
    }
}

/// Backups in `dir`, newest first; files that are not readable backups are skipped.
/// Offline: works with the daemon stopped (`waiaas backup list`).
pub fn list_backups_in(dir: &Path) -> Result<Vec<BackupInfo>> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e.into()),
    };
    let mut out = vec![];
    for e in rd {
        let e = e?;
        let filename = e.file_name().to_string_lossy().to_string();
        if !filename.ends_with(FILE_SUFFIX) || filename.starts_with('.') {
            continue;
        }
        let path = e.path();
        match read_head(&path) {
            Ok((_, m, size)) => out.push(BackupInfo {
                path: path.display().to_string(),
                filename,
                size,
                file_count: m.file_count(),
                created_at: m.created_at,
                daemon_version: m.daemon_version,
                schema_version: m.schema_version,
            }),
            Err(err) => tracing::debug!(file = %path.display(), error = %err.message, "not a readable backup; skipped"),
        }
    }
    out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.filename.cmp(&a.filename)));
    Ok(out)
}

/// Delete the oldest backups in `dir` beyond the newest `keep`; returns the deleted paths.
pub fn prune_backups_in(dir: &Path, keep: usize) -> Result<Vec<PathBuf>> {
    let mut deleted = vec![];
    for b in list_backups_in(dir)?.into_iter().skip(keep) {
        let p = PathBuf::from(&b.path);
        fs::remove_file(&p)?;
        deleted.push(p);
    }
    Ok(deleted)
}
