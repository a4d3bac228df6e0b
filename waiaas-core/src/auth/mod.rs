//! The three auths: master (operator), session (agent) and owner (signed messages).

pub mod admin_web;
pub mod master;
pub mod owner;
pub mod token;

pub use master::MasterAuth;
pub use token::{token_hash, JwtSecrets};

/// An authenticated agent session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionCtx {
    pub session_id: String,
    /// Linked wallets, default first.
    pub wallet_ids: Vec<String>,
    pub expires_at: i64,
    pub source: String,
}

/// Who is calling an operation.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    /// The operator (master password verified).
    Master,
    /// An agent, limited to its session's wallets.
    Session(&'a SessionCtx),
}

/// The session token of an `Authorization` header value: `Bearer ` then `wai_sess_...`,
/// surrounding whitespace ignored. The one parser of that header (sessionAuth and the
/// per-session rate limits).
pub fn bearer_token(header: &str) -> Option<&str> {
    header.strip_prefix("Bearer ").map(str::trim).filter(|t| t.starts_with(token::TOKEN_PREFIX))
}
