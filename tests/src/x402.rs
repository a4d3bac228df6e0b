//! The x402 reference resource server and facilitator of `tests/x402/server.mjs` (npm
//! `@x402/express`, `@x402/core`, `@x402/evm` 2.27.0) as a child process of a test: started
//! with its options, ready when it prints its JSON line, stopped on drop (stdin closed, then
//! killed).

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

fn harness_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("x402")
}

/// The cached node_modules of the harness (`tests/x402/install.sh`, a no-op once installed).
fn modules() -> String {
    if let Ok(m) = std::env::var("X402_MODULES") {
        return m;
    }
    crate::npm_harness("x402").to_string_lossy().into_owned()
}

/// A running `server.mjs`.
pub struct X402Server {
    child: Child,
    /// Its ready line: `url`, `facilitator`, `network`, `payTo`, `token`, `routes`, ...
    pub ready: Value,
}

impl X402Server {
    /// Start `server.mjs` with `--<name> <value>` options.
    pub fn start(options: &[(&str, &str)]) -> X402Server {
        let mut cmd = Command::new("node");
        cmd.arg(harness_dir().join("server.mjs"));
        for (k, v) in options {
            cmd.arg(format!("--{k}")).arg(v);
        }
        let mut child = cmd.env("X402_MODULES", modules()).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("start node");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("ready line");
        let ready: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("server.mjs did not start ({e}): {line:?}"));
        X402Server { child, ready }
    }

    /// `url` of the resource server + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.ready["url"].as_str().expect("url"))
    }

    /// The facilitator's journal: `{verify: [...], settle: [...]}`.
    pub async fn journal(&self) -> Value {
        let url = format!("{}/_journal", self.ready["facilitator"].as_str().expect("facilitator"));
        reqwest::get(url).await.expect("journal").json().await.expect("journal json")
    }
}

impl Drop for X402Server {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
