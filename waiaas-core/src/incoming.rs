//! The incoming transaction monitor (the seed's third layer, beside the kill switch): what
//! arrives in the wallets whose `monitorIncoming` is on, while `[incoming] enabled` is true.
//!
//! One watcher per network shared by all its monitored wallets, on the daemon that leads
//! ([`Replicas::lead`](crate::store::Replicas::lead)): every `poll_interval` seconds it asks
//! the node for the head and scans the blocks after the wallets' cursors (EVM: native
//! transfers and ERC-20 `Transfer` logs; Solana: SOL and SPL / Token-2022 transfers), at most
//! [`scan_window`] a round. A durable cursor per (network, wallet), the last block
//! scanned for it, lives in the key/value store (`incoming.cursors.<network>`, one JSON
//! object per network): it moves only after the round's records are stored, and each
//! transfer is stored once (unique by transaction, log index and wallet), so a daemon that
//! died mid-round scans the range again and records nothing twice. A wallet seen for the
//! first time starts at the head. A daemon that was down for more than [`scan_window`]
//! allows skips the older ones, with an `INCOMING_TX_RANGE_SKIPPED` audit event naming them.
//! Records are `DETECTED`, then `CONFIRMED` once their block is `confirmations` deep; those
//! detected more than `retention_days` ago (default 90) are deleted, once an hour.
//!
//! Each new record is checked for what looks like an attack ([`Engine::suspicious`]: dust,
//! a token the registry does not list, an amount far above the wallet's usual inflow) and
//! announced by one audit event, written in the same store write as the record (so neither
//! is ever stored without the other), which the notification channels and webhooks deliver:
//! `TX_INCOMING_SUSPICIOUS`, or `TX_INCOMING` at most once per wallet per cooldown; none for
//! what arrives while the kill switch is engaged.
//!
//! A wallet is watched on its default network: EVM by block scan, Solana by the signatures
//! of the wallet and its token accounts ([`ChainAdapter::incoming`]). Polling by default; an
//! EVM network with `wss_url_<network>` also follows its new blocks over a WebSocket, and each
//! wakes the monitor before its poll is due.

use crate::api::types::{
    AdminIncomingList, AdminIncomingPage, AdminIncomingView, IncomingList, IncomingPage, IncomingSummary, IncomingSummaryEntry, IncomingSummaryQuery,
};
use crate::auth::SessionCtx;
use crate::chain::ChainAdapter;
use crate::config::IncomingSettings;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::network::{Chain, Network};
use crate::store::{IncomingEvent, IncomingQuery, IncomingRecord, TokenRow, WalletStatus};
use base64::Engine as _;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// How many blocks one round scans on a network of `chain`, and how far behind the head a
/// cursor may be (older blocks are skipped, and audited). EVM reads every block: 500 a round,
/// 10,000 behind (about 33 hours at 12 s). Solana asks each watched account for its
/// signatures, whatever the number of slots: one round covers the whole window of 216,000
/// slots (about a day at 400 ms).
pub fn scan_window(chain: Chain) -> (u64, u64) {
    match chain {
        Chain::Ethereum => (500, 10_000),
        Chain::Solana => (216_000, 216_000),
    }
}

/// How often records past `retention_days` are deleted.
const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// The key/value entry of the time `wallet` was last sent `TX_INCOMING`.
fn notified_key(wallet: &str) -> String {
    format!("incoming.notified.{wallet}")
}

/// The key/value entry of a network's cursors.
fn cursors_key(network: &str) -> String {
    format!("incoming.cursors.{network}")
}

/// The period of unix time `at` (UTC): `YYYY-MM-DD`, `YYYY-Www` (week 00 before the year's
/// first Monday, as SQLite's `%W`) or `YYYY-MM`.
fn period_of(period: &str, at: i64) -> String {
    let days = at.div_euclid(86_400);
    let (y, m, d) = crate::clock::civil_from_days(days);
    match period {
        "monthly" => format!("{y:04}-{m:02}"),
        "weekly" => {
            // Day of the year (0-based) and of the week (0 = Monday; 1970-01-01 was a Thursday).
            let yday = days - crate::clock::days_from_civil(y, 1, 1);
            let monday_based = (days + 3).rem_euclid(7);
            format!("{y:04}-W{:02}", (yday + 7 - monday_based) / 7)
        }
        _ => format!("{y:04}-{m:02}-{d:02}"),
    }
}

/// A network filter by its canonical id (CAIP-2 and legacy names accepted).
fn canonical_network(network: Option<String>) -> Result<Option<String>> {
    network.map(|n| Network::parse(&n).map(|n| n.id().to_string())).transpose()
}

/// A record status a list may ask for.
fn checked_status(status: String) -> Result<String> {
    match status.as_str() {
        "DETECTED" | "CONFIRMED" => Ok(status),
        _ => Err(Error::validation("status", "must be DETECTED or CONFIRMED")),
    }
}

/// The list's cursor: the (detectedAt, id) of the last row of the page, as upstream encodes
/// it (base64url of `{"d": detectedAt, "i": id}`).
fn encode_cursor(detected_at: i64, id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::json!({"d": detected_at, "i": id}).to_string())
}

fn decode_cursor(cursor: &str) -> Result<(i64, String)> {
    let bad = || Error::validation("cursor", "is not a cursor this list returned");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor.trim_end_matches('=')).map_err(|_| bad())?;
    let v: serde_json::Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    match (v.get("d").and_then(serde_json::Value::as_i64), v.get("i").and_then(serde_json::Value::as_str)) {
        (Some(d), Some(i)) => Ok((d, i.to_string())),
        _ => Err(bad()),
    }
}

impl Engine {
    /// `GET /v1/wallet/incoming`: the session's wallets (or the one named), newest first;
    /// status `CONFIRMED` unless another is asked for.
    pub async fn list_incoming(&self, ctx: &SessionCtx, q: IncomingList) -> Result<IncomingPage> {
        let wallets = Self::scope_wallets(ctx, q.wallet_id.as_deref())?;
        self.incoming_page(Some(wallets), q).await
    }

    /// `GET /v1/wallet/incoming/summary`: the session's CONFIRMED transfers (or one wallet's)
    /// by day, week or month (UTC), newest first: counts, the native sum, and the USD value
    /// of every transfer at today's price (tokens through the token registry's decimals).
    pub async fn incoming_summary(&self, ctx: &SessionCtx, q: IncomingSummaryQuery) -> Result<IncomingSummary> {
        let period = q.period.unwrap_or_else(|| "daily".into());
        if !["daily", "weekly", "monthly"].contains(&period.as_str()) {
            return Err(Error::validation("period", "must be daily, weekly or monthly"));
        }
        let mut query = IncomingQuery {
            wallet_ids: Some(Self::scope_wallets(ctx, q.wallet_id.as_deref())?),
            status: Some("CONFIRMED".into()),
            chain: q.chain,
            network: canonical_network(q.network)?,
            since: q.since,
            until: q.until,
            limit: 1000,
            ..Default::default()
        };
        struct Bucket {
            count: i64,
            native: u128,
            usd: Option<f64>,
            suspicious: i64,
        }
        let mut buckets: BTreeMap<String, Bucket> = BTreeMap::new();
        let mut registries: HashMap<String, Vec<TokenRow>> = HashMap::new();
        loop {
            let rows = self.inner.store.query_incoming(&query).await?;
            for r in &rows {
                let b = buckets.entry(period_of(&period, r.detected_at)).or_insert(Bucket { count: 0, native: 0, usd: Some(0.0), suspicious: 0 });
                b.count += 1;
                b.suspicious += i64::from(r.is_suspicious);
                if r.token_address.is_none() {
                    b.native = b.native.saturating_add(r.amount.parse().unwrap_or(0));
                }
                if !registries.contains_key(&r.network) {
                    registries.insert(r.network.clone(), self.inner.store.list_tokens(&r.network).await?);
                }
                let (_, value) = self.incoming_value(Network::parse(&r.network)?, r, &registries[&r.network]).await;
                b.usd = b.usd.zip(value).map(|(a, v)| a + v);
            }
            match rows.last() {
                Some(last) if rows.len() as i64 == query.limit => query.after = Some((last.detected_at, last.id.clone())),
                _ => break,
            }
        }
        let entries = buckets
            .into_iter()
            .rev()
            .map(|(date, b)| IncomingSummaryEntry {
                date,
                total_count: b.count,
                total_amount_native: b.native.to_string(),
                total_amount_usd: b.usd,
                suspicious_count: b.suspicious,
            })
            .collect();
        Ok(IncomingSummary { period, entries })
    }

    /// `GET /v1/admin/incoming`: every wallet's (or the one named), for the operator, in
    /// offset pages with the total and each wallet's name.
    pub async fn admin_list_incoming(&self, q: AdminIncomingList) -> Result<AdminIncomingPage> {
        let (offset, limit) = (q.offset.unwrap_or(0), q.limit.unwrap_or(50));
        if offset < 0 {
            return Err(Error::validation("offset", "must be >= 0"));
        }
        if !(1..=200).contains(&limit) {
            return Err(Error::validation("limit", "must be 1..200"));
        }
        let query = IncomingQuery {
            wallet_ids: q.wallet_id.map(|w| vec![w]),
            status: q.status.map(checked_status).transpose()?,
            chain: q.chain,
            suspicious: q.suspicious,
            offset,
            limit,
            ..Default::default()
        };
        let (rows, total) = self.inner.store.page_incoming(&query).await?;
        let names: HashMap<String, String> = self.inner.store.list_wallets(None).await?.into_iter().map(|w| (w.id, w.name)).collect();
        let items = rows.into_iter().map(|r| AdminIncomingView { wallet_name: names.get(&r.wallet_id).cloned(), record: r }).collect();
        Ok(AdminIncomingPage { items, total, offset, limit })
    }

    async fn incoming_page(&self, wallet_ids: Option<Vec<String>>, q: IncomingList) -> Result<IncomingPage> {
        let limit = q.limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return Err(Error::validation("limit", "must be 1..100"));
        }
        let status = checked_status(q.status.unwrap_or_else(|| "CONFIRMED".into()))?;
        let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
        let query = IncomingQuery {
            wallet_ids,
            status: Some(status),
            suspicious: None,
            offset: 0,
            chain: q.chain,
            network: canonical_network(q.network)?,
            token: q.token,
            from_address: q.from_address,
            since: q.since,
            until: q.until,
            after,
            limit: limit + 1,
        };
        let mut rows = self.inner.store.query_incoming(&query).await?;
        let has_more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if has_more { rows.last().map(|r| encode_cursor(r.detected_at, &r.id)) } else { None };
        Ok(IncomingPage { data: rows, next_cursor, has_more })
    }

    /// One round of the monitor over every network with monitored wallets; returns how many
    /// new transfers it recorded. A network whose node fails is skipped this round (warned).
    pub async fn scan_incoming(&self, settings: &IncomingSettings) -> Result<usize> {
        let mut by_network: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for w in self.inner.store.list_wallets(None).await? {
            if w.monitor_incoming && w.status != WalletStatus::Terminated {
                by_network.entry(w.network.clone()).or_default().push((w.id, w.public_key));
            }
        }
        let mut new = 0;
        for (network, wallets) in by_network {
            let net = Network::parse(&network)?;
            match self.scan_network(net, &self.adapter(net), &wallets, settings).await {
                Ok(n) => new += n,
                Err(e) => tracing::warn!(network = %network, "incoming scan failed, will retry: {}", e.message),
            }
        }
        Ok(new)
    }

    async fn scan_network(&self, net: Network, adapter: &Arc<dyn ChainAdapter>, wallets: &[(String, String)], settings: &IncomingSettings) -> Result<usize> {
        let network = net.id();
        let head = adapter.head_block().await.map_err(|e| e.error)?;
        let key = cursors_key(network);
        let stored = self.inner.store.kv_get(&key).await?;
        let mut cursors: HashMap<String, u64> = match &stored {
            Some(s) => serde_json::from_str(s).map_err(|e| Error::internal(format!("{key}: {e}")))?,
            None => HashMap::new(),
        };
        // A wallet seen for the first time starts at the head.
        let mut watched = vec![];
        for (id, address) in wallets {
            match cursors.get(id) {
                Some(c) => watched.push((id.as_str(), address.as_str(), *c)),
                None => drop(cursors.insert(id.clone(), head)),
            }
        }
        let mut new = 0;
        let (per_round, max_catch_up) = scan_window(net.chain());
        if let Some(lowest) = watched.iter().map(|w| w.2).min().filter(|c| *c < head) {
            let mut start = lowest + 1;
            if head - lowest > max_catch_up {
                let skipped_to = head - max_catch_up;
                tracing::warn!(network, "incoming monitor was {} blocks behind: blocks {start}..={skipped_to} are not scanned", head - lowest);
                let details = serde_json::json!({"network": network, "fromBlock": start, "toBlock": skipped_to});
                self.inner.audit.record("INCOMING_TX_RANGE_SKIPPED", "system", None, None, Some(details), "warning", None).await;
                start = skipped_to + 1;
            }
            let end = head.min(start + per_round - 1);
            let addresses: Vec<String> = watched.iter().map(|w| w.1.to_string()).collect();
            let transfers = adapter.incoming(&addresses, start, end).await.map_err(|e| e.error)?;
            let now = self.now();
            let mut records = vec![];
            for t in transfers {
                // Each wallet records only the blocks after its own cursor.
                for (id, _, _) in watched.iter().filter(|w| w.1 == t.to.as_str() && t.block > w.2) {
                    records.push(IncomingRecord {
                        id: crate::new_id(),
                        tx_hash: t.tx_hash.clone(),
                        log_index: t.log_index,
                        wallet_id: id.to_string(),
                        from_address: t.from.clone(),
                        amount: t.amount.to_string(),
                        token_address: t.token.clone(),
                        chain: net.chain().as_str().to_string(),
                        network: network.to_string(),
                        status: "DETECTED".into(),
                        block_number: t.block as i64,
                        detected_at: now,
                        confirmed_at: None,
                        is_suspicious: false,
                    });
                }
            }
            // What the checks compare with, read once for the round: the token registry and
            // the earlier inflows of each wallet that received something (this round's are
            // not stored yet).
            let registry = self.inner.store.list_tokens(network).await?;
            let mut earlier: HashMap<String, Vec<IncomingRecord>> = HashMap::new();
            for r in &records {
                if let std::collections::hash_map::Entry::Vacant(slot) = earlier.entry(r.wallet_id.clone()) {
                    let q = IncomingQuery { wallet_ids: Some(vec![r.wallet_id.clone()]), limit: 100, ..Default::default() };
                    slot.insert(self.inner.store.query_incoming(&q).await?);
                }
            }
            // Whether each wallet's agent may move each token that arrived, asked once a round.
            let mut allowed: HashMap<(String, String), bool> = HashMap::new();
            for r in &records {
                if let Some(token) = &r.token_address {
                    if let std::collections::hash_map::Entry::Vacant(slot) = allowed.entry((r.wallet_id.clone(), token.clone())) {
                        slot.insert(self.inner.policies.token_allowed(&r.wallet_id, net, token).await?);
                    }
                }
            }
            let mut reasons = HashMap::new();
            for r in &mut records {
                let listed = r.token_address.as_ref().is_none_or(|t| allowed[&(r.wallet_id.clone(), t.clone())]);
                let why = self.suspicious(net, r, &registry, listed, &earlier[r.wallet_id.as_str()], settings).await;
                r.is_suspicious = !why.is_empty();
                reasons.insert(r.id.clone(), why);
            }
            // Whether to announce is decided when the transfers are seen, before they are
            // stored: a kill switch released right after the record is read leaves it unannounced.
            let events = if self.kill_switch_engaged() { vec![] } else { self.announcements(&records, &reasons, settings).await? };
            // Stored before the cursors move (a crash in between scans the range again), each
            // new record with its event in the same write.
            let inserted = self.inner.store.insert_incoming(&records, &events).await?;
            new = inserted.len();
            // The cooldown of each wallet that was just told of a transfer starts now.
            for e in crate::store::events_to_write(&events, &inserted).into_iter().filter(|e| e.event_type == "TX_INCOMING") {
                let wallet = e.wallet_id.as_deref().unwrap_or_default();
                self.inner.store.kv_set(&notified_key(wallet), &e.timestamp.to_string(), e.timestamp).await?;
            }
            for (id, _, cursor) in &watched {
                cursors.insert(id.to_string(), (*cursor).max(end));
            }
        }
        let value = serde_json::to_string(&cursors).map_err(Error::internal_from)?;
        if stored.as_deref() != Some(value.as_str()) {
            self.inner.store.kv_set(&key, &value, self.now()).await?;
        }
        if let Some(deep) = (head + 1).checked_sub(settings.confirmations) {
            self.inner.store.confirm_incoming(network, deep as i64, self.now()).await?;
        }
        Ok(new)
    }

    /// The USD value of the transfer `r` at today's price (`None`: no price, or a token the
    /// `registry` does not list, whose decimals are unknown), and whether its asset is known
    /// (native, or listed).
    async fn incoming_value(&self, net: Network, r: &IncomingRecord, registry: &[TokenRow]) -> (bool, Option<f64>) {
        let (asset, decimals) = match &r.token_address {
            None => (crate::price::Asset::native(net), Some(net.info().native_decimals)),
            Some(token) => (crate::price::Asset::token(net, token), registry.iter().find(|t| net.chain().same_address(&t.address, token)).map(|t| t.decimals)),
        };
        let Some(places) = decimals else { return (false, None) };
        let value = match self.inner.oracles.price(&asset).await {
            crate::price::Lookup::Found(p) => Some(crate::price::usd_value(r.amount.parse().unwrap_or(0), places, p.usd)),
            _ => None,
        };
        (true, value)
    }

    /// Why `r` looks like an attack (empty: it does not): `unknown_token` (a token the token
    /// `registry` does not list), `token_not_allowed` (a token the wallet's ALLOWED_TOKENS does
    /// not list, so not `allowed`: arriving never makes a token usable to the agent), `dust` (worth
    /// less than `suspicious_dust_usd` at today's price), `large_amount` (above
    /// `suspicious_amount_multiplier` times the average of the wallet's `earlier` inflows of
    /// the asset, once there are three).
    async fn suspicious(
        &self,
        net: Network,
        r: &IncomingRecord,
        registry: &[TokenRow],
        allowed: bool,
        earlier: &[IncomingRecord],
        settings: &IncomingSettings,
    ) -> Vec<&'static str> {
        let mut why = vec![];
        let (known, value) = self.incoming_value(net, r, registry).await;
        if !known {
            why.push("unknown_token");
        }
        if !allowed {
            why.push("token_not_allowed");
        }
        if value.is_some_and(|usd| usd < settings.suspicious_dust_usd) {
            why.push("dust");
        }
        let same: Vec<u128> =
            earlier.iter().filter(|e| e.token_address == r.token_address && e.tx_hash != r.tx_hash).filter_map(|e| e.amount.parse().ok()).collect();
        if same.len() >= 3 {
            let average = same.iter().map(|a| *a as f64).sum::<f64>() / same.len() as f64;
            if r.amount.parse::<u128>().unwrap_or(0) as f64 > settings.suspicious_amount_multiplier * average {
                why.push("large_amount");
            }
        }
        why
    }

    /// The event of each transfer of a round, written with its record if it is new:
    /// `TX_INCOMING_SUSPICIOUS` (every channel, a security event) with its `reasons`, or
    /// `TX_INCOMING`, at most one per wallet within `cooldown_minutes` (the first new one).
    async fn announcements(&self, records: &[IncomingRecord], reasons: &HashMap<String, Vec<&str>>, settings: &IncomingSettings) -> Result<Vec<IncomingEvent>> {
        let now = self.now();
        let mut cooling: HashMap<&str, bool> = HashMap::new();
        let mut events = vec![];
        for r in records {
            let why = &reasons[&r.id];
            let details = serde_json::json!({
                "incomingId": r.id, "txHash": r.tx_hash, "amount": r.amount, "token": r.token_address.as_deref().unwrap_or("native"),
                "fromAddress": r.from_address, "network": r.network, "reasons": why.join(", "),
            });
            let (kind, severity, once) = if why.is_empty() {
                let cooling = match cooling.get(r.wallet_id.as_str()) {
                    Some(c) => *c,
                    None => {
                        let last: Option<i64> = self.inner.store.kv_get(&notified_key(&r.wallet_id)).await?.and_then(|v| v.parse().ok());
                        let c = last.is_some_and(|t| now - t < settings.cooldown.as_secs() as i64);
                        cooling.insert(&r.wallet_id, c);
                        c
                    }
                };
                if cooling {
                    continue;
                }
                ("TX_INCOMING", "info", Some(r.wallet_id.clone()))
            } else {
                ("TX_INCOMING_SUSPICIOUS", "warning", None)
            };
            let entry = self.inner.audit.entry(kind, "system", Some(&r.wallet_id), None, Some(details), severity, None);
            events.push(IncomingEvent { record_id: r.id.clone(), entry, once });
        }
        Ok(events)
    }

    /// Start the monitor's loop (see the module docs) when `[incoming] enabled`, beside the
    /// other background loops (stopped with them by [`Engine::stop_workers`]); it scans only
    /// while this daemon leads.
    pub fn start_incoming_monitor(&self) -> Result<()> {
        let settings = IncomingSettings::from_config(&self.inner.config)?;
        if !settings.enabled {
            return Ok(());
        }
        // New blocks announced over a WebSocket wake the loop before its poll is due.
        let wake = Arc::new(tokio::sync::Notify::new());
        let mut workers = vec![];
        for (network, url) in &settings.wss_urls {
            workers.push(tokio::spawn(follow_heads(network.clone(), url.clone(), wake.clone(), self.inner.stop.subscribe())));
        }
        let engine = self.clone();
        let mut stop = self.inner.stop.subscribe();
        workers.push(tokio::spawn(async move {
            let mut purged: Option<std::time::Instant> = None;
            loop {
                tokio::select! {
                    go = crate::pipeline::pause(&mut stop, settings.poll_interval) => if !go { break },
                    _ = wake.notified() => {}
                }
                if !engine.leads().await {
                    continue;
                }
                match engine.scan_incoming(&settings).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!("incoming monitor: {n} new transfers"),
                    Err(e) => tracing::warn!("incoming monitor round failed: {e}"),
                }
                if let Some(keep) = settings.retention.filter(|_| purged.is_none_or(|t| t.elapsed() >= PURGE_EVERY)) {
                    purged = Some(std::time::Instant::now());
                    match engine.inner.store.purge_incoming(engine.now() - keep.as_secs() as i64).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!("incoming monitor: {n} records past retention_days deleted"),
                        Err(e) => tracing::warn!("incoming retention: {e}"),
                    }
                }
            }
        }));
        self.inner.workers.lock().unwrap_or_else(|e| e.into_inner()).extend(workers);
        Ok(())
    }
}

/// Follow `network`'s new blocks at `url` (see [`crate::chain::evm::heads`]) and wake the
/// monitor on each, until `stop`; a lost subscription is retried after 1 s, doubling to at
/// most a minute while it keeps failing (polling goes on meanwhile). The URL, which may carry
/// a provider key, is never logged.
async fn follow_heads(network: String, url: String, wake: Arc<tokio::sync::Notify>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut backoff = std::time::Duration::from_secs(1);
    loop {
        let connected = std::sync::atomic::AtomicBool::new(false);
        let on_connected = || {
            connected.store(true, std::sync::atomic::Ordering::Relaxed);
            tracing::info!(network = %network, "incoming monitor: following new blocks over WebSocket");
        };
        let followed = tokio::select! {
            r = crate::chain::evm::heads::follow_new_heads(&url, on_connected, |_| wake.notify_one()) => r,
            _ = stop.changed() => return,
        };
        if let Err(e) = followed {
            tracing::warn!(network = %network, "{}; polling until it is back (retry in {} s)", e.error.message, backoff.as_secs());
        }
        backoff = if connected.load(std::sync::atomic::Ordering::Relaxed) {
            std::time::Duration::from_secs(1)
        } else {
            (backoff * 2).min(std::time::Duration::from_secs(60))
        };
        if !crate::pipeline::pause(&mut stop, backoff).await {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn periods_are_sqlite_strftime_days_weeks_from_monday_and_months() {
        // Expected values from SQLite's strftime('%Y-%m-%d' / '%Y-W%W' / '%Y-%m', t, 'unixepoch').
        for (at, day, week, month) in [
            (1_796_601_600, "2026-12-07", "2026-W49", "2026-12"),
            (1_767_225_600, "2026-01-01", "2026-W00", "2026-01"),
            (1_767_484_800, "2026-01-04", "2026-W00", "2026-01"),
            (1_767_571_200, "2026-01-05", "2026-W01", "2026-01"),
            (1_735_689_600, "2025-01-01", "2025-W00", "2025-01"),
            (0, "1970-01-01", "1970-W00", "1970-01"),
        ] {
            assert_eq!((period_of("daily", at).as_str(), period_of("weekly", at).as_str(), period_of("monthly", at).as_str()), (day, week, month), "{at}");
        }
    }

    #[test]
    fn list_cursors_round_trip_and_foreign_ones_are_refused() {
        let c = encode_cursor(1_796_601_600, "01a2-id");
        assert_eq!(decode_cursor(&c).unwrap(), (1_796_601_600, "01a2-id".to_string()));
        for bad in ["", "not-a-cursor", &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("{\"d\":\"x\",\"i\":1}")] {
            assert_eq!(decode_cursor(bad).unwrap_err().code, ErrorCode::ACTION_VALIDATION_FAILED, "{bad}");
        }
    }
}
