//! The data directory: layout, `init`, the daemon lock and the PID file.

use super::CliError;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use waiaas_core::config::Config;

pub const SUBDIRS: &[&str] = &["keystore", "data", "logs", "backups"];

pub fn config_path(dir: &Path) -> PathBuf {
    dir.join("config.toml")
}

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
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    for sub in SUBDIRS {
        let p = dir.join(sub);
        fs::create_dir_all(&p)?;
        fs::set_permissions(&p, fs::Permissions::from_mode(0o700))?;
    }
    let cfg = config_path(dir);
    let created_config = !cfg.exists();
    if created_config {
        write_new(&cfg, Config::default_toml().as_bytes(), 0o600)?;
    }
    let key = recovery_key_path(dir);
    let created_recovery_key = auto_provision && !key.exists();
    if created_recovery_key {
        let mut b = zeroize::Zeroizing::new([0u8; 32]);
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, b.as_mut());
        let hex = zeroize::Zeroizing::new(hex::encode(b.as_ref()));
        write_new(&key, hex.as_bytes(), 0o600)?;
    }
    Ok(InitReport { created_config, created_recovery_key })
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CliError> {
    let mut f = fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

/// An exclusive lock on `<data>/daemon.lock`, held for the daemon's lifetime.
pub struct DaemonLock {
    _file: fs::File,
}

impl DaemonLock {
    pub fn acquire(dir: &Path) -> Result<DaemonLock, CliError> {
        let file = fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).mode(0o600).open(dir.join("daemon.lock"))?;
        // SAFETY: flock on a file descriptor we own.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            return Err(CliError::new(
                4,
                format!("SYSTEM_LOCKED: another daemon is already running on {} (run `waiaas stop` first)", dir.display()),
            ));
        }
        Ok(DaemonLock { _file: file })
    }
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
