//! # waiaas-core
//!
//! Every behaviour of WAIaaS, the self-hosted wallet for AI agents: the encrypted keystore
//! and the one signing gate ([`services::signer`]), master and session auth, the SQLite store
//! ([`store`], one sub-trait per service), wallets and sessions, the policy engine ([`policy`],
//! the pure evaluator, and [`services::policies`], the gate), the transaction pipeline
//! ([`pipeline`]: tiers, DELAY queue, owner approvals, broadcast, confirmation and crash
//! recovery) on the EVM and Solana adapters ([`chain`]), owner control, the kill switch and
//! AutoStop, notifications and webhooks, backups, metrics. The daemon, the bindings and a
//! Rust agent all drive the same [`Engine`], a facade over the [`services`]; [`client`] is
//! the one client interface, embedded or remote (see `examples/rust-agent`).
//!
//! `scripts/module-cycles.py --methods` checks that no two modules of this crate depend on
//! each other (imports, and calls of `impl Engine` methods defined elsewhere).
//!
//! [`Engine::builder`] takes another store, clock or chain-adapter factory; with the
//! `test-utils` feature, [`clock::ManualClock`] and `chain::scripted::ScriptedAdapter` run
//! the pipeline without a node or waiting (`tests/pipeline_scripted.rs`).
//!
//! ```no_run
//! # async fn demo() -> waiaas_core::Result<()> {
//! use waiaas_core::{Engine, config::Config, wallets::CreateWallet};
//! let engine = Engine::open("/tmp/waiaas-data".as_ref(), Config::default(), "my-master-password").await?;
//! let created = engine.create_wallet(CreateWallet { name: "agent".into(), ..Default::default() }).await?;
//! let token = created.session.unwrap().token;
//! let ctx = engine.authenticate(&token).await?;
//! let mine = engine.list_wallets(&waiaas_core::Caller::Session(&ctx)).await?;
//! # Ok(()) }
//! ```

pub mod actions;
pub mod admin;
pub mod amount;
pub mod api;
pub mod approvals;
pub mod auth;
pub mod chain;
pub mod channels;
pub mod client;
pub mod clock;
pub mod config;
pub mod connect;
pub mod datadir;
pub mod engine;
pub mod error;
pub mod incoming;
pub mod keys;
pub mod low_balance;
pub mod mac;
pub mod meaning;
pub mod metrics;
pub mod network;
pub mod nonce;
pub mod pipeline;
pub mod policy;
pub mod price;
pub mod ratelimit;
pub mod redact;
pub mod relay;
pub mod services;
pub mod sign_gate;
pub mod signing_sdk;
pub mod startup;
pub mod store;
pub mod tls;
pub mod transactions;
pub mod x402;

pub use engine::{Caller, Engine, Health, SessionCtx};
pub use error::{Error, ErrorCode, Result};
/// Backups (create, list, restore, inspect), where the faces have always found them.
pub use services::backup;
/// The kill switch's types, where the faces have always found them.
pub use services::killswitch;
/// The notifications' types, where the faces have always found them.
pub use services::notify;
/// The owners' types, where the faces have always found them.
pub use services::owners as owner;
/// The policies' types, where the faces have always found them.
pub use services::policies;
/// The sessions' types, where the faces have always found them.
pub use services::sessions;
/// The key files, inside the signer (their one gate); the path the faces and tests use.
pub use services::signer::keystore;
/// The token registry's types, where the faces have always found them.
pub use services::tokens;
/// The wallets' types, where the faces have always found them.
pub use services::wallets;
/// Transactions as stored (statuses, transition table, record), where the faces have always found them.
pub use store::tx;

/// Version reported by `/health`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Unix time in seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// An outbound HTTP client with these timeouts: rustls trusting the system's CA store, or
/// only `SSL_CERT_FILE` / `SSL_CERT_DIR` when set.
#[allow(clippy::expect_used, reason = "reqwest's builder fails only when its TLS backend cannot start, which rustls with an in-memory root store does not")]
pub(crate) fn http_client(timeout: std::time::Duration, connect_timeout: std::time::Duration) -> reqwest::Client {
    reqwest::Client::builder().timeout(timeout).connect_timeout(connect_timeout).build().expect("the HTTP client")
}

/// A new UUIDv7 id (time-ordered).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
