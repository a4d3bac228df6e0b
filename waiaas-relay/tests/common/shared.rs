//! The relay process (any `waiaas-relay` binary, started with a config written for the test)
//! and local fakes of FCM HTTP v1 (an OAuth token endpoint that verifies the service account's
//! RS256 JWT with the public half of a key the test generated, and `messages:send`) and
//! Pushwoosh (`createMessage`), speaking the providers' real request and response shapes.
//! Either fake can be scripted to answer a queue of statuses first (5xx for retries,
//! 401/403, ...). Used by the relay's tests and bench (through `common`) and by the daemon's
//! end-to-end phone approvals (`tests/tests/e2e/phone_approval.rs`, by path), so nothing here
//! names a crate's own binary.
#![allow(dead_code)]

use axum::extract::{Path as AxPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};
use std::collections::{HashSet, VecDeque};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const PROJECT: &str = "waiaas-test";
pub const CLIENT_EMAIL: &str = "relay@waiaas-test.iam.gserviceaccount.com";

pub const API_KEY: &str = "test-relay-api-key";

/// A running relay process; killed on drop.
pub struct RelayProc {
    pub child: Child,
    pub base: String,
    pub log: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Drop for RelayProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RelayProc {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
    /// Everything the relay logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Start the relay binary `bin` with `config` (the whole config.toml) and extra environment;
/// waits for its ready line.
pub fn start_relay_at(bin: &Path, config: &str, env: &[(&str, &str)], args: &[&str]) -> RelayProc {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, config).unwrap();
    let log = dir.path().join("relay.log");
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env("RELAY_CONFIG", &cfg)
        .env("RELAY_DB", dir.path().join("relay.db"))
        .env_remove("RELAY_API_KEY")
        .env_remove("RELAY_DAEMON_API_KEY")
        .env_remove("RELAY_API_KEY_FILE")
        .env_remove("RELAY_DAEMON_API_KEY_FILE")
        .env_remove("RELAY_HOST")
        .env_remove("DEBUG")
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("waiaas-relay ready on ") {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or_default().to_string());
            }
        }
    });
    let base = match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(b) => b,
        Err(_) => {
            let _ = child.kill();
            panic!("the relay did not start: {}", std::fs::read_to_string(&log).unwrap_or_default());
        }
    };
    RelayProc { child, base, log, dir }
}

/// A config.toml: `provider` block (from [`fcm_block`] / [`pushwoosh_block`]) and extra
/// `[relay.server]` lines.
pub fn config(server_extra: &str, push_block: &str) -> String {
    format!("[relay.server]\nport = 0\nhost = \"127.0.0.1\"\napi_key = \"{API_KEY}\"\n{server_extra}\n{push_block}\n")
}

pub fn fcm_block(sa_path: &Path, api_base: &str, extra: &str) -> String {
    format!(
        "[relay.push]\nprovider = \"fcm\"\nmax_retries = 3\nretry_base_ms = 20\ntimeout_secs = 5\n{extra}\n[relay.push.fcm]\nproject_id = \"{PROJECT}\"\nservice_account_key_path = \"{}\"\napi_base_url = \"{api_base}\"\n",
        sa_path.display()
    )
}

pub fn pushwoosh_block(api_url: &str, extra: &str) -> String {
    format!(
        "[relay.push]\nprovider = \"pushwoosh\"\nmax_retries = 3\nretry_base_ms = 20\ntimeout_secs = 5\n\n[relay.push.pushwoosh]\napi_token = \"pw-token\"\napplication_code = \"ABCDE-12345\"\napi_url = \"{api_url}\"\n{extra}\n"
    )
}

// ------------------------------------------------------------------------------------------
// Scripted answers

/// Answers a fake gives before its normal behaviour, in order.
#[derive(Default)]
pub struct Script(Mutex<VecDeque<(u16, Value)>>);

impl Script {
    pub fn push(&self, status: u16, body: Value) {
        self.0.lock().unwrap().push_back((status, body));
    }
    fn next(&self) -> Option<Response> {
        let (status, body) = self.0.lock().unwrap().pop_front()?;
        Some((StatusCode::from_u16(status).unwrap(), Json(body)).into_response())
    }
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://{addr}")
}

// ------------------------------------------------------------------------------------------
// Fake FCM

/// A service account for the fake: `sa.json` (with `token_uri`) and the public key (PKCS#1
/// DER) the fake verifies assertions with, from an RSA key made by `openssl genpkey`.
pub struct ServiceAccount {
    pub json_path: PathBuf,
    pub public_der: Vec<u8>,
    pub dir: tempfile::TempDir,
}

pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("the openssl command line tool is needed");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A fresh RSA-2048 key: (PKCS#8 PEM text, PKCS#1 DER public key).
pub fn rsa_key() -> (String, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    openssl(dir.path(), &["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "sa.pem"]);
    openssl(dir.path(), &["rsa", "-in", "sa.pem", "-RSAPublicKey_out", "-outform", "DER", "-out", "pub.der"]);
    (std::fs::read_to_string(dir.path().join("sa.pem")).unwrap(), std::fs::read(dir.path().join("pub.der")).unwrap())
}

/// Write a service-account JSON with `private_key` and `token_uri`.
pub fn service_account(private_pem: &str, public_der: Vec<u8>, token_uri: &str) -> ServiceAccount {
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("sa.json");
    let sa = json!({
        "type": "service_account", "project_id": PROJECT, "private_key_id": "0123abcd",
        "private_key": private_pem, "client_email": CLIENT_EMAIL, "client_id": "1234567890",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": token_uri,
    });
    std::fs::write(&json_path, serde_json::to_string_pretty(&sa).unwrap()).unwrap();
    ServiceAccount { json_path, public_der, dir }
}

#[derive(Default)]
pub struct FcmState {
    /// PKCS#1 DER public key the assertions must verify with.
    pub public_der: Mutex<Vec<u8>>,
    /// The `aud` the assertions must carry (the token URI as the relay was given it).
    pub audience: Mutex<String>,
    pub token_requests: AtomicUsize,
    pub issued: Mutex<HashSet<String>>,
    /// Every `messages:send` body that got through auth.
    pub sends: Mutex<Vec<Value>>,
    /// Every `messages:send` attempt, scripted or not.
    pub send_attempts: AtomicUsize,
    pub send_script: Script,
    pub token_script: Script,
    /// Tokens FCM calls UNREGISTERED.
    pub unregistered: Mutex<HashSet<String>>,
}

pub struct FakeFcm {
    pub base: String,
    pub state: Arc<FcmState>,
}

impl FakeFcm {
    pub async fn start() -> FakeFcm {
        let state = Arc::new(FcmState::default());
        let app = Router::new().route("/token", post(fcm_token)).route("/v1/projects/{project}/{action}", post(fcm_send)).with_state(state.clone());
        FakeFcm { base: serve(app).await, state }
    }
    pub fn token_uri(&self) -> String {
        format!("{}/token", self.base)
    }
    pub fn sends(&self) -> Vec<Value> {
        self.state.sends.lock().unwrap().clone()
    }
}

fn oauth_error(description: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_grant", "error_description": description}))).into_response()
}

/// Google's token endpoint for a JWT bearer grant: the assertion must be an RS256 JWT signed
/// by the service account's key, with its email as `iss`, the FCM scope and the token URI as
/// `aud`, and at most an hour of validity.
async fn fcm_token(State(s): State<Arc<FcmState>>, body: String) -> Response {
    s.token_requests.fetch_add(1, Ordering::SeqCst);
    if let Some(r) = s.token_script.next() {
        return r;
    }
    let form: Vec<(String, String)> = url_decode_form(&body);
    let get = |k: &str| form.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone()).unwrap_or_default();
    if get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
        return oauth_error("Invalid grant_type");
    }
    let jwt = get("assertion");
    let parts: Vec<&str> = jwt.split('.').collect();
    if parts.len() != 3 {
        return oauth_error("Invalid JWT");
    }
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap_or_default()).unwrap_or(Value::Null);
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap_or_default()).unwrap_or(Value::Null);
    let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap_or_default();
    let key = s.public_der.lock().unwrap().clone();
    let verified = ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, &key)
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
        .is_ok();
    if header["alg"] != "RS256" || !verified {
        return oauth_error("Invalid JWT Signature.");
    }
    let (iat, exp) = (claims["iat"].as_i64().unwrap_or(0), claims["exp"].as_i64().unwrap_or(0));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    if claims["iss"] != CLIENT_EMAIL
        || claims["scope"] != "https://www.googleapis.com/auth/firebase.messaging"
        || claims["aud"].as_str() != Some(s.audience.lock().unwrap().as_str())
        || exp - iat > 3600
        || (iat - now).abs() > 300
    {
        return oauth_error(&format!("Invalid JWT claims: {claims}"));
    }
    let token = format!("ya29.fake-{}", s.token_requests.load(Ordering::SeqCst));
    s.issued.lock().unwrap().insert(token.clone());
    Json(json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})).into_response()
}

fn url_decode_form(body: &str) -> Vec<(String, String)> {
    let dec = |s: &str| {
        let s = s.replace('+', " ");
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    };
    body.split('&').filter_map(|p| p.split_once('=')).map(|(k, v)| (dec(k), dec(v))).collect()
}

/// `POST /v1/projects/{p}/messages:send`, FCM HTTP v1: a bearer token the token endpoint
/// issued, one message per call; 404 `NOT_FOUND` + `UNREGISTERED` for an unknown token.
async fn fcm_send(
    State(s): State<Arc<FcmState>>,
    AxPath((project, action)): AxPath<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    s.send_attempts.fetch_add(1, Ordering::SeqCst);
    if project != PROJECT || action != "messages:send" {
        return (StatusCode::NOT_FOUND, Json(json!({"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}}))).into_response();
    }
    if let Some(r) = s.send_script.next() {
        return r;
    }
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).unwrap_or("");
    if !s.issued.lock().unwrap().contains(bearer) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}})),
        )
            .into_response();
    }
    let token = body["message"]["token"].as_str().unwrap_or("").to_string();
    s.sends.lock().unwrap().push(body);
    if s.unregistered.lock().unwrap().contains(&token) {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND",
                "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}]}})),
        )
            .into_response();
    }
    Json(json!({"name": format!("projects/{PROJECT}/messages/0:{}", s.sends.lock().unwrap().len())})).into_response()
}

/// A fake FCM and a service account for it (fresh RSA key).
pub async fn fcm_with_account() -> (FakeFcm, ServiceAccount) {
    let fcm = FakeFcm::start().await;
    let (pem, public) = rsa_key();
    let sa = service_account(&pem, public.clone(), &fcm.token_uri());
    *fcm.state.public_der.lock().unwrap() = public;
    *fcm.state.audience.lock().unwrap() = fcm.token_uri();
    (fcm, sa)
}

// ------------------------------------------------------------------------------------------
// Fake Pushwoosh

#[derive(Default)]
pub struct PushwooshState {
    pub requests: Mutex<Vec<Value>>,
    pub attempts: AtomicUsize,
    pub script: Script,
    /// Device tokens Pushwoosh reports in `UnknownDevices`.
    pub unknown: Mutex<HashSet<String>>,
}

pub struct FakePushwoosh {
    pub base: String,
    pub state: Arc<PushwooshState>,
}

impl FakePushwoosh {
    pub async fn start() -> FakePushwoosh {
        let state = Arc::new(PushwooshState::default());
        let app = Router::new().route("/json/1.3/createMessage", post(pushwoosh_create)).with_state(state.clone());
        FakePushwoosh { base: serve(app).await, state }
    }
    pub fn api_url(&self) -> String {
        format!("{}/json/1.3/createMessage", self.base)
    }
    pub fn requests(&self) -> Vec<Value> {
        self.state.requests.lock().unwrap().clone()
    }
}

/// Pushwoosh `createMessage`: `{request: {application, auth, notifications: [...]}}` →
/// `{status_code: 200, status_message: "OK", response: {Messages: [...]}}` (plus
/// `UnknownDevices` when a device is not known); a wrong application or token is answered
/// HTTP 200 with `status_code` 210, as Pushwoosh does.
async fn pushwoosh_create(State(s): State<Arc<PushwooshState>>, Json(body): Json<Value>) -> Response {
    s.attempts.fetch_add(1, Ordering::SeqCst);
    if let Some(r) = s.script.next() {
        return r;
    }
    let req = &body["request"];
    if req["application"] != "ABCDE-12345" || req["auth"] != "pw-token" {
        return Json(json!({"status_code": 210, "status_message": "Application not found", "response": null})).into_response();
    }
    s.requests.lock().unwrap().push(body.clone());
    let devices: Vec<String> =
        req["notifications"][0]["devices"].as_array().map(|a| a.iter().filter_map(|d| d.as_str().map(str::to_string)).collect()).unwrap_or_default();
    let unknown: Vec<String> = devices.into_iter().filter(|d| s.unknown.lock().unwrap().contains(d)).collect();
    let mut response = json!({"Messages": ["8F2C-0D4A1B2C-3E4F5A6B"]});
    if !unknown.is_empty() {
        response["UnknownDevices"] = json!({"8F2C-0D4A1B2C-3E4F5A6B": unknown});
    }
    Json(json!({"status_code": 200, "status_message": "OK", "response": response})).into_response()
}
