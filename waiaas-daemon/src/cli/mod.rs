//! `waiaas` commands: init, start, stop, status.

pub mod datadir;
pub mod daemon;

use std::path::PathBuf;

/// Data dir from `--data-dir`, else `WAIAAS_DATA_DIR` (clap fills both), else `~/.waiaas`.
pub fn resolve_data_dir(flag: Option<PathBuf>) -> PathBuf {
    flag.unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
        home.join(".waiaas")
    })
}

/// A CLI failure: message for the user, and the process exit code.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub code: i32,
}

impl CliError {
    pub fn new(code: i32, message: impl Into<String>) -> CliError {
        CliError { message: message.into(), code }
    }
}

impl From<waiaas_core::Error> for CliError {
    fn from(e: waiaas_core::Error) -> Self {
        let code = match e.code {
            waiaas_core::ErrorCode::INVALID_MASTER_PASSWORD => 3,
            waiaas_core::ErrorCode::SYSTEM_LOCKED => 4,
            _ => 1,
        };
        CliError::new(code, format!("{}: {}", e.code, e.message))
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::new(1, format!("I/O error: {e}"))
    }
}
