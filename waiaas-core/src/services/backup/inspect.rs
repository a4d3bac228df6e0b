//! Inspecting a backup: header, metadata and checksum, and with the password the entry list.

use super::format::Archive;
use super::*;
use crate::error::Result;
use serde::Serialize;
use std::path::Path;

/// `waiaas backup inspect`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackupInspection {
    pub path: String,
    pub filename: String,
    pub size: u64,
    pub format_version: u16,
    pub metadata_length: u32,
    pub file_count: u64,
    pub metadata: BackupMetadata,
    /// Whether the ciphertext matches the metadata's checksum (`None`: no checksum).
    pub checksum_valid: Option<bool>,
    /// The decrypted entries (name and size), only when the password was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<FileInfo>>,
}

/// Header and metadata of a backup (no password needed, nothing decrypted) plus the
/// checksum check; with `password`, also the entry list of the decrypted payload (an
/// Argon2 run; a wrong password is `INVALID_MASTER_PASSWORD`). Blocking.
pub fn inspect_backup(archive: &Path, password: Option<&str>) -> Result<BackupInspection> {
    let arc = Archive::read(archive)?;
    let checksum_valid = arc.checksum_ok()?;
    let entries = match password {
        Some(pw) => Some(arc.decrypt(pw)?.iter().map(|e| FileInfo { name: e.name.clone(), size: e.data.len() as u64 }).collect()),
        None => None,
    };
    Ok(BackupInspection {
        path: archive.display().to_string(),
        filename: archive.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default(),
        size: arc.bytes.len() as u64,
        format_version: arc.header.version,
        metadata_length: arc.header.metadata_len,
        file_count: arc.metadata.file_count(),
        metadata: arc.metadata,
        checksum_valid,
        entries,
    })
}
