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

mod create;
mod format;
mod inspect;
mod list;
mod restore;
mod time;
mod upstream;

pub use create::{write_backup, BackupInfo};
pub use format::{BackupMetadata, Contents, FileInfo, Header, KdfParamsMeta};
pub use inspect::{inspect_backup, BackupInspection};
pub use list::{backups_dir, list_backups_in, prune_backups_in, retention_count, BackupList};
pub use restore::{restore_backup, RestoreReport, RestoredWallet, UpstreamImport};

/// `"WAIAAS\0\x01"`.
/// The backups service: encrypted snapshots of the data dir (database, `config.toml`, key
/// files) under the master password, and their listing. It holds the signer (the password
/// and the lock that keeps a password change out of a running backup), the key/value rows
/// (schema version), the audit log and the data dir's paths.
pub struct Backups {
    signer: std::sync::Arc<crate::services::signer::Signer>,
    kv: std::sync::Arc<dyn crate::store::KvStore>,
    audit: std::sync::Arc<crate::services::audit::Audit>,
    data_dir: std::path::PathBuf,
    /// The SQLite database file.
    db_path: std::path::PathBuf,
    /// The store is PostgreSQL: backups (of a SQLite file) are refused.
    postgres: bool,
    /// Where the backups go.
    dir: std::path::PathBuf,
    /// `[backup] retention_count`.
    retention: u64,
}

impl Backups {
    pub fn new(
        signer: std::sync::Arc<crate::services::signer::Signer>,
        kv: std::sync::Arc<dyn crate::store::KvStore>,
        audit: std::sync::Arc<crate::services::audit::Audit>,
        data_dir: &std::path::Path,
        config: &crate::config::Config,
    ) -> Backups {
        Backups {
            signer,
            kv,
            audit,
            data_dir: data_dir.to_path_buf(),
            db_path: data_dir.join(&config.database.path),
            postgres: !config.database.postgres_url.is_empty(),
            dir: backups_dir(data_dir, config),
            retention: retention_count(config),
        }
    }
}

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
