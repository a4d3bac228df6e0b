//! Every route x every wrong credential: the right status and code, and nothing changes
//! in the store or the keystore.

use serde_json::{json, Value};
use std::time::Duration;
use waiaas_e2e::*;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Public,
    Master,
    MasterOrSession,
    /// sessionAuth with the route's own session (renew).
    OwnSession,
    /// ownerAuth alone: no master password or session token stands in for it.
    Owner,
}

#[tokio::test]
async fn every_route_refuses_every_wrong_credential_and_changes_nothing() {
    let d = Daemon::start(
        Options::default()
            .env("WAIAAS_SECURITY_SESSION_TTL_MIN", "1")
            .env("WAIAAS_SECURITY_MASTER_PASSWORD_MAX_ATTEMPTS", "100000")
            // The webhook route is exercised with a loopback target.
            .env("WAIAAS_SECURITY_WEBHOOK_ALLOW_PRIVATE", "true"),
    );
    let api = Api::new(&d.base);
    let m = Api::master();
    let create = |name: &str| json!({"name": name, "createSession": false});
    let a = api.call("POST", "/v1/wallets", &m, Some(create("a"))).await.body["id"].as_str().unwrap().to_string();
    let b = api.call("POST", "/v1/wallets", &m, Some(create("b"))).await.body["id"].as_str().unwrap().to_string();
    let sess = |w: &str, extra: Value| {
        let mut body = json!({"walletId": w});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let s_a = api.call("POST", "/v1/sessions", &m, Some(sess(&a, json!({})))).await.body.clone();
    let s_a_id = s_a["id"].as_str().unwrap().to_string();
    let other = api.call("POST", "/v1/sessions", &m, Some(sess(&b, json!({})))).await.body["token"].as_str().unwrap().to_string();
    let revoked = api.call("POST", "/v1/sessions", &m, Some(sess(&a, json!({})))).await.body.clone();
    api.call("DELETE", &format!("/v1/sessions/{}", revoked["id"].as_str().unwrap()), &m, None).await;
    let expired_session = api.call("POST", "/v1/sessions", &m, Some(sess(&a, json!({"ttl": 1})))).await.body.clone();
    let expired = expired_session["token"].as_str().unwrap().to_string();
    // The background cleanup deletes the expired session (every 5 s) whenever it likes: that
    // row is not the refused requests' doing, so the snapshots leave it out.
    let expired_id = expired_session["id"].as_str().unwrap().to_string();
    let snapshot = |dir: &std::path::Path| -> Vec<String> { store_snapshot(dir).into_iter().filter(|l| !l.contains(&expired_id)).collect() };
    let rot = api.call("POST", "/v1/sessions", &m, Some(sess(&a, json!({})))).await.body.clone();
    let rotated_away = rot["token"].as_str().unwrap().to_string();
    api.call("POST", &format!("/v1/sessions/{}/rotate", rot["id"].as_str().unwrap()), &m, None).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let routes: Vec<(&str, String, Kind, Option<Value>)> = vec![
        ("GET", "/health".into(), Kind::Public, None),
        ("GET", "/v1/nonce".into(), Kind::Public, None),
        ("GET", "/v1/wallets".into(), Kind::MasterOrSession, None),
        ("POST", "/v1/wallets".into(), Kind::Master, Some(json!({"name": "new"}))),
        ("GET", format!("/v1/wallets/{a}"), Kind::MasterOrSession, None),
        ("PUT", format!("/v1/wallets/{a}"), Kind::Master, Some(json!({"name": "x"}))),
        ("PATCH", format!("/v1/wallets/{a}"), Kind::Master, Some(json!({"monitorIncoming": true}))),
        ("DELETE", format!("/v1/wallets/{a}"), Kind::Master, None),
        ("DELETE", format!("/v1/wallets/{a}/purge"), Kind::Master, None),
        ("POST", format!("/v1/wallets/{a}/suspend"), Kind::Master, Some(json!({}))),
        ("POST", format!("/v1/wallets/{a}/resume"), Kind::Master, None),
        ("GET", format!("/v1/wallets/{a}/networks"), Kind::MasterOrSession, None),
        ("GET", "/v1/sessions".into(), Kind::Master, None),
        ("POST", "/v1/sessions".into(), Kind::Master, Some(json!({"walletId": a}))),
        ("GET", format!("/v1/sessions/{s_a_id}"), Kind::Master, None),
        ("DELETE", format!("/v1/sessions/{s_a_id}"), Kind::Master, None),
        ("PUT", format!("/v1/sessions/{s_a_id}/renew"), Kind::OwnSession, None),
        ("POST", format!("/v1/sessions/{s_a_id}/rotate"), Kind::Master, None),
        ("GET", format!("/v1/sessions/{s_a_id}/wallets"), Kind::Master, None),
        ("POST", format!("/v1/sessions/{s_a_id}/wallets"), Kind::Master, Some(json!({"walletId": b}))),
        ("DELETE", format!("/v1/sessions/{s_a_id}/wallets/{a}"), Kind::Master, None),
        ("PUT", "/v1/admin/master-password".into(), Kind::Master, Some(json!({"newPassword": "another-password-1"}))),
        ("POST", "/v1/admin/rotate-secret".into(), Kind::Master, None),
        ("POST", "/v1/admin/shutdown".into(), Kind::Master, None),
        ("GET", "/v1/admin/kill-switch".into(), Kind::Public, None),
        ("POST", "/v1/admin/kill-switch".into(), Kind::Master, None),
        ("POST", "/v1/admin/recover".into(), Kind::Master, None),
        ("POST", "/v1/admin/kill-switch/escalate".into(), Kind::Master, None),
        ("PUT", format!("/v1/wallets/{a}/owner"), Kind::Master, Some(json!({"owner_address": "0x00000000000000000000000000000000000000aa"}))),
        ("POST", format!("/v1/wallets/{a}/owner/verify"), Kind::Owner, None),
        ("POST", format!("/v1/transactions/{a}/approve"), Kind::Owner, None),
        ("POST", format!("/v1/transactions/{a}/reject"), Kind::Owner, None),
        ("POST", "/v1/owner/kill-switch".into(), Kind::Owner, None),
        ("POST", format!("/v1/admin/transactions/{a}/cancel"), Kind::Master, None),
        ("POST", format!("/v1/admin/transactions/{a}/reject"), Kind::Master, None),
        ("GET", "/v1/audit-logs".into(), Kind::Master, None),
        ("GET", "/v1/webhooks".into(), Kind::Master, None),
        ("POST", "/v1/webhooks".into(), Kind::Master, Some(json!({"url": "http://127.0.0.1:9/hook"}))),
        ("GET", "/v1/admin/webhooks".into(), Kind::Master, None),
        ("DELETE", format!("/v1/webhooks/{a}"), Kind::Master, None),
        ("GET", format!("/v1/webhooks/{a}/logs"), Kind::Master, None),
        // The admin UI's reads and its dry run.
        ("GET", "/v1/admin/stats".into(), Kind::Master, None),
        ("GET", "/v1/admin/transactions".into(), Kind::Master, None),
        ("GET", format!("/v1/admin/wallets/{a}/balance"), Kind::Master, None),
        ("POST", format!("/v1/admin/wallets/{a}/simulate"), Kind::Master, Some(json!({"type": "TRANSFER", "to": a, "amount": "1"}))),
        ("GET", "/v1/admin/settings/schema".into(), Kind::Master, None),
    ];

    let creds: Vec<(&str, Auth)> = vec![
        ("none", Auth::None),
        ("wrong master", Auth::Master("not-the-password".into())),
        ("another wallet's session", Auth::Session(other.clone())),
        ("revoked session", Auth::Session(revoked["token"].as_str().unwrap().into())),
        ("expired session", Auth::Session(expired.clone())),
        ("rotated-away token", Auth::Session(rotated_away.clone())),
    ];

    let before = snapshot(&d.dir);
    let mut checked = 0;
    for (method, path, kind, body) in &routes {
        for (cred_name, cred) in &creds {
            let r = api.call(method, path, cred, body.clone()).await;
            let got = (r.status, r.code().to_string());
            let want: (u16, &str) = match (kind, *cred_name) {
                (Kind::Public, _) => (200, ""),
                (Kind::Owner, _) => (401, "INVALID_SIGNATURE"),
                (Kind::Master, _) => (401, "INVALID_MASTER_PASSWORD"),
                (Kind::MasterOrSession, "none" | "wrong master") => (401, "INVALID_MASTER_PASSWORD"),
                (Kind::OwnSession, "none" | "wrong master") => (401, "INVALID_TOKEN"),
                (Kind::MasterOrSession, "another wallet's session") if *method == "GET" && path == "/v1/wallets" => (200, ""),
                (Kind::MasterOrSession, "another wallet's session") => (403, "WALLET_ACCESS_DENIED"),
                (Kind::OwnSession, "another wallet's session") => (404, "SESSION_NOT_FOUND"),
                (_, "revoked session") => (401, "SESSION_REVOKED"),
                (_, "expired session") => (401, "TOKEN_EXPIRED"),
                (_, "rotated-away token") => (401, "INVALID_TOKEN"),
                other => panic!("unhandled {other:?}"),
            };
            assert_eq!((got.0, got.1.as_str()), want, "{method} {path} with {cred_name}: {:?}", r.body);
            if want.0 >= 400 {
                assert_eq!(r.body["retryable"], false);
                assert!(r.body["requestId"].is_string() && r.body["message"].is_string());
            }
            if *method == "GET" && path == "/v1/wallets" && *cred_name == "another wallet's session" {
                let ids: Vec<&str> = r.body["items"].as_array().unwrap().iter().map(|w| w["id"].as_str().unwrap()).collect();
                assert_eq!(ids, vec![b.as_str()], "a session sees only its own wallets");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, routes.len() * creds.len());
    assert_eq!(snapshot(&d.dir), before, "a refused request changed the store or the keystore");

    // Positive control: the right credential is accepted on the read routes.
    for (method, path, kind, _) in &routes {
        if *method != "GET" || *kind == Kind::Public {
            continue;
        }
        let r = api.call(method, path, &m, None).await;
        if path.contains("/webhooks/") {
            // Past auth: the id is a wallet's, not a webhook's.
            assert_eq!((r.status, r.code()), (404, "WEBHOOK_NOT_FOUND"));
            continue;
        }
        assert_eq!(r.status, 200, "{method} {path} with the master password: {:?}", r.body);
    }
    let own = Auth::Session(s_a["token"].as_str().unwrap().into());
    assert_eq!(api.call("GET", &format!("/v1/wallets/{a}"), &own, None).await.status, 200);

    // Failed master attempts are audited with the caller's address.
    let conn = rusqlite::Connection::open_with_flags(d.dir.join("data/waiaas.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let (n, ip): (i64, Option<String>) =
        conn.query_row("SELECT COUNT(*), MAX(ip_address) FROM audit_log WHERE event_type = 'MASTER_AUTH_FAILED'", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert!(n >= 20, "{n} failures audited");
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));
}

#[tokio::test]
async fn wrong_master_passwords_block_their_address_even_for_the_right_one_then_recover() {
    let d =
        Daemon::start(Options::default().env("WAIAAS_SECURITY_MASTER_PASSWORD_MAX_ATTEMPTS", "3").env("WAIAAS_SECURITY_MASTER_PASSWORD_LOCKOUT_SECONDS", "2"));
    let api = Api::new(&d.base);
    let wrong = Auth::Master("guess".into());
    assert_eq!(api.call("GET", "/v1/wallets", &wrong, None).await.code(), "INVALID_MASTER_PASSWORD");
    assert_eq!(api.call("GET", "/v1/wallets", &wrong, None).await.code(), "INVALID_MASTER_PASSWORD");
    let r = api.call("GET", "/v1/wallets", &wrong, None).await;
    assert_eq!((r.status, r.code()), (429, "MASTER_PASSWORD_LOCKED"));
    assert!(r.headers.get("retry-after").is_some());
    let r = api.call("GET", "/v1/wallets", &Api::master(), None).await;
    assert_eq!((r.status, r.code()), (429, "MASTER_PASSWORD_LOCKED"), "no guessing from this address during its block");
    // Another address is not blocked (operator_lockout.rs floods from many).
    let other = Api { base: d.base.clone(), http: reqwest::Client::builder().local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap()).build().unwrap() };
    assert_eq!(other.call("GET", "/v1/wallets", &Api::master(), None).await.status, 200);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(api.call("GET", "/v1/wallets", &Api::master(), None).await.status, 200);
}

#[tokio::test]
async fn jwt_secret_rotation_is_refused_right_after_start() {
    let d = Daemon::start(Options::default());
    let r = Api::new(&d.base).call("POST", "/v1/admin/rotate-secret", &Api::master(), None).await;
    assert_eq!((r.status, r.code()), (429, "ROTATION_TOO_RECENT"));
}
