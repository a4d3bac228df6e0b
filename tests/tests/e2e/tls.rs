//! Outbound TLS (issue 13, item 1): the daemon reaches an https RPC endpoint whose certificate
//! comes from an internal CA trusted through `SSL_CERT_FILE`, and refuses the same endpoint,
//! naming its host, when the CA is not trusted. The endpoint is a real TLS terminator
//! (tokio-rustls) in front of a real anvil; the CA and the server certificate are made for this
//! test with the `openssl` command line tool. The CLI's remote client reaches a daemon behind
//! the same kind of terminator.

use serde_json::json;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use waiaas_e2e::evm::Node;
use waiaas_e2e::*;
use waiaas_testnodes::tls::{make_certs, terminator};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_rpc_behind_an_internal_ca_is_reached_when_trusted_and_refused_by_name_when_not() {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    let node = Node::start(11155111);
    let anvil_hostport = node.url().trim_start_matches("http://").trim_end_matches('/').to_string();
    let port = terminator(certs.path(), anvil_hostport).await;
    // anvil answers on "/" only; the untrusted case below carries a provider-style key in the path.
    let https_rpc = format!("https://localhost:{port}");
    let ca = certs.path().join("ca.pem");

    // Trusted through SSL_CERT_FILE: balance and a transfer that confirms, all over TLS.
    let d = Daemon::start(
        Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &https_rpc).env("SSL_CERT_FILE", ca.to_str().unwrap()).env("WAIAAS_PRICES_ETH", "2000"),
    );
    let api = Api::new(&d.base);
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "tls", "chain": "ethereum"}))).await;
    assert_eq!(w.status, 201, "{:?}", w.body);
    let address = w.body["publicKey"].as_str().unwrap().to_string();
    let agent = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    node.fund(&address, 10u128.pow(18));
    let b = api.call("GET", "/v1/wallet/balance", &agent, None).await;
    assert_eq!((b.status, b.body["balance"].as_str()), (200, Some("1000000000000000000")), "{:?}", b.body);
    let to = waiaas_testnodes::anvil::DEV_ACCOUNTS[3];
    let before = node.balance(to);
    let s = api.call("POST", "/v1/transactions/send", &agent, Some(json!({"type": "TRANSFER", "to": to, "amount": "1000"}))).await;
    assert_eq!(s.status, 201, "{:?}", s.body);
    let tx = api.wait_tx(&agent, s.body["id"].as_str().unwrap(), IN_FLIGHT, Duration::from_secs(60)).await;
    assert_eq!(tx["status"], "CONFIRMED", "{tx}");
    assert_eq!(node.balance(to) - before, 1000);

    // The CLI's remote client reaches the daemon behind a TLS terminator too.
    let front = terminator(certs.path(), format!("127.0.0.1:{}", d.port)).await;
    let front_url = format!("https://localhost:{front}");
    let env = [("WAIAAS_MASTER_PASSWORD".to_string(), PASSWORD.to_string()), ("SSL_CERT_FILE".to_string(), ca.to_str().unwrap().to_string())];
    let out = tokio::task::block_in_place(|| run_cli(&["--base-url", &front_url, "--json", "wallet", "list"], &env));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&address), "{}", String::from_utf8_lossy(&out.stdout));
    // Without the CA the CLI refuses the certificate.
    let out = tokio::task::block_in_place(|| run_cli(&["--base-url", &front_url, "--json", "wallet", "list"], &env[..1]));
    assert!(!out.status.success());
    d.stop();

    // Not trusted (the system store does not know this CA): refused, the error names the
    // host (not the key in the URL) and says why.
    let d = Daemon::start(Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &format!("{https_rpc}/v2/SECRET-KEY")));
    let api = Api::new(&d.base);
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "untrusted", "chain": "ethereum"}))).await;
    let agent = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    let b = api.call("GET", "/v1/wallet/balance", &agent, None).await;
    assert_eq!((b.status, b.code()), (502, "CHAIN_ERROR"), "{:?}", b.body);
    let message = b.body["message"].as_str().unwrap();
    assert!(message.contains(&format!("https://localhost:{port}")), "names the host: {message}");
    assert!(message.to_lowercase().contains("certificate"), "says it is the certificate: {message}");
    assert!(!message.contains("SECRET-KEY"), "{message}");
}

/// What the plain-http backend behind the terminator was asked: (method, path, body).
type Seen = Arc<std::sync::Mutex<Vec<(String, String, String)>>>;

/// A plain-http backend on 127.0.0.1 playing Pyth Hermes (`GET /v2/updates/price/latest`
/// answers ETH at 1234.5 USD) and a webhook receiver (any `POST` answers 200). One request
/// per connection. Returns its `host:port` and what it saw.
async fn oracle_and_hook_backend() -> (String, Seen) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else { return };
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head, then as much body as Content-Length says.
                let (head, body_start) = loop {
                    let Ok(n) = tcp.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break (String::from_utf8_lossy(&buf[..i]).to_string(), i + 4);
                    }
                };
                let length = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0)))
                    .unwrap_or(0);
                while buf.len() < body_start + length {
                    let Ok(n) = tcp.read(&mut chunk).await else { return };
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let mut first = head.lines().next().unwrap_or_default().split(' ');
                let (method, path) = (first.next().unwrap_or_default().to_string(), first.next().unwrap_or_default().to_string());
                let body = String::from_utf8_lossy(&buf[body_start.min(buf.len())..]).to_string();
                let answer = if method == "GET" && path.starts_with("/v2/updates/price/latest") {
                    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
                    json!({"parsed": [{"price": {"price": "123450000000", "expo": -8, "publish_time": now}}]}).to_string()
                } else {
                    "{}".to_string()
                };
                log.lock().unwrap().push((method, path, body));
                let reply =
                    format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}", answer.len());
                let _ = tcp.write_all(reply.as_bytes()).await;
                let _ = tcp.shutdown().await;
            });
        }
    });
    (addr, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_price_oracle_and_webhooks_are_reached_over_https_with_a_ca_from_ssl_cert_dir() {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    // SSL_CERT_DIR: a directory of trusted certificates (hashed names, as `openssl rehash` makes).
    let ca_dir = certs.path().join("trusted");
    std::fs::create_dir(&ca_dir).unwrap();
    std::fs::copy(certs.path().join("ca.pem"), ca_dir.join("ca.pem")).unwrap();
    let out = Command::new("openssl").args(["rehash", ca_dir.to_str().unwrap()]).output().expect("openssl");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (backend, seen) = oracle_and_hook_backend().await;
    let port = terminator(certs.path(), backend).await;
    let https = format!("https://localhost:{port}");

    let node = Node::start(11155111);
    let d = Daemon::start(
        Options::default()
            .env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url())
            .env("WAIAAS_ORACLE_ENABLED", "true")
            .env("WAIAAS_ORACLE_PYTH_URL", &https)
            .env("WAIAAS_ORACLE_COINGECKO_URL", "")
            .env("WAIAAS_SECURITY_WEBHOOK_ALLOW_PRIVATE", "true")
            .env("SSL_CERT_DIR", ca_dir.to_str().unwrap()),
    );
    let api = Api::new(&d.base);
    let m = Api::master();
    let hook = api.call("POST", "/v1/webhooks", &m, Some(json!({"url": format!("{https}/hook"), "events": ["TX_CONFIRMED"]}))).await;
    assert_eq!(hook.status, 201, "{:?}", hook.body);
    let w = api.call("POST", "/v1/wallets", &m, Some(json!({"name": "tls-oracle", "chain": "ethereum"}))).await;
    assert_eq!(w.status, 201, "{:?}", w.body);
    let agent = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    node.fund(w.body["publicKey"].as_str().unwrap(), 10u128.pow(18));
    let to = waiaas_testnodes::anvil::DEV_ACCOUNTS[3];

    // The oracle over https: the fee is priced at Pyth's 1234.5 USD.
    let sim = api.call("POST", "/v1/transactions/simulate", &agent, Some(json!({"type": "TRANSFER", "to": to, "amount": "1000"}))).await;
    assert_eq!(sim.status, 200, "{:?}", sim.body);
    let fee = &sim.body["fee"];
    let wei: f64 = fee["estimatedFee"].as_str().unwrap().parse().unwrap();
    let usd = fee["feeUsd"].as_f64().unwrap_or_else(|| panic!("the fee is priced: {fee}"));
    assert!((usd / (wei / 1e18) - 1234.5).abs() < 1e-6, "priced at the oracle's 1234.5 USD: {fee}");
    assert!(seen.lock().unwrap().iter().any(|(m, p, _)| m == "GET" && p.starts_with("/v2/updates/price/latest")));

    // A webhook over https: the confirmation is delivered and logged as delivered.
    let s = api.call("POST", "/v1/transactions/send", &agent, Some(json!({"type": "TRANSFER", "to": to, "amount": "1000"}))).await;
    assert_eq!(s.status, 201, "{:?}", s.body);
    let id = s.body["id"].as_str().unwrap().to_string();
    let tx = api.wait_tx(&agent, &id, IN_FLIGHT, Duration::from_secs(60)).await;
    assert_eq!(tx["status"], "CONFIRMED", "{tx}");
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let delivered = seen.lock().unwrap().iter().any(|(m, p, b)| m == "POST" && p == "/hook" && b.contains("TX_CONFIRMED") && b.contains(&id));
        if delivered {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no TX_CONFIRMED webhook over https: {:?}", seen.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    d.stop();
}
