//! solana-test-validator, the real Solana validator in single-node test mode.
//!
//! The binary comes from the crate `agave-validator` [`AGAVE_VERSION`] and takes ~30 min to
//! build, so it is not built here: `scripts/install-solana-validator.sh` installs it into
//! `<cache_dir>/solana/bin/solana-test-validator`, and `WAIAAS_SOLANA_VALIDATOR_BIN`
//! points at another one. It preloads SPL Token, Token-2022, Memo and the associated
//! token account program, and runs a faucet for `requestAirdrop`.
//!
//! [`Validator::start`] runs one on free loopback ports (RPC, RPC websocket = RPC + 1,
//! faucet, gossip, a dynamic range of [`DYNAMIC_PORTS`]) with a temporary ledger, and waits
//! until it serves `getLatestBlockhash`. A validator keeps ~1 core busy and ~410 MB, so a
//! test binary should share one: [`shared`]. Every validator is killed when this process
//! exits, even from a `static` (Linux `PR_SET_PDEATHSIG`); the shared one also removes its
//! ledger at exit, and ledgers left by killed processes are swept on the next start.
//!
//! ```no_run
//! let node = waiaas_testnodes::solana::shared();
//! node.airdrop("9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM", 1_000_000_000);
//! ```

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Version of the `agave-validator` crate the install script builds.
pub const AGAVE_VERSION: &str = "4.2.2";

/// Width of `--dynamic-port-range` (the validator needs at least 26).
pub const DYNAMIC_PORTS: u16 = 32;

/// Prefix of ledger directories in the temp dir: `waiaas-solana-<pid>-…`.
const LEDGER_PREFIX: &str = "waiaas-solana-";

/// A running validator; killed (and its ledger removed) on drop.
pub struct Validator {
    /// HTTP JSON-RPC endpoint, `http://127.0.0.1:<port>`.
    pub url: String,
    /// Faucet address, `127.0.0.1:<port>` (used by `requestAirdrop`).
    pub faucet: String,
    child: Child,
    /// Temporary directory holding `ledger/` and the process output `output.log`.
    dir: tempfile::TempDir,
    http: reqwest::blocking::Client,
}

impl Validator {
    /// Start a validator on free ports and wait until it is ready. Ports are picked by
    /// binding and releasing them, so another process may grab one in between: a validator
    /// that exits during start-up is retried with fresh ports. Panics when it cannot start
    /// (this is test harness).
    pub fn start() -> Validator {
        let bin = binary();
        sweep_stale_ledgers();
        let mut last = String::new();
        for _ in 0..3 {
            match Validator::try_start(&bin) {
                Ok(v) => return v,
                Err(e) => last = e,
            }
        }
        panic!("solana-test-validator ({}) did not start: {last}", bin.display());
    }

    fn try_start(bin: &Path) -> Result<Validator, String> {
        let dir = tempfile::Builder::new().prefix(&format!("{LEDGER_PREFIX}{}-", std::process::id())).tempdir().map_err(|e| format!("temp ledger: {e}"))?;
        // `--reset` empties the ledger directory: keep the output log beside it.
        let ledger = dir.path().join("ledger");
        let rpc_port = crate::free_port_range(2); // RPC and its websocket on the next port
        let faucet_port = crate::free_port();
        let gossip_port = crate::free_port();
        let dynamic = crate::free_port_range(DYNAMIC_PORTS);
        let log_path = dir.path().join("output.log");
        let log = std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let mut cmd = Command::new(bin);
        cmd.arg("--ledger")
            .arg(&ledger)
            .args(["--reset", "--quiet", "--bind-address", "127.0.0.1"])
            .args(["--rpc-port", &rpc_port.to_string()])
            .args(["--faucet-port", &faucet_port.to_string()])
            .args(["--gossip-port", &gossip_port.to_string()])
            .args(["--dynamic-port-range", &format!("{}-{}", dynamic, dynamic + DYNAMIC_PORTS)])
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        let child = crate::spawn_tied_to_process(cmd, "solana-validator-parent").map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().map_err(|e| e.to_string())?;
        let mut node = Validator { url: format!("http://127.0.0.1:{rpc_port}"), faucet: format!("127.0.0.1:{faucet_port}"), child, dir, http };
        match node.wait_ready(Duration::from_secs(60)) {
            Ok(()) => Ok(node),
            Err(e) => {
                // `node` drops on return: killed, its directory removed.
                let mut out = std::fs::read_to_string(&log_path).unwrap_or_default();
                out += &std::fs::read_to_string(ledger.join("validator.log")).unwrap_or_default();
                let lines: Vec<&str> = out.lines().collect();
                Err(format!("{e}\n{}", lines[lines.len().saturating_sub(30)..].join("\n")))
            }
        }
    }

    /// Wait for a blockhash (the RPC answers `getHealth` a little earlier than that).
    fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited during start-up with {status}"));
            }
            if crate::wait_for_rpc(&self.url, "getLatestBlockhash", Duration::from_millis(500)).is_ok() {
                return Ok(());
            }
        }
        Err(format!("{} did not serve getLatestBlockhash within {timeout:?}", self.url))
    }

    /// One JSON-RPC call; returns `result`, panics on a transport or JSON-RPC error.
    pub fn rpc(&self, method: &str, params: Value) -> Value {
        crate::json_rpc(&self.http, &self.url, "solana", method, params)
    }

    /// Airdrop `lamports` to `pubkey` (base58) from the faucet and wait until the transfer
    /// is confirmed; returns its signature.
    pub fn airdrop(&self, pubkey: &str, lamports: u64) -> String {
        let signature = self.rpc("requestAirdrop", json!([pubkey, lamports, {"commitment": "confirmed"}]));
        let signature = signature.as_str().unwrap_or_else(|| panic!("requestAirdrop returned {signature}")).to_string();
        self.wait_confirmed(&signature, Duration::from_secs(30));
        signature
    }

    /// Wait until `signature` is confirmed without error; panics on failure or timeout.
    pub fn wait_confirmed(&self, signature: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let status = self.rpc("getSignatureStatuses", json!([[signature], {"searchTransactionHistory": true}]));
            let s = &status["value"][0];
            if !s.is_null() {
                assert!(s["err"].is_null(), "transaction {signature} failed: {}", s["err"]);
                if matches!(s["confirmationStatus"].as_str(), Some("confirmed" | "finalized")) {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("transaction {signature} not confirmed within {timeout:?}");
    }

    /// Kill the process and remove the ledger, through a shared reference (for the
    /// `static` instance, at process exit).
    fn terminate(&self) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: signalling and reaping our own child.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
        let _ = std::fs::remove_dir_all(self.dir.path());
    }
}

impl Drop for Validator {
    fn drop(&mut self) {
        crate::kill_child(&mut self.child);
        // `dir` (a TempDir) is removed when the fields drop.
    }
}

static SHARED: OnceLock<Validator> = OnceLock::new();

/// The validator of this test process, started on first use and shared by every test
/// (it is stopped and its ledger removed when the process exits).
pub fn shared() -> &'static Validator {
    SHARED.get_or_init(|| {
        let v = Validator::start();
        // SAFETY: registering a plain `extern "C"` function.
        unsafe { libc::atexit(terminate_shared) };
        v
    })
}

extern "C" fn terminate_shared() {
    if let Some(v) = SHARED.get() {
        v.terminate();
    }
}

/// The validator binary: `WAIAAS_SOLANA_VALIDATOR_BIN`, else the cached install.
pub fn binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("WAIAAS_SOLANA_VALIDATOR_BIN") {
        return PathBuf::from(bin);
    }
    let bin = crate::cache_dir().join("solana/bin/solana-test-validator");
    if !bin.exists() {
        panic!(
            "{} is missing: run scripts/install-solana-validator.sh (builds agave-validator {AGAVE_VERSION}, ~30 min) \
             or set WAIAAS_SOLANA_VALIDATOR_BIN",
            bin.display()
        );
    }
    bin
}

/// Remove ledgers left in the temp dir by test processes that no longer run.
fn sweep_stale_ledgers() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(LEDGER_PREFIX)).and_then(|rest| rest.split('-').next()) else {
            continue;
        };
        let Ok(pid) = pid.parse::<libc::pid_t>() else { continue };
        // SAFETY: signal 0 only checks whether the process exists.
        let gone = unsafe { libc::kill(pid, 0) } != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if gone {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
