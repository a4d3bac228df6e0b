//! Shared harness for end-to-end tests: start the real `waiaas` binary on a temp data dir
//! and an ephemeral port, talk to it over a real socket, stop it.
//!
//! The binary is found at `$WAIAAS_BIN`, else next to the test executable's target dir
//! (`target/debug/waiaas`); build it first (`cargo build --workspace`, which the README's
//! test command does).

pub mod aave;
pub mod bench;
pub mod defi;
pub mod evm;
pub mod fakes;
pub mod solana;
pub mod x402;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const PASSWORD: &str = "e2e-test-password-12345";

/// Path of the `waiaas` binary under test.
pub fn waiaas_bin() -> PathBuf {
    workspace_bin("waiaas", "WAIAAS_BIN")
}

/// Path of a binary of the workspace: `$<env>` if set, else the one built beside the test
/// executable (`target/<profile>/deps/<test>` -> `target/<profile>/<name>`).
pub fn workspace_bin(name: &str, env: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env) {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current exe");
    let p = exe.parent().and_then(Path::parent).expect("target dir").join(name);
    assert!(p.exists(), "{} not found: run `cargo build --workspace` first (or set {env})", p.display());
    p
}

/// A running daemon. Killed on drop.
pub struct Daemon {
    pub child: Child,
    pub dir: PathBuf,
    pub base: String,
    pub port: u16,
    _tmp: Option<tempfile::TempDir>,
    pub log: mpsc::Receiver<String>,
    /// Everything the daemon printed up to its ready line.
    pub startup_log: String,
}

/// How to start a daemon.
#[derive(Clone)]
pub struct Options {
    pub env: Vec<(String, String)>,
    pub password: Option<String>,
    pub init: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { env: vec![], password: Some(PASSWORD.into()), init: true }
    }
}

impl Options {
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }
}

/// `n` daemons started with `opts` (one PostgreSQL database in them) under `root`, each with its own data dir, all sharing
/// the first one's key files (a shared volume in a deployment).
pub fn start_replicas(root: &std::path::Path, n: usize, opts: impl Fn() -> Options) -> Vec<Daemon> {
    let first = root.join("r0");
    let mut out = vec![Daemon::start_in(&first, opts()).unwrap_or_else(|(s, log)| panic!("replica 0 ({s}):\n{log}"))];
    for i in 1..n {
        let dir = root.join(format!("r{i}"));
        let init = run_cli(&["init", "--data-dir", dir.to_str().unwrap()], &[]);
        assert!(init.status.success(), "init: {}", String::from_utf8_lossy(&init.stderr));
        std::fs::remove_dir(dir.join("keystore")).unwrap();
        std::os::unix::fs::symlink(first.join("keystore"), dir.join("keystore")).unwrap();
        out.push(Daemon::start_in(&dir, opts()).unwrap_or_else(|(s, log)| panic!("replica {i} ({s}):\n{log}")));
    }
    out
}

/// Run `waiaas <args>` to completion.
pub fn run_cli(args: &[&str], env: &[(String, String)]) -> std::process::Output {
    let mut c = Command::new(waiaas_bin());
    c.args(args).env_remove("WAIAAS_MASTER_PASSWORD").env_remove("WAIAAS_DATA_DIR");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run waiaas")
}

impl Daemon {
    /// Init a fresh temp data dir and start a daemon on it.
    pub fn start(opts: Options) -> Daemon {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("data");
        let mut d = Daemon::start_in(&dir, opts).unwrap_or_else(|(status, log)| panic!("daemon failed to start ({status}):\n{log}"));
        d._tmp = Some(tmp);
        d
    }

    /// Start a daemon on `dir` (initialised first when `opts.init`). On failure returns the
    /// exit status and the output.
    pub fn start_in(dir: &Path, opts: Options) -> Result<Daemon, (ExitStatus, String)> {
        if opts.init && !dir.join("config.toml").exists() {
            let out = run_cli(&["init", "--data-dir", dir.to_str().unwrap()], &[]);
            assert!(out.status.success(), "init failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let mut c = Command::new(waiaas_bin());
        c.args(["start", "--data-dir", dir.to_str().unwrap()])
            .env_remove("WAIAAS_MASTER_PASSWORD")
            .env_remove("WAIAAS_DATA_DIR")
            .env("WAIAAS_DAEMON_PORT", "0")
            // No internet here: network price oracles off unless a test turns them on.
            .env("WAIAAS_ORACLE_ENABLED", "false")
            // Rate limits off (0) unless a test sets them: load tests would trip them.
            .env("WAIAAS_SECURITY_RATE_LIMIT_GLOBAL_IP_RPM", "0")
            .env("WAIAAS_SECURITY_RATE_LIMIT_SESSION_RPM", "0")
            .env("WAIAAS_SECURITY_RATE_LIMIT_TX_RPM", "0")
            // So is AutoStop's unusual-activity rule (20 requests in 5 minutes by default).
            .env("WAIAAS_SECURITY_AUTOSTOP_UNUSUAL_ACTIVITY_THRESHOLD", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(pw) = &opts.password {
            c.env("WAIAAS_MASTER_PASSWORD", pw);
        }
        for (k, v) in &opts.env {
            c.env(k, v);
        }
        let mut child = c.spawn().expect("spawn waiaas");
        let (tx, rx) = mpsc::channel();
        for stream in
            [child.stderr.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>), child.stdout.take().map(|s| Box::new(s) as _)].into_iter().flatten()
        {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = String::new();
        loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(line) => {
                    seen.push_str(&line);
                    seen.push('\n');
                    if let Some(rest) = line.split("ready on http://").nth(1) {
                        let addr = rest.split_whitespace().next().unwrap();
                        let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
                        return Ok(Daemon {
                            child,
                            dir: dir.to_path_buf(),
                            base: format!("http://127.0.0.1:{port}"),
                            port,
                            _tmp: None,
                            log: rx,
                            startup_log: seen,
                        });
                    }
                }
                Err(_) => {
                    if let Ok(Some(status)) = child.try_wait() {
                        // Drain what is left.
                        while let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
                            seen.push_str(&l);
                            seen.push('\n');
                        }
                        return Err((status, seen));
                    }
                    if Instant::now() > deadline {
                        let _ = child.kill();
                        panic!("daemon did not become ready:\n{seen}");
                    }
                }
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// SIGTERM and wait; returns the exit status.
    pub fn stop(mut self) -> ExitStatus {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s;
            }
            assert!(Instant::now() < deadline, "daemon did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Keep the data dir alive after the process is gone (for restarts).
    pub fn take_tmp(&mut self) -> Option<tempfile::TempDir> {
        self._tmp.take()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small HTTP client for the tests.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

/// A response: status and JSON body (Null when empty or not JSON).
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub body: serde_json::Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

/// Credentials for a request.
#[derive(Clone, Debug)]
pub enum Auth {
    None,
    Master(String),
    Session(String),
}

impl Api {
    pub fn new(base: &str) -> Api {
        Api { base: base.into(), http: reqwest::Client::new() }
    }

    pub async fn call(&self, method: &str, path: &str, auth: &Auth, body: Option<serde_json::Value>) -> Resp {
        self.call_with(method, path, auth, body, &[]).await
    }

    /// [`Api::call`] with extra headers.
    pub async fn call_with(&self, method: &str, path: &str, auth: &Auth, body: Option<serde_json::Value>, headers: &[(String, String)]) -> Resp {
        self.try_call(method, path, auth, body, headers).await.expect("request")
    }

    /// [`Api::call_with`] that gives back a failed request (a daemon gone) instead of panicking.
    pub async fn try_call(
        &self,
        method: &str,
        path: &str,
        auth: &Auth,
        body: Option<serde_json::Value>,
        headers: &[(String, String)],
    ) -> reqwest::Result<Resp> {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(m, format!("{}{}", self.base, path));
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        match auth {
            Auth::None => {}
            Auth::Master(pw) => req = req.header("X-Master-Password", pw),
            Auth::Session(t) => req = req.header("Authorization", format!("Bearer {t}")),
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await?;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        Ok(Resp { status, body: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null), headers })
    }

    /// Create an EVM wallet with its session as the operator (asserts 201); returns its id,
    /// address and the session's auth.
    pub async fn evm_wallet(&self, name: &str) -> (String, String, Auth) {
        self.wallet_on(name, "ethereum").await
    }

    /// Create a wallet on `chain` (`ethereum`, `solana`; testnet) as the operator; returns
    /// (id, address, session).
    pub async fn wallet_on(&self, name: &str, chain: &str) -> (String, String, Auth) {
        let w = self.call("POST", "/v1/wallets", &Api::master(), Some(serde_json::json!({"name": name, "chain": chain}))).await;
        assert_eq!(w.status, 201, "{:?}", w.body);
        (
            w.body["id"].as_str().unwrap().into(),
            w.body["publicKey"].as_str().unwrap().into(),
            Auth::Session(w.body["session"]["token"].as_str().unwrap().into()),
        )
    }

    /// Create a policy for `wallet` as the operator (asserts 201); returns its id.
    pub async fn create_policy(&self, wallet: &str, ty: &str, rules: serde_json::Value) -> String {
        let r = self.call("POST", "/v1/policies", &Api::master(), Some(serde_json::json!({"walletId": wallet, "type": ty, "rules": rules}))).await;
        assert_eq!(r.status, 201, "{ty}: {:?}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }

    pub fn master() -> Auth {
        Auth::Master(PASSWORD.into())
    }

    /// Poll `GET /v1/transactions/{id}` while its status is one of `while_in` (or until
    /// `timeout`); returns the last body. Callers assert the status they expect.
    pub async fn wait_tx(&self, auth: &Auth, id: &str, while_in: &[&str], timeout: std::time::Duration) -> serde_json::Value {
        let deadline = Instant::now() + timeout;
        loop {
            let r = self.call("GET", &format!("/v1/transactions/{id}"), auth, None).await;
            assert_eq!(r.status, 200, "{:?}", r.body);
            let st = r.body["status"].as_str().unwrap_or("");
            if !while_in.contains(&st) || Instant::now() > deadline {
                return r.body;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

impl Api {
    /// Wait until every transaction of `ids` is CONFIRMED (asserting none ever ends FAILED,
    /// CANCELLED or EXPIRED, and all within `timeout`); returns their nonces, sorted.
    pub async fn confirmed_nonces(&self, auth: &Auth, ids: &[String], timeout: std::time::Duration) -> Vec<i64> {
        let deadline = Instant::now() + timeout;
        let mut nonces = vec![];
        for id in ids {
            loop {
                let r = self.call("GET", &format!("/v1/transactions/{id}"), auth, None).await;
                let st = r.body["status"].as_str().unwrap_or("").to_string();
                if st == "CONFIRMED" {
                    nonces.push(r.body["nonce"].as_i64().unwrap());
                    break;
                }
                assert!(!["FAILED", "CANCELLED", "EXPIRED"].contains(&st.as_str()), "{:?}", r.body);
                assert!(Instant::now() < deadline, "stuck: {:?}", r.body);
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
        nonces.sort();
        nonces
    }
}

/// A concrete URL path for a route template: ids become a UUID nobody has, a skill name one
/// no skill has.
pub fn concrete_path(template: &str) -> String {
    template
        .split('/')
        .map(|seg| match seg {
            "{name}" => "no-such-skill".to_string(),
            s if s.starts_with('{') => "00000000-0000-4000-8000-000000000000".to_string(),
            s => s.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The `p` quantile (0..=1, nearest rank) of `v`; NaN when `v` is empty. For the bench binaries.
/// The cached install of the npm harness `tests/<name>` (its `install.sh`, through
/// `scripts/npm-harness.sh`: a no-op once installed): the directory it printed.
pub fn npm_harness(name: &str) -> PathBuf {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name).join("install.sh");
    let out = Command::new("bash").arg(&script).stderr(Stdio::inherit()).output().unwrap_or_else(|e| panic!("run tests/{name}/install.sh: {e}"));
    assert!(out.status.success(), "tests/{name}/install.sh failed");
    PathBuf::from(String::from_utf8(out.stdout).expect("utf-8").trim())
}

pub fn percentile(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// Statuses a transaction leaves on its own (not waiting for a delay or an owner).
pub const IN_FLIGHT: &[&str] = &["PENDING", "EXECUTING", "SUBMITTED"];
/// Every non-terminal status.
pub const NOT_FINAL: &[&str] = &["PENDING", "QUEUED", "EXECUTING", "SUBMITTED", "GAS_WAITING"];

/// Everything the store and keystore hold except what is meant to grow on any request (the
/// audit log and its notification cursor, webhook delivery logs, issued owner nonces): rows
/// of every table, plus every key file's bytes.
pub fn store_snapshot(data_dir: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open_with_flags(data_dir.join("data/waiaas.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open db read-only");
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT IN ('audit_log','sqlite_sequence','owner_nonces','webhook_logs') ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = vec![];
    for t in tables {
        let mut st = conn.prepare(&format!("SELECT * FROM {t}")).unwrap();
        let n = st.column_count();
        let rows = st
            .query_map([], |r| {
                let mut s = format!("{t}:");
                for i in 0..n {
                    let v: rusqlite::types::Value = r.get(i)?;
                    s.push_str(&format!("{v:?}|"));
                }
                Ok(s)
            })
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        // The notification dispatcher's position moves with the audit log, not with requests.
        out.extend(rows.into_iter().filter(|r| !r.starts_with("key_value_store:Text(\"notify_cursor\")")));
    }
    let mut files: Vec<_> = std::fs::read_dir(data_dir.join("keystore")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for f in files {
        out.push(format!("key:{}:{}", f.display(), hex::encode(std::fs::read(&f).unwrap())));
    }
    out.sort();
    out
}

/// A wallet owner holding their own key, signing owner messages as a wallet app would.
pub enum OwnerKey {
    Evm(k256::ecdsa::SigningKey),
    Solana(ed25519_dalek::SigningKey),
}

impl OwnerKey {
    pub fn evm(seed: u8) -> OwnerKey {
        OwnerKey::Evm(k256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap())
    }

    pub fn solana(seed: u8) -> OwnerKey {
        OwnerKey::Solana(ed25519_dalek::SigningKey::from_bytes(&[seed; 32]))
    }

    pub fn address(&self) -> String {
        match self {
            OwnerKey::Evm(k) => alloy_primitives::Address::from_private_key(k).to_checksum(None),
            OwnerKey::Solana(k) => bs58::encode(k.verifying_key().to_bytes()).into_string(),
        }
    }

    /// EIP-191 personal_sign (hex) or Ed25519 (base64) over `text`.
    pub fn sign(&self, text: &str) -> String {
        use base64::Engine as _;
        match self {
            OwnerKey::Evm(k) => {
                let hash = alloy_primitives::eip191_hash_message(text.as_bytes());
                let (sig, rec) = k.sign_prehash_recoverable(hash.as_slice()).unwrap();
                let mut out = sig.to_bytes().to_vec();
                out.push(27 + rec.to_byte());
                format!("0x{}", hex::encode(out))
            }
            OwnerKey::Solana(k) => {
                use ed25519_dalek::Signer;
                base64::engine::general_purpose::STANDARD.encode(k.sign(text.as_bytes()).to_bytes())
            }
        }
    }

    /// The signed message text for `action` with `nonce`, valid `ttl` seconds.
    pub fn message(&self, domain: &str, nonce: &str, action: &waiaas_core::auth::owner::OwnerAction, ttl: i64) -> String {
        let chain = match self {
            OwnerKey::Evm(_) => waiaas_core::network::Chain::Ethereum,
            OwnerKey::Solana(_) => waiaas_core::network::Chain::Solana,
        };
        waiaas_core::auth::owner::owner_message(chain, domain, &self.address(), nonce, action, waiaas_core::now(), ttl)
    }

    /// The three ownerAuth headers for a message.
    pub fn headers_for(&self, text: &str) -> Vec<(String, String)> {
        use base64::Engine as _;
        vec![
            ("X-Owner-Address".into(), self.address()),
            ("X-Owner-Message".into(), base64::engine::general_purpose::STANDARD.encode(text)),
            ("X-Owner-Signature".into(), self.sign(text)),
        ]
    }

    /// Fetch a nonce from the daemon and sign `action` for it (5-minute message).
    pub async fn headers(&self, api: &Api, action: &waiaas_core::auth::owner::OwnerAction) -> Vec<(String, String)> {
        let n = api.call("GET", "/v1/nonce", &Auth::None, None).await;
        assert_eq!(n.status, 200, "{:?}", n.body);
        let domain = api.base.trim_start_matches("http://").trim_end_matches('/').to_string();
        self.headers_for(&self.message(&domain, n.body["nonce"].as_str().unwrap(), action, 300))
    }
}
