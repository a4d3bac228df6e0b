//! `waiaas start | stop | status`.

use super::datadir::{self, DaemonLock};
use super::secrets;
use super::CliError;
use crate::api::{router, AppState};
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use waiaas_core::config::Loaded;
use waiaas_core::Engine;
use zeroize::Zeroizing;

/// `<data>/config.toml` with this process's `WAIAAS_*` overrides (the core's loader, shared
/// with the embedded engine).
pub fn load_config(dir: &Path) -> Result<Loaded, CliError> {
    Ok(waiaas_core::datadir::load_config(dir)?)
}

/// Master password: `--password-file` (`-` = stdin) > `WAIAAS_MASTER_PASSWORD` (taken out
/// of the environment at start, see [`super::secrets`]) > the file named by
/// `WAIAAS_MASTER_PASSWORD_FILE` > `<data>/recovery.key` > an interactive prompt. Never a
/// command-line argument.
pub fn resolve_password(dir: &Path, file: Option<&Path>) -> Result<Zeroizing<String>, CliError> {
    if let Some(f) = file {
        return secrets::read_password_file(f, "the master password");
    }
    if let Some(p) = secrets::env_password() {
        if std::env::var_os("WAIAAS_MASTER_PASSWORD_FILE").is_some() {
            return Err(CliError::new(2, "both WAIAAS_MASTER_PASSWORD and WAIAAS_MASTER_PASSWORD_FILE are set: set only one of them"));
        }
        return Ok(p);
    }
    if let Ok(file) = std::env::var("WAIAAS_MASTER_PASSWORD_FILE") {
        let p = std::fs::read_to_string(&file).map_err(|e| CliError::new(2, format!("cannot read WAIAAS_MASTER_PASSWORD_FILE {file}: {e}")))?;
        return Ok(Zeroizing::new(p.trim().to_string()));
    }
    let key = datadir::recovery_key_path(dir);
    if key.exists() {
        let p = std::fs::read_to_string(&key)?;
        return Ok(Zeroizing::new(p.trim().to_string()));
    }
    if std::io::stdin().is_terminal() {
        let p = rpassword::prompt_password("Master password: ").map_err(|e| CliError::new(2, format!("cannot read password: {e}")))?;
        return Ok(Zeroizing::new(p));
    }
    Err(CliError::new(
        2,
        "No master password: set WAIAAS_MASTER_PASSWORD or WAIAAS_MASTER_PASSWORD_FILE, pass --password-file FILE (- reads stdin), or run `waiaas init --auto-provision`",
    ))
}

/// Whether the operator gave a master password (so auto-provisioning must not generate one).
fn password_supplied(file: Option<&Path>) -> bool {
    file.is_some() || secrets::env_password().is_some() || std::env::var_os("WAIAAS_MASTER_PASSWORD_FILE").is_some()
}

/// Tell the operator that auto-provisioning wrote the master password to a file.
pub fn announce_recovery_key(dir: &Path) {
    eprintln!(
        "Auto-provision: generated a master password and wrote it to {} (mode 0600). Anyone who can read \
         that file holds the master password: move it to a secret store, delete the file, and start with \
         WAIAAS_MASTER_PASSWORD_FILE or --password-file instead. Without auto-provision no such file is written.",
        datadir::recovery_key_path(dir).display()
    );
}

/// Logs on stderr: human-readable lines, or (`daemon.log_format = "json"`) one JSON object
/// per line with the event's fields at the top level (`timestamp`, `level`, `target`,
/// `message`, and e.g. the access log's `request_id`, `method`, `route`, `status`, `latency_ms`).
fn init_tracing(level: &str, format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(format!("{level},hyper=warn,tower=warn")).unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if format == "json" {
        builder.json().flatten_event(true).with_current_span(false).with_span_list(false).with_target(true).try_init()
    } else {
        builder.with_target(false).with_ansi(std::io::stderr().is_terminal()).try_init()
    };
}

/// Run the daemon until SIGTERM, SIGINT or `POST /v1/admin/shutdown`.
pub async fn start(dir: &Path, log_level: Option<String>, password_file: Option<&Path>) -> Result<(), CliError> {
    if !datadir::config_path(dir).exists() {
        let auto = std::env::var("WAIAAS_AUTO_PROVISION").map(|v| v == "true" || v == "1").unwrap_or(false);
        if !auto {
            return Err(CliError::new(
                2,
                format!("{} is not initialized: run `waiaas init --data-dir {}` (or set WAIAAS_AUTO_PROVISION=true)", dir.display(), dir.display()),
            ));
        }
        // recovery.key only when the generated password is the one the daemon will use.
        if datadir::init(dir, !password_supplied(password_file))?.created_recovery_key {
            announce_recovery_key(dir);
        }
    }
    let Loaded { config, warnings } = load_config(dir)?;
    init_tracing(log_level.as_deref().unwrap_or(&config.daemon.log_level), &config.daemon.log_format);
    for w in warnings {
        tracing::warn!("config: {w}");
    }
    let _lock = DaemonLock::acquire(dir)?;
    let password = resolve_password(dir, password_file)?;
    let engine = Engine::open(dir, config.clone(), &password).await?;
    drop(password);
    let addr: SocketAddr = format!("{}:{}", config.daemon.hostname, config.daemon.port)
        .parse()
        .map_err(|_| CliError::new(2, format!("daemon.hostname '{}' is not an IP address", config.daemon.hostname)))?;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| CliError::new(1, format!("cannot listen on {addr}: {e}")))?;
    let bound = listener.local_addr()?;
    engine.set_listen_addr(bound);
    let pid_file = datadir::pid_path(dir, &config);
    waiaas_core::datadir::write_atomic(&pid_file, std::process::id().to_string().as_bytes())?;
    let addr_file = datadir::addr_path(dir);
    waiaas_core::datadir::write_atomic(&addr_file, bound.to_string().as_bytes())?;

    let shutdown = Arc::new(Notify::new());
    engine.start_background().await;
    let app = router(AppState::new(engine.clone(), shutdown.clone()));
    // Always printed (whatever the log level): scripts and supervisors wait for this line.
    println!("WAIaaS daemon ready on http://{bound} (PID: {})", std::process::id());
    // The whole shutdown (drain, workers, exit) fits in daemon.shutdown_timeout from the
    // signal: connections get all of it but a reserve for the workers, and a watchdog ends
    // the process at the deadline whatever is still running.
    let budget = Duration::from_secs(config.daemon.shutdown_timeout);
    let reserve = (budget / 4).min(Duration::from_secs(2));
    let deadline = Arc::new(std::sync::OnceLock::<tokio::time::Instant>::new());
    let signalled = {
        let deadline = deadline.clone();
        async move {
            wait_for_shutdown(shutdown).await;
            let at = tokio::time::Instant::now() + budget;
            let _ = deadline.set(at);
            start_watchdog(budget);
            at - reserve
        }
    };
    let served = crate::api::server::serve(listener, app, &config.daemon, signalled).await;
    let at = deadline.get().copied().unwrap_or_else(|| tokio::time::Instant::now() + budget);
    // Workers stop a little before the watchdog, so files are cleaned up below.
    let busy = engine.stop_workers(at - (reserve / 4)).await;
    if busy > 0 {
        tracing::warn!("{busy} transactions were still being driven at the shutdown deadline; they resume at the next start");
    }
    let _ = std::fs::remove_file(&pid_file);
    let _ = std::fs::remove_file(&addr_file);
    tracing::info!("WAIaaS daemon stopped");
    served.map_err(|e| CliError::new(1, format!("server error: {e}")))
}

/// The hard deadline of a shutdown: if the process still runs `budget` after the signal
/// (a stuck connection, worker or blocking store call), it exits here.
fn start_watchdog(budget: Duration) {
    let _ = std::thread::Builder::new().name("shutdown-watchdog".into()).spawn(move || {
        std::thread::sleep(budget);
        tracing::error!("shutdown did not finish within {} s (daemon.shutdown_timeout); exiting now", budget.as_secs());
        std::process::exit(1);
    });
}

async fn wait_for_shutdown(notify: Arc<Notify>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (mut term, mut int) = match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(term), Ok(int)) => (term, int),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!("cannot handle SIGTERM/SIGINT ({e}): stop the daemon with POST /v1/admin/shutdown");
            notify.notified().await;
            tracing::info!("shutdown requested over the API");
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
        _ = int.recv() => tracing::info!("SIGINT received, shutting down"),
        _ = notify.notified() => tracing::info!("shutdown requested over the API"),
    }
}

/// SIGTERM the daemon of `dir` and wait for it to exit.
pub async fn stop(dir: &Path) -> Result<(), CliError> {
    let Loaded { config, .. } = load_config(dir)?;
    let pid_file = datadir::pid_path(dir, &config);
    let Some(pid) = datadir::read_pid(&pid_file).filter(|p| datadir::process_alive(*p)) else {
        return Err(CliError::new(1, format!("No daemon is running on {}", dir.display())));
    };
    // SAFETY: sending a signal to a pid read from our PID file.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(config.daemon.shutdown_timeout + 5);
    while datadir::process_alive(pid) {
        if Instant::now() > deadline {
            return Err(CliError::new(1, format!("Daemon (PID {pid}) did not stop within {} s", config.daemon.shutdown_timeout + 5)));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("Daemon stopped (PID {pid})");
    Ok(())
}

/// PID and `/health` of the daemon of `dir`; exit code 1 when it is not running.
pub async fn status(dir: &Path, json: bool) -> Result<(), CliError> {
    let Loaded { config, .. } = load_config(dir)?;
    let pid = datadir::read_pid(&datadir::pid_path(dir, &config)).filter(|p| datadir::process_alive(*p));
    // The address the daemon actually bound (it may differ from config with port 0).
    let bound = std::fs::read_to_string(datadir::addr_path(dir)).ok().and_then(|a| a.trim().parse::<SocketAddr>().ok());
    let host = if config.daemon.hostname == "0.0.0.0" { "127.0.0.1" } else { config.daemon.hostname.as_str() };
    let url = match bound {
        Some(a) if pid.is_some() => format!("http://{host}:{}/health", a.port()),
        _ => format!("http://{host}:{}/health", config.daemon.port),
    };
    let health: Option<serde_json::Value> = match reqwest::Client::new().get(&url).timeout(Duration::from_secs(3)).send().await {
        // 503: running but not ready; its body says which check failed.
        Ok(r) if r.status().is_success() || r.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE => r.json().await.ok(),
        _ => None,
    };
    let running = pid.is_some() && health.is_some();
    if json {
        println!("{}", serde_json::json!({ "running": running, "pid": pid, "url": url, "health": health }));
    } else if let (Some(pid), Some(h)) = (pid, &health) {
        println!("WAIaaS daemon is running (PID {pid}) at {url}");
        println!("  version {}  uptime {} s  schema v{}", h["version"].as_str().unwrap_or("?"), h["uptime"], h["schemaVersion"]);
        if h["ready"] == false {
            println!("  NOT READY: failed checks {}", h["failed"]);
        }
    } else if let Some(pid) = pid {
        println!("WAIaaS daemon process {pid} exists but {url} does not answer");
    } else {
        println!("WAIaaS daemon is not running on {}", dir.display());
    }
    if running {
        Ok(())
    } else {
        Err(CliError::new(1, String::new()))
    }
}

/// `waiaas start --detach`: run `waiaas start` in the background (its own session, output in
/// `<data>/logs/daemon.log`) and return once it printed its ready line, or fail with what it
/// printed if it exits first.
pub async fn start_detached(dir: &Path, log_level: Option<String>, password_file: Option<&Path>) -> Result<(), CliError> {
    use std::os::unix::process::CommandExt;
    if !datadir::config_path(dir).exists() && std::env::var("WAIAAS_AUTO_PROVISION").map(|v| v != "true" && v != "1").unwrap_or(true) {
        return Err(CliError::new(2, format!("{} is not initialized: run `waiaas init --data-dir {}`", dir.display(), dir.display())));
    }
    let had_recovery_key = datadir::recovery_key_path(dir).exists();
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs)?;
    let log_path = logs.join("daemon.log");
    let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path)?;
    let start_len = log.metadata().map(|m| m.len()).unwrap_or(0);
    let exe = std::env::current_exe()?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("start").arg("--data-dir").arg(dir).stdin(std::process::Stdio::null()).stdout(log.try_clone()?).stderr(log);
    // Secret settings this process took out of its environment: the child takes them out of
    // its own as it starts.
    cmd.envs(waiaas_core::config::taken_env());
    if let Some(l) = log_level {
        cmd.arg("--log-level").arg(l);
    }
    // The child cannot prompt, and the password is never put on its command line or in its
    // environment: resolve it here (prompting if need be) and hand it over on a pipe
    // (`--password-file -`). A data dir without a config is auto-provisioned by the child.
    let password = if datadir::config_path(dir).exists() || password_supplied(password_file) { Some(resolve_password(dir, password_file)?) } else { None };
    if password.is_some() {
        cmd.arg("--password-file").arg("-").stdin(std::process::Stdio::piped());
    }
    // SAFETY: setsid() in the child before exec only detaches it from our terminal session.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    if let (Some(pw), Some(mut stdin)) = (password, child.stdin.take()) {
        use std::io::Write;
        stdin.write_all(pw.as_bytes())?;
        // Dropping the pipe closes it: the child reads to its end.
    }
    let _spin = crate::output::Spinner::start("Starting the daemon...");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read(&log_path).map(|b| String::from_utf8_lossy(&b[(start_len as usize).min(b.len())..]).to_string()).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains("ready on http://")) {
            drop(_spin);
            println!("{}", line.trim());
            println!("  log: {}", log_path.display());
            if !had_recovery_key && datadir::recovery_key_path(dir).exists() {
                announce_recovery_key(dir);
            }
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            drop(_spin);
            let tail: Vec<&str> = text.lines().rev().take(10).collect::<Vec<_>>().into_iter().rev().collect();
            return Err(CliError::new(status.code().unwrap_or(1), format!("the daemon exited before it was ready:\n{}", tail.join("\n"))));
        }
        if Instant::now() > deadline {
            return Err(CliError::new(1, format!("the daemon did not become ready within 60 s; see {}", log_path.display())));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The longest `waiaas healthcheck` waits for an answer (Docker's own healthcheck timeout is
/// larger, so a hung daemon is reported by us with a reason, not killed by Docker).
pub const HEALTHCHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// The `/health` URL of the local daemon: `base_url` (`--base-url` / `WAIAAS_BASE_URL`) if
/// given, else `daemon.hostname:daemon.port` from config.toml and `WAIAAS_*` (127.0.0.1 for
/// an unspecified bind address), else, for port 0, the address the daemon bound.
pub fn health_url(dir: &Path, base_url: Option<&str>) -> Result<String, CliError> {
    if let Some(b) = base_url {
        return Ok(format!("{}/health", b.trim_end_matches('/')));
    }
    let Loaded { config, .. } = load_config(dir).map_err(|e| CliError::new(1, format!("unhealthy: cannot load the configuration: {}", e.message)))?;
    let host = match config.daemon.hostname.as_str() {
        "0.0.0.0" | "" => "127.0.0.1".to_string(),
        "::" | "[::]" => "[::1]".to_string(),
        h if h.contains(':') && !h.starts_with('[') => format!("[{h}]"),
        h => h.to_string(),
    };
    let port = match config.daemon.port {
        0 => std::fs::read_to_string(datadir::addr_path(dir))
            .ok()
            .and_then(|a| a.trim().parse::<SocketAddr>().ok())
            .map(|a| a.port())
            .ok_or_else(|| CliError::new(1, format!("unhealthy: daemon.port is 0 and {} names no bound address", datadir::addr_path(dir).display())))?,
        p => p,
    };
    Ok(format!("http://{host}:{port}/health"))
}

/// `waiaas healthcheck`: exit 0 when the daemon's `/health` answers 2xx within
/// [`HEALTHCHECK_TIMEOUT`], else exit 1 with a one-line reason (what a container
/// `HEALTHCHECK` runs; the image needs no curl).
pub async fn healthcheck(dir: &Path, base_url: Option<&str>) -> Result<(), CliError> {
    let url = health_url(dir, base_url)?;
    let unhealthy = |why: String| CliError::new(1, format!("unhealthy: {url}: {why}"));
    let client = reqwest::Client::builder()
        .timeout(HEALTHCHECK_TIMEOUT)
        .connect_timeout(HEALTHCHECK_TIMEOUT)
        .build()
        .map_err(|e| unhealthy(format!("cannot build an HTTP client: {e}")))?;
    let res = match client.get(&url).send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return Err(unhealthy(format!("no answer within {} s", HEALTHCHECK_TIMEOUT.as_secs()))),
        Err(e) => {
            // The innermost cause says what went wrong ("Connection refused").
            let mut cause: &dyn std::error::Error = &e;
            while let Some(next) = cause.source() {
                cause = next;
            }
            return Err(unhealthy(format!("not reachable ({cause})")));
        }
    };
    let status = res.status();
    let body: Option<serde_json::Value> = res.json().await.ok();
    if !status.is_success() {
        let detail = body.as_ref().map(|b| format!(" {} {}", super::s(b, "code"), super::s(b, "message"))).unwrap_or_default().replace('\n', " ");
        return Err(unhealthy(format!("answered HTTP {}{}", status.as_u16(), detail.trim_end())));
    }
    let state = body.as_ref().map(|b| super::s(b, "status")).filter(|s| !s.is_empty()).unwrap_or_else(|| "ok".into());
    println!("healthy: {url} ({state})");
    Ok(())
}
