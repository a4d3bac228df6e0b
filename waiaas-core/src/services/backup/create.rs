//! Creating a backup: the database snapshot, the payload of config and key files, the
//! encrypted file written atomically into the backups dir.

use super::format::{encode_entries, seal, Entry, Sealed};
use super::time::{compact_ms, iso_ms, now_ms};
use super::*;
use crate::error::{Error, Result};
use rand::RngCore;
use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// One backup file (upstream `BackupInfoResponse`, the body of `POST /v1/admin/backup` and
/// an item of `GET /v1/admin/backups`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = BackupInfoResponse))]
pub struct BackupInfo {
    pub path: String,
    pub filename: String,
    pub size: u64,
    pub created_at: String,
    pub daemon_version: String,
    pub schema_version: i64,
    pub file_count: u64,
}

impl Backups {
    /// `POST /v1/admin/backup`: a consistent snapshot of the database, `config.toml` and
    /// every key file, encrypted with the master password into
    /// `<data>/backups/backup-<UTC yyyymmdd-HHMMSSmmm>.waiaas-backup` (mode 0600, written
    /// atomically). Master password changes wait for it (and it for them).
    pub async fn create(&self) -> Result<BackupInfo> {
        if self.postgres {
            // A SQLite file left in the data dir would be an old copy: never back that up.
            return Err(Error::new(
                crate::error::ErrorCode::BACKUP_UNSUPPORTED,
                "backups snapshot the SQLite store; this daemon runs on PostgreSQL: back the database up with pg_dump and the data dir (keystore, config.toml) with the files",
            ));
        }
        let _rekey = self.signer.rekey_lock().read().await;
        let password = self.signer.password()?;
        let schema_version = self.kv.schema_version().await?;
        let data_dir = self.data_dir.clone();
        let db_path = self.db_path.clone();
        let out_dir = self.dir.clone();
        let info = tokio::task::spawn_blocking(move || write_backup(&data_dir, &db_path, &out_dir, &password, schema_version))
            .await
            .map_err(Error::internal_from)??;
        self.audit
            .record(
                "BACKUP_CREATED",
                "master",
                None,
                None,
                Some(serde_json::json!({ "filename": info.filename, "size": info.size, "fileCount": info.file_count })),
                "info",
                None,
            )
            .await;
        Ok(info)
    }
}

/// Removes a file when dropped (the plaintext database snapshot).
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

pub(super) fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// A consistent copy of a live SQLite database (WAL content included) via `VACUUM INTO`,
/// through a temporary 0600 file in `tmp_dir` that is removed before returning.
fn snapshot_db(db_path: &Path, tmp_dir: &Path) -> Result<Zeroizing<Vec<u8>>> {
    if !db_path.is_file() {
        return Err(Error::internal(format!("no SQLite database at {} (backups need the SQLite store)", db_path.display())));
    }
    let snap = tmp_dir.join(format!(".snapshot-{}.db", random_hex(8)));
    // VACUUM INTO accepts an existing empty file: create it first so it is never world-readable.
    fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&snap)?;
    let _cleanup = RemoveOnDrop(snap.clone());
    let conn = Connection::open_with_flags(db_path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let target = snap.to_str().ok_or_else(|| Error::internal("backup dir path is not UTF-8"))?;
    conn.execute("VACUUM INTO ?1", [target])?;
    drop(conn);
    Ok(Zeroizing::new(fs::read(&snap)?))
}

/// Create a backup of `data_dir` (database at `db_path`) into `out_dir`. Blocking.
pub fn write_backup(data_dir: &Path, db_path: &Path, out_dir: &Path, password: &str, schema_version: i64) -> Result<BackupInfo> {
    if !out_dir.exists() {
        fs::create_dir_all(out_dir)?;
        fs::set_permissions(out_dir, fs::Permissions::from_mode(0o700))?;
    }
    let now = now_ms();
    let mut entries = vec![Entry { name: DB_ENTRY.into(), data: snapshot_db(db_path, out_dir)? }];
    let mut contents = Contents { database: FileInfo { name: DB_ENTRY.into(), size: entries[0].data.len() as u64 }, ..Default::default() };
    let config_path = data_dir.join("config.toml");
    match fs::read(&config_path) {
        Ok(b) => {
            contents.config = Some(FileInfo { name: CONFIG_ENTRY.into(), size: b.len() as u64 });
            entries.push(Entry { name: CONFIG_ENTRY.into(), data: Zeroizing::new(b) });
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    // Key files after the snapshot: every wallet in the snapshot already has its file.
    let ks_dir = data_dir.join("keystore");
    let mut names = vec![];
    if ks_dir.is_dir() {
        for e in fs::read_dir(&ks_dir)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().to_string();
            if name.ends_with(".json") && !name.starts_with('.') && e.file_type()?.is_file() {
                names.push(name);
            }
        }
    }
    names.sort();
    for name in names {
        let data = Zeroizing::new(fs::read(ks_dir.join(&name))?);
        contents.keystore_files.push(FileInfo { name: name.clone(), size: data.len() as u64 });
        entries.push(Entry { name: format!("{KEYSTORE_PREFIX}{name}"), data });
    }
    let file_count = entries.len() as u64;
    let plain = encode_entries(&entries)?;
    drop(entries);
    let Sealed { salt, nonce, tag, ciphertext } = seal(password.as_bytes(), plain)?;
    let metadata = BackupMetadata {
        created_at: iso_ms(now),
        daemon_version: crate::VERSION.into(),
        schema_version,
        kdf: "argon2id".into(),
        kdf_params: KdfParamsMeta::default(),
        contents,
        checksum: Some(format!("sha256:{}", hex::encode(Sha256::digest(&ciphertext)))),
    };
    let meta = serde_json::to_vec(&metadata).map_err(Error::internal_from)?;
    let header = Header { version: FORMAT_VERSION, reserved: 0, metadata_len: meta.len() as u32, salt, nonce, tag };
    let mut file = Vec::with_capacity(HEADER_LEN + meta.len() + ciphertext.len());
    file.extend_from_slice(&header.encode());
    file.extend_from_slice(&meta);
    file.extend_from_slice(&ciphertext);

    let stamp = compact_ms(now);
    let mut filename = format!("backup-{stamp}{FILE_SUFFIX}");
    let mut n = 1;
    while out_dir.join(&filename).exists() {
        filename = format!("backup-{stamp}-{n}{FILE_SUFFIX}");
        n += 1;
    }
    let path = out_dir.join(&filename);
    crate::datadir::write_atomic(&path, &file)?;
    Ok(BackupInfo {
        path: path.display().to_string(),
        filename,
        size: file.len() as u64,
        created_at: metadata.created_at,
        daemon_version: metadata.daemon_version,
        schema_version,
        file_count,
    })
}
