//! Agent-side queries and synchronous signing: transaction views and lists, address,
//! balances and assets, sign-message, signing external transactions, calldata encoding.

use crate::amount::format_units;
use crate::chain::{MessageKind, Operation, TxKind};
use crate::engine::{ensure_can_sign, Caller, Engine, SessionCtx};
use crate::error::{Error, ErrorCode, Result};
use crate::network::{Chain, Network};
use crate::store::tx::{TxPatch, TxRecord, TxStatus, TxType};
use crate::store::WalletRecord;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// A transaction as the API shows it (upstream `TxDetailResponse`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TxDetailResponse))]
pub struct TxView {
    pub id: String,
    pub wallet_id: String,
    #[serde(rename = "type")]
    pub tx_type: String,
    pub status: String,
    pub tier: Option<String>,
    pub chain: String,
    pub network: Option<String>,
    pub to_address: Option<String>,
    pub amount: Option<String>,
    pub tx_hash: Option<String>,
    pub error: Option<String>,
    pub error_code: Option<String>,
    pub created_at: Option<i64>,
    pub amount_formatted: Option<String>,
    pub amount_decimals: Option<u8>,
    pub amount_symbol: Option<String>,
    pub chain_id: Option<String>,
    pub nonce: Option<i64>,
    /// The action this transaction is a step of: provider, action, the bundle's id (its first
    /// step), this step's place and every step's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<crate::pipeline::bundle::StepOf>,
}

impl From<&TxRecord> for TxView {
    fn from(t: &TxRecord) -> Self {
        let net = Network::parse(&t.network).ok();
        let (decimals, symbol) = match serde_json::from_str::<TxKind>(&t.request) {
            Ok(TxKind::TokenTransfer { token, .. }) | Ok(TxKind::Approve { token, .. }) => (Some(token.decimals), token.symbol),
            Ok(_) => (net.map(|n| n.info().native_decimals), net.map(|n| n.info().native_symbol.to_string())),
            Err(_) => (None, None),
        };
        let amount_formatted = match (&t.amount, decimals) {
            (Some(a), Some(d)) => a.parse::<u128>().ok().map(|v| format_units(v, d)),
            _ => None,
        };
        TxView {
            id: t.id.clone(),
            wallet_id: t.wallet_id.clone(),
            tx_type: t.tx_type.as_str().into(),
            status: t.status.as_str().into(),
            tier: t.tier.clone(),
            chain: t.chain.clone(),
            network: Some(t.network.clone()),
            to_address: t.to_address.clone(),
            amount: t.amount.clone(),
            tx_hash: t.tx_hash.clone(),
            error: t.error.clone(),
            error_code: t.error_code.clone(),
            created_at: Some(t.created_at),
            amount_formatted,
            amount_decimals: decimals,
            amount_symbol: symbol,
            chain_id: net.map(|n| n.info().caip2.to_string()),
            nonce: t.nonce,
            action: crate::pipeline::bundle::step_of(t),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TxListResponse))]
pub struct TxPage {
    pub items: Vec<TxView>,
    pub cursor: Option<String>,
    pub has_more: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TxPendingListResponse))]
pub struct TxItems {
    pub items: Vec<TxView>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = WalletAddressResponse))]
pub struct AddressView {
    pub wallet_id: String,
    pub chain: Chain,
    pub network: String,
    pub environment: crate::network::Environment,
    pub address: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = WalletBalanceResponse))]
pub struct BalanceView {
    pub wallet_id: String,
    pub chain: Chain,
    pub network: String,
    pub address: String,
    pub balance: String,
    pub decimals: u8,
    pub symbol: String,
    pub balance_formatted: String,
    pub display_balance: Option<String>,
    pub display_currency: String,
    pub chain_id: String,
    pub asset_id: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = WalletAsset))]
pub struct AssetView {
    pub mint: String,
    pub symbol: String,
    pub name: String,
    pub balance: String,
    pub decimals: u8,
    pub is_native: bool,
    pub balance_formatted: String,
    pub display_value: Option<String>,
    pub asset_id: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = WalletAssetsResponse))]
pub struct AssetsView {
    pub wallet_id: String,
    pub chain: Chain,
    pub network: String,
    pub assets: Vec<AssetView>,
    pub display_currency: String,
    pub chain_id: String,
}

/// `POST /v1/transactions/sign-message` body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TxSignMessageRequest))]
pub struct SignMessage {
    pub message: Option<String>,
    /// `personal` (default) or `typedData`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^(personal|typedData)$"))]
    pub sign_type: Option<String>,
    pub typed_data: Option<serde_json::Value>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::network::NetworkId>))]
    pub network: Option<String>,
    pub wallet_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TxSignMessageResponse))]
pub struct MessageSigned {
    pub id: String,
    pub signature: String,
    pub sign_type: String,
}

/// `POST /v1/transactions/sign` body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TxSignRequest))]
pub struct SignTransaction {
    pub transaction: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Chain>))]
    pub chain: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::network::NetworkId>))]
    pub network: Option<String>,
    pub wallet_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyResult {
    pub tier: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TxSignResponse))]
pub struct TransactionSigned {
    pub id: String,
    pub signed_transaction: String,
    pub tx_hash: Option<String>,
    pub operations: Vec<Operation>,
    pub policy_result: PolicyResult,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = EncodeCalldataResponse))]
pub struct Calldata {
    pub calldata: String,
    pub selector: String,
    pub function_name: String,
}

fn tx_not_found() -> Error {
    Error::new(ErrorCode::TX_NOT_FOUND, "Transaction not found")
}

impl Engine {
    /// A transaction of one of the caller's wallets.
    pub async fn get_transaction(&self, caller: &Caller<'_>, id: &str) -> Result<TxView> {
        let t = self.inner.store.get_tx(id).await?.ok_or_else(tx_not_found)?;
        if let Caller::Session(ctx) = caller {
            // Upstream lets any session read any transaction; ours sees only its wallets'.
            if !ctx.wallet_ids.contains(&t.wallet_id) {
                return Err(tx_not_found());
            }
        }
        Ok((&t).into())
    }

    pub(crate) fn scope_wallets(ctx: &SessionCtx, wallet_id: Option<&str>) -> Result<Vec<String>> {
        match wallet_id {
            Some(w) if ctx.wallet_ids.iter().any(|x| x == w) => Ok(vec![w.to_string()]),
            Some(_) => Err(Error::new(ErrorCode::WALLET_ACCESS_DENIED, "This session has no access to that wallet")),
            None => Ok(ctx.wallet_ids.clone()),
        }
    }

    /// Newest first; `cursor` is the last id of the previous page; `limit` 1..100 (20).
    pub async fn list_transactions(&self, ctx: &SessionCtx, wallet_id: Option<&str>, cursor: Option<&str>, limit: Option<i64>) -> Result<TxPage> {
        let limit = limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return Err(Error::validation("limit", "must be 1..100"));
        }
        let wallets = Self::scope_wallets(ctx, wallet_id)?;
        let mut rows = self.inner.store.list_txs(&wallets, None, cursor, limit + 1).await?;
        let has_more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let cursor = if has_more { rows.last().map(|r| r.id.clone()) } else { None };
        Ok(TxPage { items: rows.iter().map(TxView::from).collect(), cursor, has_more })
    }

    /// PENDING and QUEUED transactions of the session's wallets.
    pub async fn pending_transactions(&self, ctx: &SessionCtx, wallet_id: Option<&str>) -> Result<TxItems> {
        let wallets = Self::scope_wallets(ctx, wallet_id)?;
        let rows = self.inner.store.list_txs(&wallets, Some(&[TxStatus::Pending, TxStatus::Queued]), None, 1000).await?;
        Ok(TxItems { items: rows.iter().map(TxView::from).collect() })
    }

    pub async fn wallet_address(&self, ctx: &SessionCtx, wallet_id: Option<&str>, network: Option<&str>) -> Result<AddressView> {
        let w = self.resolve_wallet(ctx, wallet_id).await?;
        let net = self.wallet_network(&w, network)?;
        Ok(AddressView { wallet_id: w.id, chain: w.chain, network: net.id().into(), environment: w.environment, address: w.public_key })
    }

    async fn native_balance(&self, w: &WalletRecord, net: Network) -> Result<BalanceView> {
        let balance = self.adapter(net).balance(&w.public_key).await.map_err(|e| chain_read_error(net, e))?;
        let info = net.info();
        Ok(BalanceView {
            wallet_id: w.id.clone(),
            chain: w.chain,
            network: net.id().into(),
            address: w.public_key.clone(),
            balance: balance.to_string(),
            decimals: info.native_decimals,
            symbol: info.native_symbol.into(),
            balance_formatted: format_units(balance, info.native_decimals),
            display_balance: None,
            display_currency: "USD".into(),
            chain_id: info.caip2.into(),
            asset_id: format!("{}/slip44:{}", info.caip2, if w.chain == Chain::Solana { 501 } else { 60 }),
        })
    }

    /// Native balance on one network, or on every network of the wallet's environment
    /// with `network=all`.
    pub async fn wallet_balance(&self, ctx: &SessionCtx, wallet_id: Option<&str>, network: Option<&str>) -> Result<serde_json::Value> {
        let w = self.resolve_wallet(ctx, wallet_id).await?;
        if network == Some("all") {
            let mut balances = vec![];
            for net in Network::for_environment(w.chain, w.environment) {
                balances.push(match self.native_balance(&w, net).await {
                    Ok(b) => serde_json::json!({"network": b.network, "balance": b.balance, "decimals": b.decimals, "symbol": b.symbol, "balanceFormatted": b.balance_formatted}),
                    Err(e) => serde_json::json!({"network": net.id(), "error": e.message}),
                });
            }
            return Ok(serde_json::json!({"walletId": w.id, "chain": w.chain, "environment": w.environment, "balances": balances}));
        }
        let net = self.wallet_network(&w, network)?;
        serde_json::to_value(self.native_balance(&w, net).await?).map_err(Error::internal_from)
    }

    /// Native asset plus every registered token of the network, with balances from the chain.
    pub async fn wallet_assets(&self, ctx: &SessionCtx, wallet_id: Option<&str>, network: Option<&str>) -> Result<AssetsView> {
        let w = self.resolve_wallet(ctx, wallet_id).await?;
        let net = self.wallet_network(&w, network)?;
        self.assets_on(&w, net).await
    }

    /// `GET /v1/wallet/assets`: one network, or `network=all` (every network of the wallet's
    /// environment as `networkAssets`, a failing network reported in place, like upstream).
    pub async fn wallet_assets_json(&self, ctx: &SessionCtx, wallet_id: Option<&str>, network: Option<&str>) -> Result<serde_json::Value> {
        let to_json = |v: &AssetsView| serde_json::to_value(v).map_err(Error::internal_from);
        if network != Some("all") {
            return to_json(&self.wallet_assets(ctx, wallet_id, network).await?);
        }
        let w = self.resolve_wallet(ctx, wallet_id).await?;
        let mut out = vec![];
        for net in Network::for_environment(w.chain, w.environment) {
            out.push(match self.assets_on(&w, net).await {
                Ok(a) => serde_json::json!({"network": net.id(), "assets": to_json(&a)?["assets"]}),
                Err(e) => serde_json::json!({"network": net.id(), "error": e.message}),
            });
        }
        Ok(serde_json::json!({"walletId": w.id, "chain": w.chain, "environment": w.environment, "networkAssets": out}))
    }

    async fn assets_on(&self, w: &WalletRecord, net: Network) -> Result<AssetsView> {
        let native = self.native_balance(w, net).await?;
        let mut assets = vec![AssetView {
            mint: "native".into(),
            symbol: native.symbol.clone(),
            name: native.symbol.clone(),
            balance: native.balance.clone(),
            decimals: native.decimals,
            is_native: true,
            balance_formatted: native.balance_formatted.clone(),
            display_value: None,
            asset_id: native.asset_id.clone(),
        }];
        let adapter = self.adapter(net);
        for t in self.list_tokens(net.id()).await?.tokens {
            match adapter.token_balance(&w.public_key, &t.address).await {
                Ok(b) => assets.push(AssetView {
                    balance: b.to_string(),
                    balance_formatted: format_units(b, t.decimals),
                    mint: t.address,
                    symbol: t.symbol,
                    name: t.name,
                    decimals: t.decimals,
                    is_native: false,
                    display_value: None,
                    asset_id: t.asset_id.unwrap_or_default(),
                }),
                Err(e) => tracing::debug!("token balance {} failed: {}", t.address, e.error.message),
            }
        }
        Ok(AssetsView {
            wallet_id: w.id.clone(),
            chain: w.chain,
            network: net.id().into(),
            assets,
            display_currency: "USD".into(),
            chain_id: net.info().caip2.into(),
        })
    }

    /// Record a synchronous operation as a row, then mark it SIGNED or FAILED.
    /// `kind`, when the operation has a transaction meaning, fills the row's amount,
    /// destination and token like a send's (its reservation is counted the same way).
    pub(crate) async fn record_sync(
        &self,
        ctx: &SessionCtx,
        w: &WalletRecord,
        net: Network,
        ty: TxType,
        request: serde_json::Value,
        kind: Option<&TxKind>,
    ) -> Result<TxRecord> {
        self.autostop_activity(w).await?;
        let now = self.now();
        let (amount, to_address, token_address) = kind.map(crate::pipeline::summary).unwrap_or_default();
        let rec = TxRecord {
            id: crate::new_id(),
            wallet_id: w.id.clone(),
            session_id: Some(ctx.session_id.clone()),
            chain: w.chain.as_str().into(),
            network: net.id().into(),
            tx_type: ty,
            status: TxStatus::Pending,
            request: request.to_string(),
            amount,
            to_address,
            token_address,
            created_at: now,
            updated_at: now,
            ..Default::default()
        };
        self.inner.store.insert_tx(&rec).await?;
        self.inner.metrics.transaction(TxStatus::Pending, None);
        Ok(rec)
    }

    /// `metadata` is kept on the row (and shown in its audit entry), e.g. a message's hash.
    async fn finish_sync<T>(&self, id: &str, tier: &str, result: Result<T>, hash: impl FnOnce(&T) -> Option<String>, metadata: Option<String>) -> Result<T> {
        let now = self.now();
        // PENDING (sign-message) or EXECUTING (sign-only, after its policy decision).
        let from = [TxStatus::Pending, TxStatus::Executing];
        match result {
            Ok(v) => {
                let patch = TxPatch { tier: Some(tier.into()), tx_hash: hash(&v), executed_at: Some(now), metadata, ..Default::default() };
                if self.inner.store.transition_tx(id, &from, TxStatus::Signed, &patch, now).await? {
                    self.inner.metrics.transaction(TxStatus::Signed, Some(tier));
                }
                Ok(v)
            }
            Err(e) => {
                let patch =
                    TxPatch { error: Some(e.message.clone()), error_code: Some(e.code.as_str().into()), release_reservation: true, ..Default::default() };
                if self.inner.store.transition_tx(id, &from, TxStatus::Failed, &patch, now).await? {
                    self.inner.metrics.transaction(TxStatus::Failed, Some(tier).filter(|t| !t.is_empty()));
                }
                Err(e)
            }
        }
    }

    /// EIP-191 / EIP-712 (EVM) or ed25519 (Solana) message signature, through the same policy
    /// gate as a send: what the signature would authorize is decoded first
    /// ([`Engine::message_gate`]) and decided and reserved in one store transaction; only an
    /// allowed decision yields the permit that opens the key.
    pub async fn sign_message(&self, ctx: &SessionCtx, req: SignMessage) -> Result<MessageSigned> {
        let w = self.resolve_wallet(ctx, req.wallet_id.as_deref()).await?;
        ensure_can_sign(&w)?;
        let net = self.wallet_network(&w, req.network.as_deref())?;
        let sign_type = req.sign_type.clone().unwrap_or_else(|| "personal".into());
        let kind = match sign_type.as_str() {
            "personal" => {
                MessageKind::Personal(req.message.clone().ok_or_else(|| Error::validation("message", "is required for personal signatures"))?.into_bytes())
            }
            "typedData" => {
                if w.chain != Chain::Ethereum {
                    return Err(Error::new(ErrorCode::SIGNING_SCHEME_UNSUPPORTED, "EIP-712 typed data needs an EVM wallet"));
                }
                MessageKind::TypedData(req.typed_data.clone().ok_or_else(|| Error::validation("typedData", "is required when signType is typedData"))?)
            }
            other => return Err(Error::validation("signType", format!("must be personal or typedData, not '{other}'"))),
        };
        let gate = self.message_gate(&w, net, &kind).await?;
        let rec = self.record_sync(ctx, &w, net, TxType::Sign, gate.record.clone(), gate.kind.as_ref()).await?;
        let permit = self.gate_sync(&rec, gate.input()).await?;
        let tier = permit.tier().to_string();
        let chain = w.chain;
        let result = self
            .with_signing_key(permit, move |key| match chain {
                Chain::Ethereum => crate::chain::evm::sign_message(key, &kind),
                Chain::Solana => crate::chain::solana::sign_message(key, &kind),
            })
            .await;
        let hash = gate.hash;
        // A message hash is no transaction hash (the same text signed twice has the same one).
        let metadata = serde_json::json!({"messageHash": hash}).to_string();
        let signature = self.finish_sync(&rec.id, &tier, result, |_| None, Some(metadata)).await?;
        Ok(MessageSigned { id: rec.id, signature, sign_type })
    }

    /// Decode an external unsigned transaction, check it, and sign it without broadcasting.
    pub async fn sign_transaction(&self, ctx: &SessionCtx, req: SignTransaction) -> Result<TransactionSigned> {
        let w = self.resolve_wallet(ctx, req.wallet_id.as_deref()).await?;
        ensure_can_sign(&w)?;
        if let Some(c) = &req.chain {
            if c != w.chain.as_str() {
                return Err(Error::validation("chain", format!("the wallet is a {} wallet", w.chain)));
            }
        }
        let net = self.wallet_network(&w, req.network.as_deref())?;
        let raw = match w.chain {
            Chain::Ethereum => req.transaction.strip_prefix("0x").and_then(|h| hex::decode(h).ok()),
            Chain::Solana => base64::engine::general_purpose::STANDARD.decode(req.transaction.trim()).ok(),
        }
        .ok_or_else(|| {
            Error::new(
                ErrorCode::INVALID_TRANSACTION,
                if w.chain == Chain::Ethereum { "transaction must be 0x-prefixed hex" } else { "transaction must be base64" },
            )
        })?;
        let adapter = self.adapter(net);
        let decoded = adapter.decode_external(&raw)?;
        // What it really does, its fee included; a future nonce is refused (crate::meaning).
        let kind = self.external_kind(&w, net, &decoded).await?;
        let rec = self.record_sync(ctx, &w, net, TxType::Sign, serde_json::json!({"external": true, "operations": decoded.operations}), Some(&kind)).await?;
        let permit = self.gate_sync(&rec, crate::sign_gate::GateInput::Kind(&kind)).await?;
        let tier = permit.tier().to_string();
        let a = adapter.clone();
        let result = self.with_signing_key(permit, move |key| a.sign_external(&raw, key)).await;
        // A transaction still waiting for another signer's signature has no hash yet.
        let signed = self.finish_sync(&rec.id, &tier, result, |s| Some(s.hash.clone()).filter(|h| !h.is_empty()), None).await?;
        let encoded = match w.chain {
            Chain::Ethereum => format!("0x{}", hex::encode(&signed.raw)),
            Chain::Solana => base64::engine::general_purpose::STANDARD.encode(&signed.raw),
        };
        Ok(TransactionSigned {
            id: rec.id,
            signed_transaction: encoded,
            tx_hash: Some(signed.hash).filter(|h| !h.is_empty()),
            operations: decoded.operations,
            policy_result: PolicyResult { tier },
        })
    }

    /// ABI-encode a function call (`POST /v1/utils/encode-calldata`).
    pub fn encode_calldata(&self, abi: &serde_json::Value, function_name: &str, args: &[serde_json::Value]) -> Result<Calldata> {
        let (calldata, selector) = crate::chain::evm::encode_calldata(abi, function_name, args)?;
        Ok(Calldata { calldata, selector, function_name: function_name.into() })
    }
}

/// A chain read that failed, as the caller sees it: the adapter's error (its message names
/// the network and at most an endpoint's scheme, host and port, never an RPC URL's path,
/// query or user info) with the network in `details`. An unreachable node is
/// `CHAIN_ERROR` (502, retryable); a network without endpoints `ADAPTER_NOT_AVAILABLE` (503).
pub(crate) fn chain_read_error(net: Network, e: crate::chain::ChainError) -> Error {
    let err = e.error;
    if err.details.is_some() {
        return err;
    }
    err.with_details(serde_json::json!({"network": net.id()}))
}

impl Engine {
    /// Dry run of a send: always the policy decision with its explanation; the fee, the
    /// balance check and the chain simulation when the node answers, a `CHAIN_ERROR`
    /// warning naming the network when it does not. Records nothing.
    pub async fn simulate_transaction(&self, ctx: &SessionCtx, body: serde_json::Value) -> Result<serde_json::Value> {
        let started = std::time::Instant::now();
        let requested_wallet = body.get("walletId").and_then(|v| v.as_str()).map(str::to_string);
        let w = self.resolve_wallet(ctx, requested_wallet.as_deref()).await?;
        let (env, draft) = crate::pipeline::request::parse_send(w.chain, &body)?;
        let net = self.wallet_network(&w, env.network.as_deref())?;
        let kind = self.resolve_draft(net, &draft).await?;
        let d = self.dry_decide(&w.id, net, &kind).await?;
        self.dry_run_report(&w, net, &kind, draft.tx_type(), &d, started).await
    }

    /// The dry-run answer (upstream's `DryRunSimulationResult`) of `kind` from wallet `w` on
    /// `net`, whose policy decision is `d`: the fee, the balance changes and the chain's
    /// simulation when the node answers, warnings naming what is missing when it does not.
    pub(crate) async fn dry_run_report(
        &self,
        w: &WalletRecord,
        net: Network,
        kind: &TxKind,
        tx_type: TxType,
        d: &crate::policy::Decision,
        started: std::time::Instant,
    ) -> Result<serde_json::Value> {
        let mut warnings = vec![];
        if let Some(wn) = &d.cumulative_warning {
            warnings.push(serde_json::json!({"code": "CUMULATIVE_LIMIT_WARNING", "message": wn, "severity": "warning"}));
        }
        if ensure_can_sign(w).is_err() {
            warnings.push(serde_json::json!({"code": "WALLET_NOT_ACTIVE", "message": format!("wallet is {}", w.status.as_str()), "severity": "error"}));
        }
        let adapter = self.adapter(net);
        let info = net.info();
        // The fee is native: only the native price is needed, and only for a request the policy
        // allows (a denied one asks no oracle anything).
        let native_usd = if d.allowed {
            match self.inner.oracles.price(&crate::price::Asset::native(net)).await {
                crate::price::Lookup::Found(p) => Some(p.usd),
                _ => None,
            }
        } else {
            None
        };
        let mut fee_amount: Option<u128> = None;
        // The chain part degrades: a node that cannot be reached (or errs) turns into a
        // warning naming the network, never into an error of the whole dry run.
        let mut unreachable: Option<String> = None;
        let (fee, simulation) = match adapter.build(&w.public_key, kind, None).await {
            Ok(u) => {
                let sim = match adapter.simulate(&w.public_key, &u).await {
                    Ok(s) => Some(s),
                    Err(e) if e.class == crate::chain::ErrorClass::Transient => {
                        unreachable.get_or_insert(e.error.message);
                        None
                    }
                    Err(_) => None,
                };
                fee_amount = Some(u.fee.estimated_fee);
                let fee_usd = native_usd.map(|p| crate::price::usd_value(u.fee.estimated_fee, info.native_decimals, p));
                (
                    Some(serde_json::json!({
                        "estimatedFee": u.fee.estimated_fee.to_string(), "feeSymbol": info.native_symbol, "feeDecimals": info.native_decimals,
                        "feeUsd": fee_usd, "needsAtaCreation": u.fee.ata_rent.map(|r| r > 0), "ataRentCost": u.fee.ata_rent.map(|r| r.to_string()),
                    })),
                    sim.map(|s| serde_json::json!({"success": s.success, "logs": s.logs, "unitsConsumed": s.units_consumed, "error": s.error}))
                        .unwrap_or(serde_json::json!({"success": false, "logs": [], "unitsConsumed": null, "error": "simulation unavailable"})),
                )
            }
            Err(e) => {
                if e.class == crate::chain::ErrorClass::Transient {
                    unreachable.get_or_insert(e.error.message.clone());
                }
                (None, serde_json::json!({"success": false, "logs": [], "unitsConsumed": null, "error": e.error.message}))
            }
        };
        // What the wallet's balances would become (upstream's dry-run shape), and the warnings
        // a caller should see before sending.
        let mut balance_changes = vec![];
        if d.allowed {
            let fee = fee_amount.unwrap_or(0);
            let (native_out, token) = match kind {
                TxKind::Transfer { amount, .. } => (*amount, None),
                TxKind::ContractCall { value, .. } => (*value, None),
                TxKind::TokenTransfer { amount, token, .. } => (0, Some((token, *amount))),
                TxKind::Batch { instructions } => (instructions.iter().map(|i| if let TxKind::Transfer { amount, .. } = i { *amount } else { 0 }).sum(), None),
                TxKind::Approve { .. } => (0, None),
            };
            let change = native_out.saturating_add(fee);
            match adapter.balance(&w.public_key).await {
                Ok(current) => {
                    balance_changes.push(serde_json::json!({
                        "asset": "native", "symbol": info.native_symbol, "decimals": info.native_decimals, "currentBalance": current.to_string(),
                        "changeAmount": format!("-{change}"), "afterBalance": (current as i128 - change as i128).to_string(),
                    }));
                    if current < change {
                        warnings.push(serde_json::json!({"code": "INSUFFICIENT_BALANCE_WITH_FEE", "message": format!("balance {current} is less than amount + fee {change}"), "severity": "error"}));
                    }
                }
                Err(e) => {
                    unreachable.get_or_insert(e.error.message);
                }
            }
            if let Some((t, amount)) = token {
                match adapter.token_balance(&w.public_key, &t.address).await {
                    Ok(cur) => balance_changes.push(serde_json::json!({
                        "asset": t.address, "symbol": t.symbol, "decimals": t.decimals, "currentBalance": cur.to_string(),
                        "changeAmount": format!("-{amount}"), "afterBalance": (cur as i128 - amount as i128).to_string(),
                    })),
                    Err(e) => {
                        unreachable.get_or_insert(e.error.message);
                    }
                }
            }
        }
        if d.downgraded {
            warnings.push(serde_json::json!({"code": "DOWNGRADED_NO_OWNER", "message": "APPROVAL downgraded to DELAY: the wallet has no owner to approve", "severity": "info"}));
        }
        match d.tier {
            crate::policy::Tier::Delay if d.allowed => warnings.push(serde_json::json!({"code": "DELAY_REQUIRED", "message": format!("Time delay of {} seconds will be applied", d.delay_seconds.unwrap_or(0)), "severity": "info"})),
            crate::policy::Tier::Approval if d.allowed => warnings.push(serde_json::json!({"code": "APPROVAL_REQUIRED", "message": "The owner must approve this transaction", "severity": "warning"})),
            _ => {}
        }
        if let Some(reason) = &unreachable {
            // The policy decision above stands; what the chain would say is unknown.
            // Upstream's warning shape ({code, message, severity}); CHAIN_ERROR is retryable.
            warnings.push(serde_json::json!({
                "code": "CHAIN_ERROR", "severity": "warning",
                "message": format!("The {} node could not be asked, so the fee, the balance check and the simulation are incomplete (retry later): {reason}", net.id()),
            }));
        } else if simulation["success"] != true {
            warnings.push(serde_json::json!({"code": "SIMULATION_FAILED", "message": simulation["error"].clone(), "severity": "error"}));
        }
        let reason = d.decided_by.as_ref().map(|r| r.message.clone());
        // Upstream omits the optional fields it has no value for (its schema does not allow null).
        let omit_nulls = |mut v: serde_json::Value, keep: &[&str]| {
            if let Some(o) = v.as_object_mut() {
                o.retain(|k, x| !x.is_null() || keep.contains(&k.as_str()));
            }
            v
        };
        let policy = omit_nulls(
            serde_json::json!({
                "tier": d.tier.as_str(), "allowed": d.allowed, "reason": reason, "delaySeconds": d.delay_seconds,
                "approvalReason": d.approval_reason, "downgraded": d.downgraded, "cumulativeWarning": d.cumulative_warning,
                "errorCode": d.error_code.map(|c| c.as_str()), "reasons": d.reasons,
            }),
            &[],
        );
        Ok(serde_json::json!({
            "success": d.allowed && simulation["success"] == true,
            "policy": policy,
            "fee": fee.map(|f| omit_nulls(f, &["feeUsd"])),
            "balanceChanges": balance_changes,
            "warnings": warnings,
            "simulation": simulation,
            "meta": {"chain": w.chain, "network": net.id(), "transactionType": tx_type.as_str(), "durationMs": started.elapsed().as_millis() as u64},
        }))
    }
}
