//! Passwords never travel on the command line (every local user reads `ps` and
//! `/proc/<pid>/cmdline`): the CLI and the daemon take them from the environment
//! (`WAIAAS_MASTER_PASSWORD`, `WAIAAS_NEW_MASTER_PASSWORD`), a file (`--password-file`,
//! `--new-password-file`, `WAIAAS_MASTER_PASSWORD_FILE`; `-` is stdin), `<data>/recovery.key`
//! (written only by auto-provisioning) or a prompt.
//!
//! A password given in the environment is taken out of it as the process starts
//! ([`take_env_secrets`]): its bytes are overwritten in the process's environment block
//! (what `/proc/<pid>/environ` shows to the same user and to root) and the variable is
//! removed, before any thread or child process exists that could read or inherit it.

use super::CliError;
use std::ffi::CStr;
use std::io::Read;
use std::path::Path;
use std::sync::OnceLock;
use zeroize::Zeroizing;

/// Names of the variables that may carry a password.
pub const MASTER_ENV: &str = "WAIAAS_MASTER_PASSWORD";
pub const NEW_MASTER_ENV: &str = "WAIAAS_NEW_MASTER_PASSWORD";

/// A password taken from the environment, if it was set.
type Taken = Option<Zeroizing<String>>;

/// The master password and the new master password, taken once at start.
static TAKEN: OnceLock<(Taken, Taken)> = OnceLock::new();

extern "C" {
    static mut environ: *mut *mut libc::c_char;
}

/// Overwrite the value of every `name=` entry of the C environment with zero bytes.
///
/// # Safety
/// No other thread may read or change the environment meanwhile (call it first in `main`).
unsafe fn wipe(name: &str) {
    let prefix = format!("{name}=");
    // `environ` is the NULL-terminated array of NUL-terminated strings the C runtime keeps;
    // its strings are writable (the initial block on the stack, or setenv's copies), and the
    // caller guarantees no concurrent access.
    let mut p = *std::ptr::addr_of!(environ);
    if p.is_null() {
        return;
    }
    while !(*p).is_null() {
        let entry = *p;
        let bytes = CStr::from_ptr(entry).to_bytes();
        let len = bytes.len();
        if bytes.starts_with(prefix.as_bytes()) {
            for i in prefix.len()..len {
                std::ptr::write_volatile(entry.add(i), 0);
            }
        }
        p = p.add(1);
    }
}

fn take(name: &str) -> Option<Zeroizing<String>> {
    let value = std::env::var_os(name).map(|v| Zeroizing::new(v.to_string_lossy().into_owned()));
    if value.is_some() {
        // SAFETY: see `take_env_secrets`: the process has a single thread here.
        unsafe { wipe(name) };
        std::env::remove_var(name);
    }
    value.filter(|v| !v.is_empty())
}

/// Take `WAIAAS_MASTER_PASSWORD`, `WAIAAS_NEW_MASTER_PASSWORD` and every secret setting
/// ([`waiaas_core::config::is_secret_env`]) out of the environment.
/// Call first thing in `main`, while the process has a single thread (before the tokio
/// runtime starts).
pub fn take_env_secrets() {
    TAKEN.get_or_init(|| (take(MASTER_ENV), take(NEW_MASTER_ENV)));
    // Secret settings given as plain variables (`WAIAAS_ORACLE_COINGECKO_API_KEY`, ...) leave
    // the environment block too; the config loader still gets them. (`..._FILE` variables
    // only name a file and stay.)
    let names: Vec<String> = std::env::vars_os().filter_map(|(k, _)| k.into_string().ok()).filter(|k| waiaas_core::config::is_secret_env(k)).collect();
    let mut taken = vec![];
    for name in names {
        if let Some(value) = std::env::var_os(&name) {
            // SAFETY: as above, the process has a single thread here.
            unsafe { wipe(&name) };
            std::env::remove_var(&name);
            taken.push((name, value.to_string_lossy().into_owned()));
        }
    }
    waiaas_core::config::remember_taken_env(taken);
}

/// The master password the environment held at start.
pub fn env_password() -> Option<Zeroizing<String>> {
    TAKEN.get().and_then(|t| t.0.clone()).or_else(|| std::env::var(MASTER_ENV).ok().filter(|p| !p.is_empty()).map(Zeroizing::new))
}

/// The new master password the environment held at start (`set-master`).
pub fn env_new_password() -> Option<Zeroizing<String>> {
    TAKEN.get().and_then(|t| t.1.clone()).or_else(|| std::env::var(NEW_MASTER_ENV).ok().filter(|p| !p.is_empty()).map(Zeroizing::new))
}

/// Read a password from a file, or from stdin for `-` (trailing white space removed).
pub fn read_password_file(path: &Path, what: &str) -> Result<Zeroizing<String>, CliError> {
    let mut text = Zeroizing::new(String::new());
    let read = if path.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text)
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_string(&mut text))
    };
    read.map_err(|e| CliError::usage(format!("cannot read {what} from {}: {e}", path.display())))?;
    let trimmed = Zeroizing::new(text.trim().to_string());
    if trimmed.is_empty() {
        return Err(CliError::usage(format!("{} holds no {what}", path.display())));
    }
    Ok(trimmed)
}
