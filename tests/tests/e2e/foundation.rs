//! The seed article's curl flow and the daemon's life cycle, over a real socket.

use serde_json::json;
use waiaas_e2e::*;

#[tokio::test]
async fn seed_curl_flow_wallets_session_and_scoped_listing() {
    let d = Daemon::start(Options::default());
    let api = Api::new(&d.base);
    let m = Api::master();

    let h = api.call("GET", "/health", &Auth::None, None).await;
    assert_eq!(h.status, 200);
    for k in ["status", "version", "latestVersion", "updateAvailable", "schemaVersion", "uptime", "timestamp"] {
        assert!(h.body.get(k).is_some(), "health lacks {k}");
    }
    assert_eq!(h.body["status"], "ok");

    // curl -X POST /v1/wallets -d '{"name":"trading-wallet","chain":"solana","environment":"mainnet"}'
    let sol = api.call("POST", "/v1/wallets", &m, Some(json!({"name": "trading-wallet", "chain": "solana", "environment": "mainnet"}))).await;
    assert_eq!(sol.status, 201, "{:?}", sol.body);
    assert_eq!(sol.body["chain"], "solana");
    assert_eq!(sol.body["network"], "solana-mainnet");
    assert_eq!(sol.body["status"], "ACTIVE");
    assert_eq!(sol.body["ownerState"], "NONE");
    let pk = bs58::decode(sol.body["publicKey"].as_str().unwrap()).into_vec().unwrap();
    assert_eq!(pk.len(), 32);
    assert!(sol.body["session"]["token"].as_str().unwrap().starts_with("wai_sess_"));
    assert_eq!(sol.body["session"]["expiresAt"], 0);

    let evm =
        api.call("POST", "/v1/wallets", &m, Some(json!({"name": "evm-wallet", "chain": "ethereum", "environment": "testnet", "createSession": false}))).await;
    assert_eq!(evm.status, 201, "{:?}", evm.body);
    assert_eq!(evm.body["network"], "ethereum-sepolia");
    assert!(evm.body["session"].is_null());
    let addr = evm.body["publicKey"].as_str().unwrap();
    let parsed: alloy_primitives::Address = addr.parse().unwrap();
    assert_eq!(parsed.to_checksum(None), addr, "EIP-55 checksummed");

    // curl -X POST /v1/sessions -d '{"walletId":"<wallet-uuid>"}'
    let sid = sol.body["id"].as_str().unwrap();
    let s = api.call("POST", "/v1/sessions", &m, Some(json!({"walletId": sid}))).await;
    assert_eq!(s.status, 201, "{:?}", s.body);
    assert_eq!(s.body["walletId"], sid);
    assert_eq!(s.body["wallets"][0]["name"], "trading-wallet");
    let token = s.body["token"].as_str().unwrap().to_string();

    // The agent lists wallets with its token: only its own.
    let mine = api.call("GET", "/v1/wallets", &Auth::Session(token.clone()), None).await;
    assert_eq!(mine.status, 200);
    let items = mine.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], sid);
    // The operator sees both.
    let all = api.call("GET", "/v1/wallets", &m, None).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 2);
    // Detail and networks through the session.
    let det = api.call("GET", &format!("/v1/wallets/{sid}"), &Auth::Session(token.clone()), None).await;
    assert_eq!(det.status, 200);
    assert_eq!(det.body["ownerVerified"], false);
    assert!(det.body.get("updatedAt").is_some());
    let evm_id = evm.body["id"].as_str().unwrap();
    let nets = api.call("GET", &format!("/v1/wallets/{evm_id}/networks"), &m, None).await;
    assert_eq!(nets.body["availableNetworks"].as_array().unwrap().len(), 6);
    assert_eq!(nets.body["networks"], nets.body["availableNetworks"]);
    // connect-info tells the agent its wallets and the rules it will meet.
    let ci = api.call("GET", "/v1/connect-info", &Auth::Session(token.clone()), None).await;
    assert_eq!(ci.status, 200, "{:?}", ci.body);
    assert_eq!(ci.body["wallets"].as_array().unwrap().len(), 1);
    assert_eq!(ci.body["wallets"][0]["address"], sol.body["publicKey"]);
    assert_eq!(ci.body["defaultDeny"]["tokenTransfers"], true);
    assert_eq!(ci.body["session"]["id"], s.body["id"]);
    assert!(ci.body["prompt"].as_str().unwrap().contains("default deny"));
    // Request ids are echoed.
    let r = api.http.get(d.url("/health")).header("X-Request-Id", "abc-123").send().await.unwrap();
    assert_eq!(r.headers()["x-request-id"], "abc-123");
}

#[tokio::test]
async fn bad_input_gets_a_named_400_and_changes_nothing() {
    let d = Daemon::start(Options::default());
    let api = Api::new(&d.base);
    let m = Api::master();
    let w = api.call("POST", "/v1/wallets", &m, Some(json!({"name": "w"}))).await;
    let wid = w.body["id"].as_str().unwrap().to_string();
    let before = store_snapshot(&d.dir);
    let cases: Vec<(&str, String, serde_json::Value, &str)> = vec![
        ("POST", "/v1/wallets".into(), json!({}), "name"),
        ("POST", "/v1/wallets".into(), json!({"name": ""}), "name"),
        ("POST", "/v1/wallets".into(), json!({"name": "x".repeat(101)}), "name"),
        ("POST", "/v1/wallets".into(), json!({"name": "x", "chain": "bitcoin"}), "chain"),
        ("POST", "/v1/wallets".into(), json!({"name": "x", "environment": "prod"}), "environment"),
        ("POST", "/v1/wallets".into(), json!({"name": "x", "accountType": "smart"}), "accountType"),
        ("POST", "/v1/wallets".into(), json!({"name": 5}), "name"),
        ("POST", "/v1/wallets".into(), json!({"name": "x", "createSession": "yes"}), "createSession"),
        ("POST", "/v1/sessions".into(), json!({}), "walletId"),
        ("POST", "/v1/sessions".into(), json!({"walletId": wid, "ttl": 10}), "ttl"),
        ("POST", "/v1/sessions".into(), json!({"walletId": wid, "ttl": 99999999}), "ttl"),
        ("POST", "/v1/sessions".into(), json!({"walletId": wid, "maxRenewals": -1}), "maxRenewals"),
        ("POST", "/v1/sessions".into(), json!({"walletIds": []}), "walletIds"),
        ("POST", "/v1/sessions".into(), json!({"walletId": wid, "constraints": 7}), "constraints"),
        ("PUT", format!("/v1/wallets/{wid}"), json!({"name": ""}), "name"),
        ("PUT", format!("/v1/wallets/{wid}"), json!({}), "name"),
        ("PATCH", format!("/v1/wallets/{wid}"), json!({"monitorIncoming": "on"}), "monitorIncoming"),
    ];
    for (method, path, body, field) in cases {
        let r = api.call(method, &path, &m, Some(body.clone())).await;
        assert_eq!(r.status, 400, "{method} {path} {body}: {:?}", r.body);
        assert_eq!(r.code(), "ACTION_VALIDATION_FAILED");
        let named = r.body["details"]["issues"][0]["path"][0].as_str().unwrap_or("");
        assert_eq!(named, field, "{method} {path} {body}: {:?}", r.body);
        assert!(r.body["requestId"].is_string());
    }
    // Malformed JSON.
    let r = api
        .http
        .post(d.url("/v1/wallets"))
        .header("X-Master-Password", PASSWORD)
        .header("Content-Type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Unknown ids.
    let r = api.call("GET", "/v1/wallets/00000000-0000-0000-0000-000000000000", &m, None).await;
    assert_eq!((r.status, r.code()), (404, "WALLET_NOT_FOUND"));
    let r = api.call("POST", "/v1/sessions", &m, Some(json!({"walletId": "00000000-0000-0000-0000-000000000000"}))).await;
    assert_eq!((r.status, r.code()), (404, "WALLET_NOT_FOUND"));
    assert_eq!(store_snapshot(&d.dir), before, "rejected requests changed the store");
}

#[tokio::test]
async fn wallet_state_rules() {
    let d = Daemon::start(Options::default());
    let api = Api::new(&d.base);
    let m = Api::master();
    let w = api.call("POST", "/v1/wallets", &m, Some(json!({"name": "w"}))).await;
    let id = w.body["id"].as_str().unwrap().to_string();
    let tok = w.body["session"]["token"].as_str().unwrap().to_string();

    let r = api.call("PUT", &format!("/v1/wallets/{id}"), &m, Some(json!({"name": "renamed"}))).await;
    assert_eq!((r.status, r.body["name"].as_str()), (200, Some("renamed")));
    let r = api.call("PATCH", &format!("/v1/wallets/{id}"), &m, Some(json!({"monitorIncoming": true}))).await;
    assert_eq!(r.body, json!({"id": id, "monitorIncoming": true}));

    let r = api.call("POST", &format!("/v1/wallets/{id}/resume"), &m, None).await;
    assert_eq!((r.status, r.code()), (409, "INVALID_STATE_TRANSITION"));
    let r = api.call("POST", &format!("/v1/wallets/{id}/suspend"), &m, Some(json!({}))).await;
    assert_eq!(r.status, 200);
    assert_eq!((r.body["status"].as_str(), r.body["suspensionReason"].as_str()), (Some("SUSPENDED"), Some("MANUAL")));
    let r = api.call("POST", &format!("/v1/wallets/{id}/suspend"), &m, Some(json!({"reason": "again"}))).await;
    assert_eq!((r.status, r.code()), (409, "INVALID_STATE_TRANSITION"));
    let det = api.call("GET", &format!("/v1/wallets/{id}"), &m, None).await;
    assert_eq!(det.body["status"], "SUSPENDED");
    assert!(det.body["suspendedAt"].is_i64());
    let r = api.call("POST", &format!("/v1/wallets/{id}/resume"), &m, None).await;
    assert_eq!(r.body, json!({"id": id, "status": "ACTIVE"}));

    let r = api.call("DELETE", &format!("/v1/wallets/{id}/purge"), &m, None).await;
    assert_eq!((r.status, r.code()), (409, "WALLET_NOT_TERMINATED"));
    let r = api.call("DELETE", &format!("/v1/wallets/{id}"), &m, None).await;
    assert_eq!(r.body, json!({"id": id, "status": "TERMINATED"}));
    // Its sole-wallet session is revoked with it.
    let r = api.call("GET", "/v1/wallets", &Auth::Session(tok), None).await;
    assert_eq!((r.status, r.code()), (401, "SESSION_REVOKED"));
    let r = api.call("DELETE", &format!("/v1/wallets/{id}"), &m, None).await;
    assert_eq!((r.status, r.code()), (410, "WALLET_TERMINATED"));
    let r = api.call("POST", "/v1/sessions", &m, Some(json!({"walletId": id}))).await;
    assert_eq!((r.status, r.code()), (410, "WALLET_TERMINATED"));
    let r = api.call("DELETE", &format!("/v1/wallets/{id}/purge"), &m, None).await;
    assert_eq!(r.body, json!({"id": id, "status": "PURGED"}));
    assert!(!d.dir.join(format!("keystore/{id}.json")).exists());
    let r = api.call("GET", &format!("/v1/wallets/{id}"), &m, None).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn sessions_renew_rotate_link_and_caps() {
    let d = Daemon::start(Options::default().env("WAIAAS_SECURITY_MAX_SESSIONS_PER_WALLET", "3").env("WAIAAS_SECURITY_SESSION_TTL_MIN", "2"));
    let api = Api::new(&d.base);
    let m = Api::master();
    let a = api.call("POST", "/v1/wallets", &m, Some(json!({"name": "a", "createSession": false}))).await.body["id"].as_str().unwrap().to_string();
    let b = api.call("POST", "/v1/wallets", &m, Some(json!({"name": "b", "createSession": false}))).await.body["id"].as_str().unwrap().to_string();

    // Unlimited sessions need no renewal.
    let s = api.call("POST", "/v1/sessions", &m, Some(json!({"walletIds": [a, b]}))).await;
    let (sid, tok) = (s.body["id"].as_str().unwrap().to_string(), s.body["token"].as_str().unwrap().to_string());
    let r = api.call("PUT", &format!("/v1/sessions/{sid}/renew"), &Auth::Session(tok.clone()), None).await;
    assert_eq!((r.status, r.code()), (400, "RENEWAL_NOT_REQUIRED"));

    // Rotation replaces the token at once.
    let r = api.call("POST", &format!("/v1/sessions/{sid}/rotate"), &m, None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["tokenIssuedCount"], 2);
    let new_tok = r.body["token"].as_str().unwrap().to_string();
    let old = api.call("GET", "/v1/wallets", &Auth::Session(tok), None).await;
    assert_eq!((old.status, old.code()), (401, "INVALID_TOKEN"));
    assert_eq!(api.call("GET", "/v1/wallets", &Auth::Session(new_tok.clone()), None).await.status, 200);

    // Link / unlink.
    let r = api.call("GET", &format!("/v1/sessions/{sid}/wallets"), &m, None).await;
    assert_eq!(r.body["wallets"].as_array().unwrap().len(), 2);
    let r = api.call("DELETE", &format!("/v1/sessions/{sid}/wallets/{b}"), &m, None).await;
    assert_eq!(r.status, 204);
    let r = api.call("GET", &format!("/v1/wallets/{b}"), &Auth::Session(new_tok.clone()), None).await;
    assert_eq!((r.status, r.code()), (403, "WALLET_ACCESS_DENIED"));
    let r = api.call("DELETE", &format!("/v1/sessions/{sid}/wallets/{a}"), &m, None).await;
    assert_eq!((r.status, r.code()), (400, "SESSION_REQUIRES_WALLET"));
    let r = api.call("POST", &format!("/v1/sessions/{sid}/wallets"), &m, Some(json!({"walletId": b}))).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["sessionId"], sid.as_str());
    let r = api.call("POST", &format!("/v1/sessions/{sid}/wallets"), &m, Some(json!({"walletId": b}))).await;
    assert_eq!((r.status, r.code()), (409, "WALLET_ALREADY_LINKED"));

    // Cap per wallet (3): this session + 2 more, then refused.
    for _ in 0..2 {
        assert_eq!(api.call("POST", "/v1/sessions", &m, Some(json!({"walletId": a}))).await.status, 201);
    }
    let r = api.call("POST", "/v1/sessions", &m, Some(json!({"walletId": a}))).await;
    assert_eq!((r.status, r.code()), (403, "SESSION_LIMIT_EXCEEDED"));

    // Finite session: too early to renew, then renewable after half its TTL.
    let f = api.call("POST", "/v1/sessions", &m, Some(json!({"walletId": b, "ttl": 4, "maxRenewals": 1}))).await;
    let (fid, ftok) = (f.body["id"].as_str().unwrap().to_string(), f.body["token"].as_str().unwrap().to_string());
    let r = api.call("PUT", &format!("/v1/sessions/{fid}/renew"), &Auth::Session(ftok.clone()), None).await;
    assert_eq!((r.status, r.code(), r.body["retryable"].as_bool()), (403, "RENEWAL_TOO_EARLY", Some(true)));
    // Another session's id.
    let r = api.call("PUT", &format!("/v1/sessions/{sid}/renew"), &Auth::Session(ftok.clone()), None).await;
    assert_eq!((r.status, r.code()), (404, "SESSION_NOT_FOUND"));
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = api.call("PUT", &format!("/v1/sessions/{fid}/renew"), &Auth::Session(ftok.clone()), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["renewalCount"], 1);
    let renewed = r.body["token"].as_str().unwrap().to_string();
    // The renewed-away token is dead; the new one works.
    assert_eq!(api.call("GET", "/v1/wallets", &Auth::Session(ftok), None).await.code(), "INVALID_TOKEN");
    assert_eq!(api.call("GET", "/v1/wallets", &Auth::Session(renewed.clone()), None).await.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = api.call("PUT", &format!("/v1/sessions/{fid}/renew"), &Auth::Session(renewed), None).await;
    assert_eq!((r.status, r.code()), (403, "RENEWAL_LIMIT_REACHED"));

    // Listing and revocation.
    let r = api.call("GET", &format!("/v1/sessions?walletId={a}&limit=2"), &m, None).await;
    assert_eq!((r.body["total"].as_i64(), r.body["limit"].as_i64(), r.body["data"].as_array().unwrap().len()), (Some(3), Some(2), 2));
    let item = &r.body["data"][0];
    for k in [
        "id",
        "walletId",
        "walletName",
        "wallets",
        "status",
        "renewalCount",
        "maxRenewals",
        "expiresAt",
        "absoluteExpiresAt",
        "createdAt",
        "lastRenewedAt",
        "source",
        "tokenIssuedCount",
    ] {
        assert!(item.get(k).is_some(), "session item lacks {k}");
    }
    let r = api.call("GET", "/v1/sessions?limit=0", &m, None).await;
    assert_eq!((r.status, r.body["details"]["issues"][0]["path"][0].as_str()), (400, Some("limit")));
    let r = api.call("DELETE", &format!("/v1/sessions/{sid}"), &m, None).await;
    assert_eq!(r.body, json!({"id": sid, "status": "REVOKED"}));
    let r = api.call("DELETE", &format!("/v1/sessions/{sid}"), &m, None).await;
    assert_eq!(r.body["message"], "Session already revoked");
    assert_eq!(api.call("GET", "/v1/wallets", &Auth::Session(new_tok), None).await.code(), "SESSION_REVOKED");
}

#[tokio::test]
async fn restart_keeps_everything_and_refuses_a_wrong_password_or_a_second_daemon() {
    let mut d = Daemon::start(Options::default());
    let api = Api::new(&d.base);
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "keep", "chain": "ethereum"}))).await;
    let tok = w.body["session"]["token"].as_str().unwrap().to_string();

    // A second daemon on the same data dir is refused while the first runs.
    let dir = d.dir.clone();
    match Daemon::start_in(&dir, Options::default()) {
        Err((status, log)) => {
            assert_eq!(status.code(), Some(4), "{log}");
            assert!(log.contains("SYSTEM_LOCKED"), "{log}");
        }
        Ok(_) => panic!("second daemon started"),
    }
    let tmp = d.take_tmp();
    assert!(d.stop().success());
    assert!(!dir.join("daemon.pid").exists(), "pid file removed on shutdown");

    // Wrong password: refused, exit code 3.
    match Daemon::start_in(&dir, Options { password: Some("wrong-password".into()), ..Default::default() }) {
        Err((status, log)) => {
            assert_eq!(status.code(), Some(3), "{log}");
            assert!(log.contains("INVALID_MASTER_PASSWORD"), "{log}");
        }
        Ok(_) => panic!("daemon started with a wrong password"),
    }
    let d2 = Daemon::start_in(&dir, Options::default()).unwrap_or_else(|e| panic!("{e:?}"));
    let api = Api::new(&d2.base);
    let r = api.call("GET", "/v1/wallets", &Auth::Session(tok), None).await;
    assert_eq!(r.status, 200, "session survives restart");
    assert_eq!(r.body["items"][0]["publicKey"], w.body["publicKey"]);
    drop(d2);
    drop(tmp);
}

#[tokio::test]
async fn master_password_change_reencrypts_keys() {
    let mut d = Daemon::start(Options::default());
    let api = Api::new(&d.base);
    let m = Api::master();
    let mut ids = vec![];
    for chain in ["solana", "ethereum"] {
        let w = api.call("POST", "/v1/wallets", &m, Some(json!({"name": chain, "chain": chain}))).await;
        ids.push((w.body["id"].as_str().unwrap().to_string(), w.body["publicKey"].as_str().unwrap().to_string()));
    }
    let r = api.call("PUT", "/v1/admin/master-password", &m, Some(json!({"newPassword": "short"}))).await;
    assert_eq!((r.status, r.body["details"]["issues"][0]["path"][0].as_str()), (400, Some("newPassword")));
    let r = api.call("PUT", "/v1/admin/master-password", &m, Some(json!({"newPassword": "a-brand-new-password"}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["walletsReEncrypted"], 2);
    let r = api.call("GET", "/v1/wallets", &m, None).await;
    assert_eq!(r.code(), "INVALID_MASTER_PASSWORD");
    let new = Auth::Master("a-brand-new-password".into());
    assert_eq!(api.call("GET", "/v1/wallets", &new, None).await.status, 200);
    let ks = waiaas_core::keystore::Keystore::new(d.dir.join("keystore")).unwrap();
    for (id, pk) in &ids {
        assert_eq!(&ks.verify(id, b"a-brand-new-password").unwrap(), pk);
        assert!(ks.verify(id, PASSWORD.as_bytes()).is_err());
    }
    assert!(std::fs::read_dir(d.dir.join("keystore")).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".next")));
    let dir = d.dir.clone();
    let _tmp = d.take_tmp();
    d.stop();
    let d2 = Daemon::start_in(&dir, Options { password: Some("a-brand-new-password".into()), ..Default::default() }).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(Api::new(&d2.base).call("GET", "/v1/wallets", &new, None).await.body["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn host_guard_cors_and_unknown_routes() {
    let d = Daemon::start(Options::default().env("WAIAAS_DAEMON_ALLOWED_HOSTS", "waiaas-daemon"));
    let http = reqwest::Client::new();
    let r = http.get(d.url("/health")).header("Host", "evil.example").send().await.unwrap();
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "SYSTEM_LOCKED");
    let r = http.get(d.url("/health")).header("Host", format!("waiaas-daemon:{}", d.port)).send().await.unwrap();
    assert_eq!(r.status(), 200, "configured host is served (containers)");
    let r = http.get(d.url("/health")).header("Host", format!("localhost:{}", d.port)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .request(reqwest::Method::OPTIONS, d.url("/v1/wallets"))
        .header("Origin", "http://localhost:3100")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "x-master-password,content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "http://localhost:3100");
    let r = http.get(d.url("/health")).header("Origin", "http://evil.example").send().await.unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let r = http.get(d.url("/v1/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let n: serde_json::Value = http.get(d.url("/v1/nonce")).send().await.unwrap().json().await.unwrap();
    assert_eq!(n["nonce"].as_str().unwrap().len(), 64);
}

#[test]
fn init_auto_provision_and_start_without_init() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fresh");
    let out = run_cli(&["start", "--data-dir", dir.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("waiaas init"));
    let out = run_cli(&["init", "--auto-provision", "--data-dir", dir.to_str().unwrap()], &[]);
    assert!(out.status.success());
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("recovery.key")), 0o600);
    let key = std::fs::read_to_string(dir.join("recovery.key")).unwrap();
    assert_eq!(key.trim().len(), 64);
    // A second init never overwrites the key.
    run_cli(&["init", "--auto-provision", "--data-dir", dir.to_str().unwrap()], &[]);
    assert_eq!(std::fs::read_to_string(dir.join("recovery.key")).unwrap(), key);
    // start reads the password from recovery.key (no env password).
    let d = Daemon::start_in(&dir, Options { password: None, init: false, env: vec![] }).unwrap_or_else(|e| panic!("{e:?}"));
    let st = run_cli(&["status", "--json", "--data-dir", dir.to_str().unwrap()], &[]);
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stdout));
    let v: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
    assert_eq!(v["running"], true);
    assert_eq!(v["health"]["status"], "ok");
    let stop = run_cli(&["stop", "--data-dir", dir.to_str().unwrap()], &[]);
    assert!(stop.status.success(), "{}", String::from_utf8_lossy(&stop.stderr));
    drop(d);
    let st = run_cli(&["status", "--data-dir", dir.to_str().unwrap()], &[]);
    assert_eq!(st.status.code(), Some(1));

    // WAIAAS_AUTO_PROVISION on an empty dir: what a container does.
    let dir2 = tmp.path().join("container");
    let d = Daemon::start_in(&dir2, Options { password: None, init: false, env: vec![("WAIAAS_AUTO_PROVISION".into(), "true".into())] })
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(dir2.join("recovery.key").exists());
    drop(d);
}
