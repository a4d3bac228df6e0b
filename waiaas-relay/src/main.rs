//! `waiaas-relay`: the WAIaaS push relay (upstream `push-relay`, same routes, config and
//! environment). `waiaas-relay` serves; `waiaas-relay healthcheck` asks a running relay's
//! `/health` (exit 0 healthy, 1 not), for a container HEALTHCHECK.

mod api;
mod server;

use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use waiaas_core::relay::{Relay, RelayConfig};

/// After SIGTERM/SIGINT, the process ends within this long whatever is still open.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);
/// The longest `healthcheck` waits for an answer.
const HEALTHCHECK_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Parser)]
#[command(name = "waiaas-relay", version, about = "WAIaaS push relay: device registry, push fan-out (FCM, Pushwoosh), sign-response mailbox")]
struct Cli {
    /// The config file (upstream's config.toml: [relay.server], [relay.push], ...).
    #[arg(long, env = "RELAY_CONFIG", default_value = "./config.toml", global = true)]
    config: PathBuf,
    /// The relay's SQLite file.
    #[arg(long, env = "RELAY_DB", default_value = "./relay.db")]
    db: PathBuf,
    /// Debug logging (also DEBUG=1).
    #[arg(long)]
    debug: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Exit 0 when the relay's /health answers 2xx within 3 s, 1 otherwise (reason on stderr).
    /// Address: --url, else relay.server.host:port of the config (0.0.0.0 asked on 127.0.0.1).
    Healthcheck {
        /// Base URL of the relay, e.g. http://127.0.0.1:3200.
        #[arg(long)]
        url: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let debug = cli.debug || std::env::var("DEBUG").is_ok_and(|v| v == "1" || v == "true");
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("waiaas-relay: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match cli.command {
            Some(Command::Healthcheck { url }) => healthcheck(&cli.config, url).await,
            None => serve(cli.config, cli.db, debug).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("waiaas-relay: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(debug: bool) {
    let default = if debug { "debug,hyper=info,reqwest=info,h2=info,rustls=info" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RELAY_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).with_ansi(std::io::stderr().is_terminal()).try_init();
}

async fn serve(config_path: PathBuf, db: PathBuf, debug: bool) -> Result<(), String> {
    init_tracing(debug);
    let config = RelayConfig::load(&config_path).map_err(|e| e.message)?;
    let relay = Relay::open(config, &db).map_err(|e| e.message)?;
    let server = &relay.config().server;
    let addr = format!("{}:{}", server.host, server.port);
    let listener = tokio::net::TcpListener::bind(&addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let cleanup = relay.start_cleanup();
    tracing::info!(provider = relay.health().ok().and_then(|h| h["push"]["provider"].as_str().map(str::to_string)).unwrap_or_default(), db = %db.display(), "relay started");
    // Always printed: tests and supervisors wait for this line.
    println!("waiaas-relay ready on http://{bound} (PID: {})", std::process::id());
    let _ = std::io::stdout().flush();
    let app = api::router(relay.clone());
    let header_timeout = Duration::from_secs(relay.config().server.header_read_timeout_secs.max(1));
    let stop = {
        let relay = relay.clone();
        async move {
            wait_for_signal().await;
            start_watchdog();
            // Long polls answer 204 now, so the drain is quick.
            relay.shutdown();
        }
    };
    server::serve(listener, app, header_timeout, stop).await;
    relay.shutdown();
    let _ = cleanup.await;
    tracing::info!("relay stopped");
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut term), Ok(mut int)) => tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
            _ = int.recv() => tracing::info!("SIGINT received, shutting down"),
        },
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!("cannot handle SIGTERM/SIGINT ({e}); Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Exit [`SHUTDOWN_DEADLINE`] after the signal if the drain has not finished.
fn start_watchdog() {
    let _ = std::thread::Builder::new().name("shutdown-watchdog".into()).spawn(|| {
        std::thread::sleep(SHUTDOWN_DEADLINE);
        tracing::error!("shutdown did not finish within {} s; exiting now", SHUTDOWN_DEADLINE.as_secs());
        std::process::exit(1);
    });
}

async fn healthcheck(config_path: &std::path::Path, url: Option<String>) -> Result<(), String> {
    let base = match url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => {
            let c = RelayConfig::load(config_path).map_err(|e| format!("unhealthy: cannot load the configuration: {}", e.message))?;
            let host = match c.server.host.as_str() {
                "0.0.0.0" | "" => "127.0.0.1".to_string(),
                "::" | "[::]" => "[::1]".to_string(),
                h if h.contains(':') && !h.starts_with('[') => format!("[{h}]"),
                h => h.to_string(),
            };
            format!("http://{host}:{}", c.server.port)
        }
    };
    let url = format!("{base}/health");
    let unhealthy = |why: String| format!("unhealthy: {url}: {why}");
    let client = reqwest::Client::builder().timeout(HEALTHCHECK_TIMEOUT).build().map_err(|e| unhealthy(e.to_string()))?;
    let res = client.get(&url).send().await.map_err(|e| {
        let mut cause: &dyn std::error::Error = &e;
        while let Some(next) = cause.source() {
            cause = next;
        }
        unhealthy(if e.is_timeout() { format!("no answer within {} s", HEALTHCHECK_TIMEOUT.as_secs()) } else { format!("not reachable ({cause})") })
    })?;
    if !res.status().is_success() {
        return Err(unhealthy(format!("answered HTTP {}", res.status().as_u16())));
    }
    println!("healthy: {url}");
    Ok(())
}
