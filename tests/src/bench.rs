//! What the bench binaries (`src/bin/`) share: their arguments and JSON-RPC calls to the node.

use serde_json::{json, Value};

/// The number after `name` in `args`, or `default`.
pub fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A JSON-RPC call to the node at `url`; its result (panics on an error answer).
/// A connection the node closed as it was reused is tried again (once).
pub async fn rpc(http: &reqwest::Client, url: &str, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let sent = match http.post(url).json(&body).send().await {
        Err(e) if e.is_request() => http.post(url).json(&body).send().await,
        r => r,
    };
    let r: Value = sent.unwrap().json().await.unwrap();
    assert!(r.get("error").is_none(), "{method}: {r}");
    r["result"].clone()
}

/// A JSON-RPC quantity (`"0x..."`) as a number (0 when absent).
pub fn hex(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap_or("0x0").trim_start_matches("0x"), 16).unwrap_or(0)
}

/// `address`'s transaction count on the node (its next nonce).
pub async fn nonce(http: &reqwest::Client, url: &str, address: &str) -> u64 {
    hex(&rpc(http, url, "eth_getTransactionCount", json!([address, "latest"])).await)
}
