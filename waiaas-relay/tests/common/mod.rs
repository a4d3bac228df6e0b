//! Shared by the relay's integration tests and its bench: the real `waiaas-relay` binary
//! started on 127.0.0.1:0 with a config written for the test, and local fakes of FCM HTTP v1
//! (an OAuth token endpoint that verifies the service account's RS256 JWT with the public
//! half of a key the test generated, and `messages:send`) and Pushwoosh (`createMessage`),
//! speaking the providers' real request and response shapes. Either fake can be scripted to
//! answer a queue of statuses first (5xx for retries, 401/403, ...); the fakes are in
//! `fakes.rs`, which the daemon's end-to-end tests include too.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test harness: a failed step fails the test")]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const API_KEY: &str = "test-relay-api-key";

/// A running relay process; killed on drop.
pub struct RelayProc {
    pub child: Child,
    pub base: String,
    pub log: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Drop for RelayProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RelayProc {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
    /// Everything the relay logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_waiaas-relay")
}

/// Start the relay with `config` (the whole config.toml) and extra environment; waits for
/// its ready line.
pub fn start_relay(config: &str, env: &[(&str, &str)], args: &[&str]) -> RelayProc {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, config).unwrap();
    let log = dir.path().join("relay.log");
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .env("RELAY_CONFIG", &cfg)
        .env("RELAY_DB", dir.path().join("relay.db"))
        .env_remove("RELAY_API_KEY")
        .env_remove("RELAY_DAEMON_API_KEY")
        .env_remove("RELAY_API_KEY_FILE")
        .env_remove("RELAY_DAEMON_API_KEY_FILE")
        .env_remove("RELAY_HOST")
        .env_remove("DEBUG")
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("waiaas-relay ready on ") {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or_default().to_string());
            }
        }
    });
    let base = match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(b) => b,
        Err(_) => {
            let _ = child.kill();
            panic!("the relay did not start: {}", std::fs::read_to_string(&log).unwrap_or_default());
        }
    };
    RelayProc { child, base, log, dir }
}

/// A config.toml: `provider` block (from [`fcm_block`] / [`pushwoosh_block`]) and extra
/// `[relay.server]` lines.
pub fn config(server_extra: &str, push_block: &str) -> String {
    format!("[relay.server]\nport = 0\nhost = \"127.0.0.1\"\napi_key = \"{API_KEY}\"\n{server_extra}\n{push_block}\n")
}

pub fn fcm_block(sa_path: &Path, api_base: &str, extra: &str) -> String {
    format!(
        "[relay.push]\nprovider = \"fcm\"\nmax_retries = 3\nretry_base_ms = 20\ntimeout_secs = 5\n{extra}\n[relay.push.fcm]\nproject_id = \"{PROJECT}\"\nservice_account_key_path = \"{}\"\napi_base_url = \"{api_base}\"\n",
        sa_path.display()
    )
}

pub fn pushwoosh_block(api_url: &str, extra: &str) -> String {
    format!(
        "[relay.push]\nprovider = \"pushwoosh\"\nmax_retries = 3\nretry_base_ms = 20\ntimeout_secs = 5\n\n[relay.push.pushwoosh]\napi_token = \"pw-token\"\napplication_code = \"ABCDE-12345\"\napi_url = \"{api_url}\"\n{extra}\n"
    )
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap()
}

/// `POST /devices`; the subscription token.
pub async fn register(relay: &RelayProc, push_token: &str, platform: &str) -> String {
    let res = client()
        .post(relay.url("/devices"))
        .header("X-API-Key", API_KEY)
        .json(&json!({"walletName": "dcent", "pushToken": push_token, "platform": platform}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "registered");
    body["subscription_token"].as_str().unwrap().to_string()
}

pub async fn push(relay: &RelayProc, subscription: &str, category: &str, payload: Value) -> (u16, Value) {
    let res =
        client().post(relay.url("/v1/push")).json(&json!({"subscriptionToken": subscription, "category": category, "payload": payload})).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

pub async fn health(relay: &RelayProc) -> Value {
    client().get(relay.url("/health")).send().await.unwrap().json().await.unwrap()
}

mod fakes;
pub use fakes::*;
