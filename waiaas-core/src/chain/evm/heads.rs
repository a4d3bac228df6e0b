//! An EVM node's new blocks as they come: `eth_subscribe("newHeads")` over a WebSocket
//! (`ws://`, or `wss://` through [`crate::tls`]), for the incoming monitor, which scans at
//! once instead of waiting for its next poll.

use crate::chain::{ChainError, ChainResult};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// How long connecting (TCP, TLS, WebSocket handshake, subscription) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn failed(what: &str, e: impl std::fmt::Display) -> ChainError {
    ChainError::transient(format!("newHeads subscription: {what}: {e}"))
}

/// Subscribe to `url`'s new blocks and call `on_head` with each block number, until the
/// connection ends or fails (always an error: the caller reconnects). `on_connected` is
/// called once the node has accepted the subscription.
pub async fn follow_new_heads(url: &str, on_connected: impl FnOnce(), on_head: impl Fn(u64)) -> ChainResult<()> {
    let request = url.into_client_request().map_err(|e| failed("bad URL", e))?;
    let uri = request.uri().clone();
    let secure = match uri.scheme_str() {
        Some("wss") => true,
        Some("ws") => false,
        _ => return Err(failed("bad URL", "must be ws:// or wss://")),
    };
    let host = uri.host().ok_or_else(|| failed("bad URL", "no host"))?.trim_start_matches('[').trim_end_matches(']').to_string();
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect((host.as_str(), port)))
        .await
        .map_err(|_| failed("connect", "timed out"))?
        .map_err(|e| failed("connect", e))?;
    if !secure {
        return run(tcp, request, on_connected, on_head).await;
    }
    let config = crate::tls::client_config(None, "incoming.wss_url").map_err(|e| failed("TLS", e.message))?;
    let name = rustls_pki_types::ServerName::try_from(host.clone()).map_err(|e| failed("TLS server name", e))?;
    let tls = tokio::time::timeout(CONNECT_TIMEOUT, tokio_rustls::TlsConnector::from(std::sync::Arc::new(config)).connect(name, tcp))
        .await
        .map_err(|_| failed("TLS", "timed out"))?
        .map_err(|e| failed("TLS", e))?;
    run(tls, request, on_connected, on_head).await
}

async fn run<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    request: tokio_tungstenite::tungstenite::handshake::client::Request,
    on_connected: impl FnOnce(),
    on_head: impl Fn(u64),
) -> ChainResult<()> {
    let (mut ws, _) = tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::client_async(request, stream))
        .await
        .map_err(|_| failed("handshake", "timed out"))?
        .map_err(|e| failed("handshake", e))?;
    let subscribe = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]});
    ws.send(Message::text(subscribe.to_string())).await.map_err(|e| failed("send", e))?;
    let mut subscribed = Some(on_connected);
    while let Some(message) = ws.next().await {
        let text = match message.map_err(|e| failed("read", e))? {
            Message::Text(t) => t.to_string(),
            Message::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
            Message::Close(_) => break,
            _ => continue,
        };
        let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
        if v.get("id") == Some(&json!(1)) {
            if let Some(e) = v.get("error") {
                return Err(failed("refused", e));
            }
            if let Some(f) = subscribed.take() {
                f();
            }
            continue;
        }
        let number = v.pointer("/params/result/number").and_then(Value::as_str).and_then(|n| u64::from_str_radix(n.trim_start_matches("0x"), 16).ok());
        if let Some(n) = number {
            on_head(n);
        }
    }
    Err(failed("closed", "the node closed the connection"))
}
