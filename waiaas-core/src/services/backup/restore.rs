//! Restoring a backup: the checks on the target, the staging dir, writing the entries,
//! the database check (and upstream import), revoking sessions and the move into place.

use super::create::random_hex;
use super::format::{corrupted, Archive, Entry};
use super::time::{compact_ms, now_ms};
use super::upstream::{db_flavor, import_upstream, Flavor};
use super::*;
use crate::error::{Error, ErrorCode, Result};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::Serialize;
use std::fs;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use zeroize::Zeroizing;

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestoreReport {
    pub target_dir: String,
    pub archive: String,
    /// `"waiaas"` (our schema) or `"upstream"` (translated from upstream's schema).
    pub source: String,
    pub created_at: String,
    pub daemon_version: String,
    /// The database schema version after the restore.
    pub schema_version: i64,
    /// Entries written (`waiaas.db`, `config.toml`, `keystore/<id>.json`).
    pub files: Vec<String>,
    /// Where the database was put, relative to the data dir.
    pub database_path: String,
    pub wallets: Vec<RestoredWallet>,
    /// Sessions that were active in the backup: all are revoked by the restore.
    pub sessions_revoked: u64,
    /// Row counts carried over from an upstream database.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_import: Option<UpstreamImport>,
    /// The previous contents of a non-empty target (`--force`), kept aside.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_dir: Option<String>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestoredWallet {
    pub id: String,
    pub name: String,
    pub chain: String,
    pub network: String,
    pub public_key: String,
    pub status: String,
    pub has_key_file: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpstreamImport {
    pub wallets: u64,
    pub sessions: u64,
    pub policies: u64,
    pub tokens: u64,
    pub audit_entries: u64,
    /// What was left behind, and why.
    pub skipped: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TargetState {
    Missing,
    /// No entries at all.
    Empty,
    /// Only empty directories and/or a `daemon.lock` (e.g. a freshly made layout).
    Bare,
    NonEmpty,
}

fn target_state(target: &Path) -> Result<TargetState> {
    let meta = match fs::symlink_metadata(target) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(TargetState::Missing),
        Err(e) => return Err(e.into()),
    };
    if !meta.is_dir() {
        return Err(Error::new(ErrorCode::VALIDATION_FAILED, format!("restore target {} exists and is not a directory", target.display())));
    }
    fn bare(dir: &Path, top: bool) -> Result<bool> {
        for e in fs::read_dir(dir)? {
            let e = e?;
            let ft = e.file_type()?;
            if ft.is_dir() {
                if !bare(&e.path(), false)? {
                    return Ok(false);
                }
            } else if !(top && e.file_name() == "daemon.lock" && e.metadata()?.len() == 0) {
                return Ok(false);
            }
        }
        Ok(true)
    }
    if fs::read_dir(target)?.next().is_none() {
        return Ok(TargetState::Empty);
    }
    Ok(if bare(target, true)? { TargetState::Bare } else { TargetState::NonEmpty })
}

/// The staging dir; removed on drop unless it was moved into place.
struct Staging {
    path: PathBuf,
    armed: bool,
}

impl Drop for Staging {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

fn mkdir_private(p: &Path) -> Result<()> {
    fs::create_dir_all(p)?;
    fs::set_permissions(p, fs::Permissions::from_mode(0o700))?;
    Ok(())
}

pub(super) fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

fn sync_dir(p: &Path) {
    if let Ok(d) = fs::File::open(p) {
        let _ = d.sync_all();
    }
}

/// A relative path of plain components (no `..`, no root).
fn safe_relative(p: &str) -> Option<PathBuf> {
    let path = Path::new(p);
    if p.is_empty() || path.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    Some(path.to_path_buf())
}

/// The sorted payload of a backup.
struct Plan {
    db: Zeroizing<Vec<u8>>,
    config: Option<Zeroizing<Vec<u8>>>,
    keystore: Vec<(String, Zeroizing<Vec<u8>>)>,
}

fn plan_entries(entries: Vec<Entry>, warnings: &mut Vec<String>) -> Result<Plan> {
    let (mut db, mut config, mut keystore) = (None, None, Vec::<(String, Zeroizing<Vec<u8>>)>::new());
    for e in entries {
        let dup = || corrupted(format!("backup payload names '{}' twice", e.name));
        if e.name == DB_ENTRY {
            if db.replace(e.data).is_some() {
                return Err(corrupted("backup payload holds two databases"));
            }
        } else if e.name == CONFIG_ENTRY {
            if config.is_some() {
                return Err(dup());
            }
            config = Some(e.data);
        } else if let Some(file) = e.name.strip_prefix(KEYSTORE_PREFIX) {
            let ok = file.ends_with(".json") && !file.starts_with('.') && !file.contains('/') && !file.contains('\\') && file.len() > 5;
            if !ok {
                warnings.push(format!("entry '{}' skipped: not a key file name", e.name));
                continue;
            }
            if keystore.iter().any(|(n, _)| n == file) {
                return Err(dup());
            }
            keystore.push((file.to_string(), e.data));
        } else {
            warnings.push(format!("unknown entry '{}' skipped", e.name));
        }
    }
    let db = db.ok_or_else(|| corrupted("the backup holds no database (waiaas.db)"))?;
    Ok(Plan { db, config, keystore })
}

/// `database.path` of the restored config.toml when it is a safe relative path.
fn db_path_from_config(config: Option<&[u8]>, warnings: &mut Vec<String>) -> PathBuf {
    let default = PathBuf::from(DEFAULT_DB_PATH);
    let Some(text) = config else { return default };
    let Ok(table) = std::str::from_utf8(text).map_err(|_| ()).and_then(|t| t.parse::<toml::Table>().map_err(|_| ())) else {
        warnings.push("config.toml does not parse as TOML; the database goes to data/waiaas.db".into());
        return default;
    };
    match table.get("database").and_then(|d| d.get("path")).and_then(|p| p.as_str()) {
        None => default,
        Some(p) => safe_relative(p).unwrap_or_else(|| {
            warnings.push(format!(
                "config.toml's database.path '{p}' is not inside the data dir; the database was restored to {DEFAULT_DB_PATH}: point database.path there"
            ));
            default
        }),
    }
}

/// Restore `archive` (a `.waiaas-backup` of ours or of upstream) decrypted with `password`
/// into `target_dir`, which must be missing or empty unless `force` (then its current
/// contents are kept aside as `<target>.pre-restore-<time>` and named in the report).
/// Refused while a daemon holds the target's lock. Everything is built in a staging dir
/// next to the target and renamed into place at the end: on any error nothing is left
/// behind and the target is untouched. Afterwards `Engine::open(target, config, password)`
/// opens it. Blocking (one Argon2 run, plus a cheap check of the stored master hash).
pub fn restore_backup(archive: &Path, password: &str, target_dir: &Path, force: bool) -> Result<RestoreReport> {
    let arc = Archive::read(archive)?;
    arc.verify_checksum()?;
    // A symlinked data dir is restored where it points.
    let target = match fs::canonicalize(target_dir) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => std::path::absolute(target_dir)?,
        Err(e) => return Err(e.into()),
    };
    let state = target_state(&target)?;
    if state == TargetState::NonEmpty && !force {
        return Err(Error::new(
            ErrorCode::VALIDATION_FAILED,
            format!("restore target {} is not empty; pass --force to replace it (its contents are kept aside)", target.display()),
        ));
    }
    let _lock = if crate::datadir::lock_path(&target).exists() { Some(crate::datadir::DataDirLock::acquire(&target)?) } else { None };

    let mut warnings = vec![];
    let entries = arc.decrypt(password)?;
    let mut files: Vec<String> = entries.iter().map(|e| e.name.clone()).collect();
    let plan = plan_entries(entries, &mut warnings)?;
    files.retain(|n| n == DB_ENTRY || n == CONFIG_ENTRY || plan.keystore.iter().any(|(f, _)| n.strip_prefix(KEYSTORE_PREFIX) == Some(f)));

    // Stage next to the target (same file system, so the final rename is atomic); when the
    // target is a mount point (a Docker volume), stage inside it instead.
    let parent = target.parent().ok_or_else(|| Error::new(ErrorCode::VALIDATION_FAILED, "cannot restore into /"))?.to_path_buf();
    fs::create_dir_all(&parent)?;
    let name = target.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "data".into());
    let in_place = state != TargetState::Missing && fs::metadata(&target)?.dev() != fs::metadata(&parent)?.dev();
    let staging_path = if in_place { target.join(format!(".restore-{}", random_hex(6))) } else { parent.join(format!(".{name}.restore-{}", random_hex(6))) };
    fs::create_dir(&staging_path)?;
    let mut staging = Staging { path: staging_path, armed: true };
    fs::set_permissions(&staging.path, fs::Permissions::from_mode(0o700))?;

    // Write the files.
    for sub in crate::datadir::SUBDIRS {
        mkdir_private(&staging.path.join(sub))?;
    }
    if let Some(c) = &plan.config {
        write_private(&staging.path.join("config.toml"), c)?;
    }
    for (file, data) in &plan.keystore {
        write_private(&staging.path.join("keystore").join(file), data)?;
    }
    sync_dir(&staging.path.join("keystore"));
    let db_rel = db_path_from_config(plan.config.as_deref().map(|v| v.as_slice()), &mut warnings);
    let db_path = staging.path.join(&db_rel);
    if let Some(dir) = db_path.parent() {
        mkdir_private(dir)?;
    }
    write_private(&db_path, &plan.db)?;
    drop(plan);

    // Check (and, for upstream, translate) the database.
    let mut upstream_import = None;
    let source = match db_flavor(&db_path)? {
        Flavor::Ours(v) if v > crate::store::sqlite::LATEST_SCHEMA_VERSION => {
            return Err(Error::new(
                ErrorCode::SCHEMA_INCOMPATIBLE,
                format!(
                    "the backup's database has schema version {v}, newer than this build ({}); restore it with a newer waiaas",
                    crate::store::sqlite::LATEST_SCHEMA_VERSION
                ),
            ));
        }
        Flavor::Ours(_) => "waiaas",
        Flavor::Upstream => {
            let up = db_path.with_file_name(format!(".upstream-{}.db", random_hex(6)));
            fs::rename(&db_path, &up)?;
            let result = import_upstream(&up, &db_path, &staging.path.join("keystore"));
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let _ = fs::remove_file(format!("{}{suffix}", up.display()));
            }
            upstream_import = Some(result?);
            "upstream"
        }
    };
    let sessions_revoked = revoke_sessions(&db_path)?;
    if sessions_revoked > 0 {
        warnings.push(format!(
            "every session was revoked and the token signing secret replaced ({sessions_revoked} sessions were still active in the backup): issue new session tokens to your agents"
        ));
    }
    let (schema_version, wallets) = summarize(&db_path, &staging.path.join("keystore"), password, &mut warnings)?;
    sync_dir(db_path.parent().unwrap_or(&staging.path));
    sync_dir(&staging.path);

    // Into place.
    let mut previous_dir = None;
    if in_place {
        finish_in_place(&target, &staging.path, state, &mut previous_dir)?;
    } else {
        match state {
            TargetState::Missing | TargetState::Empty => fs::rename(&staging.path, &target)?,
            TargetState::Bare | TargetState::NonEmpty => {
                let aside = unique_path(&parent.join(format!("{name}.pre-restore-{}", compact_ms(now_ms()))));
                fs::rename(&target, &aside)?;
                if let Err(e) = fs::rename(&staging.path, &target) {
                    let _ = fs::rename(&aside, &target);
                    return Err(e.into());
                }
                if state == TargetState::Bare {
                    let _ = fs::remove_dir_all(&aside);
                } else {
                    previous_dir = Some(aside.display().to_string());
                }
            }
        }
        sync_dir(&parent);
    }
    staging.armed = false;
    Ok(RestoreReport {
        target_dir: target.display().to_string(),
        archive: archive.display().to_string(),
        source: source.into(),
        created_at: arc.metadata.created_at.clone(),
        daemon_version: arc.metadata.daemon_version.clone(),
        schema_version,
        files,
        database_path: db_rel.display().to_string(),
        wallets,
        sessions_revoked,
        upstream_import,
        previous_dir,
        warnings,
    })
}

/// A restore never revives a session: a backup cannot tell which of its sessions were
/// revoked (or rotated) after it was taken, so every session in the restored database is
/// revoked and the JWT signing secrets are dropped (the daemon makes a fresh one at start),
/// which kills every token ever issued from the backup's secret as well. Returns how many
/// sessions were still active in the backup.
fn revoke_sessions(db: &Path) -> Result<u64> {
    let c = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    let now = crate::now();
    let tx = c.unchecked_transaction()?;
    let n = tx.execute("UPDATE sessions SET revoked_at = ?1 WHERE revoked_at IS NULL", params![now])?;
    tx.execute(
        "DELETE FROM key_value_store WHERE key IN (?1, ?2)",
        params![crate::services::sessions::KV_JWT_CURRENT, crate::services::sessions::KV_JWT_PREVIOUS],
    )?;
    tx.commit()?;
    Ok(n as u64)
}

/// The target is a mount point: move its old entries aside (inside it), then the staged
/// entries up. Not atomic as a whole (each move is), unlike the rename of the usual path.
fn finish_in_place(target: &Path, staging: &Path, state: TargetState, previous_dir: &mut Option<String>) -> Result<()> {
    let staging_name = staging.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    let old: Vec<_> = fs::read_dir(target)?.filter_map(|e| e.ok()).map(|e| e.file_name()).filter(|n| *n != staging_name).collect();
    if !old.is_empty() {
        let aside = unique_path(&target.join(format!(".pre-restore-{}", compact_ms(now_ms()))));
        fs::create_dir(&aside)?;
        fs::set_permissions(&aside, fs::Permissions::from_mode(0o700))?;
        for n in &old {
            fs::rename(target.join(n), aside.join(n))?;
        }
        if state == TargetState::Bare {
            let _ = fs::remove_dir_all(&aside);
        } else {
            *previous_dir = Some(aside.display().to_string());
        }
    }
    for e in fs::read_dir(staging)? {
        let n = e?.file_name();
        fs::rename(staging.join(&n), target.join(&n))?;
    }
    fs::remove_dir(staging)?;
    fs::set_permissions(target, fs::Permissions::from_mode(0o700))?;
    sync_dir(target);
    Ok(())
}

fn unique_path(base: &Path) -> PathBuf {
    let mut p = base.to_path_buf();
    let mut n = 1;
    while fs::symlink_metadata(&p).is_ok() {
        p = PathBuf::from(format!("{}-{n}", base.display()));
        n += 1;
    }
    p
}

/// Schema version, the wallets, and warnings about key files and the master password.
fn summarize(db: &Path, keystore_dir: &Path, password: &str, warnings: &mut Vec<String>) -> Result<(i64, Vec<RestoredWallet>)> {
    let c = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    let version: i64 = c.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |r| r.get(0))?;
    let mut st = c.prepare("SELECT id, name, chain, network, public_key, status FROM wallets ORDER BY created_at, id")?;
    let wallets = st
        .query_map([], |r| {
            let id: String = r.get(0)?;
            Ok(RestoredWallet {
                has_key_file: keystore_dir.join(format!("{id}.json")).is_file(),
                id,
                name: r.get(1)?,
                chain: r.get(2)?,
                network: r.get(3)?,
                public_key: r.get(4)?,
                status: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for w in wallets.iter().filter(|w| !w.has_key_file && w.status != "TERMINATED") {
        warnings.push(format!("wallet {} ({}) has no key file in the backup: it cannot sign", w.id, w.name));
    }
    let phc: Option<String> = c.query_row("SELECT value FROM key_value_store WHERE key = 'master_password_hash'", [], |r| r.get(0)).optional()?;
    if let Some(phc) = phc {
        if !crate::auth::master::verify_hash(&phc, password).unwrap_or(false) {
            warnings.push("the restored data dir's master password is not the backup's password: open it with the password it had".into());
        }
    }
    Ok((version, wallets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mount_point_target_is_filled_in_place() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("vol");
        fs::create_dir_all(target.join("keystore")).unwrap();
        fs::write(target.join("keystore/old.json"), b"old").unwrap();
        let staging = target.join(".restore-x");
        fs::create_dir_all(staging.join("keystore")).unwrap();
        fs::write(staging.join("keystore/new.json"), b"new").unwrap();
        fs::write(staging.join("config.toml"), b"").unwrap();
        let mut prev = None;
        finish_in_place(&target, &staging, TargetState::NonEmpty, &mut prev).unwrap();
        let prev = PathBuf::from(prev.unwrap());
        assert_eq!(fs::read(prev.join("keystore/old.json")).unwrap(), b"old");
        assert_eq!(fs::read(target.join("keystore/new.json")).unwrap(), b"new");
        assert!(!staging.exists() && !target.join("keystore/old.json").exists());
        let mut names: Vec<_> = fs::read_dir(&target).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
        names.sort();
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(names[0].starts_with(".pre-restore-") && names[1] == "config.toml" && names[2] == "keystore", "{names:?}");
    }

    #[test]
    fn safe_relative_paths_only() {
        assert!(safe_relative("data/waiaas.db").is_some());
        assert!(safe_relative("/etc/x.db").is_none());
        assert!(safe_relative("../x.db").is_none());
        assert!(safe_relative("data/../../x.db").is_none());
        assert!(safe_relative("").is_none());
    }
}
