//! Policy administration (`/v1/policies`) and the policy stage of the pipeline: USD
//! pricing, building the [`Intent`] of a transaction, and the decision + reservation made in
//! one store transaction.
//!
//! [`Policies`] is the service: the policy rows (and the policy gate's store transaction:
//! the store offers the transaction, this service decides inside it with the pure
//! evaluator, [`crate::policy`]), the wallets service, the price oracles, the policy
//! settings, metrics, the audit log and the clock. What a transaction means to the
//! evaluator (`Engine::policy_kind`, [`crate::meaning`]) is worked out by the caller.

use crate::auth::Caller;
use crate::chain::TxKind;
use crate::clock::Clock;
use crate::error::{Error, ErrorCode, Result};
use crate::metrics::Metrics;
use crate::network::Network;
use crate::policy::{self, Decision, Intent, PolicyRecord, PolicyType, PriceStatus, Tier, TokenRef, TxType as PTx};
use crate::price::{Asset, Lookup, OracleChain};
use crate::services::audit::Audit;
use crate::services::wallets::Wallets;
use crate::store::tx::{TxPatch, TxRecord, TxStatus};
use crate::store::{PolicyRow, PolicyStore, UsageRow};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

/// `POST /v1/policies` body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CreatePolicyRequest))]
pub struct CreatePolicy {
    pub wallet_id: Option<String>,
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::policy::PolicyType))]
    pub policy_type: String,
    /// The rules object of `type` (validated per type, spec §5.2).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub rules: Value,
    pub priority: Option<i64>,
    pub enabled: Option<bool>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::network::NetworkId>))]
    pub network: Option<String>,
}

/// `PUT /v1/policies/{id}` body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = UpdatePolicyRequest))]
pub struct UpdatePolicy {
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub rules: Option<Value>,
    pub priority: Option<i64>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PaginatedPolicyList))]
pub struct PolicyPage {
    pub data: Vec<PolicyRecord>,
    pub total: usize,
    pub limit: usize,
    pub offset: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PolicyDeleteResponse))]
pub struct PolicyDeleted {
    pub id: String,
    pub deleted: bool,
}

/// The store's plain row of a policy.
pub fn policy_row(p: &PolicyRecord) -> PolicyRow {
    PolicyRow {
        id: p.id.clone(),
        wallet_id: p.wallet_id.clone(),
        policy_type: p.policy_type.as_str().to_string(),
        rules: p.rules.clone(),
        priority: p.priority,
        enabled: p.enabled,
        network: p.network.clone(),
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}

/// The policy a stored row holds (an unknown type is a corrupt row: an internal error).
pub fn policy_record(r: PolicyRow) -> Result<PolicyRecord> {
    let policy_type = PolicyType::parse(&r.policy_type).ok_or_else(|| Error::internal(format!("stored policy {}: unknown type {}", r.id, r.policy_type)))?;
    Ok(PolicyRecord {
        id: r.id,
        wallet_id: r.wallet_id,
        policy_type,
        rules: r.rules,
        priority: r.priority,
        enabled: r.enabled,
        network: r.network,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

/// The policies stored rows hold.
pub fn policy_records(rows: Vec<PolicyRow>) -> Result<Vec<PolicyRecord>> {
    rows.into_iter().map(policy_record).collect()
}

/// The evaluator's usage from the store's counts.
pub fn usage_of(u: UsageRow) -> policy::Usage {
    policy::Usage {
        spent_usd_day: u.spent_usd_day,
        spent_usd_month: u.spent_usd_month,
        reserved_raw: u.reserved_raw,
        requests_in_window: u.requests_in_window,
        ..Default::default()
    }
}

fn policy_not_found() -> Error {
    Error::new(ErrorCode::POLICY_NOT_FOUND, "Policy not found")
}

/// Prices of the assets a transaction moves: `None` = native, `Some(address)` = token.
pub(crate) type Prices = std::collections::HashMap<Option<String>, Lookup>;

fn assets_of(kind: &TxKind, out: &mut Vec<Option<String>>) {
    match kind {
        TxKind::Transfer { .. } | TxKind::ContractCall { .. } => out.push(None),
        TxKind::TokenTransfer { token, .. } => out.push(Some(token.address.clone())),
        TxKind::Approve { .. } => {}
        TxKind::Batch { instructions } => instructions.iter().for_each(|i| assets_of(i, out)),
    }
}

/// `kind` with every approval as the token amount it lets the spender pull (for valuing an
/// action's bundle, see [`Policies::action_intent`]).
fn spend_view(kind: &TxKind) -> TxKind {
    match kind {
        TxKind::Approve { spender, amount, token } => TxKind::TokenTransfer { to: spender.clone(), amount: *amount, token: token.clone(), memo: None },
        TxKind::Batch { instructions } => TxKind::Batch { instructions: instructions.iter().map(spend_view).collect() },
        other => other.clone(),
    }
}

/// USD value of a transaction from looked-up prices.
fn price(prices: &Prices, network: Network, kind: &TxKind) -> (Option<f64>, PriceStatus) {
    let value = |asset: Option<String>, amount: u128, decimals: u8| -> (Option<f64>, PriceStatus) {
        if amount == 0 {
            return (Some(0.0), PriceStatus::Priced);
        }
        match prices.get(&asset) {
            Some(Lookup::Found(p)) => (Some(crate::price::usd_value(amount, decimals, p.usd)), PriceStatus::Priced),
            Some(Lookup::NotListed) => (None, PriceStatus::NotListed),
            _ => (None, PriceStatus::OracleDown),
        }
    };
    let native = network.info().native_decimals;
    match kind {
        TxKind::Transfer { amount, .. } => value(None, *amount, native),
        TxKind::ContractCall { value: v, .. } => value(None, *v, native),
        TxKind::Approve { .. } => (Some(0.0), PriceStatus::Priced),
        TxKind::TokenTransfer { amount, token, .. } => value(Some(token.address.clone()), *amount, token.decimals),
        TxKind::Batch { instructions } => {
            let mut total = 0.0;
            for i in instructions {
                match price(prices, network, i) {
                    (Some(v), _) => total += v,
                    (None, st) => return (None, st),
                }
            }
            (Some(total), PriceStatus::Priced)
        }
    }
}

/// The evaluator's view of a transaction.
pub(crate) fn intent_of(wallet_id: &str, network: Network, kind: &TxKind, prices: &Prices) -> Intent {
    let (usd, status) = price(prices, network, kind);
    let ty = match kind {
        TxKind::Transfer { .. } => PTx::Transfer,
        TxKind::TokenTransfer { .. } => PTx::TokenTransfer,
        TxKind::ContractCall { .. } => PTx::ContractCall,
        TxKind::Approve { .. } => PTx::Approve,
        TxKind::Batch { .. } => PTx::Batch,
    };
    let mut i = Intent::new(wallet_id, network.chain(), network.id(), ty);
    i.amount_usd = usd;
    i.price = status;
    let token_ref = |t: &crate::chain::TokenInfo| TokenRef {
        address: Some(t.address.clone()),
        asset_id: Some(crate::network::asset_id(network, &t.address)),
        symbol: t.symbol.clone(),
        decimals: Some(t.decimals),
    };
    match kind {
        TxKind::Transfer { to, amount, .. } => {
            // An empty `to` is a network fee (crate::meaning::network_fee): value, no destination.
            i.to = Some(to.clone()).filter(|t| !t.is_empty());
            i.amount = *amount;
        }
        TxKind::TokenTransfer { to, amount, token, .. } => {
            i.to = Some(to.clone());
            i.amount = *amount;
            i.token = Some(token_ref(token));
        }
        TxKind::ContractCall { to, calldata, value, .. } => {
            i.to = Some(to.clone());
            i.contract = Some(to.clone());
            i.amount = *value;
            if network.chain() == crate::network::Chain::Ethereum && calldata.len() >= 4 {
                i.selector = Some(format!("0x{}", hex::encode(&calldata[..4])));
            }
        }
        TxKind::Approve { spender, amount, token } => {
            i.spender = Some(spender.clone());
            i.to = Some(spender.clone());
            i.amount = *amount;
            i.token = Some(token_ref(token));
        }
        TxKind::Batch { instructions } => {
            i.batch = instructions.iter().map(|k| intent_of(wallet_id, network, k, prices)).collect();
        }
    }
    i
}

/// The policy gate's decision of one row inside the store's decision transaction
/// ([`crate::store::Decide`]): the policies are parsed once, in the first step.
struct Gate {
    intent: Intent,
    settings: policy::PolicySettings,
    now: i64,
    owner: bool,
    usd: Option<f64>,
    /// The tier it chose, for the metrics (`None` when denied).
    seen: Arc<std::sync::Mutex<Option<String>>>,
    policies: Vec<PolicyRecord>,
}

impl crate::store::Decide for Gate {
    fn windows(&mut self, row: &TxRecord, rows: &[crate::store::PolicyRow]) -> Result<Vec<u64>> {
        self.policies = policy_records(rows.to_vec())?;
        Ok(policy::usage_needs(&self.policies, &row.wallet_id, &row.network).rate_windows)
    }

    fn decide(self: Box<Self>, row: &TxRecord, usage: crate::store::UsageRow) -> Result<(TxStatus, TxPatch)> {
        let d = policy::evaluate(&self.policies, &self.intent, &usage_of(usage), &self.settings, self.now, self.owner);
        let (status, mut patch) = outcome(&d, self.usd, self.now);
        // What the decision records beside what the row already carries (an action's place
        // in its bundle).
        if let (Some(new), Some(old)) = (patch.metadata.as_deref(), row.metadata.as_deref()) {
            if let (Ok(Value::Object(mut merged)), Ok(Value::Object(add))) = (serde_json::from_str::<Value>(old), serde_json::from_str::<Value>(new)) {
                merged.extend(add);
                patch.metadata = Some(Value::Object(merged).to_string());
            }
        }
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = patch.tier.clone();
        Ok((status, patch))
    }
}

/// What the policy engine knows of an action besides its steps: provenance (from the action
/// registry, never from a client), tier floor, and the figures its provider read from the
/// protocol.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ActionGate<'a> {
    pub provider: &'a str,
    pub action: &'a str,
    pub floor: Tier,
    /// The asset a lending action acts on (LENDING_ASSET_WHITELIST).
    pub asset: Option<&'a str>,
    /// The account's loan-to-value after the action (LENDING_LTV_LIMIT).
    pub projected_ltv: Option<f64>,
}

/// An action's intent: the request and each of its instructions carry the action's
/// provenance and figures (an instruction without a token gets the action's asset, which the
/// lending policies read); the request its tier floor.
fn as_action(i: &mut Intent, a: &ActionGate<'_>) {
    let asset = a.asset.map(|x| TokenRef { address: Some(x.to_string()), asset_id: None, symbol: None, decimals: None });
    let mark = |it: &mut Intent| {
        it.action_provider = Some(a.provider.to_string());
        it.action_name = Some(a.action.to_string());
        it.projected_ltv = a.projected_ltv;
        if it.token.is_none() {
            it.token.clone_from(&asset);
        }
    };
    i.batch.iter_mut().for_each(mark);
    mark(i);
    i.min_tier = Some(a.floor);
}

/// An x402 payment's intent: the token transfer it pays, to `domain`.
fn as_x402(i: &mut Intent, domain: &str) {
    i.tx_type = PTx::X402Payment;
    i.domain = Some(domain.to_string());
}

/// Where a decision sends a PENDING transaction, and what it records.
pub(crate) fn outcome(d: &Decision, amount_usd: Option<f64>, now: i64) -> (TxStatus, TxPatch) {
    let decision = serde_json::to_string(d).ok();
    if !d.allowed {
        let code = d.error_code.unwrap_or(ErrorCode::POLICY_DENIED);
        return (
            TxStatus::Cancelled,
            TxPatch {
                error: Some(d.denial_message().unwrap_or("Denied by policy").to_string()),
                error_code: Some(code.as_str().into()),
                decision,
                ..Default::default()
            },
        );
    }
    let mut patch = TxPatch { tier: Some(d.tier.as_str().into()), amount_usd, reserved_usd: amount_usd, decision, ..Default::default() };
    match d.tier {
        Tier::Instant | Tier::Notify => (TxStatus::Executing, patch),
        Tier::Delay => {
            let secs = d.delay_seconds.unwrap_or(900);
            patch.queued_at = Some(now);
            patch.metadata = Some(serde_json::json!({"delaySeconds": secs, "executeAfter": now + secs as i64, "downgraded": d.downgraded}).to_string());
            (TxStatus::Queued, patch)
        }
        Tier::Approval => {
            let timeout = d.approval_timeout.unwrap_or(3600);
            patch.queued_at = Some(now);
            patch.metadata =
                Some(serde_json::json!({"approvalRequired": true, "approvalExpiresAt": now + timeout as i64, "approvalReason": d.approval_reason}).to_string());
            (TxStatus::Queued, patch)
        }
    }
}

/// The policies service.
pub struct Policies {
    store: Arc<dyn PolicyStore>,
    wallets: Arc<Wallets>,
    oracles: Arc<OracleChain>,
    /// `[policy]` defaults of the evaluator.
    settings: policy::PolicySettings,
    metrics: Arc<Metrics>,
    audit: Arc<Audit>,
    clock: Arc<dyn Clock>,
}

impl Policies {
    pub fn new(
        store: Arc<dyn PolicyStore>,
        wallets: Arc<Wallets>,
        oracles: Arc<OracleChain>,
        settings: policy::PolicySettings,
        metrics: Arc<Metrics>,
        audit: Arc<Audit>,
        clock: Arc<dyn Clock>,
    ) -> Policies {
        Policies { store, wallets, oracles, settings, metrics, audit, clock }
    }

    /// The enabled policies of a wallet plus the global ones.
    async fn enabled_for(&self, wallet_id: &str) -> Result<Vec<PolicyRecord>> {
        Ok(policy_records(self.store.list_policies(Some(wallet_id)).await?)?.into_iter().filter(|p| p.enabled).collect())
    }

    /// Whether the wallet has a registered owner (the evaluator's APPROVAL rules need it).
    async fn has_owner(&self, wallet_id: &str) -> Result<bool> {
        Ok(self.wallets.find(wallet_id).await?.map(|w| w.owner_address.is_some()).unwrap_or(false))
    }

    /// The evaluator's view of a transaction of `wallet_id`, priced, unless the allowlists of
    /// `policies` already deny it ([`policy::denied_before_pricing`]): then no price is looked up,
    /// so an agent cannot spend the oracle quota on lookups of tokens nobody allowed.
    /// `shape` turns the transaction's intent into the one decided (an x402 payment's).
    async fn priced_intent(&self, wallet_id: &str, network: Network, kind: &TxKind, policies: &[PolicyRecord], shape: impl Fn(&mut Intent)) -> Intent {
        let mut unpriced = intent_of(wallet_id, network, kind, &Prices::new());
        shape(&mut unpriced);
        if policy::denied_before_pricing(policies, &unpriced, &self.settings) {
            return unpriced;
        }
        let mut priced = intent_of(wallet_id, network, kind, &self.prices_for(network, kind).await);
        shape(&mut priced);
        priced
    }

    /// Look up the USD prices a transaction needs (oracles, cache, then `[prices]`).
    pub(crate) async fn prices_for(&self, network: Network, kind: &TxKind) -> Prices {
        let mut assets = vec![];
        assets_of(kind, &mut assets);
        let mut out = Prices::new();
        for a in assets {
            if out.contains_key(&a) {
                continue;
            }
            let asset = match &a {
                None => Asset::native(network),
                Some(t) => Asset::token(network, t),
            };
            out.insert(a, self.oracles.price(&asset).await);
        }
        out
    }

    fn check_policy_input(&self, ty: PolicyType, rules: &Value, network: Option<&str>) -> Result<Option<String>> {
        policy::validate_rules(ty, rules)?;
        network.map(|n| Network::parse(n).map(|n| n.id().to_string())).transpose()
    }

    pub async fn create(&self, req: CreatePolicy) -> Result<PolicyRecord> {
        let ty = PolicyType::parse(&req.policy_type).ok_or_else(|| Error::validation("type", format!("unknown policy type '{}'", req.policy_type)))?;
        let network = self.check_policy_input(ty, &req.rules, req.network.as_deref())?;
        if let Some(w) = &req.wallet_id {
            self.wallets.record(&Caller::Master, w).await?;
        }
        let now = self.clock.now();
        let p = PolicyRecord {
            id: crate::new_id(),
            wallet_id: req.wallet_id,
            policy_type: ty,
            rules: req.rules,
            priority: req.priority.unwrap_or(0),
            enabled: req.enabled.unwrap_or(true),
            network,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_policy(&policy_row(&p)).await?;
        self.audit
            .record("POLICY_CREATED", "master", p.wallet_id.as_deref(), None, Some(serde_json::json!({"policyId": p.id, "type": ty.as_str()})), "info", None)
            .await;
        Ok(p)
    }

    /// Policies of a wallet plus the global ones (a session sees only its wallets'), paginated.
    pub async fn list(&self, caller: &Caller<'_>, wallet_id: Option<&str>, limit: Option<i64>, offset: Option<i64>) -> Result<PolicyPage> {
        let limit = limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(Error::validation("limit", "must be 1..200"));
        }
        let offset = offset.unwrap_or(0);
        if offset < 0 {
            return Err(Error::validation("offset", "must be >= 0"));
        }
        let all = match caller {
            Caller::Master => policy_records(self.store.list_policies(wallet_id).await?)?,
            Caller::Session(ctx) => {
                let w = self.wallets.resolve(ctx, wallet_id).await?;
                policy_records(self.store.list_policies(Some(&w.id)).await?)?
            }
        };
        let data = all.iter().skip(offset as usize).take(limit as usize).cloned().collect();
        Ok(PolicyPage { data, total: all.len(), limit: limit as usize, offset: offset as usize })
    }

    pub async fn get(&self, id: &str) -> Result<PolicyRecord> {
        policy_record(self.store.get_policy(id).await?.ok_or_else(policy_not_found)?)
    }

    /// Update validates as strictly as create (upstream only checks two types).
    pub async fn update(&self, id: &str, req: UpdatePolicy) -> Result<PolicyRecord> {
        let mut p = self.get(id).await?;
        if let Some(rules) = req.rules {
            policy::validate_rules(p.policy_type, &rules)?;
            p.rules = rules;
        }
        if let Some(pr) = req.priority {
            p.priority = pr;
        }
        if let Some(e) = req.enabled {
            p.enabled = e;
        }
        p.updated_at = self.clock.now();
        if !self.store.update_policy(&policy_row(&p)).await? {
            return Err(policy_not_found());
        }
        Ok(p)
    }

    pub async fn delete(&self, id: &str) -> Result<PolicyDeleted> {
        if !self.store.delete_policy(id).await? {
            return Err(policy_not_found());
        }
        Ok(PolicyDeleted { id: id.into(), deleted: true })
    }

    /// The policy gate of a PENDING row whose meaning to the evaluator is `kind`: price it,
    /// then decide and reserve in one store transaction. Returns the status it moved to
    /// (`None` if it was not PENDING).
    pub(crate) async fn decide_kind(&self, tx: &TxRecord, kind: &TxKind) -> Result<Option<TxStatus>> {
        self.decide_shaped(tx, kind, |_| {}).await
    }

    /// [`Policies::decide_kind`] of an x402 payment: `kind` is the token transfer it pays,
    /// decided as an `X402_PAYMENT` to `domain` (X402_ALLOWED_DOMAINS, then ALLOWED_TOKENS,
    /// limits and tiers like a token transfer).
    pub(crate) async fn decide_x402(&self, tx: &TxRecord, kind: &TxKind, domain: &str) -> Result<Option<TxStatus>> {
        self.decide_shaped(tx, kind, |i| as_x402(i, domain)).await
    }

    /// [`Policies::decide_kind`] of an action's bundle: `kind` is its steps (one, or a batch),
    /// decided as the action `provider`/`action` (the DeFi policies read it) at tier `floor` or
    /// above. The provenance comes from the action registry, never from a client.
    pub(crate) async fn decide_action(&self, tx: &TxRecord, kind: &TxKind, a: &ActionGate<'_>) -> Result<Option<TxStatus>> {
        let network = Network::parse(&tx.network)?;
        let policies = self.enabled_for(&tx.wallet_id).await?;
        let intent = self.action_intent(&tx.wallet_id, network, kind, &policies, a).await;
        self.decide_intent(tx, intent).await
    }

    /// The intent of an action's bundle. Its approvals are valued at the tokens they let the
    /// next step pull (an action approves what it is about to spend: the amount a swap sells, a
    /// supply deposits): the bundle's value, its tiers and the spending limits count them. A
    /// plain APPROVE send stays at no value (it moves nothing by itself).
    async fn action_intent(&self, wallet_id: &str, network: Network, kind: &TxKind, policies: &[PolicyRecord], a: &ActionGate<'_>) -> Intent {
        let mut intent = self.priced_intent(wallet_id, network, kind, policies, |i| as_action(i, a)).await;
        let spend = spend_view(kind);
        if spend == *kind {
            return intent;
        }
        let valued = intent_of(wallet_id, network, &spend, &self.prices_for(network, &spend).await);
        for (i, v) in intent.batch.iter_mut().zip(&valued.batch).filter(|(i, _)| i.tx_type == PTx::Approve) {
            i.amount_usd = v.amount_usd;
            i.price = v.price;
        }
        intent.amount_usd = valued.amount_usd;
        intent.price = valued.price;
        intent
    }

    async fn decide_shaped(&self, tx: &TxRecord, kind: &TxKind, shape: impl Fn(&mut Intent)) -> Result<Option<TxStatus>> {
        let network = Network::parse(&tx.network)?;
        // The decision itself re-reads the policies inside its store transaction; these only
        // decide whether pricing is needed (a policy added meanwhile leaves the value unpriced,
        // which fails closed).
        let policies = self.enabled_for(&tx.wallet_id).await?;
        let intent = self.priced_intent(&tx.wallet_id, network, kind, &policies, shape).await;
        self.decide_intent(tx, intent).await
    }

    /// The first of a server's offers (each the token transfer it pays, on its network) that the
    /// allowlists alone (X402_ALLOWED_DOMAINS, ALLOWED_TOKENS, WHITELIST) do not already refuse
    /// to pay to `domain`: to prefer an offer that can pass. The policies are read once.
    pub(crate) async fn x402_first_listed(&self, wallet_id: &str, domain: &str, offers: &[(Network, TxKind)]) -> Result<Option<usize>> {
        let policies = self.enabled_for(wallet_id).await?;
        Ok(offers.iter().position(|(network, kind)| {
            let mut intent = intent_of(wallet_id, *network, kind, &Prices::new());
            as_x402(&mut intent, domain);
            !policy::denied_before_pricing(&policies, &intent, &self.settings)
        }))
    }

    /// Whether ALLOWED_TOKENS (or, without one, `default_deny_tokens`) lets `wallet_id` move
    /// `token` on `network`, as the policies stand now.
    pub(crate) async fn token_allowed(&self, wallet_id: &str, network: Network, token: &str) -> Result<bool> {
        let policies = self.enabled_for(wallet_id).await?;
        let mut intent = Intent::new(wallet_id, network.chain(), network.id(), PTx::TokenTransfer);
        intent.token = Some(TokenRef { address: Some(token.to_string()), asset_id: None, symbol: None, decimals: None });
        Ok(policy::token_denial(&policies, &intent, &self.settings).is_none())
    }

    /// Whether X402_ALLOWED_DOMAINS lets `wallet_id` pay `host` on `network` (the policies as
    /// they are now; the decision re-reads them). Returns a check to ask about every host of one
    /// request (each redirect hop), without reading the store again.
    pub(crate) async fn x402_host_check(&self, wallet_id: &str, network: Network) -> Result<impl Fn(&str) -> Result<()> + Send + Sync + 'static> {
        let policies = self.enabled_for(wallet_id).await?;
        let settings = self.settings.clone();
        let wallet_id = wallet_id.to_string();
        Ok(move |host: &str| {
            let mut intent = Intent::new(&wallet_id, network.chain(), network.id(), PTx::X402Payment);
            intent.domain = Some(host.to_string());
            match policy::domain_denial(&policies, &intent, &settings) {
                None => Ok(()),
                Some(r) => Err(Error::new(r.error_code.unwrap_or(ErrorCode::X402_DOMAIN_NOT_ALLOWED), r.message)),
            }
        })
    }

    /// The decision + reservation of a PENDING row for an already built intent, in one store
    /// transaction (also for intents that are no transaction, e.g. a message signature).
    pub(crate) async fn decide_intent(&self, tx: &TxRecord, intent: Intent) -> Result<Option<TxStatus>> {
        let owner = self.has_owner(&tx.wallet_id).await?;
        let settings = self.settings.clone();
        let now = self.clock.now();
        let usd = intent.amount_usd;
        // The tier the decision chose, for the metrics (`None` when denied).
        let chosen = Arc::new(std::sync::Mutex::new(None::<String>));
        let seen = chosen.clone();
        let gate = Gate { intent, settings, now, owner, usd, seen, policies: vec![] };
        let decided = self.store.decide_tx(&tx.id, now, Box::new(gate)).await?;
        if let Some(st) = decided {
            tracing::info!(tx = %tx.id, status = st.as_str(), "policy decision");
            let tier = chosen.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let m = &self.metrics;
            m.policy_decisions.inc(&[if tier.is_some() { "allowed" } else { "denied" }, tier.as_deref().unwrap_or("none")]);
            m.transaction(st, tier.as_deref());
        }
        Ok(decided)
    }

    /// Evaluate a request whose meaning to the evaluator is `kind` without recording
    /// anything (simulate).
    pub(crate) async fn dry_decide(&self, wallet_id: &str, network: Network, kind: &TxKind) -> Result<Decision> {
        self.dry_decide_shaped(wallet_id, network, kind, |_| {}).await
    }

    /// [`Policies::dry_decide`] of an action's bundle (see [`Policies::decide_action`]).
    pub(crate) async fn dry_decide_action(&self, wallet_id: &str, network: Network, kind: &TxKind, a: &ActionGate<'_>) -> Result<Decision> {
        let policies = self.enabled_for(wallet_id).await?;
        let intent = self.action_intent(wallet_id, network, kind, &policies, a).await;
        self.dry_evaluate(wallet_id, network, kind, &policies, &intent).await
    }

    async fn dry_decide_shaped(&self, wallet_id: &str, network: Network, kind: &TxKind, shape: impl Fn(&mut Intent)) -> Result<Decision> {
        let policies = self.enabled_for(wallet_id).await?;
        let intent = self.priced_intent(wallet_id, network, kind, &policies, shape).await;
        self.dry_evaluate(wallet_id, network, kind, &policies, &intent).await
    }

    /// Evaluate `intent` (of `kind`) against the wallet's usage as it is now, recording nothing.
    async fn dry_evaluate(&self, wallet_id: &str, network: Network, kind: &TxKind, policies: &[PolicyRecord], intent: &Intent) -> Result<Decision> {
        let token = match kind {
            TxKind::TokenTransfer { token, .. } | TxKind::Approve { token, .. } => Some(token.address.as_str()),
            _ => None,
        };
        let windows = policy::usage_needs(policies, wallet_id, network.id()).rate_windows;
        let usage = usage_of(self.store.usage(wallet_id, network.id(), token, &windows, self.clock.now()).await?);
        let owner = self.has_owner(wallet_id).await?;
        Ok(policy::evaluate(policies, intent, &usage, &self.settings, self.clock.now(), owner))
    }
}
