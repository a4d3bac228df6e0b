//! The relay binary over real sockets against local fakes of FCM HTTP v1 and Pushwoosh
//! (see `common`): push shapes, priorities, the payload transformer, invalid-token removal,
//! the retry policy, provider failures, TLS to a provider, and the hardening (tokens, keys,
//! first-write-wins, long poll, daemon key, rate limit, validation, logs).

mod common;

use common::*;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use waiaas_testnodes::tls::{make_certs, terminator};

const REQ: &str = "0190e0a4-4f5e-7c3a-9d2b-1a2b3c4d5e6f";

fn transformer() -> &'static str {
    "[relay.push.payload.static_fields]\napp = \"dcent\"\nrequestId = \"static-loses\"\n[relay.push.payload.category_map.sign_request]\nsound = \"alert\"\napp = \"category-wins-over-static\"\n"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fcm_push_signs_its_jwt_uses_priorities_and_the_transformer_and_caches_the_token() {
    let (fcm, sa) = fcm_with_account().await;
    let relay = start_relay(&config("", &fcm_block(&sa.json_path, &fcm.base, transformer())), &[], &[]);
    let sub = register(&relay, "fcm-device-token-1", "android").await;

    let payload = json!({"title": "WAIaaS Sign Request", "body": "TRANSFER 1.5 ETH", "requestId": REQ, "metadata": {"txId": "t1"}, "expiresAt": 1234});
    let (status, body) = push(&relay, &sub, "sign_request", payload).await;
    assert_eq!((status, &body), (200, &json!({"status": "sent", "sent": 1, "failed": 0})));
    let (status, _) = push(&relay, &sub, "notification", json!({"eventType": "TX_CONFIRMED"})).await;
    assert_eq!(status, 200);

    let sends = fcm.sends();
    assert_eq!(sends.len(), 2);
    let m = &sends[0]["message"];
    assert_eq!(m["token"], "fcm-device-token-1");
    assert_eq!(m["notification"], json!({"title": "WAIaaS Sign Request", "body": "TRANSFER 1.5 ETH"}));
    assert_eq!(m["android"]["priority"], "HIGH");
    assert_eq!(m["apns"]["headers"]["apns-priority"], "10");
    // Flat strings; the payload wins over the category map, which wins over static fields.
    assert_eq!(m["data"]["requestId"], REQ);
    assert_eq!(m["data"]["metadata"], r#"{"txId":"t1"}"#);
    assert_eq!(m["data"]["expiresAt"], "1234");
    assert_eq!(m["data"]["sound"], "alert");
    assert_eq!(m["data"]["app"], "category-wins-over-static");
    let m = &sends[1]["message"];
    assert_eq!(m["android"]["priority"], "NORMAL");
    assert_eq!(m["apns"]["headers"]["apns-priority"], "5");
    assert_eq!(m["notification"], json!({"title": "notification", "body": "WAIaaS notification"}));
    assert_eq!(m["data"]["app"], "dcent");
    assert!(m["data"].get("sound").is_none());
    // One token exchange (verified RS256 assertion) for both pushes.
    assert_eq!(fcm.state.token_requests.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fcm_refuses_an_assertion_signed_by_another_key_and_the_relay_answers_502() {
    let (fcm, _sa) = fcm_with_account().await;
    // A service account whose key is not the one the fake knows.
    let (other_pem, other_pub) = rsa_key();
    let wrong = service_account(&other_pem, other_pub, &fcm.token_uri());
    let relay = start_relay(&config("", &fcm_block(&wrong.json_path, &fcm.base, "")), &[], &[]);
    let sub = register(&relay, "fcm-device-token-2", "ios").await;
    let (status, body) = push(&relay, &sub, "sign_request", json!({})).await;
    assert_eq!(status, 502, "{body}");
    let msg = body["error"].as_str().unwrap();
    assert!(msg.contains("fcm") && msg.contains("HTTP 400") && msg.contains("Invalid JWT Signature"), "{msg}");
    // Not a 5xx: asked once, no retry.
    assert_eq!(fcm.state.token_requests.load(Ordering::SeqCst), 1);
    assert!(fcm.sends().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fcm_unregistered_token_is_removed() {
    let (fcm, sa) = fcm_with_account().await;
    fcm.state.unregistered.lock().unwrap().insert("stale-token".into());
    let relay = start_relay(&config("", &fcm_block(&sa.json_path, &fcm.base, "")), &[], &[]);
    let stale = register(&relay, "stale-token", "android").await;
    let live = register(&relay, "live-token", "ios").await;
    assert_eq!(health(&relay).await["devices"], 2);
    let (status, body) = push(&relay, &stale, "notification", json!({})).await;
    assert_eq!((status, body), (200, json!({"status": "sent", "sent": 0, "failed": 1})));
    assert_eq!(health(&relay).await["devices"], 1);
    let res = client().get(relay.url("/devices/stale-token/subscription-token")).header("X-API-Key", API_KEY).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let (status, _) = push(&relay, &stale, "notification", json!({})).await;
    assert_eq!(status, 404);
    assert_eq!(push(&relay, &live, "notification", json!({})).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fcm_retries_5xx_but_not_401_or_403() {
    let (fcm, sa) = fcm_with_account().await;
    let relay = start_relay(&config("", &fcm_block(&sa.json_path, &fcm.base, "")), &[], &[]);
    let sub = register(&relay, "retry-token", "android").await;
    let attempts = || fcm.state.send_attempts.load(Ordering::SeqCst);

    // 503, 500, then the real answer: sent after two retries.
    fcm.state.send_script.push(503, json!({"error": {"code": 503, "message": "The service is currently unavailable.", "status": "UNAVAILABLE"}}));
    fcm.state.send_script.push(500, json!({"error": {"code": 500, "message": "Internal error", "status": "INTERNAL"}}));
    assert_eq!(push(&relay, &sub, "sign_request", json!({})).await.0, 200);
    assert_eq!(attempts(), 3);

    for status in [401u16, 403] {
        let before = attempts();
        let fcm_status = if status == 401 { "UNAUTHENTICATED" } else { "PERMISSION_DENIED" };
        fcm.state.send_script.push(status, json!({"error": {"code": status, "message": "denied", "status": fcm_status}}));
        let (code, body) = push(&relay, &sub, "sign_request", json!({})).await;
        assert_eq!(code, 502, "{body}");
        assert!(body["error"].as_str().unwrap().contains(&format!("HTTP {status}")), "{body}");
        assert_eq!(attempts(), before + 1, "{status} must not be retried");
    }

    // 5xx for ever: 1 + max_retries (3) attempts, then a clear 502.
    let before = attempts();
    for _ in 0..4 {
        fcm.state.send_script.push(503, json!({"error": {"code": 503, "status": "UNAVAILABLE"}}));
    }
    let (code, body) = push(&relay, &sub, "sign_request", json!({})).await;
    assert_eq!(code, 502);
    let msg = body["error"].as_str().unwrap();
    assert!(msg.contains("HTTP 503") && msg.contains("after 3 retries"), "{msg}");
    assert_eq!(attempts(), before + 4);
    // The device is kept: those were provider failures, not an unknown token.
    assert_eq!(health(&relay).await["devices"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushwoosh_shapes_retries_status_code_and_unknown_devices() {
    let pw = FakePushwoosh::start().await;
    let extra = "[relay.push.pushwoosh.extra_fields]\nios_badges = \"+1\"\nandroid_sound = \"chime\"\n";
    let relay = start_relay(&config("", &pushwoosh_block(&pw.api_url(), extra)), &[], &[]);
    let sub = register(&relay, "pw-device-1", "ios").await;

    let (status, body) = push(&relay, &sub, "sign_request", json!({"title": "T", "body": "B", "n": 1})).await;
    assert_eq!((status, body), (200, json!({"status": "sent", "sent": 1, "failed": 0})));
    let r = &pw.requests()[0]["request"];
    assert_eq!(r["application"], "ABCDE-12345");
    assert_eq!(r["auth"], "pw-token");
    let n = &r["notifications"][0];
    assert_eq!(n["send_date"], "now");
    assert_eq!(n["content"], "B");
    assert_eq!(n["devices"], json!(["pw-device-1"]));
    assert_eq!(n["data"]["n"], "1");
    assert_eq!(n["ios_badges"], "+1");
    assert_eq!(n["android_sound"], "chime");
    assert_eq!(n["ios_root_params"], json!({"aps": {"alert": {"title": "T", "body": "B"}, "sound": "default", "content-available": 1}}));
    assert_eq!(n["android_root_params"], json!({"title": "T", "priority": "high"}));
    push(&relay, &sub, "notification", json!({})).await;
    assert_eq!(pw.requests()[1]["request"]["notifications"][0]["android_root_params"]["priority"], "normal");

    let attempts = || pw.state.attempts.load(Ordering::SeqCst);
    // 500 then OK: one retry.
    let before = attempts();
    pw.state.script.push(500, json!({"status_code": 500, "status_message": "Internal error"}));
    assert_eq!(push(&relay, &sub, "notification", json!({})).await.0, 200);
    assert_eq!(attempts(), before + 2);
    // 401 / 403: no retry.
    for status in [401u16, 403] {
        let before = attempts();
        pw.state.script.push(status, json!({"status_code": status, "status_message": "Access denied"}));
        let (code, body) = push(&relay, &sub, "notification", json!({})).await;
        assert_eq!(code, 502);
        assert!(body["error"].as_str().unwrap().contains(&format!("HTTP {status}")), "{body}");
        assert_eq!(attempts(), before + 1);
    }
    // HTTP 200 with status_code != 200 is a failure, with Pushwoosh's message.
    pw.state.script.push(200, json!({"status_code": 210, "status_message": "Application not found", "response": null}));
    let (code, body) = push(&relay, &sub, "notification", json!({})).await;
    assert_eq!(code, 502);
    assert!(body["error"].as_str().unwrap().contains("Application not found"), "{body}");
    // A device Pushwoosh reports unknown is removed.
    pw.state.unknown.lock().unwrap().insert("pw-device-1".into());
    let (code, body) = push(&relay, &sub, "notification", json!({})).await;
    assert_eq!((code, body), (200, json!({"status": "sent", "sent": 0, "failed": 1})));
    assert_eq!(health(&relay).await["devices"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_is_down_is_a_clear_502_and_the_relay_keeps_serving() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{closed}/json/1.3/createMessage");
    let relay = start_relay(&config("", &pushwoosh_block(&url, "")), &[], &[]);
    let sub = register(&relay, "down-device", "android").await;
    let started = Instant::now();
    let (code, body) = push(&relay, &sub, "sign_request", json!({})).await;
    assert_eq!(code, 502);
    let msg = body["error"].as_str().unwrap();
    assert!(msg.contains("pushwoosh") && msg.contains("not reachable") && msg.contains("after 3 retries"), "{msg}");
    // 20 + 40 + 80 ms of back-off.
    assert!(started.elapsed() >= Duration::from_millis(140));
    assert_eq!(health(&relay).await["status"], "ok");
    assert_eq!(health(&relay).await["devices"], 1);
    assert!(relay.log_text().contains("push failed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardening_tokens_keys_first_write_wins_and_the_long_poll() {
    let pw = FakePushwoosh::start().await;
    let relay = start_relay(&config("", &pushwoosh_block(&pw.api_url(), "")), &[], &[]);
    let c = client();
    // 128-bit subscription tokens, stable across re-registration.
    let sub = register(&relay, "hard-device", "ios").await;
    assert_eq!(sub.len(), 32);
    assert!(sub.chars().all(|ch| ch.is_ascii_hexdigit()));
    assert_eq!(register(&relay, "hard-device", "android").await, sub);
    assert_ne!(register(&relay, "other-device", "ios").await, sub);

    // Wrong or missing API key: 401 {error: "Unauthorized"} on every keyed route.
    for key in [None, Some("wrong"), Some("test-relay-api-keY"), Some("test-relay-api-key-longer")] {
        let with = |rb: reqwest::RequestBuilder| match key {
            Some(k) => rb.header("X-API-Key", k),
            None => rb,
        };
        let answers = [
            with(c.post(relay.url("/devices")).json(&json!({"walletName": "x", "pushToken": "y", "platform": "ios"}))).send().await.unwrap(),
            with(c.get(relay.url("/devices/hard-device/subscription-token"))).send().await.unwrap(),
            with(c.delete(relay.url("/devices/hard-device"))).send().await.unwrap(),
            with(c.post(relay.url("/v1/sign-response")).json(&json!({"requestId": REQ, "action": "reject", "signerAddress": "0xevil"}))).send().await.unwrap(),
        ];
        for res in answers {
            assert_eq!(res.status(), 401);
            assert_eq!(res.json::<Value>().await.unwrap(), json!({"error": "Unauthorized"}));
        }
    }
    assert_eq!(health(&relay).await["devices"], 2);
    assert_eq!(health(&relay).await["sign_responses"], 0);

    // Long poll: 204 after the timeout when nothing is there.
    let started = Instant::now();
    let res = c.get(relay.url(&format!("/v1/sign-response/{REQ}?timeout=1"))).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert!(started.elapsed() >= Duration::from_millis(900));

    // A waiting poll is answered as soon as the response is posted.
    let waiting = tokio::spawn({
        let url = relay.url(&format!("/v1/sign-response/{REQ}?timeout=20"));
        async move {
            let started = Instant::now();
            let res = client().get(url).send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap(), started.elapsed())
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let approve = json!({"requestId": REQ, "action": "approve", "signature": "0xsig", "signerAddress": "0xowner"});
    let res = c.post(relay.url("/v1/sign-response")).header("X-API-Key", API_KEY).json(&approve).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"status": "stored", "requestId": REQ}));
    // First write wins: a later reject for the same request is refused, before and after the read.
    let reject = json!({"requestId": REQ, "action": "reject", "signerAddress": "0xowner"});
    let res = c.post(relay.url("/v1/sign-response")).header("X-API-Key", API_KEY).json(&reject).send().await.unwrap();
    assert_eq!(res.status(), 409);
    assert!(res.json::<Value>().await.unwrap()["error"].as_str().is_some());
    let (status, got, waited) = waiting.await.unwrap();
    assert_eq!(status, 200);
    assert!(waited < Duration::from_secs(5), "answered after {waited:?}");
    assert_eq!(got["version"], "1");
    assert_eq!(got["requestId"], REQ);
    assert_eq!(got["action"], "approve");
    assert_eq!(got["signature"], "0xsig");
    assert_eq!(got["signerAddress"], "0xowner");
    assert!(got["signedAt"].as_str().unwrap().ends_with('Z'));
    // Read once: gone afterwards, and still not replaceable.
    let res = c.get(relay.url(&format!("/v1/sign-response/{REQ}?timeout=1"))).send().await.unwrap();
    assert_eq!(res.status(), 204);
    let res = c.post(relay.url("/v1/sign-response")).header("X-API-Key", API_KEY).json(&reject).send().await.unwrap();
    assert_eq!(res.status(), 409);

    // Delete, then 404 as upstream.
    let res = c.delete(relay.url("/devices/hard-device")).header("X-API-Key", API_KEY).send().await.unwrap();
    assert_eq!(res.status(), 204);
    let res = c.delete(relay.url("/devices/hard-device")).header("X-API-Key", API_KEY).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"error": "Token not found"}));
    let res = c.get(relay.url("/devices/hard-device/subscription-token")).header("X-API-Key", API_KEY).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"error": "Device not found"}));
    let (code, body) = push(&relay, &sub, "notification", json!({})).await;
    assert_eq!((code, body), (404, json!({"error": "Device not found for subscription token"})));
    // CORS as upstream.
    let res = c
        .request(reqwest::Method::OPTIONS, relay.url("/devices"))
        .header("Origin", "https://wallet.example")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "x-api-key,content-type")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_key_is_required_on_push_and_long_poll_when_configured() {
    let pw = FakePushwoosh::start().await;
    for (server_extra, env) in [("daemon_api_key = \"daemon-secret\"", vec![]), ("", vec![("RELAY_DAEMON_API_KEY", "daemon-secret")])] {
        let relay = start_relay(&config(server_extra, &pushwoosh_block(&pw.api_url(), "")), &env, &[]);
        let sub = register(&relay, "daemon-device", "ios").await;
        let c = client();
        let body = json!({"subscriptionToken": sub, "category": "notification", "payload": {}});
        for auth in [None, Some("Bearer wrong"), Some("Bearer daemon-secreT"), Some("daemon-secret")] {
            let mut rb = c.post(relay.url("/v1/push")).json(&body);
            let mut poll = c.get(relay.url(&format!("/v1/sign-response/{REQ}?timeout=1")));
            if let Some(a) = auth {
                rb = rb.header("Authorization", a);
                poll = poll.header("Authorization", a);
            }
            assert_eq!(rb.send().await.unwrap().status(), 401, "{auth:?}");
            assert_eq!(poll.send().await.unwrap().status(), 401, "{auth:?}");
        }
        let res = c.post(relay.url("/v1/push")).header("Authorization", "Bearer daemon-secret").json(&body).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let res = c.get(relay.url(&format!("/v1/sign-response/{REQ}?timeout=1"))).header("Authorization", "Bearer daemon-secret").send().await.unwrap();
        assert_eq!(res.status(), 204);
        // The wallet app's routes still take only X-API-Key.
        assert_eq!(register(&relay, "daemon-device-2", "android").await.len(), 32);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_answers_429_with_retry_after() {
    let pw = FakePushwoosh::start().await;
    let relay = start_relay(&config("rate_limit_per_minute = 5", &pushwoosh_block(&pw.api_url(), "")), &[], &[]);
    let c = client();
    for _ in 0..5 {
        assert_eq!(c.get(relay.url("/health")).send().await.unwrap().status(), 200);
    }
    let res =
        c.post(relay.url("/devices")).header("X-API-Key", API_KEY).json(&json!({"walletName": "d", "pushToken": "p", "platform": "ios"})).send().await.unwrap();
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"error": "Too many requests"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_400_with_details_and_nothing_is_stored() {
    let pw = FakePushwoosh::start().await;
    let relay = start_relay(&config("max_body_bytes = 6000", &pushwoosh_block(&pw.api_url(), "")), &[], &[]);
    let c = client();
    let post = |path: &str, body: String| c.post(relay.url(path)).header("X-API-Key", API_KEY).header("Content-Type", "application/json").body(body).send();

    let bad_devices = [
        json!({"walletName": "d", "pushToken": "p", "platform": "windows"}),
        json!({"walletName": "", "pushToken": "p", "platform": "ios"}),
        json!({"walletName": "d", "pushToken": 5, "platform": "ios"}),
        json!({"walletName": "d", "pushToken": "x".repeat(4097), "platform": "ios"}),
        json!(["d", "p", "ios"]),
    ];
    for b in bad_devices {
        let res = post("/devices", b.to_string()).await.unwrap();
        assert_eq!(res.status(), 400);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "Invalid request");
        assert!(!body["details"].as_array().unwrap().is_empty(), "{body}");
    }
    let res = post("/devices", "{not json".into()).await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["details"][0]["code"], "invalid_json");
    assert_eq!(health(&relay).await["devices"], 0);

    let bad_responses = [
        json!({"requestId": "not-a-uuid", "action": "approve", "signerAddress": "0x1"}),
        json!({"requestId": REQ, "action": "maybe", "signerAddress": "0x1"}),
        json!({"requestId": REQ, "action": "approve", "signerAddress": ""}),
        json!({"requestId": REQ, "action": "approve", "signerAddress": "0x1", "signature": 12}),
        json!({"requestId": REQ, "action": "approve", "signerAddress": "0x1", "signature": "s".repeat(2049)}),
    ];
    for b in bad_responses {
        let res = post("/v1/sign-response", b.to_string()).await.unwrap();
        assert_eq!(res.status(), 400, "{b}");
        let body: Value = res.json().await.unwrap();
        let issue = &body["details"][0];
        assert!(issue["path"].is_array() && issue["message"].is_string(), "{body}");
    }
    assert_eq!(health(&relay).await["sign_responses"], 0);
    // Nothing was stored: a valid first post is accepted.
    let ok = json!({"requestId": REQ, "action": "reject", "signerAddress": "0x1"});
    assert_eq!(post("/v1/sign-response", ok.to_string()).await.unwrap().status(), 200);

    // Push: payload must be an object; long poll ids must be UUIDs; bodies are bounded.
    for b in [
        json!({"subscriptionToken": "t", "category": "c", "payload": [1]}),
        json!({"subscriptionToken": "", "category": "c", "payload": {}}),
        json!({"category": "c", "payload": {}}),
    ] {
        assert_eq!(c.post(relay.url("/v1/push")).json(&b).send().await.unwrap().status(), 400, "{b}");
    }
    assert_eq!(c.get(relay.url("/v1/sign-response/not-a-uuid?timeout=1")).send().await.unwrap().status(), 400);
    let huge = json!({"subscriptionToken": "t", "category": "c", "payload": {"x": "y".repeat(8000)}});
    let res = c.post(relay.url("/v1/push")).json(&huge).send().await.unwrap();
    assert_eq!(res.status(), 413);
    assert!(res.json::<Value>().await.unwrap()["error"].is_string());
    assert!(pw.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_and_subscription_tokens_never_reach_the_logs() {
    let (fcm, sa) = fcm_with_account().await;
    let secret = "SECRET-push-token-bk3e5rjzq9:APA91bH-0123456789";
    let dead = "SECRET-dead-token-7y6t5r4e3w";
    fcm.state.unregistered.lock().unwrap().insert(dead.into());
    let relay = start_relay(&config("", &fcm_block(&sa.json_path, &fcm.base, "")), &[], &["--debug"]);
    let sub = register(&relay, secret, "android").await;
    let dead_sub = register(&relay, dead, "ios").await;
    let c = client();
    let enc = |t: &str| t.replace(':', "%3A");
    c.get(relay.url(&format!("/devices/{}/subscription-token", enc(secret)))).header("X-API-Key", API_KEY).send().await.unwrap();
    assert_eq!(push(&relay, &sub, "sign_request", json!({})).await.0, 200);
    assert_eq!(push(&relay, &dead_sub, "sign_request", json!({})).await.1["failed"], 1);
    assert_eq!(push(&relay, "no-such-subscription-token", "sign_request", json!({})).await.0, 404);
    fcm.state.send_script.push(503, json!({}));
    // A provider error that quotes the token: neither the log nor the answer repeats it.
    fcm.state.send_script.push(403, json!({"error": {"status": "PERMISSION_DENIED", "message": format!("token {secret} is not allowed")}}));
    let (code, body) = push(&relay, &sub, "sign_request", json!({})).await;
    assert_eq!(code, 502);
    assert!(!body.to_string().contains(secret) && body.to_string().contains("tok:"), "{body}");
    let res = c.delete(relay.url(&format!("/devices/{}", enc(secret)))).header("X-API-Key", API_KEY).send().await.unwrap();
    assert_eq!(res.status(), 204);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = relay.log_text();
    assert!(log.contains("DEBUG"), "debug logging is on: {log}");
    assert!(log.contains("device registered") && log.contains("tok:"), "{log}");
    for t in [secret, dead, sub.as_str(), dead_sub.as_str(), "no-such-subscription-token", "bk3e5rjzq9", "ya29.fake", API_KEY] {
        assert!(!log.contains(t), "{t} is in the log:\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_subcommand_and_invalid_config() {
    let pw = FakePushwoosh::start().await;
    let relay = start_relay(&config("", &pushwoosh_block(&pw.api_url(), "")), &[], &[]);
    let out = std::process::Command::new(bin()).arg("--version").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("waiaas-relay {}", env!("CARGO_PKG_VERSION")));
    let out = std::process::Command::new(bin()).args(["healthcheck", "--url", &relay.base]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("healthy"));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = std::process::Command::new(bin()).args(["healthcheck", "--url", &format!("http://127.0.0.1:{closed}")]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unhealthy"));
    // The config's host and port when no --url.
    let dir = tempfile::tempdir().unwrap();
    let port = relay.base.rsplit(':').next().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, config("", &pushwoosh_block(&pw.api_url(), "")).replace("port = 0", &format!("port = {port}"))).unwrap();
    let out = std::process::Command::new(bin()).arg("healthcheck").env("RELAY_CONFIG", &cfg).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Provider configs are validated at start: exit 1 with the reason.
    let missing = dir.path().join("missing-sa.json");
    std::fs::write(&cfg, config("", &fcm_block(&missing, "http://127.0.0.1:1", ""))).unwrap();
    let out = std::process::Command::new(bin()).env("RELAY_CONFIG", &cfg).env("RELAY_DB", dir.path().join("r.db")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("service account"), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(&cfg, config("", &pushwoosh_block(&pw.api_url(), "")).replace(&format!("api_key = \"{API_KEY}\""), "")).unwrap();
    let out = std::process::Command::new(bin()).env("RELAY_CONFIG", &cfg).env("RELAY_DB", dir.path().join("r.db")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("api_key"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_pending_long_polls_and_exits_cleanly() {
    let pw = FakePushwoosh::start().await;
    let mut relay = start_relay(&config("", &pushwoosh_block(&pw.api_url(), "")), &[], &[]);
    let poll = tokio::spawn({
        let url = relay.url(&format!("/v1/sign-response/{REQ}?timeout=60"));
        async move { client().get(url).send().await.map(|r| r.status().as_u16()) }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let pid = relay.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert_eq!(poll.await.unwrap().unwrap(), 204);
    let status = relay.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fcm_over_tls_through_a_local_terminator_trusted_by_ssl_cert_file() {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    let fcm = FakeFcm::start().await;
    let port = terminator(certs.path(), fcm.base.trim_start_matches("http://").to_string()).await;
    let https = format!("https://localhost:{port}");
    let (pem, public) = rsa_key();
    let sa = service_account(&pem, public.clone(), &format!("{https}/token"));
    *fcm.state.public_der.lock().unwrap() = public;
    *fcm.state.audience.lock().unwrap() = format!("{https}/token");
    let cfg = config("", &fcm_block(&sa.json_path, &https, ""));
    let ca = certs.path().join("ca.pem");

    // Trusted: the token exchange and the send both go over TLS.
    let relay = start_relay(&cfg, &[("SSL_CERT_FILE", ca.to_str().unwrap())], &[]);
    let sub = register(&relay, "tls-device", "android").await;
    let (status, body) = push(&relay, &sub, "sign_request", json!({"title": "over TLS"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(fcm.sends()[0]["message"]["notification"]["title"], "over TLS");
    drop(relay);

    // Not trusted (no SSL_CERT_FILE, the throwaway CA is in no system store): a clear 502.
    let relay = start_relay(&cfg, &[], &[]);
    let sub = register(&relay, "tls-device", "android").await;
    let (status, body) = push(&relay, &sub, "sign_request", json!({})).await;
    assert_eq!(status, 502, "{body}");
    let msg = body["error"].as_str().unwrap().to_lowercase();
    assert!(msg.contains("certificate") || msg.contains("unknownissuer") || msg.contains("invalid peer"), "{msg}");
    assert_eq!(fcm.sends().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_headers_and_bodies() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let pw = FakePushwoosh::start().await;
    let relay = start_relay(&config("header_read_timeout_secs = 1\nbody_read_timeout_secs = 1", &pushwoosh_block(&pw.api_url(), "")), &[], &[]);
    let addr = relay.base.trim_start_matches("http://").to_string();
    let read_all = |mut s: tokio::net::TcpStream| async move {
        let mut buf = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await.expect("the relay keeps a slow client").ok();
        String::from_utf8_lossy(&buf).to_string()
    };
    // Headers trickled and never finished: the connection is closed.
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"POST /v1/push HTTP/1.1\r\nHost: relay\r\n").await.unwrap();
    let started = Instant::now();
    let answer = read_all(s).await;
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(4));
    // A body that never arrives: 408.
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"POST /v1/push HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"subscr").await.unwrap();
    let answer = read_all(s).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("not received in time"), "{answer}");
    assert_eq!(health(&relay).await["status"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unread_response_expires_after_its_ttl() {
    let pw = FakePushwoosh::start().await;
    // Expiry is kept in whole seconds (upstream's relay.db): with a TTL of 1 s, a response
    // stored late in one second would already count as expired in the next, so the "still
    // there" check right after the post could race the clock. 2 s leaves it at least 1 s.
    let relay = start_relay(&config("sign_response_ttl_secs = 2", &pushwoosh_block(&pw.api_url(), "")), &[], &[]);
    let c = client();
    let post = |action: &str| {
        c.post(relay.url("/v1/sign-response")).header("X-API-Key", API_KEY).json(&json!({"requestId": REQ, "action": action, "signerAddress": "0x1"})).send()
    };
    assert_eq!(post("approve").await.unwrap().status(), 200);
    assert_eq!(health(&relay).await["sign_responses"], 1);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(health(&relay).await["sign_responses"], 0);
    let res = c.get(relay.url(&format!("/v1/sign-response/{REQ}?timeout=1"))).send().await.unwrap();
    assert_eq!(res.status(), 204);
    // Expired, so the request can be answered again (and read once).
    assert_eq!(post("reject").await.unwrap().status(), 200);
    let got: Value = c.get(relay.url(&format!("/v1/sign-response/{REQ}?timeout=1"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(got["action"], "reject");
}

#[test]
fn the_example_config_is_valid() {
    let text = include_str!("../config.example.toml");
    let c = waiaas_core::relay::RelayConfig::parse(text, |_| None).unwrap();
    assert_eq!(c.server.port, 3200);
    assert_eq!(c.push.provider.as_str(), "pushwoosh");
}
