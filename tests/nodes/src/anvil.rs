//! anvil, the Foundry EVM dev node.
//!
//! The binary comes from the npm package `@foundry-rs/anvil` ([`ANVIL_VERSION`]), whose
//! platform sub-package (`@foundry-rs/anvil-linux-amd64`, …) carries the executable. It is
//! installed on first use into `<cache_dir>/anvil` (`npm install --prefix …`); set
//! `WAIAAS_ANVIL_BIN` to use another binary.
//!
//! [`Anvil::start`] runs it on a free port with the chain id of the network it poses as
//! (e.g. 11155111 for `ethereum-sepolia`), automining, with the ten well-known dev accounts
//! ([`DEV_ACCOUNTS`] / [`DEV_KEYS`], 10 000 ETH each). The node dies with its handle, and
//! also with the test process (Linux `PR_SET_PDEATHSIG`), so a node kept in a `static`
//! does not outlive the test binary.
//!
//! ```no_run
//! let node = waiaas_testnodes::anvil::Anvil::start(11155111);
//! node.fund("0x000000000000000000000000000000000000dEaD", 10u128.pow(18));
//! ```

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// npm version of `@foundry-rs/anvil` installed when the binary is missing.
pub const ANVIL_VERSION: &str = "1.7.1";

/// Addresses of anvil's dev accounts (mnemonic `test test … junk`), each funded with 10 000 ETH.
pub const DEV_ACCOUNTS: [&str; 10] = [
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
    "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
    "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
    "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
    "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f",
    "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
];

/// Private keys of [`DEV_ACCOUNTS`], same order (0x hex, 32 bytes).
pub const DEV_KEYS: [&str; 10] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
];

/// A running anvil; killed on drop.
pub struct Anvil {
    /// HTTP JSON-RPC endpoint, `http://127.0.0.1:<port>`.
    pub url: String,
    pub chain_id: u64,
    child: Child,
    http: reqwest::blocking::Client,
}

impl Anvil {
    /// Start anvil with `chain_id` on a free port (installing it when missing) and wait
    /// until it answers `eth_chainId`. Panics when it cannot start: this is test harness.
    pub fn start(chain_id: u64) -> Anvil {
        let bin = binary();
        let mut cmd = Command::new(&bin);
        cmd.args(["--port", "0", "--host", "127.0.0.1", "--chain-id", &chain_id.to_string()])
            .args(["--color", "never"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = crate::spawn_tied_to_process(cmd, "anvil-parent").unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));

        // anvil prints its banner, then "Listening on 127.0.0.1:PORT", then one line per
        // RPC call: keep draining stdout so it never blocks on a full pipe.
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                if let Some(addr) = line.trim().strip_prefix("Listening on ") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr.trim().to_string());
                    }
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => addr,
            Err(_) => {
                crate::kill_child(&mut child);
                panic!("anvil ({}) did not report its port within 30 s", bin.display());
            }
        };
        let url = format!("http://{addr}");
        let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().expect("http client");
        // From here on a failed check drops `node`, which kills the process.
        let node = Anvil { url, chain_id, child, http };
        let id = crate::wait_for_rpc(&node.url, "eth_chainId", Duration::from_secs(30)).unwrap_or_else(|e| panic!("{e}"));
        let answered = id.as_str().and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok());
        assert_eq!(answered, Some(chain_id), "anvil answered eth_chainId {id}");
        node
    }

    /// One JSON-RPC call; returns `result`, panics on a transport or JSON-RPC error.
    pub fn rpc(&self, method: &str, params: Value) -> Value {
        crate::json_rpc(&self.http, &self.url, "anvil", method, params)
    }

    /// Set the native balance of `address` to exactly `wei` (`anvil_setBalance`).
    pub fn fund(&self, address: &str, wei: u128) {
        self.rpc("anvil_setBalance", json!([address, format!("0x{wei:x}")]));
    }

    /// Mine one block now (`evm_mine`); blocks are otherwise mined per transaction.
    pub fn mine(&self) {
        self.rpc("evm_mine", json!([]));
    }

    /// The receipt of transaction `hash` (0x hex), waiting up to 30 s for it: the
    /// block is mined right after the transaction is accepted, not always before the
    /// sending call returns.
    pub fn receipt(&self, hash: &str) -> Value {
        for _ in 0..600 {
            let receipt = self.rpc("eth_getTransactionReceipt", json!([hash]));
            if !receipt.is_null() {
                return receipt;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no receipt for {hash} within 30 s")
    }

    /// Deploy `bytecode` (0x hex creation code, constructor arguments appended) from the
    /// unlocked dev account `from` (one of [`DEV_ACCOUNTS`]); returns the contract address.
    pub fn deploy(&self, bytecode: &str, from: &str) -> String {
        let receipt = self.exec(json!({"from": from, "data": bytecode}));
        receipt["contractAddress"].as_str().unwrap_or_else(|| panic!("no contract address in {receipt}")).to_string()
    }

    /// Send `tx` (`{from: <dev account>, to?, data?, value?}`) through the node's unlocked dev
    /// account and wait for its receipt; panics unless it succeeded. Returns the receipt.
    pub fn exec(&self, tx: Value) -> Value {
        let hash = self.rpc("eth_sendTransaction", json!([tx]));
        let receipt = self.receipt(hash.as_str().unwrap_or_else(|| panic!("eth_sendTransaction answered {hash}")));
        assert_eq!(receipt["status"], "0x1", "transaction reverted: {receipt}");
        receipt
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        crate::kill_child(&mut self.child);
    }
}

/// A compiled test contract, `tests/contracts/build/<name>.json` (`{abi, bytecode, …}`,
/// written by `scripts/compile-contracts.sh`).
pub fn artifact(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts/build").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The anvil binary: `WAIAAS_ANVIL_BIN`, else the cached npm install (installed now when missing).
pub fn binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("WAIAAS_ANVIL_BIN") {
        return PathBuf::from(bin);
    }
    let prefix = crate::cache_dir().join("anvil");
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let bin = prefix.join(format!("node_modules/@foundry-rs/anvil-{os}-{arch}/bin/anvil"));
    if bin.exists() {
        return bin;
    }
    std::fs::create_dir_all(&prefix).unwrap_or_else(|e| panic!("{}: {e}", prefix.display()));
    // Several test binaries may start at once: serialise the install on a lock file.
    let _lock = FileLock::acquire(&prefix.join(".install.lock"));
    if !bin.exists() {
        eprintln!("installing @foundry-rs/anvil@{ANVIL_VERSION} into {}", prefix.display());
        let status = Command::new("npm")
            .arg("install")
            .arg("--prefix")
            .arg(&prefix)
            .args(["--no-audit", "--no-fund", "--ignore-scripts"])
            .arg(format!("@foundry-rs/anvil@{ANVIL_VERSION}"))
            .stdout(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("cannot run npm (needed to install anvil; or set WAIAAS_ANVIL_BIN): {e}"));
        assert!(status.success(), "npm install @foundry-rs/anvil@{ANVIL_VERSION} failed: {status}");
        assert!(bin.exists(), "npm installed @foundry-rs/anvil but {} is missing", bin.display());
    }
    bin
}

/// An exclusive `flock` held until drop.
struct FileLock(std::fs::File);

impl FileLock {
    fn acquire(path: &Path) -> FileLock {
        use std::os::fd::AsRawFd;
        let file = std::fs::File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // SAFETY: flock on a file descriptor we own.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(rc, 0, "flock {}", path.display());
        FileLock(file)
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: as above.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}
