//! The admin UI's server side over HTTP: its files and their headers, `daemon.admin_ui`, and
//! the login cookie's scope (masterAuth routes only), CSRF, logout, lockout and the end of
//! every session when the master password changes. The pages themselves are tested in
//! Chromium by tests/admin-ui (scripts/test-admin-ui.sh).

use serde_json::json;
use waiaas_e2e::*;

/// Log in through `POST /v1/admin/login`: the `Cookie` header value and the CSRF token.
async fn login(api: &Api, password: &str) -> (String, String) {
    let r = api.call("POST", "/v1/admin/login", &Auth::None, Some(json!({"password": password}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let set = r.headers.get("set-cookie").expect("Set-Cookie").to_str().unwrap().to_string();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    assert!(!set.contains(password), "{set}");
    let cookie = set.split(';').next().unwrap().to_string();
    assert!(cookie.starts_with("waiaas_admin=wai_admin_"), "{cookie}");
    (cookie, r.body["csrfToken"].as_str().unwrap().to_string())
}

fn with(cookie: &str, csrf: Option<&str>) -> Vec<(String, String)> {
    let mut h = vec![("cookie".to_string(), cookie.to_string())];
    if let Some(c) = csrf {
        h.push(("x-csrf-token".into(), c.into()));
    }
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_is_served_from_the_binary_with_a_strict_policy_and_can_be_turned_off() {
    let d = Daemon::start(Options::default());
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = http.get(format!("{}/admin", d.base)).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["location"].to_str().unwrap()), (308, "/admin/"));
    for (path, mime) in [("/admin/", "text/html"), ("/admin/app.js", "text/javascript"), ("/admin/app.css", "text/css")] {
        let r = http.get(format!("{}{path}", d.base)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers();
        assert!(h["content-type"].to_str().unwrap().starts_with(mime), "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.starts_with("default-src 'none'; script-src 'self'; style-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["x-content-type-options"], "nosniff");
    }
    let html = http.get(format!("{}/admin/", d.base)).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains("<script>") && !html.contains("style="), "no inline script or style");
    assert!(!html.contains("http://") && !html.contains("https://"), "nothing is loaded from elsewhere");
    assert_eq!(http.get(format!("{}/admin/../Cargo.toml", d.base)).send().await.unwrap().status(), 404);
    assert_eq!(http.get(format!("{}/admin/secrets.json", d.base)).send().await.unwrap().status(), 404);
    drop(d);

    let d = Daemon::start(Options::default().env("WAIAAS_DAEMON_ADMIN_UI", "false"));
    assert_eq!(http.get(format!("{}/admin/", d.base)).send().await.unwrap().status(), 404);
    let api = Api::new(&d.base);
    let r = api.call("POST", "/v1/admin/login", &Auth::None, Some(json!({"password": PASSWORD}))).await;
    assert_eq!((r.status, r.code()), (404, "ADMIN_UI_DISABLED"), "no cookie login without the UI");
    assert!(r.headers.get("set-cookie").is_none());
    assert_eq!(api.call("GET", "/v1/admin/status", &Api::master(), None).await.status, 200, "the API is unchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cookie_stands_for_the_password_on_master_routes_only_and_needs_its_csrf_token_to_change_anything() {
    let d = Daemon::start(Options::default());
    let api = Api::new(&d.base);
    let m = Api::master();
    let w = api.call("POST", "/v1/wallets", &m, Some(json!({"name": "w", "chain": "ethereum"}))).await;
    let wallet = w.body["id"].as_str().unwrap().to_string();
    let (cookie, csrf) = login(&api, PASSWORD).await;

    // Reads: the cookie alone.
    let r = api.call_with("GET", "/v1/admin/status", &Auth::None, None, &with(&cookie, None)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = api.call_with("GET", "/v1/admin/session", &Auth::None, None, &with(&cookie, None)).await;
    assert_eq!(r.body["csrfToken"], csrf.as_str(), "the page gets its token back after a reload");
    let r = api.call("GET", "/v1/admin/session", &Auth::None, None).await;
    assert_eq!((r.status, &r.body["csrfToken"]), (200, &json!(null)), "nothing without the cookie");

    // Never an agent's or an owner's credential.
    let r = api.call_with("GET", "/v1/wallet/address", &Auth::None, None, &with(&cookie, Some(&csrf))).await;
    assert_eq!((r.status, r.code()), (401, "INVALID_TOKEN"), "{:?}", r.body);
    let r = api.call_with("POST", "/v1/owner/kill-switch", &Auth::None, None, &with(&cookie, Some(&csrf))).await;
    assert_eq!((r.status, r.code()), (401, "INVALID_SIGNATURE"), "{:?}", r.body);
    // A wrong X-Master-Password is not rescued by the cookie.
    let r = api.call_with("GET", "/v1/admin/status", &Auth::Master("wrong-password".into()), None, &with(&cookie, None)).await;
    assert_eq!((r.status, r.code()), (401, "INVALID_MASTER_PASSWORD"));

    // Changes need the CSRF token; without it (or with another) nothing is stored.
    let before = store_snapshot(&d.dir);
    for token in [None, Some("0".repeat(64)), Some(format!("{csrf}x"))] {
        let r = api.call_with("POST", "/v1/wallets", &Auth::None, Some(json!({"name": "csrf"})), &with(&cookie, token.as_deref())).await;
        assert_eq!((r.status, r.code()), (403, "CSRF_TOKEN_INVALID"), "{token:?}: {:?}", r.body);
        let r = api.call_with("POST", "/v1/admin/kill-switch", &Auth::None, None, &with(&cookie, token.as_deref())).await;
        assert_eq!((r.status, r.code()), (403, "CSRF_TOKEN_INVALID"));
        let r = api.call_with("POST", &format!("/v1/wallets/{wallet}/suspend"), &Auth::None, Some(json!({})), &with(&cookie, token.as_deref())).await;
        assert_eq!((r.status, r.code()), (403, "CSRF_TOKEN_INVALID"));
    }
    assert_eq!(store_snapshot(&d.dir), before, "a refused change changed the store");
    let r = api.call_with("POST", "/v1/wallets", &Auth::None, Some(json!({"name": "by cookie"})), &with(&cookie, Some(&csrf))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);

    // Logout ends the session: the cookie is refused afterwards, and cleared in the answer.
    let r = api.call_with("POST", "/v1/admin/logout", &Auth::None, None, &with(&cookie, None)).await;
    assert_eq!(r.status, 204);
    assert!(r.headers["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    let r = api.call_with("GET", "/v1/admin/status", &Auth::None, None, &with(&cookie, None)).await;
    assert_eq!((r.status, r.code()), (401, "ADMIN_SESSION_EXPIRED"));

    // Changing the master password ends every admin session.
    let (c1, t1) = login(&api, PASSWORD).await;
    let (c2, _) = login(&api, PASSWORD).await;
    let r = api.call_with("PUT", "/v1/admin/master-password", &Auth::None, Some(json!({"newPassword": "a-new-password-123"})), &with(&c1, Some(&t1))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    for c in [&c1, &c2] {
        let r = api.call_with("GET", "/v1/admin/status", &Auth::None, None, &with(c, None)).await;
        assert_eq!((r.status, r.code()), (401, "ADMIN_SESSION_EXPIRED"));
    }
    login(&api, "a-new-password-123").await;
    // Reached through a TLS proxy (X-Forwarded-Proto: https), the cookie is Secure.
    let r = api
        .call_with("POST", "/v1/admin/login", &Auth::None, Some(json!({"password": "a-new-password-123"})), &[("x-forwarded-proto".into(), "https".into())])
        .await;
    assert!(r.headers["set-cookie"].to_str().unwrap().contains("; Secure"), "{:?}", r.headers);
    let r = api.call("POST", "/v1/admin/login", &Auth::None, Some(json!({"password": "a-new-password-123"}))).await;
    assert!(!r.headers["set-cookie"].to_str().unwrap().contains("Secure"), "plain http on localhost: no Secure, or the browser would drop it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_is_throttled_like_the_master_password() {
    let d = Daemon::start(Options::default().env("WAIAAS_SECURITY_MASTER_PASSWORD_MAX_ATTEMPTS", "3"));
    let api = Api::new(&d.base);
    // Wrong guesses are refused, then the address is blocked (at the third here).
    let mut refused = vec![];
    for _ in 0..4 {
        let r = api.call("POST", "/v1/admin/login", &Auth::None, Some(json!({"password": "guess-password"}))).await;
        assert!(r.headers.get("set-cookie").is_none());
        refused.push(r.code().to_string());
    }
    assert_eq!(refused[..2], ["INVALID_MASTER_PASSWORD", "INVALID_MASTER_PASSWORD"]);
    assert_eq!(refused[3], "MASTER_PASSWORD_LOCKED", "{refused:?}");
    let r = api.call("POST", "/v1/admin/login", &Auth::None, Some(json!({"password": PASSWORD}))).await;
    assert_eq!((r.status, r.code()), (429, "MASTER_PASSWORD_LOCKED"), "the right password waits out the block too: {:?}", r.body);
    assert!(r.headers.get("set-cookie").is_none());
    let r = api.call("POST", "/v1/admin/login", &Auth::None, Some(json!({"password": PASSWORD, "extra": 1}))).await;
    assert_eq!((r.status, r.code()), (400, "ACTION_VALIDATION_FAILED"), "unknown fields are refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_session_ends_after_daemon_admin_timeout_without_a_request() {
    let d = Daemon::start(Options::default().env("WAIAAS_DAEMON_ADMIN_TIMEOUT", "60"));
    let api = Api::new(&d.base);
    let (cookie, _) = login(&api, PASSWORD).await;
    let r = api.call_with("GET", "/v1/admin/status", &Auth::None, None, &with(&cookie, None)).await;
    assert_eq!((r.status, r.body["adminTimeout"].as_i64()), (200, Some(60)), "{:?}", r.body);
    // A request 30 s later moves the deadline: 70 s after the login the session still holds.
    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
    assert_eq!(api.call_with("GET", "/v1/admin/stats", &Auth::None, None, &with(&cookie, None)).await.status, 200);
    tokio::time::sleep(std::time::Duration::from_secs(40)).await;
    assert_eq!(api.call_with("GET", "/v1/admin/stats", &Auth::None, None, &with(&cookie, None)).await.status, 200);
    // 62 s without a request ends it.
    tokio::time::sleep(std::time::Duration::from_secs(62)).await;
    let r = api.call_with("GET", "/v1/admin/status", &Auth::None, None, &with(&cookie, None)).await;
    assert_eq!((r.status, r.code()), (401, "ADMIN_SESSION_EXPIRED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_session_outlives_a_daemon_restart_but_not_a_logout() {
    let mut d = Daemon::start(Options::default());
    let dir = d.dir.clone();
    let _tmp = d.take_tmp();
    let api = Api::new(&d.base);
    let (cookie, csrf) = login(&api, PASSWORD).await;
    d.stop();
    let d = Daemon::start_in(&dir, Options::default()).unwrap();
    let api = Api::new(&d.base);
    let r = api.call_with("POST", "/v1/wallets", &Auth::None, Some(json!({"name": "after restart"})), &with(&cookie, Some(&csrf))).await;
    assert_eq!(r.status, 201, "the session and its CSRF token hold after a restart: {:?}", r.body);
    assert_eq!(api.call_with("POST", "/v1/admin/logout", &Auth::None, None, &with(&cookie, None)).await.status, 204);
    let r = api.call_with("GET", "/v1/admin/status", &Auth::None, None, &with(&cookie, None)).await;
    assert_eq!((r.status, r.code()), (401, "ADMIN_SESSION_EXPIRED"));
}
