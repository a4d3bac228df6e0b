//! JSON-RPC 2.0 over HTTP with several endpoints per network: transport failures and
//! HTTP 429/5xx are transient and fail over to the next endpoint (with a short backoff
//! between rounds); JSON-RPC error objects are returned to the adapter to classify.
//!
//! Errors name the network (set by [`RpcClient::for_network`]) and, for a failed endpoint,
//! only its scheme, host and port ([`redact::url`]): never the path, query or user info,
//! where providers put API keys.

use super::{ChainError, ChainResult};
use crate::redact;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A JSON-RPC error object returned by a node.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

/// Outcome of one call: a node answered with a result or an error object.
pub type RpcOutcome = std::result::Result<Value, RpcError>;

#[derive(Clone)]
pub struct RpcClient {
    urls: Arc<Vec<String>>,
    /// Index of the endpoint that last worked.
    preferred: Arc<AtomicUsize>,
    http: reqwest::Client,
    rounds: usize,
    /// Where calls are counted (none for adapters built outside an engine).
    metrics: Option<crate::metrics::RpcMetrics>,
    /// The network id errors name (empty when unknown).
    network: String,
}

impl RpcClient {
    pub fn new(urls: Vec<String>) -> RpcClient {
        let http = crate::http_client(Duration::from_secs(15), Duration::from_secs(3));
        RpcClient { urls: Arc::new(urls), preferred: Arc::new(AtomicUsize::new(0)), http, rounds: 3, metrics: None, network: String::new() }
    }

    /// Name `network` (its id, e.g. `ethereum-sepolia`) in this client's errors.
    pub fn for_network(mut self, network: &str) -> RpcClient {
        self.network = network.to_string();
        self
    }

    /// `"<network>: "` for error messages (empty when the network is unknown).
    fn prefix(&self) -> String {
        if self.network.is_empty() {
            String::new()
        } else {
            format!("{}: ", self.network)
        }
    }

    /// Count this client's calls, failovers and latency under `metrics` (labelled with its network).
    pub fn with_metrics(mut self, metrics: crate::metrics::RpcMetrics) -> RpcClient {
        self.metrics = Some(metrics);
        self
    }

    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// Call `method`; transport failures rotate through every endpoint, up to three rounds
    /// with 200 ms / 400 ms backoff. A node's error object is returned as `Ok(Err(..))`.
    pub async fn call(&self, method: &str, params: Value) -> ChainResult<RpcOutcome> {
        let started = std::time::Instant::now();
        let result = self.call_endpoints(method, params).await;
        if let Some(m) = &self.metrics {
            let outcome = match &result {
                Ok(Ok(_)) => "ok",
                Ok(Err(_)) => "node_error",
                Err(_) => "transport_error",
            };
            m.metrics.rpc_requests.inc(&[&m.network, outcome]);
            m.metrics.rpc_duration.observe(&[&m.network], started.elapsed().as_secs_f64());
        }
        result
    }

    async fn call_endpoints(&self, method: &str, params: Value) -> ChainResult<RpcOutcome> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let n = self.urls.len();
        if n == 0 {
            return Err(ChainError::permanent(crate::ErrorCode::ADAPTER_NOT_AVAILABLE, format!("{}no RPC endpoint configured", self.prefix())));
        }
        let mut last = String::new();
        for round in 0..self.rounds {
            if round > 0 {
                tokio::time::sleep(Duration::from_millis(200 << (round - 1))).await;
            }
            let start = self.preferred.load(Ordering::Relaxed);
            for i in 0..n {
                let idx = (start + i) % n;
                let url = &self.urls[idx];
                match self.http.post(url).json(&body).send().await {
                    Ok(res) if res.status().is_success() => match res.json::<Value>().await {
                        Ok(v) => {
                            self.preferred.store(idx, Ordering::Relaxed);
                            if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
                                return Ok(Err(RpcError {
                                    code: err.get("code").and_then(Value::as_i64).unwrap_or(0),
                                    message: err.get("message").and_then(Value::as_str).unwrap_or("").to_string(),
                                    data: err.get("data").cloned(),
                                }));
                            }
                            return Ok(Ok(v.get("result").cloned().unwrap_or(Value::Null)));
                        }
                        Err(e) => last = format!("{}: invalid JSON-RPC response: {}", redact::url(url), redact::http_error(e)),
                    },
                    Ok(res) => last = format!("{}: HTTP {}", redact::url(url), res.status()),
                    Err(e) => last = format!("{}: {}", redact::url(url), redact::http_error(e)),
                }
                if let Some(m) = &self.metrics {
                    m.metrics.rpc_endpoint_failures.inc(&[&m.network]);
                }
                tracing::warn!(method, "RPC endpoint failed, trying the next: {last}");
            }
        }
        Err(ChainError::transient(format!("{}all RPC endpoints failed for {method}: {last}", self.prefix())))
    }

    /// Call and turn a node error into a transient chain error (for reads).
    pub async fn read(&self, method: &str, params: Value) -> ChainResult<Value> {
        match self.call(method, params).await? {
            Ok(v) => Ok(v),
            Err(e) => Err(ChainError::transient(format!("{}{method}: RPC error {}: {}", self.prefix(), e.code, e.message))),
        }
    }
}
