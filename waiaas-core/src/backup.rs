//! Encrypted backups of a data dir in the upstream daemon's `.waiaas-backup` format: a
//! backup written by upstream restores here, and upstream's `waiaas backup inspect` and
//! `restore` read ours.
//!
//! File layout (every integer little-endian):
//! ```text
//! 0x00   8  magic "WAIAAS\0\x01"
//! 0x08   2  format version (1)
//! 0x0A   2  reserved (0)
//! 0x0C   4  metadata length N
//! 0x10  16  Argon2id salt
//! 0x20  12  AES-GCM nonce
//! 0x2C  16  AES-GCM tag
//! 0x3C   N  metadata: plaintext JSON, readable without the password (NOT authenticated)
//! 0x3C+N    AES-256-GCM ciphertext of the payload (no AAD)
//! ```
//! The key is Argon2id(master password, salt) with the keystore parameters (m=64 MiB, t=3,
//! p=4, 32 bytes), always: the `kdf_params` in the metadata are informative only, so a
//! doctored file cannot ask for a huge Argon2 run. The payload is a run of entries
//! `[u16 nameLen][name, UTF-8][u64 dataLen][data]`: `waiaas.db` (a `VACUUM INTO` snapshot),
//! `config.toml` (when present) and `keystore/<walletId>.json`. The metadata's `checksum`
//! is `sha256:<hex>` of the ciphertext (without the tag): it tells a damaged or truncated
//! file (`BACKUP_CORRUPTED`) from a wrong password (`INVALID_MASTER_PASSWORD`) before any
//! Argon2 run. Since the metadata is not authenticated, a restore trusts only the
//! decrypted entries.
//!
//! A restore builds the whole data dir in a staging directory next to the target and
//! renames it into place, so a failure at any step leaves nothing half-restored. An
//! upstream database (upstream's drizzle schema, no per-wallet network) is translated into
//! ours on the way: wallets (default network from the key file), sessions and their
//! wallets, policies, custom tokens, the audit log, the master password hash, the JWT
//! secrets and the kill switch state. What has no counterpart here (upstream transaction
//! history, Admin Settings, webhooks, Ripple and smart-account wallets) is listed in the
//! report; the backup file itself stays the complete record.
//!
//! A restore revokes every session and drops the JWT signing secret (the report says how
//! many sessions were active): the backup cannot know which sessions were revoked after it
//! was taken, so none comes back to life; the operator issues new tokens.

use crate::config::Config;
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::keystore::{self, KdfParams, KDF_MEMORY_KIB, KDF_PARALLELISM, KDF_TIME};
use crate::network::{Chain, Environment, Network};
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use rand::RngCore;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use zeroize::Zeroizing;

/// `"WAIAAS\0\x01"`.
pub const MAGIC: [u8; 8] = *b"WAIAAS\x00\x01";
/// The only format version (upstream `BACKUP_FORMAT_VERSION`).
pub const FORMAT_VERSION: u16 = 1;
/// Fixed header size.
pub const HEADER_LEN: usize = 60;
/// File name suffix of backups.
pub const FILE_SUFFIX: &str = ".waiaas-backup";
/// Payload entry names.
pub const DB_ENTRY: &str = "waiaas.db";
pub const CONFIG_ENTRY: &str = "config.toml";
pub const KEYSTORE_PREFIX: &str = "keystore/";
/// `[backup] retention_count` default (upstream).
pub const DEFAULT_RETENTION_COUNT: u64 = 7;
/// Where the database goes when the restored config.toml does not say.
pub const DEFAULT_DB_PATH: &str = "data/waiaas.db";
/// Larger metadata is refused (upstream writes ~0.5 KiB plus ~60 B per wallet).
const MAX_METADATA_LEN: usize = 4 << 20;

// ---------------------------------------------------------------------------------------
// Format

/// The plaintext metadata (upstream `BackupMetadata`, same field order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupMetadata {
    /// ISO 8601 UTC with milliseconds.
    pub created_at: String,
    #[serde(default)]
    pub daemon_version: String,
    #[serde(default)]
    pub schema_version: i64,
    #[serde(default = "argon2id")]
    pub kdf: String,
    #[serde(default)]
    pub kdf_params: KdfParamsMeta,
    #[serde(default)]
    pub contents: Contents,
    /// `sha256:<hex>` of the ciphertext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}

fn argon2id() -> String {
    "argon2id".into()
}

impl BackupMetadata {
    /// Files in the backup as upstream counts them (database + config + key files).
    pub fn file_count(&self) -> u64 {
        1 + u64::from(self.contents.config.is_some()) + self.contents.keystore_files.len() as u64
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParamsMeta {
    pub memory_cost: u32,
    pub time_cost: u32,
    pub parallelism: u32,
    pub hash_length: u32,
}

impl Default for KdfParamsMeta {
    fn default() -> Self {
        KdfParamsMeta { memory_cost: KDF_MEMORY_KIB, time_cost: KDF_TIME, parallelism: KDF_PARALLELISM, hash_length: 32 }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contents {
    pub database: FileInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<FileInfo>,
    #[serde(default)]
    pub keystore_files: Vec<FileInfo>,
}

/// A file named in the metadata or found in the payload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    pub name: String,
    pub size: u64,
}

/// The fixed 60-byte header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub version: u16,
    pub reserved: u16,
    pub metadata_len: u32,
    pub salt: [u8; 16],
    pub nonce: [u8; 12],
    pub tag: [u8; 16],
}

impl Header {
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[0..8].copy_from_slice(&MAGIC);
        h[8..10].copy_from_slice(&self.version.to_le_bytes());
        h[10..12].copy_from_slice(&self.reserved.to_le_bytes());
        h[12..16].copy_from_slice(&self.metadata_len.to_le_bytes());
        h[16..32].copy_from_slice(&self.salt);
        h[32..44].copy_from_slice(&self.nonce);
        h[44..60].copy_from_slice(&self.tag);
        h
    }

    /// Parse and check magic and version.
    pub fn parse(b: &[u8]) -> Result<Header> {
        if b.len() < HEADER_LEN {
            return Err(invalid_format(format!("file too small: {} bytes (a backup has at least {HEADER_LEN})", b.len())));
        }
        if b[0..8] != MAGIC {
            return Err(invalid_format("not a WAIaaS backup file (bad magic number)".into()));
        }
        let version = u16::from_le_bytes([b[8], b[9]]);
        if version != FORMAT_VERSION {
            return Err(Error::new(
                ErrorCode::UNSUPPORTED_BACKUP_VERSION,
                format!("unsupported backup format version {version} (this build reads version {FORMAT_VERSION})"),
            ));
        }
        fn field<const N: usize>(b: &[u8], at: usize) -> Result<[u8; N]> {
            b.get(at..at + N).and_then(|s| s.try_into().ok()).ok_or_else(|| invalid_format("header cut short".into()))
        }
        Ok(Header {
            version,
            reserved: u16::from_le_bytes([b[10], b[11]]),
            metadata_len: u32::from_le_bytes([b[12], b[13], b[14], b[15]]),
            salt: field(b, 16)?,
            nonce: field(b, 32)?,
            tag: field(b, 44)?,
        })
    }
}

fn invalid_format(msg: String) -> Error {
    Error::new(ErrorCode::INVALID_BACKUP_FORMAT, msg)
}

fn corrupted(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::BACKUP_CORRUPTED, msg)
}

fn not_found(path: &Path) -> Error {
    Error::new(ErrorCode::BACKUP_NOT_FOUND, format!("backup file not found: {}", path.display()))
}

fn parse_metadata(raw: &[u8]) -> Result<BackupMetadata> {
    serde_json::from_slice(raw).map_err(|e| invalid_format(format!("backup metadata is not valid JSON: {e}")))
}

/// One payload entry; the data is zeroized on drop.
struct Entry {
    name: String,
    data: Zeroizing<Vec<u8>>,
}

/// `[u16 nameLen][name][u64 dataLen][data]...` into one zeroizing buffer, allocated once (no
/// plaintext is left behind in a reallocated buffer).
fn encode_entries(entries: &[Entry]) -> Result<Zeroizing<Vec<u8>>> {
    let total: usize = entries.iter().map(|e| 2 + e.name.len() + 8 + e.data.len()).sum();
    let mut out = Zeroizing::new(Vec::with_capacity(total));
    for e in entries {
        let name_len = u16::try_from(e.name.len()).map_err(|_| Error::internal(format!("entry name too long: {}", e.name)))?;
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(e.name.as_bytes());
        out.extend_from_slice(&(e.data.len() as u64).to_le_bytes());
        out.extend_from_slice(&e.data);
    }
    Ok(out)
}

fn decode_entries(p: &[u8]) -> Result<Vec<Entry>> {
    let bad = |what: &str| corrupted(format!("backup payload is malformed: {what}"));
    let mut entries = vec![];
    let mut at = 0usize;
    while at < p.len() {
        let name_len = p.get(at..at + 2).ok_or_else(|| bad("entry header cut short"))?;
        let name_len = u16::from_le_bytes([name_len[0], name_len[1]]) as usize;
        at += 2;
        let name = p.get(at..at + name_len).ok_or_else(|| bad("entry name cut short"))?;
        let name = std::str::from_utf8(name).map_err(|_| bad("entry name is not UTF-8"))?.to_string();
        at += name_len;
        let len = p.get(at..at + 8).ok_or_else(|| bad("entry length cut short"))?;
        let len = u64::from_le_bytes(len.try_into().map_err(|_| bad("entry length cut short"))?);
        at += 8;
        let len = usize::try_from(len).map_err(|_| bad("entry too large"))?;
        let end = at.checked_add(len).ok_or_else(|| bad("entry too large"))?;
        let data = p.get(at..end).ok_or_else(|| bad(&format!("entry '{name}' cut short")))?;
        entries.push(Entry { name, data: Zeroizing::new(data.to_vec()) });
        at = end;
    }
    Ok(entries)
}

/// The backup key: the keystore KDF with its fixed parameters.
fn derive_key(password: &[u8], salt: &[u8; 16]) -> Result<Zeroizing<[u8; 32]>> {
    let p = KdfParams { salt: String::new(), memory_cost: KDF_MEMORY_KIB, time_cost: KDF_TIME, parallelism: KDF_PARALLELISM, hash_length: 32 };
    keystore::kdf(password, salt, &p)
}

/// An encrypted payload with what the header needs to open it.
struct Sealed {
    salt: [u8; 16],
    nonce: [u8; 12],
    tag: [u8; 16],
    ciphertext: Vec<u8>,
}

/// Encrypt `plain` in place under a fresh salt and nonce.
fn seal(password: &[u8], mut plain: Zeroizing<Vec<u8>>) -> Result<Sealed> {
    let (mut salt, mut nonce) = ([0u8; 16], [0u8; 12]);
    rand::rngs::OsRng.fill_bytes(&mut salt);
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let key = derive_key(password, &salt)?;
    let cipher = Aes256Gcm::new_from_slice(key.as_ref()).map_err(|_| Error::internal("aes key"))?;
    let tag =
        cipher.encrypt_in_place_detached(Nonce::from_slice(&nonce), b"", plain.as_mut_slice()).map_err(|_| Error::internal("aes-gcm encryption failed"))?;
    // The buffer now holds ciphertext only.
    let ciphertext = std::mem::take(&mut *plain);
    Ok(Sealed { salt, nonce, tag: tag.into(), ciphertext })
}

/// Decrypt the payload; a wrong password (or a damaged salt/nonce/tag) is `INVALID_MASTER_PASSWORD`.
fn unseal(password: &[u8], h: &Header, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let key = derive_key(password, &h.salt)?;
    let cipher = Aes256Gcm::new_from_slice(key.as_ref()).map_err(|_| Error::internal("aes key"))?;
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    cipher.decrypt_in_place_detached(Nonce::from_slice(&h.nonce), b"", buf.as_mut_slice(), Tag::from_slice(&h.tag)).map_err(|_| {
        Error::new(ErrorCode::INVALID_MASTER_PASSWORD, "Decryption failed: wrong master password (or a damaged backup header: salt, nonce or tag)")
    })?;
    Ok(buf)
}

/// A whole backup file in memory.
struct Archive {
    header: Header,
    metadata: BackupMetadata,
    bytes: Vec<u8>,
}

impl Archive {
    fn read(path: &Path) -> Result<Archive> {
        let bytes = fs::read(path).map_err(|e| if e.kind() == ErrorKind::NotFound { not_found(path) } else { e.into() })?;
        let header = Header::parse(&bytes)?;
        let meta_len = header.metadata_len as usize;
        if meta_len > MAX_METADATA_LEN || HEADER_LEN + meta_len > bytes.len() {
            return Err(invalid_format(format!("metadata length {meta_len} runs past the end of the file ({} bytes): truncated or not a backup", bytes.len())));
        }
        let metadata = parse_metadata(&bytes[HEADER_LEN..HEADER_LEN + meta_len])?;
        Ok(Archive { header, metadata, bytes })
    }

    fn ciphertext(&self) -> &[u8] {
        &self.bytes[HEADER_LEN + self.header.metadata_len as usize..]
    }

    /// `Some(matches)` when the metadata carries a checksum.
    fn checksum_ok(&self) -> Result<Option<bool>> {
        let Some(c) = &self.metadata.checksum else { return Ok(None) };
        let expected = c.strip_prefix("sha256:").ok_or_else(|| invalid_format(format!("unknown checksum algorithm in '{c}'")))?;
        Ok(Some(hex::encode(Sha256::digest(self.ciphertext())).eq_ignore_ascii_case(expected)))
    }

    fn verify_checksum(&self) -> Result<()> {
        if self.checksum_ok()? == Some(false) {
            return Err(corrupted("the encrypted payload does not match its checksum: the file is truncated or damaged"));
        }
        Ok(())
    }

    fn decrypt(&self, password: &str) -> Result<Vec<Entry>> {
        self.verify_checksum()?;
        let plain = unseal(password.as_bytes(), &self.header, self.ciphertext())?;
        decode_entries(&plain)
    }
}

/// Header and metadata only (list and inspect read no more of the file).
fn read_head(path: &Path) -> Result<(Header, BackupMetadata, u64)> {
    let mut f = fs::File::open(path).map_err(|e| if e.kind() == ErrorKind::NotFound { not_found(path) } else { e.into() })?;
    let size = f.metadata()?.len();
    let mut h = [0u8; HEADER_LEN];
    let n = read_up_to(&mut f, &mut h)?;
    let header = Header::parse(&h[..n])?;
    let meta_len = header.metadata_len as usize;
    if meta_len > MAX_METADATA_LEN || (HEADER_LEN + meta_len) as u64 > size {
        return Err(invalid_format(format!("metadata length {meta_len} runs past the end of the file ({size} bytes)")));
    }
    let mut raw = vec![0u8; meta_len];
    f.read_exact(&mut raw)?;
    Ok((header, parse_metadata(&raw)?, size))
}

fn read_up_to(f: &mut fs::File, buf: &mut [u8]) -> Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

// ---------------------------------------------------------------------------------------
// Create and list

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

impl Engine {
    /// Where this data dir's backups go.
    pub fn backups_dir(&self) -> PathBuf {
        backups_dir(self.data_dir(), self.config())
    }

    /// `[backup] retention_count`.
    pub fn backup_retention_count(&self) -> u64 {
        retention_count(self.config())
    }

    /// `POST /v1/admin/backup`: a consistent snapshot of the database, `config.toml` and
    /// every key file, encrypted with the master password into
    /// `<data>/backups/backup-<UTC yyyymmdd-HHMMSSmmm>.waiaas-backup` (mode 0600, written
    /// atomically). Master password changes wait for it (and it for them).
    pub async fn create_backup(&self) -> Result<BackupInfo> {
        let _rekey = self.inner.rekey.read().await;
        let password = self.inner.password.read().map_err(|_| Error::internal("lock"))?.clone();
        let schema_version = self.inner.store.schema_version().await?;
        let data_dir = self.data_dir().to_path_buf();
        let db_path = data_dir.join(&self.config().database.path);
        let out_dir = self.backups_dir();
        let info = tokio::task::spawn_blocking(move || write_backup(&data_dir, &db_path, &out_dir, &password, schema_version))
            .await
            .map_err(Error::internal_from)??;
        self.audit(
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

    /// `GET /v1/admin/backups`: newest first, read from the plaintext metadata only.
    pub async fn list_backups(&self) -> Result<Vec<BackupInfo>> {
        let dir = self.backups_dir();
        tokio::task::spawn_blocking(move || list_backups_in(&dir)).await.map_err(Error::internal_from)?
    }

    /// The `GET /v1/admin/backups` body.
    pub async fn backup_list(&self) -> Result<BackupList> {
        let backups = self.list_backups().await?;
        Ok(BackupList { total: backups.len() as u64, retention_count: self.backup_retention_count(), backups })
    }
}

/// Removes a file when dropped (the plaintext database snapshot).
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

fn random_hex(n: usize) -> String {
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
    keystore::write_atomic(&path, &file)?;
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

// ---------------------------------------------------------------------------------------
// Inspect

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

// ---------------------------------------------------------------------------------------
// Restore

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

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
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
    tx.execute("DELETE FROM key_value_store WHERE key IN (?1, ?2)", params![crate::engine::KV_JWT_CURRENT, crate::engine::KV_JWT_PREVIOUS])?;
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

enum Flavor {
    /// Our schema at this version.
    Ours(i64),
    /// Upstream's schema (wallets without a `network` column).
    Upstream,
}

fn columns(c: &Connection, schema: &str, table: &str) -> Result<Vec<String>> {
    let mut st = c.prepare(&format!("PRAGMA {schema}.table_info({table})"))?;
    let cols = st.query_map([], |r| r.get::<_, String>(1))?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(cols)
}

/// Integrity check, then which schema this is.
fn db_flavor(db: &Path) -> Result<Flavor> {
    let c = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    let check: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| corrupted(format!("the backup's database is not a readable SQLite database: {e}")))?;
    if check != "ok" {
        return Err(corrupted(format!("the backup's database fails its integrity check: {check}")));
    }
    let wallet_cols = columns(&c, "main", "wallets")?;
    if wallet_cols.is_empty() {
        return Err(invalid_format("the backup's database has no wallets table: not a WAIaaS database".into()));
    }
    if wallet_cols.iter().any(|c| c == "network") {
        let v: i64 = c.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |r| r.get(0))?;
        Ok(Flavor::Ours(v))
    } else {
        Ok(Flavor::Upstream)
    }
}

/// Select `col` from an upstream table, or `default` (SQL) when that upstream version lacks it.
struct Cols(Vec<String>);

impl Cols {
    fn or(&self, col: &str, default: &str) -> String {
        if self.0.iter().any(|c| c == col) {
            col.to_string()
        } else {
            default.to_string()
        }
    }
}

/// The network a key file was created on, when it fits the wallet; else the default.
fn wallet_network(keystore_dir: &Path, id: &str, chain: Chain, env: Environment) -> String {
    let from_file = fs::read(keystore_dir.join(format!("{id}.json")))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.get("network").and_then(|n| n.as_str()).map(str::to_string))
        .and_then(|n| Network::parse(&n).ok())
        .filter(|n| n.check_belongs(chain, env).is_ok());
    from_file.unwrap_or_else(|| Network::default_for(chain, env)).id().to_string()
}

/// Build our database at `ours` from an upstream one at `up`.
fn import_upstream(up: &Path, ours: &Path, keystore_dir: &Path) -> Result<UpstreamImport> {
    // An empty 0600 file first: SQLite keeps its mode and gives it to the -wal/-shm files.
    write_private(ours, b"")?;
    drop(crate::store::sqlite::SqliteStore::open(ours)?);
    let mut c = Connection::open(ours)?;
    c.execute_batch("PRAGMA foreign_keys=ON;")?;
    c.execute("ATTACH DATABASE ?1 AS up", [up.to_str().ok_or_else(|| Error::internal("path is not UTF-8"))?])?;
    let mut r = UpstreamImport::default();
    let has = |c: &Connection, t: &str| -> Result<bool> { Ok(!columns(c, "up", t)?.is_empty()) };
    let count = |c: &Connection, sql: &str| -> Result<u64> { Ok(c.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64) };
    let tx = c.transaction()?;

    // Wallets.
    let wc = Cols(columns(&tx, "up", "wallets")?);
    let sql = format!(
        "SELECT id, name, chain, environment, public_key, status, {}, {}, created_at, {}, {}, {}, {}, {} FROM up.wallets ORDER BY created_at, id",
        wc.or("owner_address", "NULL"),
        wc.or("owner_verified", "0"),
        wc.or("updated_at", "created_at"),
        wc.or("suspended_at", "NULL"),
        wc.or("suspension_reason", "NULL"),
        wc.or("monitor_incoming", "0"),
        wc.or("account_type", "'eoa'"),
    );
    type UpWallet = (String, String, String, String, String, String, Option<String>, i64, i64, i64, Option<i64>, Option<String>, i64, String);
    let rows: Vec<UpWallet> = {
        let mut st = tx.prepare(&sql)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                    r.get(11)?,
                    r.get(12)?,
                    r.get::<_, Option<String>>(13)?.unwrap_or_else(|| "eoa".into()),
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows
    };
    for (id, name, chain, env, public_key, status, owner, owner_verified, created, updated, suspended_at, reason, monitor, account) in rows {
        let (Ok(ch), Ok(en)) = (chain.parse::<Chain>(), env.parse::<Environment>()) else {
            r.skipped.push(format!("wallet {id} ({name}): chain '{chain}' is not supported here"));
            continue;
        };
        if account != "eoa" {
            r.skipped.push(format!("wallet {id} ({name}): {account} accounts are not supported here"));
            continue;
        }
        let status = match status.as_str() {
            "ACTIVE" | "SUSPENDED" | "TERMINATED" => status,
            "TERMINATING" => "TERMINATED".into(),
            other => {
                r.skipped.push(format!("wallet {id} ({name}): left in state {other} by upstream"));
                continue;
            }
        };
        let network = wallet_network(keystore_dir, &id, ch, en);
        tx.execute(
            "INSERT INTO wallets (id, name, chain, environment, network, public_key, status, owner_address, owner_verified, monitor_incoming, created_at, updated_at, suspended_at, suspension_reason)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)",
            params![id, name, ch.as_str(), en.as_str(), network, public_key, status, owner, owner_verified != 0, monitor != 0, created, updated, suspended_at, reason],
        )?;
        r.wallets += 1;
    }

    // Sessions linked to an imported wallet, and their links (first linked = default).
    if has(&tx, "sessions")? && has(&tx, "session_wallets")? {
        let sc = Cols(columns(&tx, "up", "sessions")?);
        let source = sc.or("source", "'api'");
        r.sessions = tx.execute(
            &format!(
                "INSERT INTO sessions (id, token_hash, expires_at, constraints, revoked_at, renewal_count, max_renewals, last_renewed_at, absolute_expires_at, created_at, source, token_issued_count)
                 SELECT id, token_hash, expires_at, {}, {}, {}, {}, {}, {}, created_at, CASE WHEN {source} IN ('api','mcp') THEN {source} ELSE 'api' END, {}
                 FROM up.sessions WHERE id IN (SELECT session_id FROM up.session_wallets WHERE wallet_id IN (SELECT id FROM main.wallets))",
                sc.or("constraints", "NULL"),
                sc.or("revoked_at", "NULL"),
                sc.or("renewal_count", "0"),
                sc.or("max_renewals", "0"),
                sc.or("last_renewed_at", "NULL"),
                sc.or("absolute_expires_at", "0"),
                sc.or("token_issued_count", "1"),
            ),
            [],
        )? as u64;
        tx.execute(
            "INSERT INTO session_wallets (session_id, wallet_id, position, created_at)
             SELECT session_id, wallet_id, ROW_NUMBER() OVER (PARTITION BY session_id ORDER BY created_at, rowid) - 1, created_at
             FROM up.session_wallets
             WHERE wallet_id IN (SELECT id FROM main.wallets) AND session_id IN (SELECT id FROM main.sessions)",
            [],
        )?;
        let all = count(&tx, "SELECT COUNT(*) FROM up.sessions")?;
        if all > r.sessions {
            r.skipped.push(format!("{} session(s) of wallets not imported", all - r.sessions));
        }
    }

    // Policies (global or of an imported wallet, not of a Ripple network).
    if has(&tx, "policies")? {
        let pc = Cols(columns(&tx, "up", "policies")?);
        let network = pc.or("network", "NULL");
        r.policies = tx.execute(
            &format!(
                "INSERT INTO policies (id, wallet_id, type, rules, priority, enabled, network, created_at, updated_at)
                 SELECT id, wallet_id, type, rules, {}, {}, {network}, created_at, {} FROM up.policies
                 WHERE (wallet_id IS NULL OR wallet_id IN (SELECT id FROM main.wallets)) AND ({network} IS NULL OR {network} NOT LIKE 'xrpl-%')",
                pc.or("priority", "0"),
                pc.or("enabled", "1"),
                pc.or("updated_at", "created_at"),
            ),
            [],
        )? as u64;
        let all = count(&tx, "SELECT COUNT(*) FROM up.policies")?;
        if all > r.policies {
            r.skipped.push(format!("{} policy(ies) of wallets or networks not imported", all - r.policies));
        }
    }

    // Custom tokens (the built-in ones are ours already).
    if has(&tx, "token_registry")? {
        let tc = Cols(columns(&tx, "up", "token_registry")?);
        r.tokens = tx.execute(
            &format!(
                "INSERT OR IGNORE INTO token_registry (id, network, address, symbol, name, decimals, created_at)
                 SELECT id, network, address, symbol, name, decimals, created_at FROM up.token_registry
                 WHERE {} = 'custom' AND network NOT LIKE 'xrpl-%'",
                tc.or("source", "'custom'")
            ),
            [],
        )? as u64;
    }

    // The audit log, ids kept.
    if has(&tx, "audit_log")? {
        let ac = Cols(columns(&tx, "up", "audit_log")?);
        r.audit_entries = tx.execute(
            &format!(
                "INSERT INTO audit_log (id, timestamp, event_type, actor, wallet_id, session_id, tx_id, details, severity, ip_address)
                 SELECT id, timestamp, event_type, actor, wallet_id, session_id, {}, details,
                        CASE WHEN severity IN ('info','warning','critical') THEN severity ELSE 'info' END, {}
                 FROM up.audit_log ORDER BY id",
                ac.or("tx_id", "NULL"),
                ac.or("ip_address", "NULL"),
            ),
            [],
        )? as u64;
    }

    // Master password hash, JWT secrets (same JSON shape), kill switch.
    if has(&tx, "key_value_store")? {
        let kc = Cols(columns(&tx, "up", "key_value_store")?);
        tx.execute(
            &format!(
                "INSERT OR REPLACE INTO key_value_store (key, value, updated_at)
                 SELECT key, value, {} FROM up.key_value_store
                 WHERE key IN ('master_password_hash','jwt_secret_current','jwt_secret_previous','kill_switch_state','kill_switch_activated_at','kill_switch_activated_by')",
                kc.or("updated_at", "0")
            ),
            [],
        )?;
    }

    // What has no counterpart here.
    for (table, what) in [
        ("transactions", "transaction(s) (history) not imported"),
        ("webhooks", "webhook(s) not imported (their secrets are encrypted with upstream's settings key): create them again"),
        ("settings", "Admin Settings row(s) not imported (config.toml is restored as is)"),
        ("pending_approvals", "pending approval(s) not imported"),
        ("incoming_transactions", "incoming transaction record(s) not imported"),
    ] {
        if has(&tx, table)? {
            let n = count(&tx, &format!("SELECT COUNT(*) FROM up.{table}"))?;
            if n > 0 {
                r.skipped.push(format!("{n} {what}"));
            }
        }
    }
    tx.commit()?;
    c.execute_batch("DETACH DATABASE up; PRAGMA wal_checkpoint(TRUNCATE);")?;
    Ok(r)
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

// ---------------------------------------------------------------------------------------
// Time

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn civil(ms: i64) -> (i64, u32, u32, i64, i64, i64, i64) {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = keystore::civil_from_days(secs.div_euclid(86400));
    let rem = secs.rem_euclid(86400);
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60, ms.rem_euclid(1000))
}

/// `2026-11-26T17:34:19.961Z` (JavaScript's `toISOString`).
fn iso_ms(ms: i64) -> String {
    let (y, mo, d, h, mi, s, f) = civil(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{f:03}Z")
}

/// `20261126-173419961` (upstream's file name stamp; ours is UTC).
fn compact_ms(ms: i64) -> String {
    let (y, mo, d, h, mi, s, f) = civil(ms);
    format!("{y:04}{mo:02}{d:02}-{h:02}{mi:02}{s:02}{f:03}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_little_endian() {
        let h = Header { version: 1, reserved: 0, metadata_len: 518, salt: [1; 16], nonce: [2; 12], tag: [3; 16] };
        let b = h.encode();
        assert_eq!(&b[0..8], b"WAIAAS\x00\x01");
        assert_eq!(&b[8..16], &[1, 0, 0, 0, 6, 2, 0, 0]);
        assert_eq!(Header::parse(&b).unwrap(), h);
        let mut v2 = b;
        v2[8] = 2;
        assert_eq!(Header::parse(&v2).unwrap_err().code, ErrorCode::UNSUPPORTED_BACKUP_VERSION);
        let mut bad = b;
        bad[0] = b'X';
        assert_eq!(Header::parse(&bad).unwrap_err().code, ErrorCode::INVALID_BACKUP_FORMAT);
        assert_eq!(Header::parse(&b[..59]).unwrap_err().code, ErrorCode::INVALID_BACKUP_FORMAT);
    }

    #[test]
    fn entries_round_trip_and_reject_truncation() {
        let entries = vec![
            Entry { name: "waiaas.db".into(), data: Zeroizing::new(vec![7; 300]) },
            Entry { name: "keystore/a.json".into(), data: Zeroizing::new(b"{}".to_vec()) },
        ];
        let enc = encode_entries(&entries).unwrap();
        assert_eq!(&enc[0..2], &[9, 0]);
        assert_eq!(&enc[11..19], &300u64.to_le_bytes());
        let dec = decode_entries(&enc).unwrap();
        assert_eq!(dec.len(), 2);
        assert_eq!(dec[1].name, "keystore/a.json");
        assert_eq!(*dec[0].data, vec![7; 300]);
        for cut in [1, 5, 15, enc.len() - 1] {
            assert_eq!(decode_entries(&enc[..cut]).err().unwrap().code, ErrorCode::BACKUP_CORRUPTED, "cut at {cut}");
        }
    }

    #[test]
    fn metadata_keeps_upstream_field_order() {
        let m = BackupMetadata {
            created_at: iso_ms(1_795_714_459_961),
            daemon_version: "x".into(),
            schema_version: 5,
            kdf: "argon2id".into(),
            kdf_params: KdfParamsMeta::default(),
            contents: Contents { database: FileInfo { name: "waiaas.db".into(), size: 1 }, config: None, keystore_files: vec![] },
            checksum: Some("sha256:00".into()),
        };
        let s = serde_json::to_string(&m).unwrap();
        assert_eq!(
            s,
            r#"{"created_at":"2026-11-26T17:34:19.961Z","daemon_version":"x","schema_version":5,"kdf":"argon2id","kdf_params":{"memory_cost":65536,"time_cost":3,"parallelism":4,"hash_length":32},"contents":{"database":{"name":"waiaas.db","size":1},"keystore_files":[]},"checksum":"sha256:00"}"#
        );
        assert_eq!(compact_ms(1_795_714_459_961), "20261126-173419961");
    }

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
