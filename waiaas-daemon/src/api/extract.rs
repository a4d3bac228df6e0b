//! Extractors for the three auths and for validated bodies, and error rendering.

use super::AppState;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use waiaas_core::auth::owner::OwnerProof;
use waiaas_core::{Caller, Error, ErrorCode, SessionCtx};

/// A core error rendered as the upstream flat body.
#[derive(Debug)]
pub struct ApiError(pub Error);

pub type ApiResult<T> = Result<T, ApiError>;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = self.0.details.as_ref().and_then(|d| d.get("retryAfter")).and_then(|v| v.as_u64());
        let mut res = render_error(&self.0, None, retry_after.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()));
        // The request-id middleware re-renders with the id.
        res.extensions_mut().insert(self.0);
        res
    }
}

/// Render `err` with an optional request id and Retry-After.
pub fn render_error(err: &Error, request_id: Option<&str>, retry_after: Option<HeaderValue>) -> Response {
    if err.code == ErrorCode::INTERNAL_ERROR {
        tracing::error!(message = %err.message, "internal error");
    }
    let mut body = err.to_body();
    if let Some(id) = request_id {
        body["requestId"] = serde_json::Value::String(id.to_string());
    }
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = (status, axum::Json(body)).into_response();
    if let Some(v) = retry_after {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// A JSON body whose decoding errors name the offending field (400 ACTION_VALIDATION_FAILED).
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e| ApiError(Error::validation("body", format!("unreadable body: {e}"))))?;
        parse_json(if bytes.is_empty() { b"{}" } else { &bytes }).map(Body)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError(Error::body_not_object()));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| ApiError(Error::from_deserialize(e)))
}

/// Query string with the same error rendering.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded_compat(q).map(Query)
    }
}

fn serde_urlencoded_compat<T: DeserializeOwned>(q: &str) -> ApiResult<T> {
    // Decode into a map of strings, then let serde coerce via JSON (numbers, booleans).
    let mut map = serde_json::Map::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = percent_decode(k);
        let v = percent_decode(v);
        let value = if let Ok(n) = v.parse::<i64>() {
            serde_json::Value::Number(n.into())
        } else if v == "true" || v == "false" {
            serde_json::Value::Bool(v == "true")
        } else {
            serde_json::Value::String(v)
        };
        map.insert(k, value);
    }
    parse_json(serde_json::Value::Object(map).to_string().as_bytes())
}

fn percent_decode(s: &str) -> String {
    let bytes = s.replace('+', " ").into_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The client address the rate limiter determined (trusted proxies honoured), else the
/// socket peer.
fn ip_of(parts: &Parts) -> Option<String> {
    if let Some(ip) = parts.extensions.get::<super::ClientIp>() {
        return Some(ip.0.clone());
    }
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string())
}

/// The client address as the rate limiter determined it (masterAuth throttles per it).
pub struct ClientAddr(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(ip_of(parts)))
    }
}

/// The admin UI session cookie's token, if the request carries one.
pub fn admin_cookie(headers: &axum::http::HeaderMap) -> Option<zeroize::Zeroizing<String>> {
    let prefix = format!("{}=", waiaas_core::auth::admin_web::COOKIE);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(prefix.as_str()).filter(|t| !t.is_empty()).map(|t| zeroize::Zeroizing::new(t.to_string())))
}

/// masterAuth: `X-Master-Password` (wrong ones throttled per client address), or the admin
/// UI's session cookie (with `X-CSRF-Token` on state-changing requests).
pub struct Master;

impl FromRequestParts<AppState> for Master {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(pw) = parts.headers.get("x-master-password") else {
            // The admin UI's session cookie stands for the password on masterAuth routes only.
            if let Some(token) = admin_cookie(&parts.headers) {
                let csrf = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
                let mutating = !matches!(parts.method.as_str(), "GET" | "HEAD" | "OPTIONS");
                state.engine.admin_session(&token, csrf, mutating).await?;
                return Ok(Master);
            }
            return Err(ApiError(Error::new(ErrorCode::INVALID_MASTER_PASSWORD, "X-Master-Password header is required")));
        };
        let pw = pw.to_str().map_err(|_| ApiError(Error::new(ErrorCode::INVALID_MASTER_PASSWORD, "Invalid master password")))?;
        state.engine.verify_master(pw, ip_of(parts).as_deref()).await?;
        Ok(Master)
    }
}

fn bearer(parts: &Parts) -> Option<Result<String, Error>> {
    let h = parts.headers.get(header::AUTHORIZATION)?;
    let invalid = || Error::new(ErrorCode::INVALID_TOKEN, "Missing or invalid Authorization header. Expected: Bearer wai_sess_<token>");
    Some(h.to_str().ok().and_then(waiaas_core::auth::bearer_token).map(str::to_string).ok_or_else(invalid))
}

/// sessionAuth: `Authorization: Bearer wai_sess_...`, checked against the store.
pub struct Session {
    pub ctx: SessionCtx,
    pub token: String,
}

impl FromRequestParts<AppState> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = match bearer(parts) {
            None => return Err(ApiError(Error::new(ErrorCode::INVALID_TOKEN, "Missing or invalid Authorization header. Expected: Bearer wai_sess_<token>"))),
            Some(t) => t?,
        };
        let ctx = state.engine.authenticate(&token).await?;
        Ok(Session { ctx, token })
    }
}

/// Routes open to both: a Bearer token means sessionAuth (scoped to its wallets),
/// otherwise masterAuth.
pub enum MasterOrSession {
    Master,
    Session(SessionCtx),
}

impl MasterOrSession {
    pub fn caller(&self) -> Caller<'_> {
        match self {
            MasterOrSession::Master => Caller::Master,
            MasterOrSession::Session(ctx) => Caller::Session(ctx),
        }
    }
}

impl FromRequestParts<AppState> for MasterOrSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            let s = Session::from_request_parts(parts, state).await?;
            return Ok(MasterOrSession::Session(s.ctx));
        }
        Master::from_request_parts(parts, state).await?;
        Ok(MasterOrSession::Master)
    }
}

/// ownerAuth: `X-Owner-Address`, `X-Owner-Message` (base64 of the signed text) and
/// `X-Owner-Signature`. The core checks the proof against the wallet's owner, its own
/// canonical domain (never this request's `Host`) and the nonce.
pub struct Owner {
    pub proof: OwnerProof,
}

impl<S: Send + Sync> FromRequestParts<S> for Owner {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let get = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        match (get("x-owner-address"), get("x-owner-message"), get("x-owner-signature")) {
            (Some(address), Some(message), Some(signature)) => Ok(Owner { proof: OwnerProof { address, message, signature } }),
            _ => Err(ApiError(Error::new(ErrorCode::INVALID_SIGNATURE, "X-Owner-Address, X-Owner-Message and X-Owner-Signature headers are required"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("100%"), "100%");
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct B {
        name: String,
        n: Option<i64>,
    }

    #[test]
    fn body_errors_name_the_field() {
        let e = parse_json::<B>(br#"{"n": 1}"#).unwrap_err().0;
        assert!(e.message.contains("name"), "{}", e.message);
        let e = parse_json::<B>(br#"{"name": "x", "n": "one"}"#).unwrap_err().0;
        assert_eq!(e.details.unwrap()["issues"][0]["path"][0], "n");
        let e = parse_json::<B>(b"{not json").unwrap_err().0;
        assert_eq!(e.code, ErrorCode::ACTION_VALIDATION_FAILED);
        // Not positional: `["x", 1]` would otherwise be `{name: "x", n: 1}`.
        let e = parse_json::<B>(br#" ["x", 1]"#).unwrap_err().0;
        assert_eq!(e.code, ErrorCode::ACTION_VALIDATION_FAILED);
    }
}
