//! `waiaas`: the WAIaaS daemon and its command line.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use waiaas_daemon::cli::{self, datadir, CliError};

#[derive(Parser)]
#[command(name = "waiaas", version, about = "Self-hosted wallet for AI agents")]
struct Cli {
    /// Data directory (default ~/.waiaas).
    #[arg(long, global = true, env = "WAIAAS_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the data directory and a default config.toml.
    Init {
        /// Also generate a random master password in <data>/recovery.key.
        #[arg(long)]
        auto_provision: bool,
    },
    /// Run the daemon in the foreground.
    Start {
        /// trace|debug|info|warn|error (overrides daemon.log_level).
        #[arg(long, env = "WAIAAS_DAEMON_LOG_LEVEL")]
        log_level: Option<String>,
    },
    /// Stop the running daemon (SIGTERM, then wait).
    Stop,
    /// Show whether the daemon runs and its health.
    Status {
        #[arg(long)]
        json: bool,
    },
}

fn main() {
    let cli = Cli::parse();
    let dir = cli::resolve_data_dir(cli.data_dir);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let result: Result<(), CliError> = rt.block_on(async {
        match cli.command {
            Command::Init { auto_provision } => {
                let r = datadir::init(&dir, auto_provision)?;
                println!("Data directory ready: {}", dir.display());
                if r.created_config {
                    println!("  wrote {}", datadir::config_path(&dir).display());
                }
                if r.created_recovery_key {
                    println!("  wrote {} (the generated master password; keep it secret)", datadir::recovery_key_path(&dir).display());
                }
                Ok(())
            }
            Command::Start { log_level } => cli::daemon::start(&dir, log_level).await,
            Command::Stop => cli::daemon::stop(&dir).await,
            Command::Status { json } => cli::daemon::status(&dir, json).await,
        }
    });
    if let Err(e) = result {
        if !e.message.is_empty() {
            eprintln!("error: {}", e.message);
        }
        std::process::exit(e.code);
    }
}
