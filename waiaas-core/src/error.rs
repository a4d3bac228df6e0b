//! The one error type of WAIaaS.
//!
//! Every failure carries a stable string `code` from the upstream code table
//! (`WALLET_NOT_FOUND`, `POLICY_DENIED`, ...), whether the caller may retry,
//! and the HTTP status a REST face renders it with. The daemon turns it into
//! the upstream flat body `{code, message, retryable, details?, requestId?, hint?}`;
//! the bindings raise it as a typed exception with the same code.

use serde_json::Value;
use std::fmt;

macro_rules! error_codes {
    ($( $name:ident = $status:literal $(, $retry:ident)? ; )*) => {
        /// Stable error codes (upstream `ERROR_CODES`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(non_camel_case_types)]
        pub enum ErrorCode { $( $name, )* }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$name, )* ];

            /// The wire string, e.g. `"WALLET_NOT_FOUND"`.
            pub fn as_str(self) -> &'static str {
                match self { $( ErrorCode::$name => stringify!($name), )* }
            }

            /// HTTP status of this code.
            pub fn status(self) -> u16 {
                match self { $( ErrorCode::$name => $status, )* }
            }

            /// Whether the same request may succeed later.
            pub fn retryable(self) -> bool {
                match self { $( ErrorCode::$name => error_codes!(@retry $($retry)?), )* }
            }

            /// Parse a wire string.
            pub fn parse(s: &str) -> Option<ErrorCode> {
                match s { $( stringify!($name) => Some(ErrorCode::$name), )* _ => None }
            }
        }
    };
    (@retry r) => { true };
    (@retry) => { false };
}

error_codes! {
    // AUTH
    INVALID_TOKEN = 401; TOKEN_EXPIRED = 401; SESSION_REVOKED = 401; INVALID_SIGNATURE = 401;
    INVALID_NONCE = 401; INVALID_MASTER_PASSWORD = 401; MASTER_PASSWORD_LOCKED = 429; SYSTEM_LOCKED = 503;
    // SESSION
    SESSION_NOT_FOUND = 404; SESSION_EXPIRED = 401; SESSION_LIMIT_EXCEEDED = 403; CONSTRAINT_VIOLATED = 403;
    RENEWAL_NOT_REQUIRED = 400; RENEWAL_LIMIT_REACHED = 403; SESSION_ABSOLUTE_LIFETIME_EXCEEDED = 403;
    RENEWAL_TOO_EARLY = 403, r; SESSION_RENEWAL_MISMATCH = 403; WALLET_ACCESS_DENIED = 403;
    WALLET_ALREADY_LINKED = 409; SESSION_REQUIRES_WALLET = 400; WALLET_ID_REQUIRED = 400;
    // TX
    PIPELINE_HALTED = 409; INSUFFICIENT_BALANCE = 400; INVALID_ADDRESS = 400; TX_NOT_FOUND = 404;
    TX_EXPIRED = 410; TX_ALREADY_PROCESSED = 409; CHAIN_ERROR = 502, r; SIMULATION_FAILED = 422;
    SIMULATION_TIMEOUT = 504, r; TOKEN_NOT_FOUND = 404; TOKEN_NOT_ALLOWED = 403; INSUFFICIENT_TOKEN_BALANCE = 400;
    CONTRACT_CALL_DISABLED = 403; CONTRACT_NOT_WHITELISTED = 403; METHOD_NOT_WHITELISTED = 403;
    APPROVE_DISABLED = 403; SPENDER_NOT_APPROVED = 403; APPROVE_AMOUNT_EXCEEDED = 403;
    UNLIMITED_APPROVE_BLOCKED = 403; BATCH_NOT_SUPPORTED = 400; BATCH_SIZE_EXCEEDED = 400;
    BATCH_POLICY_VIOLATION = 403; ENVIRONMENT_NETWORK_MISMATCH = 400; NETWORK_REQUIRED = 400;
    INVALID_TRANSACTION = 400; WALLET_NOT_SIGNER = 400; UNSUPPORTED_TX_TYPE = 400; CHAIN_ID_MISMATCH = 400;
    ABI_ENCODING_FAILED = 400; INSUFFICIENT_FOR_FEE = 400; PAYMASTER_REJECTED = 502;
    TRANSACTION_TIMEOUT = 504, r; TRANSACTION_REVERTED = 422;
    // POLICY
    POLICY_NOT_FOUND = 404; POLICY_DENIED = 403; SPENDING_LIMIT_EXCEEDED = 403; RATE_LIMIT_EXCEEDED = 429, r;
    WHITELIST_DENIED = 403; POLICY_RULES_CORRUPT = 500; VENUE_NOT_ALLOWED = 403;
    // OWNER
    OWNER_ALREADY_CONNECTED = 409; OWNER_NOT_CONNECTED = 404; OWNER_NOT_FOUND = 404; APPROVAL_TIMEOUT = 410;
    APPROVAL_NOT_FOUND = 404; OWNER_NOT_SET = 400; OWNER_ADDRESS_MISMATCH = 403;
    // SYSTEM
    KILL_SWITCH_ACTIVE = 409; KILL_SWITCH_NOT_ACTIVE = 409; KILL_SWITCH_ALREADY_ACTIVE = 409;
    INVALID_STATE_TRANSITION = 409; KEYSTORE_LOCKED = 503, r; CHAIN_NOT_SUPPORTED = 400; SHUTTING_DOWN = 503;
    SEND_QUEUE_FULL = 503, r; ADAPTER_NOT_AVAILABLE = 503, r; SKILL_NOT_FOUND = 404; SCHEMA_INCOMPATIBLE = 503; RATE_LIMITED = 429, r;
    INTERNAL_ERROR = 500; VALIDATION_FAILED = 400; WC_NOT_CONFIGURED = 503; WC_SIGNING_FAILED = 502, r;
    // WALLET
    WALLET_NOT_FOUND = 404; WALLET_SUSPENDED = 409; WALLET_TERMINATED = 410; WALLET_NOT_TERMINATED = 409;
    WC_SESSION_EXISTS = 409; WC_SESSION_NOT_FOUND = 404; DEPRECATED_SMART_ACCOUNT = 410;
    // WITHDRAW
    NO_OWNER = 404; WITHDRAW_LOCKED_ONLY = 403; SWEEP_TOTAL_FAILURE = 500, r;
    // ACTION
    ACTION_NOT_FOUND = 404; API_KEY_REQUIRED = 403; ACTION_VALIDATION_FAILED = 400; ACTION_RESOLVE_FAILED = 502, r;
    ACTION_RETURN_INVALID = 500; ACTION_PLUGIN_LOAD_FAILED = 500; ACTION_NAME_CONFLICT = 409;
    ACTION_CHAIN_MISMATCH = 400; SIGNING_SCHEME_UNSUPPORTED = 400; CAPABILITY_NOT_FOUND = 400;
    EXTERNAL_ACTION_FAILED = 500, r;
    // ADMIN
    ROTATION_TOO_RECENT = 429; STATS_NOT_CONFIGURED = 503; WALLET_APP_DUPLICATE = 409; WALLET_APP_NOT_FOUND = 404;
    INVALID_BACKUP_FORMAT = 400; UNSUPPORTED_BACKUP_VERSION = 400; BACKUP_CORRUPTED = 400; BACKUP_NOT_FOUND = 404;
    WEBHOOK_NOT_FOUND = 404; RULE_NOT_FOUND = 404; TELEGRAM_USER_NOT_FOUND = 404;
    BACKUP_UNSUPPORTED = 409; DATABASE_IN_USE = 409; ADMIN_SESSION_EXPIRED = 401; CSRF_TOKEN_INVALID = 403; ADMIN_UI_DISABLED = 404;
    // X402
    X402_DISABLED = 403; X402_DOMAIN_NOT_ALLOWED = 403; X402_SSRF_BLOCKED = 403; X402_UNSUPPORTED_SCHEME = 400;
    X402_PAYMENT_REJECTED = 402; X402_DELAY_TIMEOUT = 408, r; X402_APPROVAL_REQUIRED = 403; X402_SERVER_ERROR = 502, r;
    // SIGNING
    WALLET_NOT_REGISTERED = 404; SIGNING_SDK_DISABLED = 403; SIGN_REQUEST_NOT_FOUND = 404; SIGN_REQUEST_EXPIRED = 408;
    SIGNER_ADDRESS_MISMATCH = 403; INVALID_SIGN_RESPONSE = 400; SIGN_REQUEST_ALREADY_PROCESSED = 409; SIGNING_DISABLED = 403;
    // CHAIN, ERC8128, NFT, USEROP, CREDENTIAL
    UNSUPPORTED_CHAIN = 400; ERC8128_DISABLED = 403; ERC8128_DOMAIN_NOT_ALLOWED = 403; ERC8128_RATE_LIMITED = 429, r;
    NFT_NOT_FOUND = 404; INDEXER_NOT_CONFIGURED = 400; UNSUPPORTED_NFT_STANDARD = 400; INDEXER_API_ERROR = 502, r;
    NFT_METADATA_FETCH_FAILED = 502, r; INVALID_TOKEN_IDENTIFIER = 400;
    EXPIRED_BUILD = 400; BUILD_NOT_FOUND = 404; BUILD_ALREADY_USED = 409; CALLDATA_MISMATCH = 400; SENDER_MISMATCH = 400;
    CREDENTIAL_NOT_FOUND = 404; CREDENTIAL_EXPIRED = 400;
    // CLIENT: raised by the SDK clients (upstream SDKs' codes), never sent by the daemon
    NETWORK_ERROR = 503, r; REQUEST_TIMEOUT = 504, r; UNKNOWN_ERROR = 500;
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A WAIaaS error: a code, a human message, optional structured details and a recovery hint.
#[derive(Debug, Clone)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<Value>,
    pub hint: Option<Box<str>>,
    /// The daemon's id of the request that failed (remote clients; the daemon adds its own
    /// when it renders an error).
    pub request_id: Option<Box<str>>,
    /// The underlying error (a database, I/O, task or parse error), for logs and
    /// [`std::error::Error::source`]; never rendered to a client.
    pub cause: Option<std::sync::Arc<dyn std::error::Error + Send + Sync>>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error { code, message: message.into(), details: None, hint: None, request_id: None, cause: None }
    }
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(Box::from(hint.into()));
        self
    }
    pub fn status(&self) -> u16 {
        self.code.status()
    }
    pub fn retryable(&self) -> bool {
        self.code.retryable()
    }
    /// Internal failure (I/O, database): the message is kept for logs and the body.
    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::INTERNAL_ERROR, message)
    }
    /// Request validation failure naming the offending field, rendered like upstream's
    /// Zod failures: `ACTION_VALIDATION_FAILED` with `details.issues[{path, message}]`.
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Error::new(ErrorCode::ACTION_VALIDATION_FAILED, format!("Validation error: {field}: {message}")).with_details(serde_json::json!({
            "issues": [{ "path": field.split('.').filter(|s| !s.is_empty()).collect::<Vec<_>>(), "message": message }]
        }))
    }
    /// A request body that did not deserialize, as the 400 `ACTION_VALIDATION_FAILED` naming
    /// the field (the missing one, or where the bad value is), without serde's position.
    /// The one mapping every face uses (REST bodies and the embedded client).
    pub fn from_deserialize(e: serde_path_to_error::Error<serde_json::Error>) -> Error {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let field = if path == "." {
            inner.strip_prefix("missing field `").and_then(|r| r.split('`').next()).map(str::to_string).unwrap_or_else(|| "body".into())
        } else {
            path
        };
        let message = match inner.find(" at line ") {
            Some(i) => inner[..i].to_string(),
            None => inner,
        };
        Error::validation(&field, message)
    }

    /// serde reads a struct from a JSON array too (fields by position): request bodies must be
    /// objects.
    pub fn body_not_object() -> Error {
        Error::validation("body", "must be a JSON object")
    }

    /// Parse an error body a daemon answered (`{code, message, retryable, details?, hint?,
    /// requestId?}`) back into the error it was rendered from. A code this build does not
    /// know becomes `UNKNOWN_ERROR` with the message kept and the original code and HTTP
    /// status in `details` (`remoteCode`, `remoteStatus`); a body that is not such an object
    /// is `UNKNOWN_ERROR` naming the status and quoting the body.
    pub fn from_body(status: u16, body: &Value) -> Error {
        let (Some(code), Some(message)) = (body.get("code").and_then(Value::as_str), body.get("message").and_then(Value::as_str)) else {
            let text = match body {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let text: String = text.chars().take(500).collect();
            return Error::new(ErrorCode::UNKNOWN_ERROR, format!("HTTP {status} without a WAIaaS error body: {text}"))
                .with_details(serde_json::json!({ "remoteStatus": status }));
        };
        let details = body.get("details").filter(|d| !d.is_null()).cloned();
        let mut e = match ErrorCode::parse(code) {
            Some(c) => Error { code: c, message: message.to_string(), details, hint: None, request_id: None, cause: None },
            None => {
                let mut d = match details {
                    Some(Value::Object(m)) => m,
                    Some(other) => serde_json::Map::from_iter([("details".to_string(), other)]),
                    None => serde_json::Map::new(),
                };
                d.insert("remoteCode".into(), Value::String(code.to_string()));
                d.insert("remoteStatus".into(), Value::from(status));
                Error {
                    code: ErrorCode::UNKNOWN_ERROR,
                    message: message.to_string(),
                    details: Some(Value::Object(d)),
                    hint: None,
                    request_id: None,
                    cause: None,
                }
            }
        };
        e.request_id = body.get("requestId").and_then(Value::as_str).map(Box::from);
        // Keep a hint only when it is not the default one `to_body` adds anyway.
        if let Some(h) = body.get("hint").and_then(Value::as_str) {
            if default_hint(e.code) != Some(h) {
                e.hint = Some(Box::from(h));
            }
        }
        e
    }

    /// The upstream flat JSON body (`requestId` only when this error came from a daemon; the
    /// HTTP face sets its own).
    pub fn to_body(&self) -> Value {
        let mut body = serde_json::json!({
            "code": self.code.as_str(),
            "message": self.message,
            "retryable": self.retryable(),
        });
        if let Some(d) = &self.details {
            body["details"] = d.clone();
        }
        if let Some(h) = self.hint.as_deref().or_else(|| default_hint(self.code)) {
            body["hint"] = Value::String(h.to_string());
        }
        if let Some(id) = &self.request_id {
            body["requestId"] = Value::String(id.to_string());
        }
        body
    }
}

/// Recovery hints for the codes an agent or operator meets most.
fn default_hint(code: ErrorCode) -> Option<&'static str> {
    use ErrorCode::*;
    Some(match code {
        INVALID_TOKEN => "Send 'Authorization: Bearer wai_sess_<token>' with a session token issued by POST /v1/sessions.",
        TOKEN_EXPIRED | SESSION_EXPIRED => "The session expired: renew it before expiry (PUT /v1/sessions/{id}/renew) or ask the operator for a new one.",
        SESSION_REVOKED => "The session was revoked; ask the operator for a new session token.",
        INVALID_MASTER_PASSWORD => "Send the daemon's master password in the X-Master-Password header.",
        ADMIN_SESSION_EXPIRED => "Log in to the admin UI again (POST /v1/admin/login with the master password).",
        CSRF_TOKEN_INVALID => "Send the X-CSRF-Token the admin login answered with every state-changing request.",
        MASTER_PASSWORD_LOCKED => "Too many wrong master passwords: wait for the lockout to end (see Retry-After).",
        WALLET_ID_REQUIRED => "This session has several wallets (or none): pass walletId in the body or query.",
        WALLET_ACCESS_DENIED => "The session is not linked to that wallet; link it with POST /v1/sessions/{id}/wallets.",
        WALLET_SUSPENDED => "Resume the wallet (POST /v1/wallets/{id}/resume) before it can sign.",
        WALLET_TERMINATED => "The wallet is terminated and can never sign again; create a new wallet.",
        SESSION_LIMIT_EXCEEDED => "Revoke an unused session of this wallet or raise security.max_sessions_per_wallet.",
        RATE_LIMITED => "Slow down and retry after the Retry-After delay.",
        SEND_QUEUE_FULL => {
            "The daemon has as many sends in flight as [pipeline] max_in_flight allows: retry after the Retry-After delay (with the same Idempotency-Key)."
        }
        _ => return None,
    })
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_deref().map(|c| c as &(dyn std::error::Error + 'static))
    }
}

impl Error {
    /// An internal error whose message is `e`'s, keeping `e` as its cause.
    pub fn internal_from(e: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::internal(e.to_string()).caused_by(e)
    }

    /// Keep `e` as the cause of this error.
    pub fn caused_by(mut self, e: impl std::error::Error + Send + Sync + 'static) -> Error {
        self.cause = Some(std::sync::Arc::new(e));
        self
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::internal(format!("database error: {e}")).caused_by(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::internal(format!("I/O error: {e}")).caused_by(e)
    }
}

/// `WALLET_NOT_FOUND` for wallet `id`.
pub(crate) fn wallet_not_found(id: &str) -> Error {
    Error::new(ErrorCode::WALLET_NOT_FOUND, format!("Wallet '{id}' not found"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn errors_keep_their_cause_for_logs_but_never_render_it() {
        use std::error::Error as _;
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "keystore/x.json: permission denied");
        let e: super::Error = io.into();
        let source = e.source().expect("the I/O error is the source");
        assert_eq!(source.downcast_ref::<std::io::Error>().map(|i| i.kind()), Some(std::io::ErrorKind::PermissionDenied));
        assert!(e.clone().source().is_some(), "clones keep it");
        let body = e.to_body().to_string();
        assert!(!body.contains("cause") && !body.contains("source"), "{body}");
        let parse = "x".parse::<u64>().unwrap_err();
        assert!(super::Error::internal_from(parse).source().is_some());
        assert!(super::Error::new(super::ErrorCode::TX_NOT_FOUND, "no").source().is_none());
    }

    use super::*;

    #[test]
    fn codes_round_trip_and_map_to_upstream_statuses() {
        assert!(ErrorCode::ALL.len() >= 140);
        for c in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(c.as_str()), Some(*c));
        }
        assert_eq!(ErrorCode::WALLET_NOT_FOUND.status(), 404);
        assert_eq!(ErrorCode::MASTER_PASSWORD_LOCKED.status(), 429);
        assert!(ErrorCode::CHAIN_ERROR.retryable());
        assert!(!ErrorCode::POLICY_DENIED.retryable());
    }

    #[test]
    fn error_bodies_parse_back_into_the_same_error() {
        let e = Error::validation("to", "bad address").with_hint("check it");
        let mut with_id = e.to_body();
        with_id["requestId"] = Value::String("01a24c00-0000-7000-8000-000000000001".into());
        assert_eq!(Error::from_body(400, &with_id).request_id.as_deref(), Some("01a24c00-0000-7000-8000-000000000001"));
        let back = Error::from_body(400, &e.to_body());
        assert_eq!((back.code, back.message.as_str(), back.hint.as_deref()), (e.code, e.message.as_str(), Some("check it")));
        assert_eq!(back.details, e.details);
        assert_eq!(back.to_body(), e.to_body());
        // Default hints are not duplicated into `hint`.
        let s = Error::new(ErrorCode::SESSION_REVOKED, "revoked");
        assert_eq!(Error::from_body(401, &s.to_body()).hint, None);
        let u = Error::from_body(418, &serde_json::json!({"code": "TEAPOT", "message": "short and stout", "retryable": true}));
        assert_eq!((u.code, u.message.as_str()), (ErrorCode::UNKNOWN_ERROR, "short and stout"));
        assert_eq!(u.details.unwrap()["remoteCode"], "TEAPOT");
        let n = Error::from_body(502, &Value::String("<html>Bad Gateway</html>".into()));
        assert_eq!(n.code, ErrorCode::UNKNOWN_ERROR);
        assert!(n.message.contains("HTTP 502") && n.message.contains("Bad Gateway"), "{}", n.message);
    }

    #[test]
    fn validation_error_names_the_field() {
        let e = Error::validation("name", "must be 1..100 characters");
        let b = e.to_body();
        assert_eq!(b["code"], "ACTION_VALIDATION_FAILED");
        assert_eq!(b["details"]["issues"][0]["path"][0], "name");
        assert_eq!(e.status(), 400);
    }
}
