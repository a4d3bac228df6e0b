//! The email channel against a real SMTP server: aiosmtpd (tests/fixtures/smtp_server.py, in
//! the venv scripts/install-test-tools.sh sets up) with a certificate from a throwaway CA the
//! daemon trusts through `notifications.smtp_ca_file`, STARTTLS or implicit TLS, and AUTH
//! required. Through the real daemon:
//!
//! - `POST /v1/admin/notifications/test {"channel":"email"}` delivers exactly one mail, over
//!   STARTTLS, logged in, with the subject, Message-ID and X-WAIaaS-* headers of its delivery;
//! - a real event goes through the outbox: the kill switch's "Kill Switch Activated" mail
//!   arrives exactly once and the notification log has its `sent` row;
//! - a wrong password is a `success:false` whose error names the server's 535 and not the
//!   password (nor does anything the daemon printed); a CA the daemon does not trust fails
//!   on the certificate and nothing is sent;
//! - implicit TLS (`smtp_security = "tls"`) to `localhost` works too.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use waiaas_e2e::*;

pub(crate) const SMTP_USER: &str = "waiaas-alerts";
pub(crate) const SMTP_PASSWORD: &str = "smtp-Pa55-e2e-Zq83x";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The venv's python with aiosmtpd (set up by scripts/install-test-tools.sh; tests install
/// nothing themselves).
fn python() -> PathBuf {
    let cache =
        std::env::var_os("WAIAAS_CACHE_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/waiaas"));
    let py = cache.join("smtp-venv/bin/python");
    assert!(py.exists(), "{} is missing: run scripts/install-test-tools.sh first (it installs aiosmtpd in that venv)", py.display());
    py
}

/// A running tests/fixtures/smtp_server.py. Killed on drop.
pub(crate) struct SmtpServer {
    child: Child,
    pub(crate) port: u16,
    log: PathBuf,
}

impl SmtpServer {
    /// On a free port of 127.0.0.1, with the certificate `make_certs` left in `certs`.
    pub(crate) fn start(certs: &Path, implicit_tls: bool) -> SmtpServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = certs.join(format!("mails-{port}.jsonl"));
        let mut c = Command::new(python());
        c.arg(repo_root().join("tests/fixtures/smtp_server.py")).args(["--port", &port.to_string(), "--user", SMTP_USER, "--password", SMTP_PASSWORD]);
        c.arg("--cert").arg(certs.join("server.pem")).arg("--key").arg(certs.join("server.key")).arg("--log").arg(&log);
        if implicit_tls {
            c.arg("--implicit-tls");
        }
        let mut child = c.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("start the SMTP server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP server did not start");
        SmtpServer { child, port, log }
    }

    /// Every mail received so far, oldest first.
    pub(crate) fn mails(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log).unwrap_or_default().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    /// Wait until a mail with `subject` is there; returns every mail.
    async fn wait_for(&self, subject: &str) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mails = self.mails();
            if mails.iter().any(|m| m["headers"]["Subject"] == subject) {
                return mails;
            }
            assert!(Instant::now() < deadline, "no mail '{subject}' within 20 s; got {mails:#?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A daemon with the email channel on `server` (`security`, `host`, `password`); the CA
/// file when given.
fn daemon(server: &SmtpServer, security: &str, host: &str, password: &str, ca: Option<&Path>) -> Daemon {
    let mut o = Options::default()
        .env("WAIAAS_NOTIFICATIONS_ENABLED", "true")
        .env("WAIAAS_SECURITY_WEBHOOK_ALLOW_PRIVATE", "true")
        .env("WAIAAS_NOTIFICATIONS_SMTP_HOST", host)
        .env("WAIAAS_NOTIFICATIONS_SMTP_PORT", &server.port.to_string())
        .env("WAIAAS_NOTIFICATIONS_SMTP_SECURITY", security)
        .env("WAIAAS_NOTIFICATIONS_SMTP_USERNAME", SMTP_USER)
        .env("WAIAAS_NOTIFICATIONS_SMTP_PASSWORD", password)
        .env("WAIAAS_NOTIFICATIONS_SMTP_FROM", "WAIaaS <alerts@waiaas.test>")
        .env("WAIAAS_NOTIFICATIONS_SMTP_TO", "ops@example.com, On Call <oncall@example.org>");
    if let Some(ca) = ca {
        o = o.env("WAIAAS_NOTIFICATIONS_SMTP_CA_FILE", ca.to_str().unwrap());
    }
    Daemon::start(o)
}

/// `POST /v1/admin/notifications/test {"channel":"email"}`: the one result.
async fn test_route(api: &Api) -> Value {
    let r = api.call("POST", "/v1/admin/notifications/test", &Api::master(), Some(json!({"channel": "email"}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["results"].as_array().map(Vec::len), Some(1), "{:?}", r.body);
    r.body["results"][0].clone()
}

/// The email rows of the notification log, newest first.
async fn email_log(api: &Api) -> Vec<Value> {
    let r = api.call("GET", "/v1/admin/notifications/log?channel=email&pageSize=100", &Api::master(), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["logs"].as_array().unwrap().clone()
}

/// Everything the daemon printed so far.
fn output(d: &Daemon) -> String {
    let mut all = d.startup_log.clone();
    while let Ok(line) = d.log.try_recv() {
        all.push_str(&line);
        all.push('\n');
    }
    all
}

/// What every mail of the channel carries, over TLS from a logged-in sender.
fn assert_delivered_securely(mail: &Value) {
    assert_eq!(mail["mail_from"], "alerts@waiaas.test", "{mail:#}");
    assert_eq!(mail["rcpt_tos"], json!(["ops@example.com", "oncall@example.org"]), "{mail:#}");
    assert!(mail["cipher"].is_array(), "received over TLS: {mail:#}");
    assert_eq!(mail["login"], SMTP_USER, "authenticated: {mail:#}");
    assert_eq!(mail["headers"]["From"], "WAIaaS <alerts@waiaas.test>");
    assert_eq!(mail["headers"]["To"], "ops@example.com, On Call <oncall@example.org>");
    assert!(!mail["data"].as_str().unwrap().contains(SMTP_PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mails_go_out_over_starttls_with_auth_from_the_test_route_and_the_outbox() {
    let certs = tempfile::tempdir().unwrap();
    waiaas_testnodes::tls::make_certs(certs.path());
    let ca = certs.path().join("ca.pem");
    let server = SmtpServer::start(certs.path(), false);
    let d = daemon(&server, "starttls", "127.0.0.1", SMTP_PASSWORD, Some(&ca));
    let api = Api::new(&d.base);
    let status = api.call("GET", "/v1/admin/notifications/status", &Api::master(), None).await;
    assert!(status.body["channels"].as_array().unwrap().contains(&json!({"name": "email", "enabled": true})), "{:?}", status.body);

    // (a) The test route: one mail, its headers those of the logged delivery.
    let result = test_route(&api).await;
    assert_eq!(result, json!({"channel": "email", "success": true}));
    let mails = server.mails();
    assert_eq!(mails.len(), 1, "{mails:#?}");
    let mail = &mails[0];
    assert_delivered_securely(mail);
    let log = email_log(&api).await;
    assert_eq!((log.len(), log[0]["status"].as_str(), log[0]["attempt"].as_i64()), (1, Some("sent"), Some(1)), "{log:#?}");
    let delivery = log[0]["deliveryId"].as_str().unwrap();
    assert!(delivery.starts_with("email:test-"), "{delivery}");
    let h = &mail["headers"];
    assert_eq!(h["Subject"], "[WAIaaS] Test Notification");
    // The Message-ID: the delivery id at this installation's id (kept in the store).
    let db = rusqlite::Connection::open_with_flags(d.dir.join("data/waiaas.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let install: String = db.query_row("SELECT value FROM key_value_store WHERE key = 'notify_install_id'", [], |r| r.get(0)).unwrap();
    assert_eq!(h["Message-ID"], format!("<{}@{install}.waiaas>", delivery.replace(':', ".")));
    assert_eq!(h["X-WAIaaS-Delivery"], delivery);
    assert_eq!(h["X-WAIaaS-Event"], "TX_CONFIRMED", "upstream's event of the test message");
    let body = mail["body"].as_str().unwrap().replace("\r\n", "\n");
    assert!(body.starts_with("This is a test message from WAIaaS: the email channel works.\n\n"), "{body}");
    assert!(body.lines().any(|l| l.starts_with("Time: ") && l.ends_with('Z')), "{body}");

    // (b) A real event through the outbox: the kill switch is a broadcast. The worker starts
    // from the latest event when it first runs: wait until it has (its cursor is stored).
    let deadline = Instant::now() + Duration::from_secs(10);
    while db.query_row("SELECT count(*) FROM key_value_store WHERE key = 'notify_cursor:email'", [], |r| r.get::<_, i64>(0)).unwrap() == 0 {
        assert!(Instant::now() < deadline, "the email outbox worker did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = api.call("POST", "/v1/admin/kill-switch", &Api::master(), None).await;
    assert_eq!((r.status, r.body["state"].as_str()), (200, Some("SUSPENDED")), "{:?}", r.body);
    server.wait_for("[WAIaaS] Kill Switch Activated").await;
    // Exactly once, also a while later.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mails = server.mails();
    let ks: Vec<&Value> = mails.iter().filter(|m| m["headers"]["Subject"] == "[WAIaaS] Kill Switch Activated").collect();
    assert_eq!(ks.len(), 1, "{mails:#?}");
    let mail = ks[0];
    assert_delivered_securely(mail);
    let h = &mail["headers"];
    assert_eq!(h["X-WAIaaS-Event"], "KILL_SWITCH_ACTIVATED");
    let delivery = h["X-WAIaaS-Delivery"].as_str().unwrap();
    let audit_id: i64 = delivery.strip_prefix("email:").and_then(|id| id.parse().ok()).unwrap_or_else(|| panic!("{delivery}"));
    assert_eq!(h["Message-ID"], format!("<email.{audit_id}@{install}.waiaas>"));
    let body = mail["body"].as_str().unwrap().replace("\r\n", "\n");
    assert!(body.starts_with("Every session is revoked and every wallet suspended"), "{body}");
    assert!(body.contains("\n\nEvent: KILL_SWITCH_ACTIVATED\nTime: "), "{body}");
    let log = email_log(&api).await;
    let row = log.iter().find(|l| l["deliveryId"] == delivery).unwrap_or_else(|| panic!("{log:#?}"));
    assert_eq!((row["status"].as_str(), row["eventType"].as_str(), row["attempt"].as_i64()), (Some("sent"), Some("KILL_SWITCH_ACTIVATED"), Some(1)), "{row}");
    assert!(!output(&d).contains(SMTP_PASSWORD), "the daemon never prints the SMTP password");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_or_an_untrusted_ca_fails_without_showing_the_password() {
    let certs = tempfile::tempdir().unwrap();
    waiaas_testnodes::tls::make_certs(certs.path());
    let ca = certs.path().join("ca.pem");
    let server = SmtpServer::start(certs.path(), false);

    // (c) The server refuses the login: 535, not retried, the password nowhere.
    let wrong = "wrong-Pa55-e2e-Kx71";
    let d = daemon(&server, "starttls", "127.0.0.1", wrong, Some(&ca));
    let api = Api::new(&d.base);
    let result = test_route(&api).await;
    assert_eq!(result["success"], false, "{result}");
    let error = result["error"].as_str().unwrap();
    assert!(error.contains("535"), "the server's refusal: {error}");
    assert!(error.contains(&format!("127.0.0.1:{}", server.port)), "names the server: {error}");
    assert!(!error.contains(wrong) && !error.contains(SMTP_PASSWORD), "{error}");
    let log = email_log(&api).await;
    assert_eq!((log.len(), log[0]["status"].as_str()), (1, Some("failed")), "{log:#?}");
    assert!(!log[0]["error"].as_str().unwrap().contains(wrong));
    let settings = api.call("GET", "/v1/admin/settings", &Api::master(), None).await;
    assert!(settings.status == 200 && !settings.body.to_string().contains(wrong), "settings mask the password: {:?}", settings.body);
    assert!(!output(&d).contains(wrong), "the daemon never prints the SMTP password");
    drop(d);

    // Without the CA the server's certificate is not trusted: refused on the certificate.
    let d = daemon(&server, "starttls", "127.0.0.1", SMTP_PASSWORD, None);
    let result = test_route(&Api::new(&d.base)).await;
    let error = result["error"].as_str().unwrap_or_default().to_lowercase();
    assert!(result["success"] == false && error.contains("certificate"), "{result}");
    assert!(server.mails().is_empty(), "nothing was delivered: {:#?}", server.mails());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_to_a_host_name_works_too() {
    let certs = tempfile::tempdir().unwrap();
    waiaas_testnodes::tls::make_certs(certs.path());
    let server = SmtpServer::start(certs.path(), true);
    // (d) TLS from the first byte, to `localhost` (the certificate's name).
    let d = daemon(&server, "tls", "localhost", SMTP_PASSWORD, Some(&certs.path().join("ca.pem")));
    let result = test_route(&Api::new(&d.base)).await;
    assert_eq!(result, json!({"channel": "email", "success": true}));
    let mails = server.mails();
    assert_eq!(mails.len(), 1, "{mails:#?}");
    assert_delivered_securely(&mails[0]);
    assert_eq!(mails[0]["headers"]["Subject"], "[WAIaaS] Test Notification");
}
