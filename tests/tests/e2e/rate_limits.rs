//! Rate limits over HTTP: a client cannot escape its IP limit by forging X-Forwarded-For,
//! and the transaction limit applies to POST /v1/transactions/send.

use serde_json::json;
use waiaas_e2e::*;

#[tokio::test]
async fn spoofed_forwarded_for_does_not_escape_the_ip_limit() {
    let d = Daemon::start(Options::default().env("WAIAAS_SECURITY_RATE_LIMIT_GLOBAL_IP_RPM", "20"));
    let http = reqwest::Client::new();
    let mut statuses = vec![];
    for i in 0..25 {
        let r = http.get(d.url("/health")).header("X-Forwarded-For", format!("10.0.0.{i}")).header("X-Real-IP", format!("10.1.0.{i}")).send().await.unwrap();
        statuses.push((r.status().as_u16(), r.headers().get("retry-after").is_some()));
    }
    assert!(statuses[..20].iter().all(|s| s.0 == 200), "{statuses:?}");
    assert!(statuses[20..].iter().all(|s| *s == (429, true)), "{statuses:?}");
    let r = http.get(d.url("/health")).send().await.unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!((body["code"].as_str(), body["retryable"].as_bool()), (Some("RATE_LIMITED"), Some(true)));
}

#[tokio::test]
async fn the_send_limit_applies_to_sends_not_to_reads() {
    let d = Daemon::start(Options::default().env("WAIAAS_SECURITY_RATE_LIMIT_TX_RPM", "3"));
    let api = Api::new(&d.base);
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "r", "chain": "ethereum"}))).await;
    let token = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    let body = json!({"type": "TRANSFER", "to": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "amount": "1"});
    for _ in 0..3 {
        assert_eq!(api.call("POST", "/v1/transactions/send", &token, Some(body.clone())).await.status, 201);
    }
    let r = api.call("POST", "/v1/transactions/send", &token, Some(body)).await;
    assert_eq!((r.status, r.code()), (429, "RATE_LIMITED"));
    assert!(r.headers.get("retry-after").is_some());
    // Reads of the same session are not limited by the send limit.
    for _ in 0..10 {
        assert_eq!(api.call("GET", "/v1/transactions", &token, None).await.status, 200);
    }
}

#[tokio::test]
async fn the_session_limit_applies_to_agent_routes() {
    let d = Daemon::start(Options::default().env("WAIAAS_SECURITY_RATE_LIMIT_SESSION_RPM", "5"));
    let api = Api::new(&d.base);
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "r"}))).await;
    let token = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    for _ in 0..5 {
        assert_eq!(api.call("GET", "/v1/wallet/address", &token, None).await.status, 200);
    }
    assert_eq!(api.call("GET", "/v1/wallet/address", &token, None).await.code(), "RATE_LIMITED");
    // The master is not throttled by a session's limit.
    assert_eq!(api.call("GET", "/v1/wallets", &Api::master(), None).await.status, 200);
}
