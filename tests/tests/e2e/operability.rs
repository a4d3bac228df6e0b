//! An operable process: `/metrics` (Prometheus text, off by default, token-protected),
//! `/health` readiness with its checks, structured JSON logs with one access line per
//! request, and a SIGTERM that lets requests in flight finish and exits within the deadline.
//! Real daemon binary, real sockets, real anvil.

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::time::{Duration, Instant};
use waiaas_e2e::evm::Node;
use waiaas_e2e::*;

const SEPOLIA: u64 = 11155111;
const ETH: u128 = 1_000_000_000_000_000_000;
const METRICS_TOKEN: &str = "scrape-token-7f3a";

/// A local webhook receiver: the first delivery gets a 500 (so a retry happens), every later
/// one a 200. Returns its URL.
async fn webhook_receiver() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let hits = hits.clone();
            async move {
                if hits.fetch_add(1, Ordering::SeqCst) == 0 {
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    axum::http::StatusCode::OK
                }
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    url
}

async fn scrape(d: &Daemon, auth: Option<&str>) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(d.url("/metrics"));
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    req.send().await.expect("scrape")
}

/// The value of the sample `name{labels}` exactly as rendered (labels in the order rendered).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')).map(|v| v.trim().parse::<f64>().expect("number")))
}

/// A strict reader of the Prometheus text format (0.0.4), independent of promtool: every
/// line is a HELP, a TYPE or a sample; names and label names are valid; label values are
/// quoted with only the three escapes; values are floats; each family is typed once, before
/// its samples; no series repeats; histogram buckets are cumulative, end in `+Inf`, and
/// `+Inf` equals `_count`. Returns the samples by series.
fn parse_exposition(text: &str) -> BTreeMap<String, f64> {
    fn valid_name(n: &str) -> bool {
        let mut c = n.chars();
        matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_' || ch == ':') && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == ':')
    }
    fn value(v: &str) -> f64 {
        match v {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            _ => v.parse().unwrap_or_else(|_| panic!("not a float: {v}")),
        }
    }
    assert!(text.ends_with('\n'), "the exposition ends with a newline");
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut helps = BTreeSet::new();
    let mut samples = BTreeMap::new();
    // histogram family -> labels without le -> [(le, value)]
    let mut buckets: BTreeMap<(String, String), Vec<(f64, f64)>> = BTreeMap::new();
    for line in text.lines() {
        assert!(!line.is_empty(), "no blank lines");
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap();
            assert!(valid_name(name), "HELP name {name}");
            assert!(helps.insert(name.to_string()), "HELP {name} twice");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut it = rest.split(' ');
            let (name, kind) = (it.next().unwrap(), it.next().expect("TYPE kind"));
            assert!(valid_name(name) && it.next().is_none(), "TYPE line {line}");
            assert!(["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind), "TYPE {kind}");
            assert!(types.insert(name.to_string(), kind.to_string()).is_none(), "TYPE {name} twice");
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment line {line}");
        // name{labels} value
        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) => (&line[..i], &line[i..]),
            None => panic!("sample without value: {line}"),
        };
        assert!(valid_name(name), "metric name {name}");
        let mut labels = vec![];
        let rest = if let Some(body) = rest.strip_prefix('{') {
            let mut chars = body.char_indices().peekable();
            let end;
            loop {
                let (start, _) = *chars.peek().expect("unterminated labels");
                if body[start..].starts_with('}') {
                    end = start + 1;
                    break;
                }
                let eq = body[start..].find('=').expect("label =") + start;
                let lname = &body[start..eq];
                assert!(valid_name(lname) && !lname.starts_with("__"), "label name {lname} in {line}");
                assert_eq!(&body[eq + 1..eq + 2], "\"", "quoted label value in {line}");
                let mut val = String::new();
                let mut i = eq + 2;
                loop {
                    let c = body[i..].chars().next().expect("unterminated label value");
                    match c {
                        '\\' => {
                            let e = body[i + 1..].chars().next().expect("escape");
                            assert!(matches!(e, '\\' | '"' | 'n'), "bad escape \\{e} in {line}");
                            val.push(e);
                            i += 2;
                        }
                        '"' => {
                            i += 1;
                            break;
                        }
                        '\n' => panic!("raw newline in label value"),
                        c => {
                            val.push(c);
                            i += c.len_utf8();
                        }
                    }
                }
                labels.push((lname.to_string(), val));
                match &body[i..i + 1] {
                    "," => i += 1,
                    "}" => {}
                    other => panic!("after a label value: {other:?} in {line}"),
                }
                while chars.peek().is_some_and(|(j, _)| *j < i) {
                    chars.next();
                }
            }
            &body[end..]
        } else {
            rest
        };
        let v = rest.strip_prefix(' ').unwrap_or_else(|| panic!("one space before the value: {line}"));
        let mut parts = v.split(' ');
        let val = value(parts.next().unwrap());
        if let Some(ts) = parts.next() {
            ts.parse::<i64>().expect("timestamp");
        }
        let names: BTreeSet<&String> = labels.iter().map(|(n, _)| n).collect();
        assert_eq!(names.len(), labels.len(), "repeated label in {line}");
        // The family this sample belongs to, typed before it.
        let family = [name.strip_suffix("_bucket"), name.strip_suffix("_sum"), name.strip_suffix("_count")]
            .into_iter()
            .flatten()
            .find(|f| types.get(*f).is_some_and(|k| k == "histogram" || k == "summary"))
            .unwrap_or(name);
        let kind = types.get(family).unwrap_or_else(|| panic!("sample {name} before its TYPE"));
        if kind == "counter" {
            assert!(val >= 0.0, "negative counter {line}");
        }
        if kind == "histogram" && name.ends_with("_bucket") {
            let le = labels.iter().find(|(n, _)| n == "le").map(|(_, v)| value(v)).expect("bucket le");
            let others: Vec<String> = labels.iter().filter(|(n, _)| n != "le").map(|(n, v)| format!("{n}={v}")).collect();
            buckets.entry((family.to_string(), others.join(","))).or_default().push((le, val));
        }
        let series = line.rsplit_once(' ').unwrap().0.to_string();
        assert!(samples.insert(series.clone(), val).is_none(), "series {series} twice");
    }
    for ((family, labels), bs) in &buckets {
        assert!(bs.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1), "{family}{{{labels}}}: buckets sorted and cumulative: {bs:?}");
        let (le, inf) = *bs.last().unwrap();
        assert!(le.is_infinite(), "{family}: last bucket is +Inf");
        let count_series = samples.keys().find(|k| k.starts_with(&format!("{family}_count"))).cloned();
        assert!(count_series.is_some(), "{family}: _count present");
        let counts: Vec<f64> = samples
            .iter()
            .filter(|(k, _)| {
                k.starts_with(&format!("{family}_count"))
                    && labels.split(',').filter(|l| !l.is_empty()).all(|kv| {
                        let (n, v) = kv.split_once('=').unwrap();
                        k.contains(&format!("{n}=\"{v}\""))
                    })
            })
            .map(|(_, v)| *v)
            .collect();
        assert!(counts.contains(&inf), "{family}{{{labels}}}: +Inf bucket {inf} equals _count {counts:?}");
    }
    samples
}

/// `promtool check metrics` (Debian's prometheus package) on the exposition.
fn promtool_check(text: &str) -> Option<String> {
    let which = std::process::Command::new("promtool").arg("--version").output();
    if which.is_err() {
        return None;
    }
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && report.trim().is_empty(), "promtool check metrics refused the exposition:\n{report}");
    Some(report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_on_anvil_is_counted_by_status_and_tier_and_routes_by_template() {
    let node = Node::start(SEPOLIA);
    let daemon = Daemon::start(
        Options::default()
            .env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url())
            .env("WAIAAS_PRICES_ETH", "2000")
            .env("WAIAAS_METRICS_ENABLED", "true")
            .env("WAIAAS_METRICS_TOKEN", METRICS_TOKEN)
            // The webhook receiver listens on loopback.
            .env("WAIAAS_SECURITY_WEBHOOK_ALLOW_PRIVATE", "true"),
    );
    let api = Api::new(&daemon.base);
    let hook_url = webhook_receiver().await;
    let hook = api.call("POST", "/v1/webhooks", &Api::master(), Some(json!({"url": hook_url, "events": ["TX_CONFIRMED", "TX_QUEUED"]}))).await;
    assert_eq!(hook.status, 201, "{:?}", hook.body);

    // Enabled with a token: nothing without it, or with a wrong one.
    let r = scrape(&daemon, None).await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer realm=\"metrics\"");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "INVALID_TOKEN");
    assert!(!body.to_string().contains(METRICS_TOKEN));
    assert_eq!(scrape(&daemon, Some("Bearer scrape-token-7f3b")).await.status(), 401);
    assert_eq!(scrape(&daemon, Some(METRICS_TOKEN)).await.status(), 401, "the Bearer scheme is required");
    assert_eq!(scrape(&daemon, Some(&format!("Bearer {}", &METRICS_TOKEN[..8]))).await.status(), 401, "a prefix is not the token");

    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "agent", "chain": "ethereum", "environment": "testnet"}))).await;
    assert_eq!(w.status, 201, "{:?}", w.body);
    let (wallet, address) = (w.body["id"].as_str().unwrap().to_string(), w.body["publicKey"].as_str().unwrap().to_string());
    let token = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    node.fund(&address, 10 * ETH);

    // 0.001 ETH at $2000 = $2: INSTANT, confirmed on anvil.
    let to = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    let r = api.call("POST", "/v1/transactions/send", &token, Some(json!({"type": "TRANSFER", "to": to, "amount": (ETH / 1000).to_string()}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let tx = api.wait_tx(&token, &id, NOT_FINAL, Duration::from_secs(30)).await;
    assert_eq!(tx["status"], "CONFIRMED", "{tx}");
    assert_eq!(tx["tier"], "INSTANT", "{tx}");
    // 0.1 ETH = $200: DELAY, waiting in the queue.
    let r = api.call("POST", "/v1/transactions/send", &token, Some(json!({"type": "TRANSFER", "to": to, "amount": (ETH / 10).to_string()}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let delayed = r.body["id"].as_str().unwrap().to_string();
    let q = api.wait_tx(&token, &delayed, &["PENDING"], Duration::from_secs(10)).await;
    assert_eq!(q["status"], "QUEUED", "{q}");
    assert_eq!(q["tier"], "DELAY", "{q}");

    // Both events reach the webhook, the first after a retry (1 s backoff).
    let deadline = Instant::now() + Duration::from_secs(15);
    let text = loop {
        let r = scrape(&daemon, Some(&format!("Bearer {METRICS_TOKEN}"))).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
        let text = r.text().await.unwrap();
        if sample(&text, "waiaas_notification_deliveries_total{channel=\"webhook\",outcome=\"delivered\"}") == Some(2.0) || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(sample(&text, "waiaas_notification_deliveries_total{channel=\"webhook\",outcome=\"delivered\"}"), Some(2.0), "{text}");
    assert_eq!(sample(&text, "waiaas_notification_deliveries_total{channel=\"webhook\",outcome=\"failed\"}"), None, "{text}");
    assert_eq!(sample(&text, "waiaas_webhook_attempts_total{outcome=\"failed\"}"), Some(1.0), "{text}");
    assert_eq!(sample(&text, "waiaas_webhook_attempts_total{outcome=\"success\"}"), Some(2.0), "{text}");

    // The confirmed send, status by status, with its tier once decided.
    let tx_count = |status: &str, tier: &str| sample(&text, &format!("waiaas_transactions_total{{status=\"{status}\",tier=\"{tier}\"}}"));
    assert_eq!(tx_count("PENDING", "none"), Some(2.0), "{text}");
    assert_eq!(tx_count("EXECUTING", "INSTANT"), Some(1.0), "{text}");
    assert_eq!(tx_count("SUBMITTED", "INSTANT"), Some(1.0), "{text}");
    assert_eq!(tx_count("CONFIRMED", "INSTANT"), Some(1.0), "{text}");
    assert_eq!(tx_count("QUEUED", "DELAY"), Some(1.0), "{text}");
    assert_eq!(tx_count("FAILED", "INSTANT"), None, "nothing failed");
    assert_eq!(sample(&text, "waiaas_policy_decisions_total{outcome=\"allowed\",tier=\"INSTANT\"}"), Some(1.0));
    assert_eq!(sample(&text, "waiaas_policy_decisions_total{outcome=\"allowed\",tier=\"DELAY\"}"), Some(1.0));
    assert_eq!(sample(&text, "waiaas_queue_depth{tier=\"DELAY\"}"), Some(1.0));
    assert_eq!(sample(&text, "waiaas_queue_depth{tier=\"APPROVAL\"}"), Some(0.0));
    assert_eq!(sample(&text, "waiaas_kill_switch_engaged"), Some(0.0));

    // HTTP by route template: the polled transaction shows as /v1/transactions/{id}.
    assert_eq!(sample(&text, "waiaas_http_requests_total{method=\"POST\",route=\"/v1/transactions/send\",status=\"201\"}"), Some(2.0));
    assert_eq!(sample(&text, "waiaas_http_requests_total{method=\"POST\",route=\"/v1/wallets\",status=\"201\"}"), Some(1.0));
    assert_eq!(sample(&text, "waiaas_http_requests_total{method=\"GET\",route=\"/metrics\",status=\"401\"}"), Some(4.0));
    let polled = sample(&text, "waiaas_http_requests_total{method=\"GET\",route=\"/v1/transactions/{id}\",status=\"200\"}").unwrap_or(0.0);
    assert!(polled >= 2.0, "{text}");
    assert_eq!(
        sample(&text, "waiaas_http_request_duration_seconds_count{method=\"GET\",route=\"/v1/transactions/{id}\"}"),
        Some(polled),
        "one latency observation per request"
    );
    // No ids, addresses or secrets in any label.
    for secret in [id.as_str(), delayed.as_str(), wallet.as_str(), address.as_str(), &address.to_lowercase(), to, METRICS_TOKEN, PASSWORD] {
        assert!(!text.contains(secret), "{secret} appears in /metrics");
    }
    // RPC to anvil, per network.
    let rpc_ok = sample(&text, "waiaas_rpc_requests_total{network=\"ethereum-sepolia\",outcome=\"ok\"}").unwrap_or(0.0);
    assert!(rpc_ok >= 4.0, "nonce, fees, simulate, broadcast, receipt: {text}");
    assert!(sample(&text, "waiaas_rpc_request_duration_seconds_count{network=\"ethereum-sepolia\"}").unwrap_or(0.0) >= rpc_ok);

    // Valid exposition: our strict reader, and promtool's linter.
    let parsed = parse_exposition(&text);
    assert!(parsed.len() > 20, "{} series", parsed.len());
    match promtool_check(&text) {
        Some(_) => eprintln!("promtool check metrics: accepted"),
        None => eprintln!("promtool not installed: checked with the strict reader only"),
    }

    // During an incident the scrape keeps working and shows the kill switch; the queued
    // DELAY was cancelled by it.
    let k = api.call("POST", "/v1/admin/kill-switch", &Api::master(), None).await;
    assert_eq!(k.status, 200, "{:?}", k.body);
    let r = scrape(&daemon, Some(&format!("Bearer {METRICS_TOKEN}"))).await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert_eq!(sample(&text, "waiaas_kill_switch_engaged"), Some(1.0));
    assert_eq!(sample(&text, "waiaas_queue_depth{tier=\"DELAY\"}"), Some(0.0));
    assert_eq!(sample(&text, "waiaas_transactions_total{status=\"CANCELLED\",tier=\"DELAY\"}"), Some(1.0), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_off_by_default_and_refused_on_a_public_hostname_without_a_token() {
    let daemon = Daemon::start(Options::default());
    let r = scrape(&daemon, None).await;
    assert_eq!(r.status(), 404, "disabled: the endpoint does not exist");
    assert_eq!(scrape(&daemon, Some("Bearer anything")).await.status(), 404);
    drop(daemon);

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let refused = Daemon::start_in(&dir, Options::default().env("WAIAAS_METRICS_ENABLED", "true").env("WAIAAS_DAEMON_HOSTNAME", "0.0.0.0"));
    let Err((status, log)) = refused else { panic!("a daemon on 0.0.0.0 exposing /metrics without a token must not start") };
    assert_eq!(status.code(), Some(2), "{log}");
    assert!(log.contains("metrics.token"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_liveness_readiness_and_503_naming_the_failed_check() {
    let daemon = Daemon::start(Options::default());
    let api = Api::new(&daemon.base);
    let h = api.call("GET", "/health", &Auth::None, None).await;
    assert_eq!(h.status, 200, "{:?}", h.body);
    let keys: BTreeSet<&str> = h.body.as_object().unwrap().keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> =
        ["status", "version", "latestVersion", "updateAvailable", "schemaVersion", "uptime", "timestamp", "live", "ready", "checks", "failed"].into();
    assert_eq!(keys, expected, "upstream's fields plus ours, nothing else");
    assert_eq!(h.body["status"], "ok");
    assert_eq!(h.body["ready"], true);
    assert_eq!(h.body["live"], true);
    assert_eq!(h.body["checks"], json!({"store": "ok", "migrations": "ok", "killSwitch": "ACTIVE"}));
    assert_eq!(h.body["failed"], json!([]));
    let schema = h.body["schemaVersion"].as_i64().unwrap();

    // Another process changes the database under the daemon: the table the store check reads
    // disappears. The check runs a real query, so it fails and says which check.
    let db = rusqlite::Connection::open(daemon.dir.join("data/waiaas.db")).unwrap();
    db.busy_timeout(Duration::from_secs(5)).unwrap();
    db.execute_batch("ALTER TABLE schema_version RENAME TO schema_version_moved").unwrap();
    let h = api.call("GET", "/health", &Auth::None, None).await;
    assert_eq!(h.status, 503, "{:?}", h.body);
    assert_eq!(h.body["status"], "unavailable");
    assert_eq!(h.body["live"], true);
    assert_eq!(h.body["ready"], false);
    assert_eq!(h.body["failed"], json!(["store"]));
    assert_eq!(h.body["checks"]["store"], "fail");
    assert_eq!(h.body["checks"]["migrations"], "unknown");
    let text = h.body.to_string();
    for leak in [daemon.dir.to_str().unwrap(), "waiaas.db", "schema_version_moved", "no such table"] {
        assert!(!text.contains(leak), "/health leaks {leak}: {text}");
    }
    db.execute_batch("ALTER TABLE schema_version_moved RENAME TO schema_version").unwrap();
    assert_eq!(api.call("GET", "/health", &Auth::None, None).await.status, 200);

    // A newer build migrated the database (schema ahead of this binary): not ready.
    db.execute("INSERT INTO schema_version (version, applied_at, description) VALUES (?1, 0, 'from the future')", [schema + 1]).unwrap();
    let h = api.call("GET", "/health", &Auth::None, None).await;
    assert_eq!(h.status, 503, "{:?}", h.body);
    assert_eq!(h.body["failed"], json!(["migrations"]));
    assert_eq!(h.body["checks"]["store"], "ok");
    assert_eq!(h.body["checks"]["migrations"], "fail");
    db.execute("DELETE FROM schema_version WHERE version = ?1", [schema + 1]).unwrap();
    assert_eq!(api.call("GET", "/health", &Auth::None, None).await.status, 200);

    // The kill switch is reported, not a failure (restarting would not help), and /health
    // stays served while it is engaged.
    let k = api.call("POST", "/v1/admin/kill-switch", &Api::master(), None).await;
    assert_eq!(k.status, 200, "{:?}", k.body);
    let h = api.call("GET", "/health", &Auth::None, None).await;
    assert_eq!(h.status, 200, "{:?}", h.body);
    assert_eq!(h.body["checks"]["killSwitch"], "SUSPENDED");
    assert_eq!(h.body["ready"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line_with_an_access_line_per_request() {
    let daemon = Daemon::start(Options::default().env("WAIAAS_DAEMON_LOG_FORMAT", "json"));
    let api = Api::new(&daemon.base);
    let secret_query = "apikey=hunter2-query-secret";
    let r = api
        .call_with("GET", &format!("/v1/wallets/0198-not-a-wallet?{secret_query}"), &Api::master(), None, &[("X-Request-Id".into(), "ops-req-0001".into())])
        .await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    assert_eq!(r.headers["x-request-id"], "ops-req-0001");
    let r = api.call("GET", "/health", &Auth::None, None).await;
    let minted = r.headers["x-request-id"].to_str().unwrap().to_string();
    let r = api.call_with("GET", "/no/such/route/ops-secret-path", &Auth::None, None, &[("Authorization".into(), "Bearer wai_sess_not-logged".into())]).await;
    assert_eq!(r.status, 404);

    let mut daemon = daemon;
    unsafe { libc::kill(daemon.child.id() as i32, libc::SIGTERM) };
    let status = daemon.child.wait().unwrap();
    assert!(status.success(), "{status}");
    // Everything it printed, up to its pipes closing (after the ready line).
    let mut lines = vec![];
    while let Ok(l) = daemon.log.recv_timeout(Duration::from_secs(5)) {
        lines.push(l);
    }
    assert!(lines.iter().any(|l| l.contains("daemon stopped")), "{lines:?}");
    let mut access = vec![];
    for line in &lines {
        // stdout's ready line is for supervisors; every log line on stderr is JSON.
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        for field in ["timestamp", "level", "message", "target"] {
            assert!(v.get(field).is_some(), "{field} missing: {line}");
        }
        if v["target"] == "waiaas::access" {
            access.push(v);
        }
        for leak in ["hunter2", PASSWORD, "ops-secret-path", "0198-not-a-wallet", "wai_sess_not-logged"] {
            assert!(!line.contains(leak), "{leak} logged: {line}");
        }
    }
    let by_id = |id: &str| access.iter().find(|v| v["request_id"] == id).unwrap_or_else(|| panic!("no access line for {id}: {access:?}")).clone();
    let a = by_id("ops-req-0001");
    assert_eq!(a["method"], "GET");
    assert_eq!(a["route"], "/v1/wallets/{id}");
    assert_eq!(a["status"], 404);
    assert!(a["latency_ms"].as_f64().is_some_and(|ms| (0.0..10_000.0).contains(&ms)), "{a}");
    let h = by_id(&minted);
    assert_eq!((h["route"].as_str(), h["status"].as_u64()), (Some("/health"), Some(200)));
    assert!(access.iter().any(|v| v["route"] == "unmatched" && v["status"] == 404), "{access:?}");
    assert_eq!(access.len(), 3, "one line per request: {access:?}");
}

/// Open a connection and send the headers and the first half of a `POST /v1/wallets` body.
fn start_slow_create(port: u16) -> (std::net::TcpStream, Vec<u8>) {
    let body = json!({"name": "slow", "chain": "ethereum", "environment": "testnet"}).to_string().into_bytes();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let head = format!(
        "POST /v1/wallets HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nX-Master-Password: {PASSWORD}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let half = body.len() / 2;
    s.write_all(&body[..half]).unwrap();
    s.flush().unwrap();
    (s, body[half..].to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_slow_request_finish_refuses_new_connections_and_exits_within_10s() {
    // daemon.shutdown_timeout defaults to 10 s: the deadline below is the default's.
    let mut daemon = Daemon::start(Options::default());
    let port = daemon.port;
    let (mut conn, rest) = start_slow_create(port);
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    unsafe { libc::kill(daemon.child.id() as i32, libc::SIGTERM) };
    std::thread::sleep(Duration::from_millis(700));
    assert!(daemon.child.try_wait().unwrap().is_none(), "still serving the request in flight");
    let refused = std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2));
    assert!(refused.is_err(), "a new connection after SIGTERM is refused");
    // The client finishes its upload: the request completes normally.
    conn.write_all(&rest).unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert!(response.contains("\"publicKey\""), "{response}");
    assert!(response.to_ascii_lowercase().contains("connection: close"), "the drained connection closes: {response}");
    let status = loop {
        if let Some(s) = daemon.child.try_wait().unwrap() {
            break s;
        }
        assert!(signalled.elapsed() < Duration::from_secs(10), "not exited within 10 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
    eprintln!("exited {:?} after SIGTERM", signalled.elapsed());

    // SIGINT does the same, and a request that never completes does not hold the process
    // past the deadline.
    let mut daemon = Daemon::start(Options::default().env("WAIAAS_DAEMON_SHUTDOWN_TIMEOUT", "3"));
    let (_stuck, _never) = start_slow_create(daemon.port);
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    unsafe { libc::kill(daemon.child.id() as i32, libc::SIGINT) };
    let status = loop {
        if let Some(s) = daemon.child.try_wait().unwrap() {
            break s;
        }
        assert!(signalled.elapsed() < Duration::from_secs(5), "daemon.shutdown_timeout = 3 not honoured");
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = signalled.elapsed();
    assert!(took >= Duration::from_millis(1500), "the stuck request was given its drain time ({took:?})");
    let mut said = String::new();
    while let Ok(l) = daemon.log.recv_timeout(Duration::from_secs(2)) {
        said.push_str(&l);
        said.push('\n');
    }
    assert!(said.contains("SIGINT received"), "{said}");
    assert!(said.contains("connections still open at the drain deadline"), "{said}");
    eprintln!("stuck request: exited {status} after {took:?}");
}

/// The strict reader used above refuses what the format forbids (so its acceptance means
/// something when promtool is absent).
#[test]
fn the_exposition_reader_refuses_malformed_text() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 2\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n";
    assert_eq!(parse_exposition(good).len(), 5);
    let bad = [
        ("no TYPE before the sample", "a_total 1\n"),
        ("bad escape", "# TYPE a counter\na{x=\"\\t\"} 1\n"),
        ("unquoted value", "# TYPE a counter\na{x=1} 1\n"),
        ("not a float", "# TYPE a counter\na one\n"),
        ("repeated series", "# TYPE a counter\na 1\na 2\n"),
        ("TYPE twice", "# TYPE a counter\n# TYPE a counter\na 1\n"),
        ("bad name", "# TYPE 1a counter\n1a 1\n"),
        ("buckets not cumulative", "# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n"),
        ("+Inf differs from _count", "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n"),
        ("no +Inf bucket", "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n"),
        ("no final newline", "# TYPE a counter\na 1"),
        ("negative counter", "# TYPE a counter\na -1\n"),
    ];
    for (why, text) in bad {
        let refused = std::panic::catch_unwind(|| parse_exposition(text)).is_err();
        assert!(refused, "accepted ({why}): {text:?}");
    }
}
