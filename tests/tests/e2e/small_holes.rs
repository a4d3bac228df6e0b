//! Issue 12, item 10: the smaller holes, each attacked over the real daemon and a real
//! socket, next to a control that shows the legitimate path still works.
//!
//! a. RPC provider keys in node URLs never reach an agent's answer or the daemon's log.
//! b. The per-session rate limit counts the session, whatever the spelling of its header.
//! c. Webhooks to loopback / private / link-local / metadata addresses are refused (at
//!    creation and at delivery), and redirects are not followed.
//! d. Slow clients (headers or body one byte per second) are cut off; others are served.
//! e. Restoring a backup does not bring a revoked session back.
//! f. A master password change racing wallet creations leaves every key under the new one.
//! g. A LOCKED kill switch freezes master password and settings changes until recovery.

use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use waiaas_e2e::*;

/// A port nothing listens on (bound, read, released).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Everything the daemon printed so far.
fn drain_log(d: &Daemon) -> String {
    let mut out = d.startup_log.clone();
    while let Ok(l) = d.log.recv_timeout(Duration::from_millis(200)) {
        out.push_str(&l);
        out.push('\n');
    }
    out
}

// ---------------------------------------------------------------------------------------
// a. RPC URL secrets
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_keys_in_node_urls_never_reach_the_agent_or_the_log() {
    const SECRETS: [&str; 3] = ["SECRET-KEY-123", "QUERY-SECRET-456", "PASS-SECRET-789"];
    let (p1, p2) = (closed_port(), closed_port());
    // A key in the path, one in the query, one in the user info: all endpoints down.
    let evm = format!("http://127.0.0.1:{p1}/v2/SECRET-KEY-123,http://127.0.0.1:{p2}/rpc?apikey=QUERY-SECRET-456");
    let sol = format!("http://agent:PASS-SECRET-789@127.0.0.1:{p1}/solana/SECRET-KEY-123");
    let d = Daemon::start(
        Options::default()
            .env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &evm)
            .env("WAIAAS_RPC_SOLANA_DEVNET", &sol)
            .env("WAIAAS_PRICES_ETH", "2000")
            // The pipeline gives an unreachable node 2 s before it fails the send.
            .env("WAIAAS_PIPELINE_TRANSIENT_RETRY_SEC", "2")
            .env("WAIAAS_DAEMON_LOG_LEVEL", "debug"),
    );
    let api = Api::new(&d.base);
    let (_, _, token) = api.evm_wallet("evm").await;
    let clean = |what: &str, v: &Value| {
        let text = v.to_string();
        for s in SECRETS {
            assert!(!text.contains(s), "{what} leaks {s}: {text}");
        }
        assert!(!text.contains("apikey"), "{what} leaks the query: {text}");
    };

    // Balance: the agent learns which endpoint failed and why, not its key.
    let r = api.call("GET", "/v1/wallet/balance", &token, None).await;
    assert!(r.status >= 500, "{:?}", r.body);
    clean("balance error", &r.body);
    let msg = r.body["message"].as_str().unwrap_or_default();
    assert!(msg.contains(&format!("http://127.0.0.1:{p2}")) && msg.to_lowercase().contains("connect"), "the error still says what failed: {msg}");

    // Simulate.
    let transfer = json!({"type": "TRANSFER", "to": "0x000000000000000000000000000000000000dEaD", "amount": "1000"});
    let r = api.call("POST", "/v1/transactions/simulate", &token, Some(transfer.clone())).await;
    clean("simulate answer", &r.body);

    // Send: accepted, then failed by the pipeline with the chain's error.
    let r = api.call("POST", "/v1/transactions/send", &token, Some(transfer)).await;
    clean("send answer", &r.body);
    if r.status == 201 {
        let id = r.body["id"].as_str().unwrap();
        let tx = api.wait_tx(&token, id, IN_FLIGHT, Duration::from_secs(30)).await;
        assert_eq!(tx["status"], "FAILED", "{tx}");
        assert!(tx["error"].as_str().is_some_and(|e| e.contains("127.0.0.1")), "{tx}");
        clean("failed transaction", &tx);
    }

    // Solana: the same through the other adapter (user info in the URL as well).
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "sol", "chain": "solana"}))).await;
    let sol_token = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    let r = api.call("GET", "/v1/wallet/balance", &sol_token, None).await;
    assert!(r.status >= 500, "{:?}", r.body);
    clean("solana balance error", &r.body);
    assert!(r.body["message"].as_str().unwrap_or_default().contains(&format!("http://127.0.0.1:{p1}")), "{:?}", r.body);

    // The audit log an operator (or a log shipper) reads, and the daemon's own output.
    let audit = api.call("GET", "/v1/audit-logs?limit=200", &Api::master(), None).await;
    clean("audit log", &audit.body);
    let log = drain_log(&d);
    assert!(log.contains("RPC endpoint failed"), "the failures were logged:\n{log}");
    for s in SECRETS {
        assert!(!log.contains(s), "daemon log leaks {s}:\n{log}");
    }
    assert!(!log.contains("apikey"), "daemon log leaks the query:\n{log}");
}

// ---------------------------------------------------------------------------------------
// b. Per-session rate limit
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_session_limit_counts_every_spelling_of_one_session() {
    let d = Daemon::start(Options::default().env("WAIAAS_SECURITY_RATE_LIMIT_SESSION_RPM", "6"));
    let api = Api::new(&d.base);
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "r"}))).await;
    let t = w.body["session"]["token"].as_str().unwrap().to_string();
    // Four spellings sessionAuth accepts for the same token.
    let spellings = [format!("Bearer {t}"), format!("Bearer  {t}"), format!("Bearer \t{t}"), format!("Bearer {t}  ")];
    let http = reqwest::Client::new();
    let get = |h: String| {
        let http = http.clone();
        let url = d.url("/v1/wallet/address");
        async move { http.get(url).header("Authorization", h).send().await.unwrap() }
    };
    for i in 0..6 {
        let r = get(spellings[i % spellings.len()].clone()).await;
        assert_eq!(r.status(), 200, "spelling {i} is a valid credential");
    }
    // The seventh request of the session is over the limit, whichever spelling it uses.
    for s in &spellings {
        let r = get(s.clone()).await;
        assert_eq!(r.status(), 429, "{s:?}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["code"], "RATE_LIMITED");
    }
    // A token issued to the session afterwards (rotation) counts in the same window.
    let sid = w.body["session"]["id"].as_str().unwrap();
    let rotated = api.call("POST", &format!("/v1/sessions/{sid}/rotate"), &Api::master(), None).await;
    assert_eq!(rotated.status, 200, "{:?}", rotated.body);
    let r = get(format!("Bearer {}", rotated.body["token"].as_str().unwrap())).await;
    assert_eq!(r.status(), 429, "a fresh token of the same session is still limited");
    // Control: another session of the same wallet has its own window.
    let s2 = api.call("POST", "/v1/sessions", &Api::master(), Some(json!({"walletId": w.body["id"]}))).await;
    let t2 = Auth::Session(s2.body["token"].as_str().unwrap().into());
    assert_eq!(api.call("GET", "/v1/wallet/address", &t2, None).await.status, 200);
}

// ---------------------------------------------------------------------------------------
// c. Webhook targets
// ---------------------------------------------------------------------------------------

/// A local HTTP receiver that counts requests; `redirect_to` makes it answer 302.
#[derive(Clone, Default)]
struct Hits(Arc<Mutex<usize>>);

impl Hits {
    fn count(&self) -> usize {
        *self.0.lock().unwrap()
    }

    async fn serve(&self, redirect_to: Option<String>) -> String {
        let me = self.clone();
        let app = axum::Router::new().fallback(move || {
            let (me, to) = (me.clone(), redirect_to.clone());
            async move {
                *me.0.lock().unwrap() += 1;
                match to {
                    Some(to) => axum::response::Response::builder().status(302).header("location", to).body(axum::body::Body::empty()).unwrap(),
                    None => axum::response::Response::builder().status(200).body(axum::body::Body::empty()).unwrap(),
                }
            }
        });
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        url
    }
}

/// The delivery log of a webhook once it has `n` entries (or after 15 s).
async fn webhook_logs(api: &Api, id: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = api.call("GET", &format!("/v1/webhooks/{id}/logs"), &Api::master(), None).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let logs = r.body["data"].as_array().cloned().unwrap_or_default();
        if logs.len() >= n || Instant::now() > deadline {
            return logs;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_to_internal_addresses_are_refused_at_creation_and_delivery() {
    let d = Daemon::start(Options::default());
    let api = Api::new(&d.base);
    let m = Api::master();
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://[::1]:9/hook",
        "http://0.0.0.0:9/hook",
        "http://10.0.0.7/hook",
        "http://172.16.5.4/hook",
        "http://192.168.1.1/hook",
        "http://[fc00::1]/hook",
        "http://169.254.10.10/hook",
        "http://[fe80::1]/hook",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://[::ffff:127.0.0.1]:9/hook",
    ] {
        let r = api.call("POST", "/v1/webhooks", &m, Some(json!({"url": url}))).await;
        assert_eq!((r.status, r.code()), (400, "ACTION_VALIDATION_FAILED"), "{url}: {:?}", r.body);
        assert!(r.body["message"].as_str().unwrap().contains("refused"), "{url}: {:?}", r.body);
    }
    assert_eq!(api.call("GET", "/v1/webhooks", &m, None).await.body["data"].as_array().map(Vec::len), Some(0), "nothing was stored");
    // Control: a public target is accepted.
    let r = api.call("POST", "/v1/webhooks", &m, Some(json!({"url": "https://hooks.example.com/waiaas"}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    api.call("DELETE", &format!("/v1/webhooks/{}", r.body["id"].as_str().unwrap()), &m, None).await;

    // At delivery: a row that points at loopback (stored before this check existed, or a
    // name that now resolves there) gets nothing delivered.
    let hits = Hits::default();
    let url = hits.serve(None).await;
    {
        let db = rusqlite::Connection::open(d.dir.join("data/waiaas.db")).unwrap();
        db.busy_timeout(Duration::from_secs(5)).unwrap();
        db.execute(
            "INSERT INTO webhooks (id, url, secret, events, description, enabled, created_at, updated_at) VALUES ('legacy', ?1, 'abc', '[]', NULL, 1, 0, 0)",
            [&url],
        )
        .unwrap();
    }
    let w = api.call("POST", "/v1/wallets", &m, Some(json!({"name": "trigger", "createSession": false}))).await;
    assert_eq!(w.status, 201);
    let logs = webhook_logs(&api, "legacy", 1).await;
    assert!(!logs.is_empty(), "a delivery was attempted and logged");
    assert_eq!(logs[0]["status"], "failed", "{logs:?}");
    assert!(logs[0]["error"].as_str().unwrap_or_default().contains("loopback"), "{logs:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(hits.count(), 0, "no request reached the loopback receiver");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_private_webhooks_deliver_but_never_follow_redirects() {
    let d = Daemon::start(Options::default().env("WAIAAS_SECURITY_WEBHOOK_ALLOW_PRIVATE", "true"));
    let api = Api::new(&d.base);
    let m = Api::master();
    // Metadata endpoints stay refused even when private targets are allowed.
    let r = api.call("POST", "/v1/webhooks", &m, Some(json!({"url": "http://169.254.169.254/latest/meta-data/"}))).await;
    assert_eq!((r.status, r.code()), (400, "ACTION_VALIDATION_FAILED"), "{:?}", r.body);

    let (target, redirector, direct) = (Hits::default(), Hits::default(), Hits::default());
    let target_url = target.serve(None).await;
    let redirect_url = redirector.serve(Some(target_url)).await;
    let direct_url = direct.serve(None).await;
    let mk = |url: String| json!({"url": url, "events": ["WALLET_CREATED"]});
    let moved = api.call("POST", "/v1/webhooks", &m, Some(mk(redirect_url))).await;
    assert_eq!(moved.status, 201, "{:?}", moved.body);
    let plain = api.call("POST", "/v1/webhooks", &m, Some(mk(direct_url))).await;
    assert_eq!(plain.status, 201, "{:?}", plain.body);
    let w = api.call("POST", "/v1/wallets", &m, Some(json!({"name": "event", "createSession": false}))).await;
    assert_eq!(w.status, 201);

    // Control: the receiver without a redirect gets the event.
    let ok = webhook_logs(&api, plain.body["id"].as_str().unwrap(), 1).await;
    assert_eq!(ok.first().map(|l| l["status"].clone()), Some(json!("success")), "{ok:?}");
    assert_eq!(direct.count(), 1);
    // The redirecting one: one attempt, logged as a failed 302, the redirect not followed.
    let logs = webhook_logs(&api, moved.body["id"].as_str().unwrap(), 1).await;
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!((logs[0]["status"].clone(), logs[0]["httpStatus"].clone()), (json!("failed"), json!(302)), "{logs:?}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(redirector.count(), 1, "no retries after a redirect");
    assert_eq!(target.count(), 0, "the redirect was not followed");
}

// ---------------------------------------------------------------------------------------
// d. Slow clients
// ---------------------------------------------------------------------------------------

/// Send `head` at once, then `drip` one byte per second; returns how long until the server
/// ended the connection and what it answered (if anything).
async fn slow_client(port: u16, head: String, drip: &'static str) -> (Duration, String) {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let drip = drip.as_bytes().to_vec();
    let started = Instant::now();
    let writer = tokio::spawn(async move {
        if wr.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        for b in drip {
            if wr.write_all(&[b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        // Keep the write side open: the server must not wait for us.
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
    let mut got = vec![];
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        let mut buf = [0u8; 4096];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    let took = started.elapsed();
    writer.abort();
    assert!(read.is_ok(), "the server kept a slow connection open for 20 s");
    (took, String::from_utf8_lossy(&got).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_and_slow_bodies_are_cut_off_while_others_are_served() {
    let d = Daemon::start(Options::default().env("WAIAAS_DAEMON_HEADER_READ_TIMEOUT", "2").env("WAIAAS_DAEMON_BODY_READ_TIMEOUT", "2"));
    let api = Api::new(&d.base);
    let port = d.port;
    let drip_headers = "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let headers = tokio::spawn(slow_client(port, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n".into(), drip_headers));
    let body_head = format!(
        "POST /v1/wallets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Master-Password: {PASSWORD}\r\nContent-Length: 40\r\n\r\n"
    );
    let body = tokio::spawn(slow_client(port, body_head, "{\"name\": \"slow\", \"createSession\": false}"));
    // Meanwhile ordinary requests are served at once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..3 {
        let t = Instant::now();
        assert_eq!(api.call("GET", "/health", &Auth::None, None).await.status, 200);
        assert!(t.elapsed() < Duration::from_secs(2));
    }
    let ok = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "fast", "createSession": false}))).await;
    assert_eq!(ok.status, 201, "{:?}", ok.body);

    let (took, answer) = headers.await.unwrap();
    assert!(took < Duration::from_secs(6), "slow headers held the connection for {took:?}");
    assert!(!answer.contains("200 OK"), "the trickled request was never served: {answer}");
    let (took, answer) = body.await.unwrap();
    assert!(took < Duration::from_secs(6), "a slow body held the connection for {took:?}");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("REQUEST_TIMEOUT"), "{answer}");
    // Only the fast wallet exists.
    let list = api.call("GET", "/v1/wallets", &Api::master(), None).await;
    let names: Vec<&str> = list.body["items"].as_array().unwrap().iter().filter_map(|w| w["name"].as_str()).collect();
    assert_eq!(names, vec!["fast"]);
}

// ---------------------------------------------------------------------------------------
// e. Backup restore
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restoring_a_backup_does_not_revive_a_revoked_session() {
    let mut d = Daemon::start(Options::default());
    let tmp = d.take_tmp();
    let dir = d.dir.clone();
    let api = Api::new(&d.base);
    let m = Api::master();
    let w = api.call("POST", "/v1/wallets", &m, Some(json!({"name": "kept"}))).await;
    let (wallet, revoked_id) = (w.body["id"].as_str().unwrap().to_string(), w.body["session"]["id"].as_str().unwrap().to_string());
    let revoked = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    assert_eq!(api.call("GET", "/v1/wallet/address", &revoked, None).await.status, 200);
    let b = api.call("POST", "/v1/admin/backup", &m, None).await;
    assert!(b.status == 200 || b.status == 201, "{:?}", b.body);
    let archive =
        b.body["path"].as_str().map(str::to_string).unwrap_or_else(|| dir.join("backups").join(b.body["filename"].as_str().unwrap()).display().to_string());
    // The session is revoked after the backup was taken.
    assert_eq!(api.call("DELETE", &format!("/v1/sessions/{revoked_id}"), &m, None).await.status, 200);
    assert_eq!(api.call("GET", "/v1/wallet/address", &revoked, None).await.status, 401);
    d.stop();

    let out = run_cli(&["restore", &archive, "--force", "--json", "--data-dir", dir.to_str().unwrap()], &[("WAIAAS_MASTER_PASSWORD".into(), PASSWORD.into())]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["sessions_revoked"], 1, "{report}");
    assert!(report["warnings"].to_string().contains("revoked"), "the restore says so: {report}");

    let d = Daemon::start_in(&dir, Options::default()).unwrap();
    let api = Api::new(&d.base);
    let r = api.call("GET", "/v1/wallet/address", &revoked, None).await;
    assert_eq!(r.status, 401, "the revoked session stays dead: {:?}", r.body);
    // Control: the wallet is back and a new session for it works.
    let s = api.call("POST", "/v1/sessions", &m, Some(json!({"walletId": wallet}))).await;
    assert_eq!(s.status, 201, "{:?}", s.body);
    let fresh = Auth::Session(s.body["token"].as_str().unwrap().into());
    let r = api.call("GET", "/v1/wallet/address", &fresh, None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    drop(d);
    drop(tmp);
}

// ---------------------------------------------------------------------------------------
// f. Password change racing wallet creation
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_password_change_racing_wallet_creations_leaves_no_key_under_the_old_password() {
    const NEW: &str = "the-new-master-password-42";
    let mut d = Daemon::start(Options::default());
    let tmp = d.take_tmp();
    let dir = d.dir.clone();
    let api = Api::new(&d.base);
    let create = |i: usize| {
        let api = api.clone();
        tokio::spawn(async move { api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": format!("w{i}"), "chain": "ethereum"}))).await })
    };
    let mut tasks: Vec<_> = (0..6).map(create).collect();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let change = {
        let api = api.clone();
        tokio::spawn(async move { api.call("PUT", "/v1/admin/master-password", &Api::master(), Some(json!({"newPassword": NEW}))).await })
    };
    tasks.extend((6..12).map(create));
    let changed = change.await.unwrap();
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    let mut created = vec![];
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            201 => created.push((r.body["id"].as_str().unwrap().to_string(), r.body["session"]["token"].as_str().unwrap().to_string())),
            // Sent with the old password after the change committed.
            401 => assert_eq!(r.code(), "INVALID_MASTER_PASSWORD", "{:?}", r.body),
            _ => panic!("{:?}", r.body),
        }
    }
    assert!(!created.is_empty());
    // Every key file on disk opens with the new password.
    let ks = waiaas_core::keystore::Keystore::new(dir.join("keystore")).unwrap();
    let ids = ks.wallet_ids().unwrap();
    assert_eq!(ids.len(), created.len(), "one key file per created wallet");
    for id in &ids {
        let r = tokio::task::block_in_place(|| ks.verify(id, NEW.as_bytes()));
        assert!(r.is_ok(), "wallet {id}'s key is not under the new password: {r:?}");
    }
    d.stop();
    // After a restart: the old password is refused, the new one opens and every wallet signs.
    assert!(Daemon::start_in(&dir, Options::default()).is_err(), "the old password no longer opens the data dir");
    let d = Daemon::start_in(&dir, Options { password: Some(NEW.into()), ..Options::default() }).unwrap();
    let api = Api::new(&d.base);
    for (id, token) in &created {
        let r = api.call("POST", "/v1/transactions/sign-message", &Auth::Session(token.clone()), Some(json!({"message": "after the change"}))).await;
        assert_eq!(r.status, 200, "wallet {id}: {:?}", r.body);
    }
    drop(d);
    drop(tmp);
}

// ---------------------------------------------------------------------------------------
// g. LOCKED freezes password and settings
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_locked_kill_switch_freezes_password_and_settings_changes() {
    let d = Daemon::start(Options::default());
    let api = Api::new(&d.base);
    let m = Api::master();
    let setting = json!({"settings": [{"key": "security.rate_limit_tx_rpm", "value": "500"}]});
    api.call("POST", "/v1/wallets", &m, Some(json!({"name": "w", "createSession": false}))).await;
    assert_eq!(api.call("POST", "/v1/admin/kill-switch", &m, None).await.status, 200);
    let r = api.call("POST", "/v1/admin/kill-switch/escalate", &m, None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["state"], "LOCKED");

    let r = api.call("PUT", "/v1/admin/master-password", &m, Some(json!({"newPassword": "taken-over-password-1"}))).await;
    assert_eq!((r.status, r.code()), (503, "SYSTEM_LOCKED"), "{:?}", r.body);
    assert!(r.body["message"].as_str().unwrap().contains("master password"), "{:?}", r.body);
    let r = api.call("PUT", "/v1/admin/settings", &m, Some(setting.clone())).await;
    assert_eq!((r.status, r.code()), (503, "SYSTEM_LOCKED"), "{:?}", r.body);
    // Nothing changed: the old password still works, no setting is pending.
    let s = api.call("GET", "/v1/admin/settings", &m, None).await;
    assert_eq!(s.status, 200);
    assert_eq!(s.body["pending"], json!({}), "{:?}", s.body);
    assert_eq!(api.call("GET", "/v1/admin/status", &Auth::Master("taken-over-password-1".into()), None).await.status, 401);

    // Recovery (no wallet has an owner: the master decides alone) unfreezes both.
    let r = api.call("POST", "/v1/admin/recover", &m, None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = api.call("PUT", "/v1/admin/settings", &m, Some(setting)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = api.call("PUT", "/v1/admin/master-password", &m, Some(json!({"newPassword": "operator-new-password-2"}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(api.call("GET", "/v1/admin/status", &Auth::Master("operator-new-password-2".into()), None).await.status, 200);
}
