//! Shared by the relay's integration tests and its bench: the real `waiaas-relay` binary
//! started on 127.0.0.1:0 with a config written for the test, and local fakes of FCM HTTP v1
//! (an OAuth token endpoint that verifies the service account's RS256 JWT with the public
//! half of a key the test generated, and `messages:send`) and Pushwoosh (`createMessage`),
//! speaking the providers' real request and response shapes. Either fake can be scripted to
//! answer a queue of statuses first (5xx for retries, 401/403, ...). The relay process and
//! the fakes are in `shared.rs`, which the daemon's end-to-end tests include too.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test harness: a failed step fails the test")]

use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_waiaas-relay")
}

/// Start this crate's relay binary with `config` and extra environment; waits for its ready line.
pub fn start_relay(config: &str, env: &[(&str, &str)], args: &[&str]) -> RelayProc {
    start_relay_at(Path::new(bin()), config, env, args)
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

mod shared;
pub use shared::*;
