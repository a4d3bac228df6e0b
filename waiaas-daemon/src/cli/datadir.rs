//! The data directory: `init`, the daemon lock and the PID file. The layout, the config
//! path and the lock live in the core ([`waiaas_core::datadir`]), shared with the embedded
//! engine, so a daemon and an in-process agent never run on one data dir.

use super::CliError;
use std::fs;
use std::path::{Path, PathBuf};
use waiaas_core::config::Config;

pub use waiaas_core::datadir::{config_path, SUBDIRS};

/// An exclusive lock on `<data>/daemon.lock`, held for the daemon's lifetime (the core's
/// data-dir lock: `SYSTEM_LOCKED` while a daemon or an embedded engine holds it).
pub use waiaas_core::datadir::DataDirLock as DaemonLock;

pub fn recovery_key_path(dir: &Path) -> PathBuf {
    dir.join("recovery.key")
}

/// What `init` did.
pub struct InitReport {
    pub created_config: bool,
    pub created_recovery_key: bool,
}

/// Create the data dir (0700), its subdirs and a default config.toml; with
/// `auto_provision`, also a random master password in `recovery.key` (0600).
/// Existing files are never overwritten.
pub fn init(dir: &Path, auto_provision: bool) -> Result<InitReport, CliError> {
    let created_config = waiaas_core::datadir::init_layout(dir)?;
    let key = recovery_key_path(dir);
    let created_recovery_key = auto_provision && !key.exists();
    if created_recovery_key {
        let mut b = zeroize::Zeroizing::new([0u8; 32]);
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, b.as_mut());
        let hex = zeroize::Zeroizing::new(hex::encode(b.as_ref()));
        waiaas_core::datadir::write_new(&key, hex.as_bytes(), 0o600)?;
    }
    Ok(InitReport { created_config, created_recovery_key })
}

pub fn pid_path(dir: &Path, config: &Config) -> PathBuf {
    dir.join(&config.daemon.pid_file)
}

/// `<data>/daemon.addr`: the address the running daemon bound.
pub fn addr_path(dir: &Path) -> PathBuf {
    dir.join("daemon.addr")
}

pub fn read_pid(path: &Path) -> Option<i32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether `pid` is a live process (a zombie, exited but not yet reaped, is not).
pub fn process_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    if pid <= 0 || unsafe { libc::kill(pid, 0) } != 0 {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // Field 3, after the parenthesised command name, is the state.
        Ok(stat) => !matches!(stat.rsplit(')').next().and_then(|r| r.split_whitespace().next()), Some("Z") | Some("X")),
        Err(_) => true,
    }
}
