//! Real local chain nodes for tests, shared by the Rust, Python and Node test suites.
//!
//! Binaries are cached outside the repository under `~/.cache/waiaas` (override with
//! `WAIAAS_CACHE_DIR`) and installed when missing. Each node runs on free loopback ports
//! with a temporary ledger and is killed when its handle drops.

pub mod anvil;
pub mod postgres;
pub mod solana;
pub mod tls;

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Where downloaded tools live.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("WAIAAS_CACHE_DIR") {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/tmp"));
    home.join(".cache/waiaas")
}

/// A free TCP port on 127.0.0.1 (bound then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// `n` consecutive free ports starting at a free one (best effort).
pub fn free_port_range(n: u16) -> u16 {
    'outer: for _ in 0..200 {
        let start = free_port();
        if start as u32 + n as u32 >= 65535 {
            continue;
        }
        for p in start..start + n {
            if TcpListener::bind(("127.0.0.1", p)).is_err() {
                continue 'outer;
            }
        }
        return start;
    }
    panic!("no free port range of {n}");
}

/// POST a JSON-RPC call until it answers or `timeout` passes.
pub fn wait_for_rpc(url: &str, method: &str, timeout: Duration) -> Result<serde_json::Value, String> {
    let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(2)).build().map_err(|e| e.to_string())?;
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    while Instant::now() < deadline {
        match client.post(url).json(&serde_json::json!({"jsonrpc":"2.0","id":1,"method":method,"params":[]})).send() {
            Ok(r) if r.status().is_success() => {
                if let Ok(v) = r.json::<serde_json::Value>() {
                    if v.get("result").is_some() {
                        return Ok(v["result"].clone());
                    }
                    last = v.to_string();
                }
            }
            Ok(r) => last = format!("HTTP {}", r.status()),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("{url} did not answer {method} within {timeout:?}: {last}"))
}

/// Spawn `cmd` so that the child is killed when this process exits, even when its handle
/// is never dropped (a `static`). Linux delivers `PR_SET_PDEATHSIG` when the *thread* that
/// forked the child ends, so the fork happens on a thread (named `thread_name`) that parks
/// forever.
pub(crate) fn spawn_tied_to_process(mut cmd: std::process::Command, thread_name: &str) -> std::io::Result<std::process::Child> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new().name(thread_name.into()).spawn(move || {
        let _ = tx.send(cmd.spawn());
        loop {
            std::thread::park();
        }
    })?;
    rx.recv().map_err(|_| std::io::Error::other("spawner thread died"))?
}

/// One JSON-RPC call to a test node; returns `result`, panics (naming `node`) on a transport
/// or JSON-RPC error: this is test harness.
pub(crate) fn json_rpc(http: &reqwest::blocking::Client, url: &str, node: &str, method: &str, params: serde_json::Value) -> serde_json::Value {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let res: serde_json::Value = http.post(url).json(&body).send().and_then(|r| r.json()).unwrap_or_else(|e| panic!("{node} {method}: {e}"));
    if let Some(err) = res.get("error") {
        panic!("{node} {method}: {err}");
    }
    res["result"].clone()
}

/// Kill a child process and its process group.
pub(crate) fn kill_child(child: &mut std::process::Child) {
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    let _ = child.wait();
}
