//! The data directory shared by the daemon and the embedded engine: its layout, its
//! `config.toml`, and the lock that lets only one process open it at a time.
//!
//! Two processes on one data dir would both hand out nonces, both run the DELAY queue and
//! both re-broadcast, so whoever opens a data dir (the `waiaas start` daemon, or an agent
//! embedding the engine through `client::embedded::open_embedded`) first takes
//! [`DataDirLock`], an exclusive `flock` on `<data>/daemon.lock` held while it runs.

use crate::config::{Config, Loaded};
use crate::error::{Error, ErrorCode, Result};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// Write `bytes` to `path` atomically with mode 0600: temp file, fsync, rename, fsync dir.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().ok_or_else(|| Error::internal("path has no parent"))?;
    let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| Error::internal("bad file name"))?;
    let tmp = dir.join(format!(".{name}.tmp"));
    {
        let mut f = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
        f.set_permissions(fs::Permissions::from_mode(0o600))?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Subdirectories `init` creates.
pub const SUBDIRS: &[&str] = &["keystore", "data", "logs", "backups"];

/// `<data>/config.toml`.
pub fn config_path(dir: &Path) -> PathBuf {
    dir.join("config.toml")
}

/// `<data>/daemon.lock`.
pub fn lock_path(dir: &Path) -> PathBuf {
    dir.join("daemon.lock")
}

/// Create the data dir (0700), its subdirs and a default `config.toml` (0600). Existing
/// files are never overwritten. Returns whether the config file was written.
pub fn init_layout(dir: &Path) -> Result<bool> {
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    for sub in SUBDIRS {
        let p = dir.join(sub);
        fs::create_dir_all(&p)?;
        fs::set_permissions(&p, fs::Permissions::from_mode(0o700))?;
    }
    let cfg = config_path(dir);
    if cfg.exists() {
        return Ok(false);
    }
    write_new(&cfg, Config::default_toml().as_bytes(), 0o600)?;
    Ok(true)
}

/// Write a file that must not exist yet, with `mode`, synced.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut f = fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

/// `<data>/config.toml` (absent = defaults) with the `WAIAAS_<SECTION>_<KEY>` overrides of
/// this process's environment applied, as the daemon loads it.
pub fn load_config(dir: &Path) -> Result<Loaded> {
    Config::load(&config_path(dir), &crate::config::process_env())
}

/// An exclusive lock on `<data>/daemon.lock`, held until dropped.
#[derive(Debug)]
pub struct DataDirLock {
    _file: fs::File,
}

impl DataDirLock {
    /// Take the lock without waiting; `SYSTEM_LOCKED` when another process (a daemon or an
    /// embedded engine) holds it. Within one process a second `acquire` on the same dir
    /// fails too (the lock belongs to the open file, not to the process).
    pub fn acquire(dir: &Path) -> Result<DataDirLock> {
        let file = fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).mode(0o600).open(lock_path(dir))?;
        // SAFETY: flock on a file descriptor we own.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            return Err(Error::new(
                ErrorCode::SYSTEM_LOCKED,
                format!("another WAIaaS process (a daemon or an embedded engine) is already running on {} (run `waiaas stop` first)", dir.display()),
            ));
        }
        Ok(DataDirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_released_on_drop() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(init_layout(tmp.path()).unwrap());
        assert!(!init_layout(tmp.path()).unwrap(), "config is never overwritten");
        let first = DataDirLock::acquire(tmp.path()).unwrap();
        let e = DataDirLock::acquire(tmp.path()).unwrap_err();
        assert_eq!(e.code, ErrorCode::SYSTEM_LOCKED);
        drop(first);
        DataDirLock::acquire(tmp.path()).unwrap();
    }
}
