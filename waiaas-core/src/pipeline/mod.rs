//! The transaction pipeline: validate → persist PENDING → policy → tier gate → build →
//! simulate → sign (the only place a key is decrypted) → persist the signed bytes →
//! broadcast → confirm.
//!
//! Every step is a durable store write before the next side effect, so a daemon killed at
//! any point resumes without loss and without sending twice ([`Engine::recover`]):
//! - nothing is broadcast before its signed bytes and hash are stored;
//! - submitted bytes the node stops knowing (dropped from its pool) are sent again, the same
//!   bytes (after `RESEND_UNKNOWN_AFTER`);
//! - a stored signed transaction is only ever re-broadcast as the same bytes (same nonce /
//!   same signature), never rebuilt while it could still land;
//! - a confirmation timeout leaves the transaction SUBMITTED; a background check finishes it.
//!
//! EVM nonces have one owner per (wallet, network): a lock held from nonce assignment to the
//! end of the broadcast. Fresh transactions waiting at the lock are handled by its next
//! holder as one batch: consecutive nonces, one key decryption, one store write of all the
//! signed bytes, broadcasts in nonce order. The next nonce is max(the node's pending count, one past the
//! highest nonce the store recorded as broadcast, one past every nonce held by another
//! unfinished transaction's stored signed bytes), so concurrent sends get contiguous
//! nonces, a transaction signed but killed before its broadcast keeps its nonce across a
//! restart, and a broadcast the node refused leaves no gap (its nonce is reused).
//! Stored bytes the node refuses as stale (their nonce used by another transaction) are
//! rebuilt with a fresh nonce, never failed; bytes that did land are SUBMITTED.
//!
//! Before the broadcast a transient node error never fails a transaction at once: it is
//! retried with backoff and jitter for `[pipeline] transient_retry_sec`.

pub mod bundle;
mod gaps;
pub mod request;

use crate::chain::{ChainAdapter, ErrorClass, SignedTx, TxKind, TxStatus as ChainTxStatus};
use crate::engine::{ensure_can_sign, Engine, SessionCtx};
use crate::error::{Error, ErrorCode, Result};
use crate::network::{Chain, Network};
use crate::nonce::{Handled, NonceOwner, NonceSlot, Queued};
use crate::store::tx::{TxPatch, TxRecord, TxStatus, TxType};
use crate::store::{NonceLease, Replicas, WalletRecord};
use request::{parse_send, Draft};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// `POST /v1/transactions/send` answer (201).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TxSendResponse))]
pub struct Accepted {
    pub id: String,
    pub status: String,
}

/// How long the pipeline waits for a confirmation before leaving the transaction to the
/// background check.
pub const CONFIRM_WAIT: Duration = Duration::from_secs(60);
/// How long a SUBMITTED transaction's bytes may stay unknown to the node (dropped from its
/// pool, or a node restarted without them) before the same bytes are sent again (harmless:
/// they land at most once; the pause spares a node that is slow to list what it took).
const RESEND_UNKNOWN_AFTER: Duration = Duration::from_secs(2);

/// Interval of the background check of SUBMITTED and half-broadcast transactions.
pub const RECHECK_EVERY: Duration = Duration::from_secs(5);

/// How often a daemon sharing its store with others reads what they changed
/// ([`Engine::refresh_shared`]): a kill switch activated through one holds on all within it.
pub const SHARED_REFRESH: Duration = Duration::from_millis(400);

pub(crate) fn summary(kind: &TxKind) -> (Option<String>, Option<String>, Option<String>) {
    match kind {
        TxKind::Transfer { to, amount, .. } => (Some(amount.to_string()), Some(to.clone()), None),
        TxKind::TokenTransfer { to, amount, token, .. } => (Some(amount.to_string()), Some(to.clone()), Some(token.address.clone())),
        TxKind::ContractCall { to, value, .. } => (Some(value.to_string()), Some(to.clone()), None),
        TxKind::Approve { spender, amount, token } => (Some(amount.to_string()), Some(spender.clone()), Some(token.address.clone())),
        TxKind::Batch { instructions } => {
            let native: u128 = instructions.iter().map(|i| if let TxKind::Transfer { amount, .. } = i { *amount } else { 0 }).sum();
            (Some(native.to_string()), None, None)
        }
    }
}

impl Engine {
    /// The network a wallet operation uses: the requested one (must belong to the wallet's
    /// chain and environment) or the wallet's default network.
    pub fn wallet_network(&self, wallet: &WalletRecord, requested: Option<&str>) -> Result<Network> {
        match requested {
            Some(n) => {
                let net = Network::parse(n)?;
                net.check_belongs(wallet.chain, wallet.environment)?;
                Ok(net)
            }
            None => Network::parse(&wallet.network),
        }
    }

    /// Accept a send: validate, persist as PENDING, and run the pipeline in the background.
    /// A repeated `idempotency_key` for the wallet returns the first transaction instead.
    pub async fn send_transaction(&self, ctx: &SessionCtx, body: serde_json::Value, idempotency_key: Option<String>) -> Result<Accepted> {
        if let Some(k) = &idempotency_key {
            if k.is_empty() || k.len() > 255 {
                return Err(Error::validation("Idempotency-Key", "must be 1..255 characters"));
            }
        }
        let requested_wallet = body.get("walletId").and_then(|v| v.as_str()).map(str::to_string);
        let wallet = self.resolve_wallet(ctx, requested_wallet.as_deref()).await?;
        ensure_can_sign(&wallet)?;
        self.autostop_activity(&wallet).await?;
        let (env, draft) = parse_send(wallet.chain, &body)?;
        let network = self.wallet_network(&wallet, env.network.as_deref())?;
        let kind = self.resolve_draft(network, &draft).await?;
        let (amount, to, token) = summary(&kind);
        let now = self.now();
        let record = TxRecord {
            id: crate::new_id(),
            wallet_id: wallet.id.clone(),
            session_id: Some(ctx.session_id.clone()),
            chain: wallet.chain.as_str().into(),
            network: network.id().into(),
            tx_type: draft.tx_type(),
            status: TxStatus::Pending,
            amount,
            to_address: to,
            token_address: token,
            request: serde_json::to_string(&kind).map_err(Error::internal_from)?,
            original_request: Some(body.to_string()),
            idempotency_key,
            created_at: now,
            updated_at: now,
            ..Default::default()
        };
        let admitted = self.admit_send(&record.id)?;
        if let Some(existing) = self.inner.store.insert_tx(&record).await? {
            return Ok(Accepted { id: existing.id, status: existing.status.as_str().into() });
        }
        self.inner.metrics.transaction(TxStatus::Pending, None);
        admitted.start();
        Ok(Accepted { id: record.id, status: record.status.as_str().into() })
    }

    /// A place for a new transaction `id` among the ones the pipeline drives, or 503
    /// `SEND_QUEUE_FULL` (retryable, `retryAfter` 1 s) when `[pipeline] max_in_flight` are
    /// already running: saturation answers at once instead of queueing without bound.
    pub(crate) fn admit_send(&self, id: &str) -> Result<Admitted> {
        let limit = usize::try_from(self.inner.config.pipeline.max_in_flight).unwrap_or(usize::MAX);
        let mut running = self.inner.running.lock().unwrap_or_else(|e| e.into_inner());
        if running.len() >= limit {
            return Err(Error::new(
                ErrorCode::SEND_QUEUE_FULL,
                format!("{} transactions are in flight, the most this daemon drives at once ([pipeline] max_in_flight); nothing was stored", running.len()),
            )
            .with_details(serde_json::json!({"inFlight": running.len(), "maxInFlight": limit, "retryAfter": 1})));
        }
        running.insert(id.to_string());
        Ok(Admitted { engine: self.clone(), id: Some(id.to_string()) })
    }

    /// Resolve token decimals (token registry, else the chain; a request's `token.decimals` is
    /// only checked against them, see [`Draft::resolve`]) and amounts.
    pub(crate) async fn resolve_draft(&self, network: Network, draft: &Draft) -> Result<TxKind> {
        let mut known = std::collections::HashMap::new();
        for t in draft.tokens() {
            if !known.contains_key(&t.address) {
                known.insert(t.address.clone(), self.token_decimals(network, &t.address).await?);
            }
        }
        draft.resolve(network.info().native_decimals, &|a| known.get(a).copied())
    }

    /// Hold `id` for a request that drives its row itself (an x402 payment): no runner
    /// ([`Engine::spawn_run`] from the queue, the re-check or a start-up) touches it while the
    /// returned claim lives. `None` if a runner already holds it.
    /// On a store shared by several daemons, the row is also held in the store (no other
    /// replica's runner touches it either).
    pub(crate) async fn claim(&self, id: &str) -> Result<Option<Claim>> {
        if !self.inner.running.lock().unwrap_or_else(|e| e.into_inner()).insert(id.to_string()) {
            return Ok(None);
        }
        let claim = Claim { engine: self.clone(), id: id.to_string(), held: false };
        self.hold(claim).await
    }

    /// Hold `claim`'s row in the store too (see [`Replicas::claim_tx`]); `None` when another
    /// daemon holds it (then `claim` is given back).
    async fn hold(&self, mut claim: Claim) -> Result<Option<Claim>> {
        if !self.inner.store.shared() {
            return Ok(Some(claim));
        }
        claim.held = Replicas::claim_tx(self.inner.store.as_ref(), &claim.id).await?;
        Ok(claim.held.then_some(claim))
    }

    pub(crate) fn spawn_run(&self, id: String) {
        {
            let mut running = self.inner.running.lock().unwrap_or_else(|e| e.into_inner());
            if !running.insert(id.clone()) {
                return;
            }
        }
        self.spawn_runner(id);
    }

    /// Run `id`, already entered in `running`, and take it out when done. On a shared store it
    /// runs only if no other daemon holds it ([`Engine::hold`]).
    fn spawn_runner(&self, id: String) {
        let engine = self.clone();
        tokio::spawn(async move {
            let claim = Claim { engine: engine.clone(), id: id.clone(), held: false };
            let _claim = match engine.hold(claim).await {
                Ok(Some(c)) => c,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(tx = %id, "cannot hold the transaction in the store, leaving it for a later check: {e}");
                    return;
                }
            };
            if let Err(e) = engine.run(&id).await {
                tracing::error!(tx = %id, "pipeline error: {e}");
                // Never leave a transaction hanging on an internal error: if nothing was
                // signed it is safe to fail it; signed ones stay for the background check.
                if let Ok(Some(t)) = engine.inner.store.get_tx(&id).await {
                    if t.signed_tx.is_none() && matches!(t.status(), TxStatus::Pending | TxStatus::Executing) {
                        let _ = engine.fail(&id, t.status(), t.tier.as_deref(), &e).await;
                    }
                }
            }
        });
    }

    /// Drive one transaction from wherever it is to a terminal or waiting state; then, for a
    /// step of an action's bundle, start the next step or cancel the rest
    /// ([`Engine::after_step`]).
    async fn run(&self, id: &str) -> Result<()> {
        let tx = self.inner.store.get_tx(id).await?.ok_or_else(|| Error::new(ErrorCode::TX_NOT_FOUND, "transaction vanished"))?;
        let place = bundle::step_of(&tx);
        let ran = self.run_one(&tx, place.as_ref()).await;
        match place {
            Some(_) => ran.and(self.after_step(id).await),
            None => ran,
        }
    }

    /// [`Engine::run`] of `tx`, read at its start; `place`: its place in an action's bundle.
    async fn run_one(&self, tx: &TxRecord, place: Option<&bundle::StepOf>) -> Result<()> {
        let id = tx.id.as_str();
        if tx.tx_type == TxType::X402Payment && tx.status() != TxStatus::Submitted {
            return self.x402_orphaned(tx).await;
        }
        match tx.status() {
            TxStatus::Pending => {
                let decided = match place {
                    // A later step of a bundle: decided with its first step, it goes when the
                    // step before it is CONFIRMED.
                    Some(p) if p.step > 0 => self.follow(tx, p).await?,
                    _ => self.decide_in_turn(tx, place).await?,
                };
                match decided {
                    // Allowed at INSTANT/NOTIFY: execute now. DELAY and APPROVAL wait QUEUED for
                    // their gate; denied ones are CANCELLED with the reason.
                    Some(TxStatus::Executing) => self.execute(id).await?,
                    _ => return Ok(()),
                }
            }
            TxStatus::Executing => self.execute(id).await?,
            TxStatus::Submitted => {}
            _ => return Ok(()),
        }
        match self.inner.store.get_tx(id).await?.map(|t| t.status()) {
            Some(TxStatus::Submitted) => self.confirm(id).await,
            _ => Ok(()),
        }
    }

    /// An x402 payment row no request holds (its fetch ended with the process that ran it):
    /// nobody is left to send it, so it ends here. Unsigned, it is CANCELLED and its
    /// reservation released; signed (the authorization may have reached the server, which can
    /// settle it until it expires), it is FAILED and keeps its reservation.
    async fn x402_orphaned(&self, tx: &TxRecord) -> Result<()> {
        let from = tx.status();
        if !matches!(from, TxStatus::Pending | TxStatus::Queued | TxStatus::Executing) {
            return Ok(());
        }
        let signed = tx.signed_tx.is_some();
        let (to, message) = if signed {
            (TxStatus::Failed, "The x402 fetch that signed this payment was interrupted (daemon stopped); the server may still settle it until the authorization expires, so its amount stays reserved")
        } else {
            (TxStatus::Cancelled, "The x402 fetch that requested this payment was interrupted (daemon stopped) before anything was signed")
        };
        let patch = TxPatch {
            error: Some(message.into()),
            error_code: Some(ErrorCode::X402_SERVER_ERROR.as_str().into()),
            release_reservation: !signed,
            ..Default::default()
        };
        if self.inner.store.transition_tx(&tx.id, &[from], to, &patch, self.now()).await? {
            self.inner.metrics.transaction(to, tx.tier.as_deref());
        }
        Ok(())
    }

    /// FAILED without moving funds: the reservation is released and bytes that never landed
    /// are forgotten (their hash names nothing on chain, and an identical transaction built
    /// later with the same nonce would have the same hash).
    async fn fail(&self, id: &str, from: TxStatus, tier: Option<&str>, e: &Error) -> Result<()> {
        let patch = TxPatch {
            error: Some(e.message.clone()),
            error_code: Some(e.code.as_str().into()),
            release_reservation: true,
            forget_signed: true,
            ..Default::default()
        };
        if self.inner.store.transition_tx(id, &[from], TxStatus::Failed, &patch, self.now()).await? {
            self.inner.metrics.transaction(TxStatus::Failed, tier);
            tracing::info!(tx = %id, code = %e.code, "transaction failed: {}", e.message);
            self.autostop_after_failure(id).await?;
        }
        Ok(())
    }

    /// [`Engine::decide`] (policy and reservation, one store transaction) as one of the
    /// wallet's [`DECIDE_AHEAD`] transactions decided at once.
    async fn decide_in_turn(&self, tx: &TxRecord, place: Option<&bundle::StepOf>) -> Result<Option<TxStatus>> {
        let slot = self.nonce_slot(&tx.wallet_id, &tx.network);
        let _ahead = slot.deciding.acquire().await.map_err(Error::internal_from)?;
        match place {
            // An action's first step is decided for its whole bundle.
            Some(place) => self.decide_bundle(tx, place).await,
            None => self.decide(tx).await,
        }
    }

    fn nonce_slot(&self, wallet_id: &str, network: &str) -> Arc<NonceSlot> {
        let mut locks = self.inner.nonce_locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.entry((wallet_id.to_string(), network.to_string())).or_default().clone()
    }

    /// EXECUTING: build, simulate, sign, persist, broadcast (or finish a half-done broadcast).
    ///
    /// A transient node error before the broadcast (nonce, build, fee, simulation) does not
    /// fail the transaction: the attempt is repeated with exponential backoff and jitter (the
    /// nonce owner's lock is released meanwhile) until `[pipeline] transient_retry_sec` has
    /// passed on the engine's clock, then it fails with `CHAIN_ERROR` naming the network and
    /// the last error. Nothing was signed or sent by then. A stop leaves it EXECUTING for the
    /// next start.
    async fn execute(&self, id: &str) -> Result<()> {
        let started = self.now();
        let budget = i64::try_from(self.inner.config.pipeline.transient_retry_sec).unwrap_or(i64::MAX);
        let mut stop = self.inner.stop.subscribe();
        let mut attempts: u32 = 0;
        let mut alone = false;
        loop {
            let e = match self.execute_once(id, alone).await? {
                Attempt::Done => return Ok(()),
                Attempt::Again => {
                    alone = true;
                    continue;
                }
                Attempt::Transient(e) => e,
            };
            attempts += 1;
            let waited = self.now() - started;
            if waited >= budget {
                let Some(tx) = self.inner.store.get_tx(id).await? else { return Ok(()) };
                // Stored bytes here are ones the chain refused as stale (a rebuild was under way).
                let sent = if tx.signed_tx.is_none() { "nothing was signed or sent" } else { "its earlier signed bytes can never land" };
                let err = Error::new(
                    ErrorCode::CHAIN_ERROR,
                    format!(
                        "The {} node kept failing for {waited} s before the broadcast ({attempts} attempts); {sent}. Last error: {}",
                        tx.network, e.error.message
                    ),
                )
                .with_details(serde_json::json!({"network": tx.network, "attempts": attempts, "retriedSeconds": waited}));
                return self.fail(id, TxStatus::Executing, tx.tier.as_deref(), &err).await;
            }
            let wait = retry_backoff(attempts);
            tracing::warn!(tx = %id, attempts, "transient node error before the broadcast, retrying in {} ms: {}", wait.as_millis(), e.error.message);
            if !pause(&mut stop, wait).await {
                return Ok(());
            }
        }
    }

    /// One attempt of [`Engine::execute`]. A fresh transaction (nothing signed yet) is built
    /// and simulated first, outside the nonce owner's lock (fees, gas and the dry run do not
    /// depend on the nonce); under the lock it only gets its nonce, is signed, stored and
    /// broadcast, so concurrent sends of one wallet queue for that short part only. A fresh
    /// EVM transaction waits for the lock as [`Queued`], and whoever holds the lock handles
    /// every waiting one as one batch ([`Engine::run_batch`]); `alone` skips that (a
    /// transaction a batch handed back).
    async fn execute_once(&self, id: &str, alone: bool) -> Result<Attempt> {
        let tx = self.inner.store.get_tx(id).await?.ok_or_else(|| Error::new(ErrorCode::TX_NOT_FOUND, "transaction vanished"))?;
        if tx.status() != TxStatus::Executing {
            return Ok(Attempt::Done);
        }
        let network = Network::parse(&tx.network)?;
        let adapter = self.adapter(network);
        let tier = tx.tier.as_deref();
        let fail = |e: Error| async move { self.fail(id, TxStatus::Executing, tier, &e).await.map(|()| Attempt::Done) };
        let wallet = self.inner.store.get_wallet(&tx.wallet_id).await?.ok_or_else(|| crate::engine::wallet_not_found(&tx.wallet_id))?;
        if let Err(e) = ensure_can_sign(&wallet) {
            return fail(e).await;
        }
        let kind: TxKind = serde_json::from_str(&tx.request).map_err(|e| Error::internal(format!("stored request: {e}")))?;
        // Built and simulated before the lock (EVM: with a placeholder nonce, replaced under
        // the lock by `with_nonce`), a few of the wallet's transactions at a time.
        let slot = self.nonce_slot(&tx.wallet_id, &tx.network);
        let ahead = slot.building.acquire().await.map_err(Error::internal_from)?;
        let mut prepared = None;
        if tx.signed_tx.is_none() {
            let placeholder = (wallet.chain == Chain::Ethereum).then_some(0);
            match self.build_and_simulate(adapter.as_ref(), &wallet.public_key, &kind, placeholder).await {
                Ok(u) => prepared = Some(u),
                Err(Prepared::Transient(e)) => return Ok(Attempt::Transient(e)),
                Err(Prepared::Failed(e)) => return fail(e).await,
            }
        }
        // The permit of the first signing, before the lock (a rebuild takes another).
        let mut permit = match self.signing_permit(id, &wallet.id).await {
            Ok(p) => Some(p),
            Err(e) => return fail(e).await,
        };
        // No re-read under the lock: this runner is the only one of the transaction in the
        // process (`running`) and, on a shared store, among the daemons (its hold), so only it
        // stores signed bytes, and every write below is conditional on the transaction still
        // being EXECUTING.
        if !alone && wallet.chain == Chain::Ethereum && tx.signed_tx.is_none() && tx.nonce.is_none() {
            if let (Some(unsigned), Some(permit)) = (prepared.take(), permit.take()) {
                let (done, handled) = tokio::sync::oneshot::channel();
                slot.queue(Queued { id: id.to_string(), tier: tx.tier.clone(), unsigned, permit, done });
                drop(ahead);
                let mut handled = handled;
                // Wait for the owner's lock to run the next batch, or for a batch run by
                // whoever holds it to answer for this one, whichever comes first: a
                // transaction already broadcast goes on at once instead of queueing for the
                // lock behind the rest of its batch.
                let answer = tokio::select! {
                    biased;
                    answer = &mut handled => answer,
                    owner = slot.owner.lock() => {
                        let batch = slot.take_waiting();
                        if !batch.is_empty() {
                            match self.own_nonces(owner, &wallet, &tx.network).await {
                                Ok(mut owned) => self.run_batch(&wallet, &tx.network, &adapter, &mut owned, batch).await,
                                Err(e) => {
                                    // Alone, each meets the error and ends with its reason.
                                    tracing::warn!(wallet = %wallet.id, "cannot lock the wallet's nonces: {e}");
                                    for q in batch {
                                        let _ = q.done.send(Handled::Again);
                                    }
                                }
                            }
                        }
                        handled.await
                    }
                };
                return Ok(match answer {
                    Ok(Handled::Broadcast) => {
                        self.submitted(id, tier).await?;
                        Attempt::Done
                    }
                    Ok(Handled::Done) => Attempt::Done,
                    Ok(Handled::Again) | Err(_) => Attempt::Again,
                });
            }
        }
        drop(ahead);
        let mut owner = self.own_nonces(slot.owner.lock().await, &wallet, &tx.network).await?;
        // The nonce a rebuild may keep (see `assign_nonce`).
        let mut own_nonce = tx.nonce.and_then(|n| u64::try_from(n).ok());
        if let (Some(raw), Some(hash)) = (tx.signed_tx.clone(), tx.tx_hash.clone()) {
            // Signed before: never rebuild while these bytes could still land.
            match self.resume_broadcast(&tx, &wallet.public_key, adapter.as_ref(), SignedTx { raw, hash }).await? {
                Resumed::Done => return Ok(Attempt::Done),
                Resumed::Rebuild => {}
            }
        }
        for attempt in 0..2 {
            // Whatever happens below, the owner's remembered next nonce is only trusted
            // again after a fresh nonce was broadcast.
            let cached = owner.next.take();
            let (nonce, fresh) = match wallet.chain {
                Chain::Ethereum => match cached.filter(|_| own_nonce.is_none()) {
                    Some(n) => (Some(n), true),
                    None => {
                        let chain_next = match adapter.next_nonce(&wallet.public_key).await {
                            Ok(n) => n.unwrap_or(0),
                            Err(e) if e.class == ErrorClass::Transient => return Ok(Attempt::Transient(e)),
                            Err(e) => return fail(e.error).await,
                        };
                        let (n, kept_own) = self.assign_nonce(&tx.wallet_id, &tx.network, &tx.id, chain_next, own_nonce).await?;
                        (Some(n), !kept_own)
                    }
                },
                Chain::Solana => (None, false),
            };
            let renonced = match (prepared.take(), nonce) {
                (Some(u), Some(n)) if u.nonce == Some(n) => Some(u),
                (Some(u), Some(n)) => adapter.with_nonce(&u, n),
                (u, None) => u,
                (None, Some(_)) => None,
            };
            let unsigned = match renonced {
                Some(u) => u,
                None => match self.build_and_simulate(adapter.as_ref(), &wallet.public_key, &kind, nonce).await {
                    Ok(u) => u,
                    Err(Prepared::Transient(e)) => return Ok(Attempt::Transient(e)),
                    Err(Prepared::Failed(e)) => return fail(e).await,
                },
            };
            let permit = match permit.take() {
                Some(p) => p,
                None => match self.signing_permit(id, &wallet.id).await {
                    Ok(p) => p,
                    Err(e) => return fail(e).await,
                },
            };
            let (a, u) = (adapter.clone(), unsigned.clone());
            let signed = match self.with_signing_key(permit, move |key| a.sign(&u, key)).await {
                Ok(s) => s,
                Err(e) => return fail(e).await,
            };
            // Durable before the broadcast: the bytes, their hash and the nonce. From here on
            // the nonce is held by these bytes (`assign_nonce` skips it) until they land or
            // the transaction ends.
            let patch = signed_bytes(nonce, &unsigned, &signed)?;
            if !self.inner.store.patch_tx(id, TxStatus::Executing, &patch, self.now()).await? {
                return Ok(Attempt::Done);
            }
            tracing::debug!(tx = %id, "signed and stored");
            match self.broadcast_with_retry(adapter.as_ref(), &signed).await {
                Ok(()) => {
                    tracing::debug!(tx = %id, "broadcast");
                    if fresh {
                        owner.next = nonce.map(|n| n + 1);
                    }
                    // The bytes are stored and held (EXECUTING with a nonce): the next
                    // owner of the lock need not wait for this write.
                    drop(owner);
                    self.submitted(id, tx.tier.as_deref()).await?;
                    return Ok(Attempt::Done);
                }
                Err(e) if e.class == ErrorClass::Stale && attempt == 0 => {
                    // Expired blockhash / nonce already used: these bytes can never land; build again.
                    tracing::info!(tx = %id, "stale transaction, rebuilding once: {}", e.error.message);
                    own_nonce = nonce;
                    continue;
                }
                Err(e) if e.class == ErrorClass::Transient => {
                    self.keep_for_recheck(id, &e).await?;
                    return Ok(Attempt::Done);
                }
                Err(e) => return fail(e.error).await,
            }
        }
        fail(Error::new(ErrorCode::CHAIN_ERROR, "transaction went stale twice")).await
    }

    /// The nonce owner's lock `owner` with, for an EVM wallet on a store shared by several
    /// daemons, the store-wide lock of the same nonces ([`Replicas::lock_nonces`]), held as
    /// long as the owner's. A next nonce the owner remembers is forgotten if another daemon
    /// held the nonces since (it is then worked out again from the chain and the store).
    async fn own_nonces<'a>(&self, mut owner: tokio::sync::MutexGuard<'a, NonceOwner>, wallet: &WalletRecord, network: &str) -> Result<Owned<'a>> {
        let lease = if wallet.chain == Chain::Ethereum && self.inner.store.shared() {
            let lease = Replicas::lock_nonces(self.inner.store.as_ref(), &wallet.id, network).await?;
            if !lease.trusted {
                owner.next = None;
            }
            Some(lease)
        } else {
            None
        };
        Ok(Owned { owner, _lease: lease })
    }

    /// Build `kind` from `from` with `nonce` and simulate it; a failed simulation or a
    /// permanent node error fails the transaction, a transient one is retried.
    async fn build_and_simulate(
        &self,
        adapter: &dyn ChainAdapter,
        from: &str,
        kind: &TxKind,
        nonce: Option<u64>,
    ) -> std::result::Result<crate::chain::UnsignedTx, Prepared> {
        let unsigned = match adapter.build(from, kind, nonce).await {
            Ok(u) => u,
            Err(e) if e.class == ErrorClass::Transient => return Err(Prepared::Transient(e)),
            Err(e) => return Err(Prepared::Failed(e.error)),
        };
        if unsigned.dry_run_passed {
            return Ok(unsigned);
        }
        match adapter.simulate(from, &unsigned).await {
            Ok(sim) if sim.success => Ok(unsigned),
            Ok(sim) => {
                let reason = sim.error.unwrap_or_else(|| "simulation failed".into());
                Err(Prepared::Failed(
                    Error::new(ErrorCode::SIMULATION_FAILED, format!("Simulation failed: {reason}")).with_details(serde_json::json!({"logs": sim.logs})),
                ))
            }
            Err(e) if e.class == ErrorClass::Transient => Err(Prepared::Transient(e)),
            Err(e) => Err(Prepared::Failed(e.error)),
        }
    }

    /// The nonce of `tx` (EVM), under the nonce owner's lock, and whether it is `own`. A
    /// rebuild keeps `own` (the nonce its earlier bytes used) while the chain has not used
    /// it: the new bytes replace the old ones, so at most one of them can land. Otherwise the
    /// next free nonce: the highest of the chain's pending count, one past the highest nonce
    /// the store committed as broadcast, and one past every nonce another unfinished
    /// transaction of the wallet holds with stored signed bytes. The last one matters after
    /// a restart: a transaction signed and stored but killed before (or while) it was
    /// broadcast holds its nonce although neither the chain nor the committed nonces know it
    /// yet. (The owner remembers the next nonce after a fresh one it broadcast, see
    /// [`NonceOwner`], and skips this while nothing else could have moved it.)
    async fn assign_nonce(&self, wallet_id: &str, network: &str, tx_id: &str, chain_next: u64, own: Option<u64>) -> Result<(u64, bool)> {
        let held = self.held_nonces(wallet_id, network, tx_id).await?;
        if let Some(n) = own.filter(|n| *n >= chain_next && !held.contains(n)) {
            return Ok((n, true));
        }
        let committed = self.inner.store.next_nonce(wallet_id, network).await?.unwrap_or(0);
        let past_held = held.iter().max().map_or(0, |n| n + 1);
        Ok((chain_next.max(committed).max(past_held), false))
    }

    /// The nonces of (wallet, network) held by stored bytes that may still land: the signed
    /// bytes of unfinished transactions other than `tx_id`, and the gap fillers.
    async fn held_nonces(&self, wallet_id: &str, network: &str, tx_id: &str) -> Result<Vec<u64>> {
        let mut held: Vec<u64> = self
            .inner
            .store
            .txs_in_status(&[TxStatus::Executing, TxStatus::Submitted])
            .await?
            .into_iter()
            .filter(|t| t.id != tx_id && t.wallet_id == wallet_id && t.network == network && t.signed_tx.is_some())
            .filter_map(|t| t.nonce.and_then(|n| u64::try_from(n).ok()))
            .collect();
        held.extend(self.gap_fillers().await?.into_iter().filter(|f| f.wallet_id == wallet_id && f.network == network).map(|f| f.nonce));
        Ok(held)
    }

    /// The nonce owner's turn for the fresh EVM transactions waiting at its lock (`batch`, in
    /// the order they came): consecutive nonces from the owner's next one, one key decryption
    /// for all the signatures, one store write for all the signed bytes, then the broadcasts
    /// one after the other in nonce order (the node sees no gap). The first broadcast that
    /// does not go through ends the batch: that transaction is handled as it would be alone
    /// (stale bytes: run again, which rebuilds them; a transient error: the bytes kept for the
    /// background check; refused: FAILED), and the ones after it, never broadcast, forget
    /// their bytes and run again alone, so no nonce is skipped. Each answer is sent as soon as
    /// it is known; an internal error drops the unanswered ones, which then run again alone
    /// (resuming from whatever the store holds, as after a crash).
    async fn run_batch(&self, wallet: &WalletRecord, network: &str, adapter: &Arc<dyn ChainAdapter>, owner: &mut NonceOwner, batch: Vec<Queued>) {
        let n = batch.len();
        if let Err(e) = self.try_batch(wallet, network, adapter, owner, batch).await {
            owner.next = None;
            tracing::error!(wallet = %wallet.id, "batch of {n} transactions: {e}");
        }
    }

    async fn try_batch(&self, wallet: &WalletRecord, network: &str, adapter: &Arc<dyn ChainAdapter>, owner: &mut NonceOwner, batch: Vec<Queued>) -> Result<()> {
        struct Job {
            id: String,
            tier: Option<String>,
            nonce: u64,
            unsigned: crate::chain::UnsignedTx,
            done: tokio::sync::oneshot::Sender<Handled>,
        }
        let again = |rest: Vec<tokio::sync::oneshot::Sender<Handled>>| {
            for d in rest {
                let _ = d.send(Handled::Again);
            }
        };
        let base = match owner.next.take() {
            Some(n) => n,
            None => match adapter.next_nonce(&wallet.public_key).await {
                Ok(chain_next) => self.assign_nonce(&wallet.id, network, "", chain_next.unwrap_or(0), None).await?.0,
                // Alone, each retries a transient error or fails with the reason.
                Err(_) => {
                    again(batch.into_iter().map(|q| q.done).collect());
                    return Ok(());
                }
            },
        };
        let (mut jobs, mut permits, mut rest) = (vec![], vec![], vec![]);
        for q in batch {
            let nonce = base + jobs.len() as u64;
            let renonced = if q.unsigned.nonce == Some(nonce) { Some(q.unsigned) } else { adapter.with_nonce(&q.unsigned, nonce) };
            match renonced.filter(|_| rest.is_empty()) {
                Some(unsigned) => {
                    permits.push(q.permit);
                    jobs.push(Job { id: q.id, tier: q.tier, nonce, unsigned, done: q.done });
                }
                None => rest.push(q.done),
            }
        }
        again(rest);
        if jobs.is_empty() {
            return Ok(());
        }
        let (a, unsigned) = (adapter.clone(), jobs.iter().map(|j| j.unsigned.clone()).collect::<Vec<_>>());
        let signed = match self.with_signing_keys(permits, move |key| unsigned.iter().map(|u| a.sign(u, key)).collect::<Result<Vec<_>>>()).await {
            Ok(s) => s,
            Err(e) => {
                for j in jobs {
                    self.fail(&j.id, TxStatus::Executing, j.tier.as_deref(), &e).await?;
                    let _ = j.done.send(Handled::Done);
                }
                return Ok(());
            }
        };
        // Durable before any broadcast: every nonce is held by its stored bytes from here on.
        let mut patches = vec![];
        for (j, s) in jobs.iter().zip(&signed) {
            patches.push((j.id.clone(), signed_bytes(Some(j.nonce), &j.unsigned, s)?));
        }
        let gone = self.inner.store.patch_txs(TxStatus::Executing, &patches, self.now()).await?;
        if !gone.is_empty() {
            // Some ended meanwhile: nothing was written; the others run again alone.
            for j in jobs {
                let _ = j.done.send(if gone.contains(&j.id) { Handled::Done } else { Handled::Again });
            }
            return Ok(());
        }
        let mut jobs = jobs.into_iter().zip(signed);
        let mut sent = 0u64;
        while let Some((j, s)) = jobs.next() {
            let e = match self.broadcast_with_retry(adapter.as_ref(), &s).await {
                Ok(()) => {
                    sent += 1;
                    let _ = j.done.send(Handled::Broadcast);
                    continue;
                }
                Err(e) => e,
            };
            let handled = match e.class {
                ErrorClass::Stale => Handled::Again,
                ErrorClass::Transient => {
                    self.keep_for_recheck(&j.id, &e).await?;
                    Handled::Done
                }
                _ => {
                    self.fail(&j.id, TxStatus::Executing, j.tier.as_deref(), &e.error).await?;
                    Handled::Done
                }
            };
            let _ = j.done.send(handled);
            let forget = TxPatch { forget_signed: true, ..Default::default() };
            let mut rest = vec![];
            for (j, _) in jobs {
                self.inner.store.patch_tx(&j.id, TxStatus::Executing, &forget, self.now()).await?;
                rest.push(j.done);
            }
            again(rest);
            return Ok(());
        }
        owner.next = Some(base + sent);
        Ok(())
    }

    /// A broadcast no endpoint confirmed: the node may or may not have the bytes. They are
    /// kept, the nonce counts as used, and the background check re-broadcasts the same bytes.
    async fn keep_for_recheck(&self, id: &str, e: &crate::chain::ChainError) -> Result<()> {
        self.inner.store.patch_tx(id, TxStatus::Executing, &TxPatch { commit_nonce: true, ..Default::default() }, self.now()).await?;
        tracing::warn!(tx = %id, "broadcast not confirmed by any endpoint, will retry the same bytes: {}", e.error.message);
        Ok(())
    }

    async fn broadcast_with_retry(&self, adapter: &dyn ChainAdapter, signed: &SignedTx) -> std::result::Result<(), crate::chain::ChainError> {
        let mut last = None;
        for (i, wait) in [0u64, 500, 1000].into_iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            match adapter.broadcast(signed).await {
                Ok(_) => return Ok(()),
                Err(e) if e.class == ErrorClass::Transient => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| crate::chain::ChainError::transient("broadcast failed")))
    }

    /// A transaction signed earlier (crash, or broadcast unconfirmed): ask the chain first.
    /// Bytes the chain knows are SUBMITTED; bytes it does not know are sent again; bytes it
    /// refuses as stale (EVM: their nonce was used by another transaction) and still does
    /// not know can never land: they are rebuilt ([`Resumed::Rebuild`]), never failed.
    async fn resume_broadcast(&self, tx: &TxRecord, from: &str, adapter: &dyn ChainAdapter, signed: SignedTx) -> Result<Resumed> {
        match adapter.status(&signed.hash).await {
            Ok(ChainTxStatus::NotFound) => {}
            Ok(_) => {
                self.submitted(&tx.id, tx.tier.as_deref()).await?;
                return Ok(Resumed::Done);
            }
            Err(e) => {
                tracing::warn!(tx = %tx.id, "status check failed, will retry: {}", e.error.message);
                return Ok(Resumed::Done);
            }
        }
        let unsigned: Option<crate::chain::UnsignedTx> = tx.unsigned_tx.as_deref().and_then(|b| serde_json::from_slice(b).ok());
        if let Some(u) = &unsigned {
            if let Ok(false) = adapter.still_valid(u).await {
                // Its blockhash expired and the chain never saw it: it can never land.
                let e = Error::new(ErrorCode::TRANSACTION_TIMEOUT, "The signed transaction expired before it landed; nothing was sent");
                let patch =
                    TxPatch { error: Some(e.message.clone()), error_code: Some(e.code.as_str().into()), release_reservation: true, ..Default::default() };
                if self.inner.store.transition_tx(&tx.id, &[TxStatus::Executing], TxStatus::Failed, &patch, self.now()).await? {
                    self.inner.metrics.transaction(TxStatus::Failed, tx.tier.as_deref());
                }
                return Ok(Resumed::Done);
            }
        }
        match self.broadcast_with_retry(adapter, &signed).await {
            Ok(()) => self.submitted(&tx.id, tx.tier.as_deref()).await?,
            Err(e) if e.class == ErrorClass::Transient => {}
            // Refused for good: ask the chain whether these very bytes landed meanwhile.
            Err(e) => match adapter.status(&signed.hash).await {
                Ok(ChainTxStatus::NotFound) if e.class == ErrorClass::Stale => {
                    tracing::warn!(tx = %tx.id, nonce = ?tx.nonce, "the stored bytes can never land ({}): rebuilding", e.error.message);
                    return Ok(Resumed::Rebuild);
                }
                Ok(ChainTxStatus::NotFound) => {
                    // Its nonce is free; if a later one is in flight, it must be used.
                    if let Some(nonce) = tx.nonce.and_then(|n| u64::try_from(n).ok()) {
                        if self.held_nonces(&tx.wallet_id, &tx.network, &tx.id).await?.iter().any(|h| *h > nonce) {
                            self.fill_gap(tx, from, nonce).await?;
                        }
                    }
                    self.fail(&tx.id, TxStatus::Executing, tx.tier.as_deref(), &e.error).await?
                }
                Ok(_) => self.submitted(&tx.id, tx.tier.as_deref()).await?,
                Err(s) => tracing::warn!(tx = %tx.id, "status check after a refused re-broadcast failed, will retry: {}", s.error.message),
            },
        }
        Ok(Resumed::Done)
    }

    async fn submitted(&self, id: &str, tier: Option<&str>) -> Result<()> {
        let patch = TxPatch { commit_nonce: true, ..Default::default() };
        if self.inner.store.transition_tx(id, &[TxStatus::Executing], TxStatus::Submitted, &patch, self.now()).await? {
            self.inner.metrics.transaction(TxStatus::Submitted, tier);
        }
        Ok(())
    }

    /// SUBMITTED: wait for the chain's verdict up to [`CONFIRM_WAIT`]; a timeout leaves it SUBMITTED.
    async fn confirm(&self, id: &str) -> Result<()> {
        let tx = self.inner.store.get_tx(id).await?.ok_or_else(|| Error::new(ErrorCode::TX_NOT_FOUND, "transaction vanished"))?;
        let Some(hash) = tx.tx_hash.clone() else { return Ok(()) };
        let network = Network::parse(&tx.network)?;
        let adapter = self.adapter(network);
        let deadline = tokio::time::Instant::now() + CONFIRM_WAIT;
        // Poll fast at first (local and fast chains), then back off to every 2 s.
        let mut wait = Duration::from_millis(20);
        // Since when the node has not known the bytes (see `RESEND_UNKNOWN_AFTER`).
        let mut unknown_since: Option<tokio::time::Instant> = None;
        loop {
            let turn = self.inner.chains.status_turn(network).await;
            let status = adapter.status(&hash).await;
            drop(turn);
            match status {
                Ok(ChainTxStatus::Confirmed { .. }) => {
                    tracing::debug!(tx = %id, "confirmed");
                    let patch = TxPatch { executed_at: Some(self.now()), ..Default::default() };
                    if self.inner.store.transition_tx(id, &[TxStatus::Submitted], TxStatus::Confirmed, &patch, self.now()).await? {
                        self.inner.metrics.transaction(TxStatus::Confirmed, tx.tier.as_deref());
                    }
                    return Ok(());
                }
                Ok(ChainTxStatus::Failed { reason }) => {
                    let e = Error::new(ErrorCode::TRANSACTION_REVERTED, format!("Transaction failed on chain: {reason}"));
                    let patch = TxPatch { error: Some(e.message.clone()), error_code: Some(e.code.as_str().into()), ..Default::default() };
                    if self.inner.store.transition_tx(id, &[TxStatus::Submitted], TxStatus::Failed, &patch, self.now()).await? {
                        self.inner.metrics.transaction(TxStatus::Failed, tx.tier.as_deref());
                        self.autostop_after_failure(id).await?;
                    }
                    return Ok(());
                }
                Ok(ChainTxStatus::NotFound) => {
                    let since = *unknown_since.get_or_insert_with(tokio::time::Instant::now);
                    if let (true, Some(raw)) = (since.elapsed() >= RESEND_UNKNOWN_AFTER, tx.signed_tx.clone()) {
                        unknown_since = None;
                        match self.broadcast_with_retry(adapter.as_ref(), &SignedTx { raw, hash: hash.clone() }).await {
                            Ok(()) => tracing::warn!(tx = %id, "the node had lost the submitted bytes: sent the same bytes again"),
                            Err(e) => tracing::warn!(tx = %id, "the node lost the submitted bytes and refused them again: {}", e.error.message),
                        }
                    }
                }
                Ok(_) => unknown_since = None,
                Err(e) => tracing::debug!(tx = %id, "status check: {}", e.error.message),
            }
            // Stopping: it stays SUBMITTED for the next start's check.
            if tokio::time::Instant::now() >= deadline || *self.inner.stop.borrow() {
                return Ok(());
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 3 / 2).min(Duration::from_secs(2));
        }
    }

    /// Resume every unfinished transaction (start-up), and keep re-checking SUBMITTED and
    /// half-broadcast ones in the background. DELAYs that ran out while nothing was running
    /// get their start-up grace first ([`Engine::defer_overdue_delays`]).
    pub async fn recover(&self) -> Result<usize> {
        match self.defer_overdue_delays().await {
            Ok(0) => {}
            Ok(n) => tracing::warn!("{n} DELAY transactions ran out while the daemon was down: they execute after the start-up grace"),
            Err(e) => tracing::error!("DELAY grace check failed: {e}"),
        }
        let open = self.inner.store.txs_in_status(&[TxStatus::Pending, TxStatus::Executing, TxStatus::Submitted]).await?;
        let n = open.len();
        for tx in open {
            self.spawn_run(tx.id);
        }
        Ok(n)
    }

    /// Start-up: a DELAY whose delay ran out while no daemon was running does not execute at
    /// once (the owner, who may have counted on cancelling it, had no daemon to cancel it
    /// with): its `executeAfter` moves to `security.delay_grace_after_start_sec` from now
    /// (the original deadline is kept as `delayExpiredAt`), announced by a `TX_DELAY_GRACE`
    /// event (audit log, notification channels) with the new execute time. It can be
    /// cancelled until then like any QUEUED transaction. Run before the queue's clock starts.
    pub async fn defer_overdue_delays(&self) -> Result<usize> {
        let grace = self.inner.config.security.delay_grace_after_start_sec;
        if grace <= 0 {
            return Ok(0);
        }
        let now = self.now();
        let until = now + grace;
        let mut deferred = 0;
        for tx in self.inner.store.txs_in_status(&[TxStatus::Queued]).await? {
            let mut meta: serde_json::Value = tx.metadata.as_deref().and_then(|m| serde_json::from_str(m).ok()).unwrap_or_default();
            let Some(due) = meta.get("executeAfter").and_then(|v| v.as_i64()).filter(|due| *due <= now) else {
                continue;
            };
            let expired_at = meta.get("delayExpiredAt").and_then(|v| v.as_i64()).unwrap_or(due);
            meta["executeAfter"] = until.into();
            meta["delayExpiredAt"] = expired_at.into();
            let patch = TxPatch { metadata: Some(meta.to_string()), ..Default::default() };
            if self.inner.store.patch_tx(&tx.id, TxStatus::Queued, &patch, now).await? {
                let details = serde_json::json!({"executeAfter": until, "delayExpiredAt": expired_at, "graceSeconds": grace});
                self.audit_tx("TX_DELAY_GRACE", "system", &tx.wallet_id, &tx.id, Some(details), "warning").await;
                deferred += 1;
            }
        }
        Ok(deferred)
    }

    /// The tier gate's clock: DELAY transactions whose delay is over go to EXECUTING;
    /// APPROVAL transactions whose approval window closed become EXPIRED (reservation
    /// released). Returns how many moved.
    pub async fn process_queue(&self) -> Result<usize> {
        let now = self.now();
        let mut moved = 0;
        for tx in self.inner.store.txs_in_status(&[TxStatus::Queued]).await? {
            // An x402 payment's DELAY is waited out by its own request (or ends with it).
            if tx.tx_type == TxType::X402Payment {
                if let Some(_held) = self.claim(&tx.id).await? {
                    self.x402_orphaned(&tx).await?;
                }
                continue;
            }
            let meta: serde_json::Value = tx.metadata.as_deref().and_then(|m| serde_json::from_str(m).ok()).unwrap_or_default();
            if let Some(due) = meta.get("executeAfter").and_then(|v| v.as_i64()) {
                if due <= now && self.inner.store.transition_tx(&tx.id, &[TxStatus::Queued], TxStatus::Executing, &TxPatch::default(), now).await? {
                    self.inner.metrics.transaction(TxStatus::Executing, tx.tier.as_deref());
                    moved += 1;
                    self.spawn_run(tx.id);
                }
            } else if let Some(exp) = meta.get("approvalExpiresAt").and_then(|v| v.as_i64()) {
                if exp <= now {
                    let patch = TxPatch {
                        error: Some("The owner did not approve in time".into()),
                        error_code: Some(ErrorCode::APPROVAL_TIMEOUT.as_str().into()),
                        release_reservation: true,
                        ..Default::default()
                    };
                    if self.inner.store.transition_tx(&tx.id, &[TxStatus::Queued], TxStatus::Expired, &patch, now).await? {
                        self.inner.metrics.transaction(TxStatus::Expired, tx.tier.as_deref());
                        moved += 1;
                    }
                }
            }
        }
        Ok(moved)
    }

    /// Cancel a QUEUED transaction (a DELAY waiting out its delay, or an APPROVAL waiting
    /// for the owner); its reservation is released.
    pub async fn cancel_transaction(&self, caller: &crate::Caller<'_>, id: &str) -> Result<crate::api::types::TxCancelResponse> {
        let view = self.get_transaction(caller, id).await?;
        let patch = TxPatch { error: Some("Cancelled".into()), release_reservation: true, ..Default::default() };
        if !self.inner.store.transition_tx(id, &[TxStatus::Queued], TxStatus::Cancelled, &patch, self.now()).await? {
            return Err(Error::new(ErrorCode::TX_ALREADY_PROCESSED, format!("Only QUEUED transactions can be cancelled (this one is {})", view.status)));
        }
        self.inner.metrics.transaction(TxStatus::Cancelled, view.tier.as_deref());
        Ok(crate::api::types::TxCancelResponse { id: id.to_string(), status: "CANCELLED".into() })
    }

    /// Background loops (until [`Engine::stop_workers`]): the tier gate's clock, the
    /// notification dispatcher with the AutoStop idle check, and the re-check of unfinished
    /// transactions. Each finishes its current round when told to stop.
    pub fn start_workers(&self) {
        let mut handles = vec![];
        let queue = self.clone();
        let mut stop = self.inner.stop.subscribe();
        handles.push(tokio::spawn(async move {
            while pause(&mut stop, Duration::from_secs(1)).await {
                if let Err(e) = queue.process_queue().await {
                    tracing::warn!("queue check failed: {e}");
                }
            }
        }));
        let notifier = self.clone();
        let mut stop = self.inner.stop.subscribe();
        handles.push(tokio::spawn(async move {
            let mut last_idle_check = tokio::time::Instant::now();
            loop {
                // One daemon of those sharing the store delivers the events (the lead passes
                // on when it dies; the batch it delivered without moving the cursor is
                // delivered again: at least once).
                if !notifier.leads().await {
                    if !pause(&mut stop, Duration::from_secs(1)).await {
                        break;
                    }
                    continue;
                }
                let wait = match notifier.dispatch_events().await {
                    Ok(0) => Duration::from_millis(250),
                    Ok(_) => Duration::ZERO,
                    Err(e) => {
                        tracing::warn!("notification dispatch failed: {e}");
                        Duration::from_secs(1)
                    }
                };
                if last_idle_check.elapsed() >= Duration::from_secs(60) {
                    last_idle_check = tokio::time::Instant::now();
                    if let Err(e) = notifier.autostop_idle_check().await {
                        tracing::warn!("idle check failed: {e}");
                    }
                }
                if !pause(&mut stop, wait).await {
                    break;
                }
            }
        }));
        let engine = self.clone();
        let mut stop = self.inner.stop.subscribe();
        handles.push(tokio::spawn(async move {
            while pause(&mut stop, RECHECK_EVERY).await {
                // PENDING too: a send whose daemon died before deciding it (several daemons on
                // one store; alone, a daemon resumes its own at start-up).
                match engine.inner.store.txs_in_status(&[TxStatus::Pending, TxStatus::Executing, TxStatus::Submitted]).await {
                    Ok(txs) => {
                        for tx in txs {
                            // Only pick up work no runner holds (stale for a while).
                            if engine.now() - tx.updated_at >= RECHECK_EVERY.as_secs() as i64 {
                                engine.spawn_run(tx.id);
                            }
                        }
                    }
                    Err(e) => tracing::warn!("recheck failed: {e}"),
                }
                if let Err(e) = engine.recheck_gap_fillers().await {
                    tracing::warn!("gap filler check failed: {e}");
                }
                if !engine.leads().await {
                    continue;
                }
                match engine.cleanup_expired_sessions().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!("session-cleanup: deleted {n} expired sessions"),
                    Err(e) => tracing::warn!("session-cleanup failed: {e}"),
                }
            }
        }));
        if self.inner.store.shared() {
            let engine = self.clone();
            let mut stop = self.inner.stop.subscribe();
            handles.push(tokio::spawn(async move {
                while pause(&mut stop, SHARED_REFRESH).await {
                    if let Err(e) = engine.refresh_shared().await {
                        tracing::warn!("cannot read the shared state from the store: {e}");
                    }
                }
            }));
        }
        self.inner.workers.lock().unwrap_or_else(|e| e.into_inner()).extend(handles);
    }

    /// Whether this daemon leads the one-for-all background work ([`Replicas::lead`]):
    /// notifications, webhooks, the channels' outboxes, the Telegram bot, the idle check, the
    /// session cleanup, the sign requests of a daemon that died. A store error means not now.
    pub(crate) async fn leads(&self) -> bool {
        Replicas::lead(self.inner.store.as_ref()).await.unwrap_or_else(|e| {
            tracing::warn!("cannot ask the store for the lead: {e}");
            false
        })
    }

    /// On a store shared by several daemons, what the others change and this one must follow
    /// within [`SHARED_REFRESH`]: the kill switch, the JWT secrets. (Sessions, policies,
    /// owner nonces and the queue are read from the store on every use.) A master password
    /// changed through another daemon ends this one (exit code 75): the shared key files are
    /// re-encrypted under a password it does not have, so it must be restarted with the new one.
    async fn refresh_shared(&self) -> Result<()> {
        self.inner.kill_switch.refresh().await?;
        self.inner.sessions.reload_jwt().await?;
        if self.inner.master.changed_elsewhere().await? {
            tracing::error!("the master password was changed through another daemon on this database; exiting: restart this one with the new password");
            eprintln!("waiaas: the master password was changed through another daemon; exiting (75)");
            std::process::exit(75);
        }
        Ok(())
    }

    /// Stop the background workers (each finishes its round) and give transactions a runner
    /// is driving until `deadline` to reach a resting state; whatever is still running then
    /// is left as it is (every step is durable: the next start resumes it). Returns how many
    /// transaction runners were still busy at the deadline.
    pub async fn stop_workers(&self, deadline: tokio::time::Instant) -> usize {
        let _ = self.inner.stop.send(true);
        let handles: Vec<_> = std::mem::take(&mut *self.inner.workers.lock().unwrap_or_else(|e| e.into_inner()));
        for mut h in handles {
            if tokio::time::timeout_at(deadline, &mut h).await.is_err() {
                h.abort();
            }
        }
        loop {
            let busy = self.inner.running.lock().unwrap_or_else(|e| e.into_inner()).len();
            if busy == 0 || tokio::time::Instant::now() >= deadline {
                return busy;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A transaction's place in the engine's `running` set, taken by [`Engine::admit_send`]: given
/// back on drop unless its runner [`Admitted::start`]s (an idempotent repeat, a failed insert).
pub(crate) struct Admitted {
    engine: Engine,
    id: Option<String>,
}

impl Admitted {
    pub(crate) fn start(mut self) {
        if let Some(id) = self.id.take() {
            self.engine.spawn_runner(id);
        }
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.engine.inner.running.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
        }
    }
}

/// Why a transaction could not be built and simulated.
enum Prepared {
    /// A transient node error: try again later.
    Transient(crate::chain::ChainError),
    /// It can never go through as it is: fail it with this error.
    Failed(Error),
}

/// What one attempt of [`Engine::execute`] left to do.
/// The patch that stores signed bytes before their broadcast: from then on `nonce` is held by
/// these bytes (`assign_nonce` skips it) until they land or the transaction ends.
fn signed_bytes(nonce: Option<u64>, unsigned: &crate::chain::UnsignedTx, signed: &SignedTx) -> Result<TxPatch> {
    Ok(TxPatch {
        nonce: nonce.and_then(|n| i64::try_from(n).ok()),
        unsigned_tx: Some(serde_json::to_vec(unsigned).map_err(Error::internal_from)?),
        signed_tx: Some(signed.raw.clone()),
        tx_hash: Some(signed.hash.clone()),
        ..Default::default()
    })
}

enum Attempt {
    /// Nothing: the transaction is SUBMITTED, FAILED, or left to the background check.
    Done,
    /// A batch handed it back ([`Handled::Again`]): run it again on its own.
    Again,
    /// A transient node error before anything was signed and broadcast: try again later.
    Transient(crate::chain::ChainError),
}

/// What resuming a stored signed transaction found.
enum Resumed {
    /// Nothing more to do now (SUBMITTED, finished, or left to the background check).
    Done,
    /// The stored bytes can never land: build the transaction again.
    Rebuild,
}

/// The wait before retry `attempt` (1, 2, …) of a transient error before the broadcast:
/// 100 ms doubling up to 10 s, each drawn at random from its upper half (jitter, so that
/// many transactions waiting for one node do not come back in step).
fn retry_backoff(attempt: u32) -> Duration {
    use rand::Rng;
    let ceiling = Duration::from_millis(100).saturating_mul(1u32 << attempt.saturating_sub(1).min(7)).min(Duration::from_secs(10));
    let ms = u64::try_from(ceiling.as_millis()).unwrap_or(10_000);
    Duration::from_millis(rand::thread_rng().gen_range(ms / 2..=ms))
}

/// Wait `d` unless told to stop first; `false` once stopping.
pub(crate) async fn pause(stop: &mut tokio::sync::watch::Receiver<bool>, d: Duration) -> bool {
    if *stop.borrow() {
        return false;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => !*stop.borrow(),
        _ = stop.changed() => false,
    }
}

impl TxType {
    /// Native decimals apply to the amount of these types.
    pub fn amount_is_native(self) -> bool {
        matches!(self, TxType::Transfer | TxType::ContractCall | TxType::Batch)
    }
}

/// The nonce owner of a (wallet, network), locked ([`Engine::own_nonces`]).
struct Owned<'a> {
    owner: tokio::sync::MutexGuard<'a, NonceOwner>,
    _lease: Option<NonceLease>,
}

impl std::ops::Deref for Owned<'_> {
    type Target = NonceOwner;
    fn deref(&self) -> &NonceOwner {
        &self.owner
    }
}

impl std::ops::DerefMut for Owned<'_> {
    fn deref_mut(&mut self) -> &mut NonceOwner {
        &mut self.owner
    }
}

/// A row held by the runner or the request that drives it ([`Engine::claim`]): its place in
/// the engine's `running` set and, on a shared store, its hold there (`held`); both given back on drop.
pub(crate) struct Claim {
    engine: Engine,
    id: String,
    held: bool,
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.engine.inner.running.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.id);
        if self.held {
            let (store, id) = (self.engine.inner.store.clone(), std::mem::take(&mut self.id));
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    if let Err(e) = Replicas::release_tx(store.as_ref(), &id).await {
                        tracing::warn!(tx = %id, "cannot give back the transaction's hold: {e}");
                    }
                });
            }
        }
    }
}
