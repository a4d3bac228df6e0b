//! Persistence behind one async trait, so that SQLite (embedded default) and a later
//! PostgreSQL implementation serve the same engine.
//!
//! Correctness never depends on being the only process: every check-then-write that
//! guards an invariant (session caps, state transitions, token rotation) is one store
//! transaction or a compare-and-swap `UPDATE ... WHERE <expected state>`.

pub mod postgres;
pub mod sqlite;
pub mod tx;

use crate::error::Result;
use crate::network::{Chain, Environment};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tx::{TxPatch, TxRecord, TxStatus};

/// Wallet lifecycle states (upstream `WALLET_STATUSES` minus the transient ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum WalletStatus {
    Active,
    Suspended,
    Terminated,
}

impl WalletStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WalletStatus::Active => "ACTIVE",
            WalletStatus::Suspended => "SUSPENDED",
            WalletStatus::Terminated => "TERMINATED",
        }
    }
    pub fn parse(s: &str) -> Option<WalletStatus> {
        Some(match s {
            "ACTIVE" => WalletStatus::Active,
            "SUSPENDED" => WalletStatus::Suspended,
            "TERMINATED" => WalletStatus::Terminated,
            _ => return None,
        })
    }
}

/// A wallet row.
#[derive(Debug, Clone, PartialEq)]
pub struct WalletRecord {
    pub id: String,
    pub name: String,
    pub chain: Chain,
    pub environment: Environment,
    /// Network chosen at creation (the wallet's default network).
    pub network: String,
    pub public_key: String,
    pub status: WalletStatus,
    pub owner_address: Option<String>,
    pub owner_verified: bool,
    pub monitor_incoming: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub suspended_at: Option<i64>,
    pub suspension_reason: Option<String>,
}

/// A session row with its linked wallets (first linked = default wallet).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    pub id: String,
    /// sha256 hex of the whole `wai_sess_...` token currently valid for this session.
    pub token_hash: String,
    /// Unix seconds; 0 = unlimited.
    pub expires_at: i64,
    pub constraints: Option<String>,
    pub revoked_at: Option<i64>,
    pub renewal_count: i64,
    /// 0 = unlimited.
    pub max_renewals: i64,
    pub last_renewed_at: Option<i64>,
    /// 0 = none.
    pub absolute_expires_at: i64,
    pub created_at: i64,
    pub source: String,
    pub token_issued_count: i64,
    pub wallet_ids: Vec<String>,
}

/// One audit log entry (append-only).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub timestamp: i64,
    pub event_type: String,
    pub actor: String,
    pub wallet_id: Option<String>,
    pub session_id: Option<String>,
    pub tx_id: Option<String>,
    pub details: Option<String>,
    pub severity: String,
    pub ip_address: Option<String>,
}

/// Outcome of a guarded session insert.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionInsert {
    Inserted,
    /// A linked wallet already has `max` live sessions.
    LimitExceeded {
        wallet_id: String,
    },
}

/// Outcome of unlinking a wallet from a session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unlink {
    Removed,
    NotLinked,
    LastWallet,
}

/// Key/value rows (engine secrets, settings, kill switch state) and the schema version.
#[async_trait]
pub trait KvStore: Send + Sync + 'static {
    /// Current schema version.
    async fn schema_version(&self) -> Result<i64>;
    /// The schema version this build's migrations produce (what [`Store::schema_version`]
    /// must answer for the store to be current).
    fn latest_schema_version(&self) -> i64;
    async fn kv_get(&self, key: &str) -> Result<Option<String>>;
    async fn kv_set(&self, key: &str, value: &str, now: i64) -> Result<()>;
    /// Set `key` to `new` only if it currently equals `expected` (`None` = absent).
    async fn kv_cas(&self, key: &str, expected: Option<&str>, new: &str, now: i64) -> Result<bool>;
}

/// Wallet rows.
#[async_trait]
pub trait WalletStore: Send + Sync + 'static {
    async fn insert_wallet(&self, w: &WalletRecord) -> Result<()>;
    async fn get_wallet(&self, id: &str) -> Result<Option<WalletRecord>>;
    /// All wallets, or only `ids` when given, newest first.
    async fn list_wallets(&self, ids: Option<&[String]>) -> Result<Vec<WalletRecord>>;
    async fn rename_wallet(&self, id: &str, name: &str, now: i64) -> Result<bool>;
    async fn set_monitor_incoming(&self, id: &str, on: bool, now: i64) -> Result<bool>;
    /// Compare-and-swap status transition; `false` if the wallet was not in `from`.
    /// Entering TERMINATED also revokes every session whose only wallet this is.
    async fn transition_wallet(&self, id: &str, from: WalletStatus, to: WalletStatus, reason: Option<&str>, now: i64) -> Result<bool>;
    /// Delete a TERMINATED wallet and its rows; `false` if it is not terminated.
    async fn purge_wallet(&self, id: &str) -> Result<bool>;
}

/// Session rows and their wallet links.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Insert a session and its wallet links in one transaction, refusing it when a linked
    /// wallet already has `max_per_wallet` live (unrevoked, unexpired) sessions.
    async fn insert_session(&self, s: &SessionRecord, max_per_wallet: i64, now: i64) -> Result<SessionInsert>;
    async fn get_session(&self, id: &str) -> Result<Option<SessionRecord>>;
    /// Unrevoked sessions, optionally only those linked to `wallet_id`, newest first.
    async fn list_sessions(&self, wallet_id: Option<&str>) -> Result<Vec<SessionRecord>>;
    /// Set `revoked_at` if not yet set; `None` if no such session, `Some(false)` if already revoked.
    async fn revoke_session(&self, id: &str, now: i64) -> Result<Option<bool>>;
    /// Swap the token hash (renew/rotate) only if it still equals `expected_hash` and the
    /// session is unrevoked. `renewed` bumps renewal_count and last_renewed_at.
    async fn swap_session_token(&self, id: &str, expected_hash: &str, new_hash: &str, expires_at: i64, renewed: bool, now: i64) -> Result<bool>;
    async fn link_wallet(&self, session_id: &str, wallet_id: &str, now: i64) -> Result<bool>;
    async fn unlink_wallet(&self, session_id: &str, wallet_id: &str) -> Result<Unlink>;
    /// Delete expired, unrevoked finite sessions; returns how many.
    async fn delete_expired_sessions(&self, now: i64) -> Result<usize>;
    /// Revoke every live session (kill switch LOCKED); returns how many.
    async fn revoke_all_sessions(&self, now: i64) -> Result<usize>;
}

/// Transaction rows and the nonces they used.
#[async_trait]
pub trait TxStore: Send + Sync + 'static {
    /// Insert; with an idempotency key already used for this wallet, nothing is inserted and
    /// the existing row is returned.
    async fn insert_tx(&self, t: &TxRecord) -> Result<Option<TxRecord>>;
    async fn get_tx(&self, id: &str) -> Result<Option<TxRecord>>;
    /// Newest first (ids are UUIDv7), `before` = cursor (an id), optional status filter.
    async fn list_txs(&self, wallet_ids: &[String], statuses: Option<&[TxStatus]>, before: Option<&str>, limit: i64) -> Result<Vec<TxRecord>>;
    /// Compare-and-swap the status from one of `from` to `to`, applying `patch` in the same
    /// transaction; `false` if the row was not in one of `from`.
    async fn transition_tx(&self, id: &str, from: &[TxStatus], to: TxStatus, patch: &TxPatch, now: i64) -> Result<bool>;
    /// Update fields without a status change, only while the row is in `status`.
    async fn patch_tx(&self, id: &str, status: TxStatus, patch: &TxPatch, now: i64) -> Result<bool>;
    /// [`TxStore::patch_tx`] for several rows in one transaction, all or none: the ids of the
    /// rows not in `status` (then nothing is written).
    async fn patch_txs(&self, status: TxStatus, patches: &[(String, TxPatch)], now: i64) -> Result<Vec<String>>;
    /// All transactions in the given statuses (crash recovery, background checks).
    async fn txs_in_status(&self, statuses: &[TxStatus]) -> Result<Vec<TxRecord>>;
    /// The next nonce the store knows for (wallet, network): one past the highest used.
    async fn next_nonce(&self, wallet_id: &str, network: &str) -> Result<Option<u64>>;
    /// Transactions a wallet requested since `since` (AutoStop unusual activity).
    async fn count_txs_since(&self, wallet_id: &str, since: i64) -> Result<i64>;
    /// Every wallet's transactions created since `since`, by status: `(status, count, sum of
    /// amount_usd)`, ordered by status (the admin dashboard).
    async fn tx_counts_since(&self, since: i64) -> Result<Vec<(String, i64, f64)>>;
}

/// The custom token registry.
#[async_trait]
pub trait TokenStore: Send + Sync + 'static {
    async fn list_tokens(&self, network: &str) -> Result<Vec<TokenRow>>;
    async fn insert_token(&self, t: &TokenRow) -> Result<bool>;
    async fn delete_token(&self, network: &str, address: &str) -> Result<bool>;
}

/// Policy rows and the policy gate's transaction (decide and reserve in one store transaction).
#[async_trait]
pub trait PolicyStore: Send + Sync + 'static {
    async fn insert_policy(&self, p: &PolicyRow) -> Result<()>;
    async fn get_policy(&self, id: &str) -> Result<Option<PolicyRow>>;
    /// All policies, or those of `wallet_id` plus the global ones.
    async fn list_policies(&self, wallet_id: Option<&str>) -> Result<Vec<PolicyRow>>;
    /// Update rules, priority, enabled and updated_at.
    async fn update_policy(&self, p: &PolicyRow) -> Result<bool>;
    async fn delete_policy(&self, id: &str) -> Result<bool>;
    /// The policy gate in ONE store transaction: read the PENDING row and the wallet's enabled
    /// policies, let `decide` read its usage windows (spend, reserved amounts, request counts)
    /// and choose the next status and patch (tier, reservation), and write them. Concurrent
    /// decisions are serialised by the store, so limits cannot be overrun by a burst.
    /// `None` when the row is no longer PENDING.
    async fn decide_tx(&self, tx_id: &str, now: i64, decide: DecideFn) -> Result<Option<TxStatus>>;
    /// The same usage windows, read-only (simulate).
    async fn usage(&self, wallet_id: &str, network: &str, token: Option<&str>, windows: &[u64], now: i64) -> Result<UsageRow>;
}

/// Wallet owners and the single-use nonces of their signatures.
#[async_trait]
pub trait OwnerStore: Send + Sync + 'static {
    /// Register (or clear, `None`) a wallet's owner while it is not verified (NONE/GRACE);
    /// `false` if the wallet is missing or its owner is already verified (LOCKED).
    async fn set_owner(&self, wallet_id: &str, address: Option<&str>, now: i64) -> Result<bool>;
    /// GRACE -> LOCKED, only if `address` is still the registered owner.
    async fn mark_owner_verified(&self, wallet_id: &str, address: &str, now: i64) -> Result<bool>;
    /// Record that an owner's signature used `nonce` (valid until `expires_at`; expired
    /// records are purged first): `false` when it was used before (a replay).
    async fn use_owner_nonce(&self, nonce: &str, expires_at: i64, now: i64) -> Result<bool>;
}

/// The append-only audit log.
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    async fn append_audit(&self, e: &AuditEntry) -> Result<()>;
    /// Newest first, filtered; `total` is counted only when asked.
    async fn query_audit(&self, q: &AuditQuery) -> Result<(Vec<AuditEntry>, Option<i64>)>;
    /// Oldest first, entries with id > `after` (the event feed of the notifiers).
    async fn audit_after(&self, after: i64, limit: i64) -> Result<Vec<AuditEntry>>;
}

/// Outgoing webhooks and their delivery log.
#[async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    async fn insert_webhook(&self, w: &WebhookRecord) -> Result<()>;
    async fn list_webhooks(&self) -> Result<Vec<WebhookRecord>>;
    async fn delete_webhook(&self, id: &str) -> Result<bool>;
    async fn insert_webhook_log(&self, l: &WebhookLog) -> Result<()>;
    async fn list_webhook_logs(&self, webhook_id: &str, status: Option<&str>, event_type: Option<&str>, limit: i64) -> Result<Vec<WebhookLog>>;
}

/// A wallet app (upstream `wallet_apps`): the owner's wallet on a phone, reached through a
/// push relay. Serialized as upstream's `WalletApp` fields (snake_case).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WalletAppRecord {
    pub id: String,
    pub name: String,
    pub display_name: String,
    /// `''` when the app is of no preset type.
    pub wallet_type: String,
    pub signing_enabled: bool,
    pub alerts_enabled: bool,
    pub sign_topic: Option<String>,
    pub notify_topic: Option<String>,
    pub subscription_token: Option<String>,
    pub push_relay_url: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// How a wallet's owner answers approvals (`PUT /v1/wallets/{id}/owner` `approval_method`,
/// `wallet_type`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApprovalRoute {
    pub approval_method: Option<String>,
    pub wallet_type: Option<String>,
}

/// A sign request sent to the owner's wallet app (durable: its answer is checked against
/// this row, across restarts).
#[derive(Debug, Clone, PartialEq)]
pub struct SignRequestRecord {
    pub request_id: String,
    pub tx_id: String,
    pub wallet_id: String,
    /// `sdk_push`.
    pub channel: String,
    pub app_id: Option<String>,
    /// The relay the answer is polled from.
    pub relay_url: Option<String>,
    /// The exact text the owner signs.
    pub message: String,
    pub signer_address: String,
    pub caip2: String,
    pub expires_at: i64,
    /// `PENDING`, `APPROVED`, `REJECTED`, `EXPIRED` or `FAILED`.
    pub status: String,
    pub error: Option<String>,
    pub created_at: i64,
    pub resolved_at: Option<i64>,
}

/// Wallet apps, approval routes and sign requests.
#[async_trait]
pub trait SigningStore: Send + Sync + 'static {
    /// Insert an app; `false` when the name is taken. Signing is enabled only if
    /// `a.signing_enabled` and no other app of the same wallet type has it (one transaction).
    async fn insert_wallet_app(&self, a: &WalletAppRecord) -> Result<bool>;
    async fn list_wallet_apps(&self) -> Result<Vec<WalletAppRecord>>;
    async fn get_wallet_app(&self, id: &str) -> Result<Option<WalletAppRecord>>;
    /// Write every field of `a`; enabling signing disables it on the other apps of the same
    /// wallet type in the same transaction. `false` if the app is gone.
    async fn update_wallet_app(&self, a: &WalletAppRecord) -> Result<bool>;
    async fn delete_wallet_app(&self, id: &str) -> Result<bool>;
    /// Set (or clear) a wallet's approval route.
    async fn set_approval_route(&self, wallet_id: &str, route: &ApprovalRoute, now: i64) -> Result<()>;
    /// Every wallet's approval route (wallet id, route).
    async fn approval_routes(&self) -> Result<Vec<(String, ApprovalRoute)>>;
    /// Insert a sign request unless one exists for the same (transaction, channel): then
    /// nothing is written and the existing row is returned.
    async fn insert_sign_request(&self, r: &SignRequestRecord) -> Result<Option<SignRequestRecord>>;
    async fn get_sign_request(&self, request_id: &str) -> Result<Option<SignRequestRecord>>;
    /// `from` -> `to` (compare-and-swap: `false` when the request was not in `from`).
    async fn resolve_sign_request(&self, request_id: &str, from: &str, to: &str, error: Option<&str>, now: i64) -> Result<bool>;
    /// Every PENDING request.
    async fn pending_sign_requests(&self) -> Result<Vec<SignRequestRecord>>;
}

/// One attempt to deliver an event to a notification channel (upstream `notification_logs`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NotificationLog {
    pub id: String,
    pub event_type: String,
    pub wallet_id: Option<String>,
    /// `telegram`, `discord`, `slack` or `email`.
    pub channel: String,
    /// `sent` or `failed`.
    pub status: String,
    pub error: Option<String>,
    /// The text delivered (title and body).
    pub message: Option<String>,
    /// `<channel>:<audit id>`: the same for every attempt and redelivery of one event.
    pub delivery_id: Option<String>,
    pub attempt: i64,
    pub created_at: i64,
}

/// `GET /v1/admin/notifications/log` filters (newest first).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NotificationLogQuery {
    pub channel: Option<String>,
    pub status: Option<String>,
    pub event_type: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub offset: i64,
    pub limit: i64,
}

/// A chat that talked to the Telegram bot (upstream `telegram_users`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TelegramUser {
    pub chat_id: String,
    pub username: Option<String>,
    /// `PENDING`, `ADMIN` or `READONLY`.
    pub role: String,
    pub registered_at: i64,
    pub approved_at: Option<i64>,
}

/// The notification channels' delivery log and the Telegram bot's users.
#[async_trait]
pub trait ChannelStore: Send + Sync + 'static {
    async fn insert_notification_log(&self, l: &NotificationLog) -> Result<()>;
    /// The page asked for and the total matching the filters.
    async fn query_notification_logs(&self, q: &NotificationLogQuery) -> Result<(Vec<NotificationLog>, i64)>;
    /// Register a chat as PENDING; an existing row is kept as it is. Returns the row.
    async fn register_telegram_user(&self, chat_id: &str, username: Option<&str>, now: i64) -> Result<TelegramUser>;
    async fn get_telegram_user(&self, chat_id: &str) -> Result<Option<TelegramUser>>;
    async fn list_telegram_users(&self) -> Result<Vec<TelegramUser>>;
    /// Set a registered chat's role; `false` when the chat is unknown.
    async fn set_telegram_role(&self, chat_id: &str, role: &str, now: i64) -> Result<bool>;
    async fn delete_telegram_user(&self, chat_id: &str) -> Result<bool>;
}

/// A transfer into a monitored wallet (upstream `incoming_transactions`): one row per
/// (transaction, log index, wallet), however often the chain is scanned. Served as it is
/// by `GET /v1/wallet/incoming` (upstream's `IncomingTxItem`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = IncomingTxItem))]
#[serde(rename_all = "camelCase")]
pub struct IncomingRecord {
    pub id: String,
    pub tx_hash: String,
    /// The token transfer's log index in its transaction; -1 for a native transfer (not
    /// served).
    #[serde(skip)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub log_index: i64,
    pub wallet_id: String,
    pub from_address: String,
    /// Smallest units, decimal.
    pub amount: String,
    /// The token contract (mint); `None` for the native coin.
    pub token_address: Option<String>,
    pub chain: String,
    pub network: String,
    /// `DETECTED` or `CONFIRMED`.
    pub status: String,
    pub block_number: i64,
    pub detected_at: i64,
    pub confirmed_at: Option<i64>,
    #[serde(rename = "suspicious")]
    pub is_suspicious: bool,
}

/// The columns of `incoming_transactions`, in [`IncomingRecord`]'s field order (both stores).
pub(crate) const INCOMING_COLS: &str =
    "id, tx_hash, log_index, wallet_id, from_address, amount, token_address, chain, network, status, block_number, detected_at, confirmed_at, is_suspicious";

/// `GET /v1/wallet/incoming` and `GET /v1/admin/incoming` filters, newest first
/// (`detected_at DESC, id DESC`); `after` is the (detected_at, id) of the previous page's last row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncomingQuery {
    /// `None`: every wallet (the operator's view).
    pub wallet_ids: Option<Vec<String>>,
    pub status: Option<String>,
    pub chain: Option<String>,
    pub network: Option<String>,
    pub token: Option<String>,
    pub from_address: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub suspicious: Option<bool>,
    pub after: Option<(i64, String)>,
    pub offset: i64,
    pub limit: i64,
}

/// The incoming-transfer records of the monitor.
/// The audit event announcing an incoming record, written with it when it is new
/// ([`IncomingStore::insert_incoming`]).
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingEvent {
    pub record_id: String,
    pub entry: AuditEntry,
    /// Of the events of one call with the same key, only the first new record's is written
    /// (one `TX_INCOMING` per wallet and cooldown).
    pub once: Option<String>,
}

/// Which of `events` to write, given the ids of the records that were new: those of new
/// records, the first per `once` key.
pub(crate) fn events_to_write<'a>(events: &'a [IncomingEvent], new: &[String]) -> Vec<&'a AuditEntry> {
    let mut seen = std::collections::HashSet::new();
    events.iter().filter(|e| new.contains(&e.record_id) && e.once.as_ref().is_none_or(|k| seen.insert(k.clone()))).map(|e| &e.entry).collect()
}

#[async_trait]
pub trait IncomingStore: Send + Sync + 'static {
    /// Insert the records not yet stored (by transaction, log index and wallet), all in one
    /// write, with the `events` of those that are new (never of one already stored; of the
    /// events sharing a `once` key, only the first new record's): a record and its
    /// announcement are written together or not at all. Returns the ids of the new records.
    async fn insert_incoming(&self, records: &[IncomingRecord], events: &[IncomingEvent]) -> Result<Vec<String>>;
    /// `DETECTED` records of `network` in blocks up to `block` become `CONFIRMED` at `now`;
    /// returns how many.
    async fn confirm_incoming(&self, network: &str, block: i64, now: i64) -> Result<usize>;
    async fn query_incoming(&self, q: &IncomingQuery) -> Result<Vec<IncomingRecord>>;
    /// [`IncomingStore::query_incoming`] and how many records match `q`'s filters (its page,
    /// `after`, `offset` and `limit` aside), read from one snapshot: the count and the page agree.
    async fn page_incoming(&self, q: &IncomingQuery) -> Result<(Vec<IncomingRecord>, i64)>;
    /// Delete the records detected before `before` (unix s); returns how many.
    async fn purge_incoming(&self, before: i64) -> Result<usize>;
}

/// How several daemons on one store share the work (PostgreSQL replicas). A store one process
/// alone can open (SQLite, behind the data dir lock) keeps every default: it is alone, so every
/// claim is granted, nonces it remembers stay true, and it leads the background work.
#[async_trait]
pub trait Replicas: Send + Sync + 'static {
    /// Other daemons may share this store.
    fn shared(&self) -> bool {
        false
    }
    /// Hold transaction `id` for this process while it drives it: false when another process
    /// holds it. A process that dies gives back its holds at once.
    async fn claim_tx(&self, _id: &str) -> Result<bool> {
        Ok(true)
    }
    /// Give back a hold of [`Replicas::claim_tx`].
    async fn release_tx(&self, _id: &str) -> Result<()> {
        Ok(())
    }
    /// The store-wide lock of the EVM nonces of (wallet, network), held until the lease drops.
    async fn lock_nonces(&self, _wallet_id: &str, _network: &str) -> Result<NonceLease> {
        Ok(NonceLease { trusted: true, _held: None })
    }
    /// Whether this process leads the work one process must do for all (notifications and
    /// webhooks, the idle check, the session cleanup); the lead passes on when its holder dies.
    async fn lead(&self) -> Result<bool> {
        Ok(true)
    }
}

/// A held [`Replicas::lock_nonces`].
pub struct NonceLease {
    /// No other process held the lock since this one last did: a next nonce this process
    /// remembers is still the next one.
    pub trusted: bool,
    /// Whatever holds the lock (released on drop).
    pub _held: Option<Box<dyn Send + Sync>>,
}

/// The whole store: every sub-trait. An implementation implements the sub-traits; a service
/// holds only the one it needs (e.g. `Arc<dyn SessionStore>`), the engine holds the whole.
pub trait Store:
    KvStore
    + WalletStore
    + SessionStore
    + TxStore
    + TokenStore
    + PolicyStore
    + OwnerStore
    + AuditStore
    + WebhookStore
    + SigningStore
    + ChannelStore
    + IncomingStore
    + Replicas
{
}

impl<
        T: KvStore
            + WalletStore
            + SessionStore
            + TxStore
            + TokenStore
            + PolicyStore
            + OwnerStore
            + AuditStore
            + WebhookStore
            + SigningStore
            + ChannelStore
            + IncomingStore
            + Replicas
            + ?Sized,
    > Store for T
{
}

/// Every sub-trait, for callers that use the methods of a whole [`Store`]: `use crate::store::prelude::*;`.
pub mod prelude {
    pub use super::AuditStore as _;
    pub use super::IncomingStore as _;
    pub use super::KvStore as _;
    pub use super::OwnerStore as _;
    pub use super::PolicyStore as _;
    pub use super::Replicas as _;
    pub use super::SessionStore as _;
    pub use super::SigningStore as _;
    pub use super::TokenStore as _;
    pub use super::TxStore as _;
    pub use super::WalletStore as _;
    pub use super::WebhookStore as _;
}

/// `GET /v1/audit-logs` filters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditQuery {
    pub wallet_id: Option<String>,
    pub event_type: Option<String>,
    pub severity: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub tx_id: Option<String>,
    /// Entries with id < cursor.
    pub cursor: Option<i64>,
    pub limit: i64,
    pub include_total: bool,
}

/// An outgoing webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookRecord {
    pub id: String,
    pub url: String,
    /// HMAC-SHA256 key of the signature header (shown once at creation).
    pub secret: String,
    /// Event types delivered; empty = all.
    pub events: Vec<String>,
    pub description: Option<String>,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One delivery attempt of a webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookLog {
    pub id: String,
    pub webhook_id: String,
    pub event_type: String,
    pub audit_id: Option<i64>,
    pub status: String,
    pub http_status: Option<i64>,
    pub attempt: i64,
    pub error: Option<String>,
    pub request_duration: Option<i64>,
    pub created_at: i64,
}

/// A custom token registry row.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRow {
    pub id: String,
    pub network: String,
    pub address: String,
    pub symbol: String,
    pub name: String,
    pub decimals: u8,
    pub created_at: i64,
}

/// A policy row as the store keeps it: plain data. The policies service gives its type and
/// rules their meaning (the store knows no policy types).
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRow {
    pub id: String,
    /// `None` = global (every wallet).
    pub wallet_id: Option<String>,
    /// The policy type's upstream name (`SPENDING_LIMIT`, ...).
    pub policy_type: String,
    /// The rule JSON (stored text that does not parse is kept as a JSON string).
    pub rules: serde_json::Value,
    pub priority: i64,
    pub enabled: bool,
    /// `None` = every network.
    pub network: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The usage windows of a wallet as the store counts them: spend, reserved amounts and request
/// counts of the transactions that passed the gate and did not end without moving funds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UsageRow {
    /// USD of the counted transactions, rolling 24 h.
    pub spent_usd_day: f64,
    /// Same, rolling 30 days.
    pub spent_usd_month: f64,
    /// Raw amounts of the live (not yet final) transactions of the same asset.
    pub reserved_raw: u128,
    /// `(window_seconds, requests in that window)` for each window asked for.
    pub requests_in_window: Vec<(u64, u64)>,
}

/// The decision of [`PolicyStore::decide_tx`], run inside its store transaction in two steps,
/// so that every backend reads the usage between them (SQLite on its connection, PostgreSQL
/// with an await): [`Decide::windows`] gets the PENDING row and the wallet's enabled policy
/// rows and names the request-count windows (seconds) it needs; the store reads the usage for
/// them; [`Decide::decide`] answers the next status and patch. An error (or a panic) in either
/// writes nothing.
pub trait Decide: Send {
    fn windows(&mut self, row: &TxRecord, policies: &[PolicyRow]) -> Result<Vec<u64>>;
    fn decide(self: Box<Self>, row: &TxRecord, usage: UsageRow) -> Result<(TxStatus, TxPatch)>;
}

pub type DecideFn = Box<dyn Decide>;

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// A decision that needs no request-count window and answers `f(row, usage)`.
    pub(crate) struct Fixed<F>(pub F);

    impl<F: FnOnce(&TxRecord, UsageRow) -> Result<(TxStatus, TxPatch)> + Send> Decide for Fixed<F> {
        fn windows(&mut self, _row: &TxRecord, _policies: &[PolicyRow]) -> Result<Vec<u64>> {
            Ok(vec![])
        }
        fn decide(self: Box<Self>, row: &TxRecord, usage: UsageRow) -> Result<(TxStatus, TxPatch)> {
            (self.0)(row, usage)
        }
    }
}
