//! Agent sessions: create, list, get, renew, rotate, revoke, link and unlink wallets.
//!
//! Upstream rules (spec §2.2), with one hardening: the token a session holds is the only
//! one that works. Renewing or rotating replaces it at once (compare-and-swap on its
//! hash), and revocation and expiry are checked in the store on every request.
//!
//! [`Sessions`] is the service: the session rows, the JWT secrets (and the key/value rows
//! they are kept in), the wallets service (a session links wallets), the audit log and the
//! clock. sessionAuth ([`Sessions::authenticate`]) lives here too.

use crate::auth::token::{Claims, JwtSecrets, StoredSecret, ROTATION_GRACE};
use crate::auth::{token_hash, Caller, SessionCtx};
use crate::clock::Clock;
use crate::error::{wallet_not_found, Error, ErrorCode, Result};
use crate::network::Chain;
use crate::services::audit::Audit;
use crate::services::wallets::Wallets;
use crate::store::{KvStore, SessionInsert, SessionRecord, SessionStore, Unlink, WalletStatus};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use subtle::ConstantTimeEq;

pub(crate) const KV_JWT_CURRENT: &str = "jwt_secret_current";
pub(crate) const KV_JWT_PREVIOUS: &str = "jwt_secret_previous";

pub const MAX_TTL: i64 = 31_536_000;

/// `POST /v1/sessions` body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CreateSessionRequest))]
pub struct CreateSession {
    pub wallet_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 50))]
    pub wallet_ids: Option<Vec<String>>,
    /// Seconds (`security.session_ttl_min`..31536000); omitted = unlimited.
    #[cfg_attr(feature = "openapi", schema(minimum = 300, maximum = 31536000))]
    pub ttl: Option<i64>,
    /// 0 or omitted = unlimited.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub max_renewals: Option<i64>,
    /// Seconds from creation; 0 or omitted = none.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub absolute_lifetime: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub constraints: Option<serde_json::Value>,
    /// `api` (default) or `mcp`; not part of the REST body.
    #[serde(skip)]
    pub source: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WalletRef {
    pub id: String,
    pub name: String,
}

/// `POST /v1/sessions` response.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SessionCreateResponse))]
pub struct SessionCreated {
    pub id: String,
    pub token: String,
    pub expires_at: i64,
    pub wallet_id: String,
    pub wallets: Vec<WalletRef>,
}

/// One session in `GET /v1/sessions`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SessionListItem))]
pub struct SessionView {
    pub id: String,
    pub wallet_id: String,
    pub wallet_name: String,
    pub wallets: Vec<WalletRef>,
    pub status: &'static str,
    pub renewal_count: i64,
    pub max_renewals: i64,
    pub expires_at: i64,
    pub absolute_expires_at: i64,
    pub created_at: i64,
    pub last_renewed_at: Option<i64>,
    pub source: String,
    pub token_issued_count: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PaginatedSessionList))]
pub struct SessionPage {
    pub data: Vec<SessionView>,
    pub total: usize,
    pub limit: usize,
    pub offset: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SessionRevokeResponse))]
pub struct SessionRevoked {
    pub id: String,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SessionRenewResponse))]
pub struct SessionRenewed {
    pub id: String,
    pub token: String,
    pub expires_at: i64,
    pub renewal_count: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SessionRotateResponse))]
pub struct SessionRotated {
    pub id: String,
    pub token: String,
    pub expires_at: i64,
    pub token_issued_count: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SessionWalletListItem))]
pub struct SessionWallet {
    pub id: String,
    pub name: String,
    pub chain: Chain,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SessionWalletList))]
pub struct SessionWallets {
    pub wallets: Vec<SessionWallet>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SessionWallet))]
pub struct WalletLinked {
    pub session_id: String,
    pub wallet_id: String,
    pub created_at: i64,
}

fn session_not_found() -> Error {
    Error::new(ErrorCode::SESSION_NOT_FOUND, "Session not found")
}

/// The sessions service.
pub struct Sessions {
    store: Arc<dyn SessionStore>,
    kv: Arc<dyn KvStore>,
    wallets: Arc<Wallets>,
    /// Replaced whole on rotation; readers share it without copying the secrets.
    jwt: RwLock<Arc<JwtSecrets>>,
    /// Last request time of each session (AutoStop idle rule).
    seen: Mutex<HashMap<String, i64>>,
    /// `security.session_ttl_min`.
    ttl_min: i64,
    /// `security.max_sessions_per_wallet`.
    max_per_wallet: i64,
    audit: Arc<Audit>,
    clock: Arc<dyn Clock>,
}

impl Sessions {
    /// The service, with the JWT secrets read from the store (made on first start).
    #[allow(clippy::too_many_arguments)] // the parts of one service
    pub async fn open(
        store: Arc<dyn SessionStore>,
        kv: Arc<dyn KvStore>,
        wallets: Arc<Wallets>,
        ttl_min: i64,
        max_per_wallet: i64,
        audit: Arc<Audit>,
        clock: Arc<dyn Clock>,
    ) -> Result<Sessions> {
        let jwt = load_jwt(kv.as_ref(), clock.now()).await?;
        Ok(Sessions { store, kv, wallets, jwt: RwLock::new(Arc::new(jwt)), seen: Mutex::default(), ttl_min, max_per_wallet, audit, clock })
    }

    /// sessionAuth: the token's signature and expiry, then the store: the session must
    /// exist, be unrevoked and unexpired, and the token must be the one it holds now.
    pub async fn authenticate(&self, token: &str) -> Result<SessionCtx> {
        let now = self.clock.now();
        let claims = self.jwt()?.verify(token, now)?;
        let s = self.store.get_session(&claims.sub).await?.ok_or_else(|| Error::new(ErrorCode::SESSION_NOT_FOUND, "Session not found"))?;
        check_session_live(&s, now)?;
        if !bool::from(token_hash(token).as_bytes().ct_eq(s.token_hash.as_bytes())) {
            return Err(Error::new(ErrorCode::INVALID_TOKEN, "This token was replaced by a newer one (renewed or rotated)"));
        }
        self.mark_seen(&s.id, now);
        Ok(SessionCtx { session_id: s.id, wallet_ids: s.wallet_ids, expires_at: s.expires_at, source: s.source })
    }

    /// When session `id` last made a request (AutoStop idle rule).
    pub(crate) fn last_seen(&self, id: &str) -> Option<i64> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).get(id).copied()
    }

    /// Record a request of session `id` at `now`.
    pub(crate) fn mark_seen(&self, id: &str, now: i64) {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).insert(id.to_string(), now);
    }

    /// The JWT secrets in effect.
    pub(crate) fn jwt(&self) -> Result<Arc<JwtSecrets>> {
        Ok(self.jwt.read().map_err(|_| Error::internal("jwt lock poisoned"))?.clone())
    }

    fn issue_token(&self, session_id: &str, iat: i64, exp: i64) -> Result<String> {
        let mut jti = [0u8; 8];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut jti);
        Ok(self.jwt()?.issue(&Claims {
            sub: session_id.into(),
            iat,
            exp: (exp > 0).then_some(exp),
            jti: Some(hex::encode(jti)),
            session_id: Some(session_id.into()),
        }))
    }

    /// Read the JWT secrets from the store again (on a store shared by several daemons, one
    /// of the others may have rotated them).
    pub async fn reload_jwt(&self) -> Result<()> {
        let jwt = load_jwt(self.kv.as_ref(), self.clock.now()).await?;
        *self.jwt.write().map_err(|_| Error::internal("jwt lock poisoned"))? = Arc::new(jwt);
        Ok(())
    }

    /// `POST /v1/admin/rotate-secret`: the previous secret keeps working for 5 minutes.
    pub async fn rotate_jwt_secret(&self) -> Result<i64> {
        let now = self.clock.now();
        let kv = &self.kv;
        let current_raw = kv.kv_get(KV_JWT_CURRENT).await?.ok_or_else(|| Error::internal("no JWT secret"))?;
        let current: StoredSecret = serde_json::from_str(&current_raw).map_err(Error::internal_from)?;
        if now - current.created_at < ROTATION_GRACE {
            return Err(Error::new(ErrorCode::ROTATION_TOO_RECENT, "The JWT secret was rotated less than 5 minutes ago"));
        }
        let fresh = StoredSecret::generate(now);
        let fresh_raw = serde_json::to_string(&fresh).map_err(Error::internal_from)?;
        if !kv.kv_cas(KV_JWT_CURRENT, Some(&current_raw), &fresh_raw, now).await? {
            return Err(Error::new(ErrorCode::ROTATION_TOO_RECENT, "The JWT secret was rotated concurrently"));
        }
        kv.kv_set(KV_JWT_PREVIOUS, &current_raw, now).await?;
        *self.jwt.write().map_err(|_| Error::internal("jwt lock poisoned"))? = Arc::new(JwtSecrets::new(&fresh, Some(&current))?);
        Ok(now)
    }

    /// Every unrevoked session row, newest first (AutoStop's idle rule).
    pub(crate) async fn unrevoked(&self) -> Result<Vec<SessionRecord>> {
        self.store.list_sessions(None).await
    }

    /// Revoke every live session (kill switch LOCKED); returns how many.
    pub(crate) async fn revoke_all(&self, now: i64) -> Result<usize> {
        self.store.revoke_all_sessions(now).await
    }

    /// Mint a session for one or more wallets.
    pub async fn create(&self, req: CreateSession) -> Result<SessionCreated> {
        let mut ids: Vec<String> = vec![];
        if let Some(w) = req.wallet_id {
            ids.push(w);
        }
        if let Some(ws) = req.wallet_ids {
            if ws.is_empty() {
                return Err(Error::validation("walletIds", "must contain at least one wallet id"));
            }
            ids.extend(ws);
        }
        let mut seen = std::collections::HashSet::new();
        ids.retain(|id| seen.insert(id.clone()));
        if ids.is_empty() {
            return Err(Error::validation("walletId", "walletId or walletIds is required"));
        }
        if ids.len() > 50 {
            return Err(Error::validation("walletIds", "at most 50 wallets per session"));
        }
        let min_ttl = self.ttl_min;
        if let Some(ttl) = req.ttl {
            if !(min_ttl..=MAX_TTL).contains(&ttl) {
                return Err(Error::validation("ttl", format!("must be {min_ttl}..{MAX_TTL} seconds")));
            }
        }
        let max_renewals = req.max_renewals.unwrap_or(0);
        if max_renewals < 0 {
            return Err(Error::validation("maxRenewals", "must be >= 0"));
        }
        let absolute = req.absolute_lifetime.unwrap_or(0);
        if absolute < 0 {
            return Err(Error::validation("absoluteLifetime", "must be >= 0"));
        }
        let constraints = match req.constraints {
            None | Some(serde_json::Value::Null) => None,
            Some(v @ serde_json::Value::Object(_)) => Some(v.to_string()),
            Some(_) => return Err(Error::validation("constraints", "must be an object or null")),
        };
        let source = req.source.unwrap_or_else(|| "api".into());
        let mut wallets = vec![];
        for id in &ids {
            let w = self.wallets.find(id).await?.ok_or_else(|| wallet_not_found(id))?;
            if w.status == WalletStatus::Terminated {
                return Err(Error::new(ErrorCode::WALLET_TERMINATED, format!("Wallet '{id}' is terminated")));
            }
            wallets.push(WalletRef { id: w.id, name: w.name });
        }
        let now = self.clock.now();
        let expires_at = req.ttl.map(|t| now + t).unwrap_or(0);
        let absolute_expires_at = if absolute > 0 { now + absolute } else { 0 };
        let expires_at = match (expires_at, absolute_expires_at) {
            (0, _) | (_, 0) => expires_at,
            (e, a) => e.min(a),
        };
        let id = crate::new_id();
        let token = self.issue_token(&id, now, expires_at)?;
        let record = SessionRecord {
            id: id.clone(),
            token_hash: token_hash(&token),
            expires_at,
            constraints,
            revoked_at: None,
            renewal_count: 0,
            max_renewals,
            last_renewed_at: None,
            absolute_expires_at,
            created_at: now,
            source,
            token_issued_count: 1,
            wallet_ids: ids.clone(),
        };
        match self.store.insert_session(&record, self.max_per_wallet, now).await? {
            SessionInsert::Inserted => {}
            SessionInsert::LimitExceeded { wallet_id } => {
                return Err(Error::new(ErrorCode::SESSION_LIMIT_EXCEEDED, format!("Wallet '{wallet_id}' already has {} active sessions", self.max_per_wallet)))
            }
        }
        self.audit
            .record("SESSION_CREATED", "master", Some(&ids[0]), Some(&id), Some(serde_json::json!({ "walletIds": ids, "expiresAt": expires_at })), "info", None)
            .await;
        Ok(SessionCreated { id, token, expires_at, wallet_id: ids[0].clone(), wallets })
    }

    async fn session_view(&self, s: &SessionRecord, now: i64) -> Result<SessionView> {
        let mut wallets = vec![];
        for id in &s.wallet_ids {
            if let Some(w) = self.wallets.find(id).await? {
                wallets.push(WalletRef { id: w.id, name: w.name });
            }
        }
        let (wallet_id, wallet_name) = wallets.first().map(|w| (w.id.clone(), w.name.clone())).unwrap_or_default();
        Ok(SessionView {
            id: s.id.clone(),
            wallet_id,
            wallet_name,
            wallets,
            status: if check_session_live(s, now).is_ok() { "ACTIVE" } else { "EXPIRED" },
            renewal_count: s.renewal_count,
            max_renewals: s.max_renewals,
            expires_at: s.expires_at,
            absolute_expires_at: s.absolute_expires_at,
            created_at: s.created_at,
            last_renewed_at: s.last_renewed_at,
            source: s.source.clone(),
            token_issued_count: s.token_issued_count,
        })
    }

    /// Unrevoked sessions, optionally of one wallet; `limit` 1..200 (default 50).
    pub async fn list(&self, wallet_id: Option<&str>, limit: Option<i64>, offset: Option<i64>) -> Result<SessionPage> {
        let limit = limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(Error::validation("limit", "must be 1..200"));
        }
        let offset = offset.unwrap_or(0);
        if offset < 0 {
            return Err(Error::validation("offset", "must be >= 0"));
        }
        let all = self.store.list_sessions(wallet_id).await?;
        let now = self.clock.now();
        let mut data = vec![];
        for s in all.iter().skip(offset as usize).take(limit as usize) {
            data.push(self.session_view(s, now).await?);
        }
        Ok(SessionPage { data, total: all.len(), limit: limit as usize, offset: offset as usize })
    }

    pub async fn get(&self, id: &str) -> Result<SessionView> {
        let s = self.store.get_session(id).await?.ok_or_else(session_not_found)?;
        self.session_view(&s, self.clock.now()).await
    }

    /// Revoke (idempotent): the token stops working at once.
    pub async fn revoke(&self, id: &str) -> Result<SessionRevoked> {
        match self.store.revoke_session(id, self.clock.now()).await? {
            None => Err(session_not_found()),
            Some(true) => {
                self.audit.record("SESSION_REVOKED", "master", None, Some(id), None, "info", None).await;
                Ok(SessionRevoked { id: id.into(), status: "REVOKED", message: None })
            }
            Some(false) => Ok(SessionRevoked { id: id.into(), status: "REVOKED", message: Some("Session already revoked".into()) }),
        }
    }

    /// Renew a finite session with its own current token (upstream rules).
    pub async fn renew(&self, ctx: &SessionCtx, id: &str, token: &str) -> Result<SessionRenewed> {
        if ctx.session_id != id {
            return Err(Error::new(ErrorCode::SESSION_NOT_FOUND, "Cannot renew a different session"));
        }
        let now = self.clock.now();
        let claims = self.jwt()?.verify(token, now)?;
        let s = self.store.get_session(id).await?.ok_or_else(session_not_found)?;
        check_session_live(&s, now)?;
        let exp = match claims.exp {
            None => return Err(Error::new(ErrorCode::RENEWAL_NOT_REQUIRED, "Unlimited sessions do not need renewal")),
            Some(e) => e,
        };
        let old_hash = token_hash(token);
        if old_hash != s.token_hash {
            return Err(Error::new(ErrorCode::SESSION_RENEWAL_MISMATCH, "This token is not the session's current token"));
        }
        if s.max_renewals > 0 && s.renewal_count >= s.max_renewals {
            return Err(Error::new(ErrorCode::RENEWAL_LIMIT_REACHED, format!("Session was already renewed {} times", s.renewal_count)));
        }
        let ttl = exp - claims.iat;
        if now - claims.iat < ttl / 2 {
            return Err(Error::new(ErrorCode::RENEWAL_TOO_EARLY, "Renew after at least half of the token's lifetime has passed")
                .with_details(serde_json::json!({ "renewableAt": claims.iat + ttl / 2 })));
        }
        let mut new_exp = now + ttl;
        if s.absolute_expires_at > 0 {
            if now >= s.absolute_expires_at {
                return Err(Error::new(ErrorCode::SESSION_ABSOLUTE_LIFETIME_EXCEEDED, "Session passed its absolute lifetime"));
            }
            new_exp = new_exp.min(s.absolute_expires_at);
        }
        let new_token = self.issue_token(id, now, new_exp)?;
        if !self.store.swap_session_token(id, &old_hash, &token_hash(&new_token), new_exp, true, now).await? {
            return Err(Error::new(ErrorCode::SESSION_RENEWAL_MISMATCH, "The session was renewed concurrently"));
        }
        Ok(SessionRenewed { id: id.into(), token: new_token, expires_at: new_exp, renewal_count: s.renewal_count + 1 })
    }

    /// Issue a new token with the same expiry; the previous token stops working.
    pub async fn rotate(&self, id: &str) -> Result<SessionRotated> {
        let now = self.clock.now();
        let s = self.store.get_session(id).await?.ok_or_else(session_not_found)?;
        check_session_live(&s, now)?;
        let token = self.issue_token(id, now, s.expires_at)?;
        if !self.store.swap_session_token(id, &s.token_hash, &token_hash(&token), s.expires_at, false, now).await? {
            return Err(Error::new(ErrorCode::SESSION_RENEWAL_MISMATCH, "The session changed concurrently; retry"));
        }
        Ok(SessionRotated { id: id.into(), token, expires_at: s.expires_at, token_issued_count: s.token_issued_count + 1 })
    }

    pub async fn linked_wallets(&self, id: &str) -> Result<SessionWallets> {
        let s = self.store.get_session(id).await?.ok_or_else(session_not_found)?;
        let mut wallets = vec![];
        for wid in &s.wallet_ids {
            if let Some(w) = self.wallets.find(wid).await? {
                wallets.push(SessionWallet { id: w.id, name: w.name, chain: w.chain, created_at: w.created_at });
            }
        }
        Ok(SessionWallets { wallets })
    }

    pub async fn link_wallet(&self, session_id: &str, wallet_id: &str) -> Result<WalletLinked> {
        let s = self.store.get_session(session_id).await?.ok_or_else(session_not_found)?;
        check_session_live(&s, self.clock.now())?;
        let w = self.wallets.record(&Caller::Master, wallet_id).await?;
        if w.status == WalletStatus::Terminated {
            return Err(Error::new(ErrorCode::WALLET_TERMINATED, "Wallet is terminated"));
        }
        let now = self.clock.now();
        if !self.store.link_wallet(session_id, wallet_id, now).await? {
            return Err(Error::new(ErrorCode::WALLET_ALREADY_LINKED, "Wallet is already linked to this session"));
        }
        Ok(WalletLinked { session_id: session_id.into(), wallet_id: wallet_id.into(), created_at: now })
    }

    pub async fn unlink_wallet(&self, session_id: &str, wallet_id: &str) -> Result<()> {
        self.store.get_session(session_id).await?.ok_or_else(session_not_found)?;
        match self.store.unlink_wallet(session_id, wallet_id).await? {
            Unlink::Removed => Ok(()),
            Unlink::NotLinked => Err(Error::new(ErrorCode::WALLET_NOT_FOUND, "Wallet is not linked to this session")),
            Unlink::LastWallet => Err(Error::new(ErrorCode::SESSION_REQUIRES_WALLET, "A session must keep at least one wallet; revoke it instead")),
        }
    }

    /// Delete expired finite sessions (background cleanup).
    pub async fn cleanup_expired(&self) -> Result<usize> {
        self.store.delete_expired_sessions(self.clock.now()).await
    }
}

/// A session is usable: not revoked, not expired, within its absolute lifetime.
pub(crate) fn check_session_live(s: &SessionRecord, now: i64) -> Result<()> {
    if s.revoked_at.is_some() {
        return Err(Error::new(ErrorCode::SESSION_REVOKED, "Session has been revoked"));
    }
    if s.expires_at > 0 && now >= s.expires_at {
        return Err(Error::new(ErrorCode::TOKEN_EXPIRED, "Session expired"));
    }
    if s.absolute_expires_at > 0 && now >= s.absolute_expires_at {
        return Err(Error::new(ErrorCode::SESSION_ABSOLUTE_LIFETIME_EXCEEDED, "Session passed its absolute lifetime"));
    }
    Ok(())
}

async fn load_jwt(kv: &dyn KvStore, now: i64) -> Result<JwtSecrets> {
    let parse = |s: &str| serde_json::from_str::<StoredSecret>(s).map_err(|e| Error::internal(format!("stored JWT secret: {e}")));
    let current = match kv.kv_get(KV_JWT_CURRENT).await? {
        Some(raw) => parse(&raw)?,
        None => {
            let fresh = StoredSecret::generate(now);
            let raw = serde_json::to_string(&fresh).map_err(Error::internal_from)?;
            if kv.kv_cas(KV_JWT_CURRENT, None, &raw, now).await? {
                fresh
            } else {
                parse(&kv.kv_get(KV_JWT_CURRENT).await?.ok_or_else(|| Error::internal("JWT secret vanished"))?)?
            }
        }
    };
    let previous = kv.kv_get(KV_JWT_PREVIOUS).await?.map(|r| parse(&r)).transpose()?;
    JwtSecrets::new(&current, previous.as_ref())
}
