//! `zerox_swap`: a swap quoted by a 0x Swap API v2 server (`[actions] zerox_swap_api_url`,
//! default `https://api.0x.org`; key `zerox_swap_api_key`, required): `GET
//! /swap/allowance-holder/quote` returns the transaction to send and the contract that pulls
//! the sold token (`allowanceTarget`, or `issues.allowance.spender`). A token sold is always
//! approved for exactly the amount sold, even when an earlier allowance would do: the approval
//! is how the bundle's value reaches the policy engine (see [`super::ActionProvider`]).
//!
//! The quote is checked before anything is recorded: the call goes to the contract the
//! approval is for, it sends no more ETH than is sold (none when a token is sold), and it buys
//! at least something.

use super::uniswap::slippage;
use super::{params, schema, ActionDef, ActionProvider, Plan, ProviderMeta, ResolveCtx, Units};
use crate::chain::TxKind;
use crate::error::{Error, ErrorCode, Result};
use crate::network::{check_address, Chain};
use crate::policy::Tier;
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;

/// How 0x names native ETH.
const NATIVE: &str = "0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE";

/// `swap` params.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Swap {
    /// The token sold: an ERC-20 address, or `ETH`.
    sell_token: String,
    /// The token bought: an ERC-20 address, or `ETH`.
    buy_token: String,
    /// How much of `sellToken` to sell, in its smallest units.
    sell_amount: Units,
    /// Largest accepted shortfall from the quote, in basis points (default from settings).
    slippage_bps: Option<u64>,
}

/// The parts of 0x's quote answer the swap needs.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Quote {
    #[serde(default)]
    liquidity_available: Option<bool>,
    #[serde(default)]
    allowance_target: Option<String>,
    buy_amount: String,
    min_buy_amount: String,
    #[serde(default)]
    issues: Issues,
    transaction: QuoteTx,
}

#[derive(Deserialize, Default)]
struct Issues {
    allowance: Option<Allowance>,
}

#[derive(Deserialize)]
struct Allowance {
    spender: String,
}

#[derive(Deserialize)]
struct QuoteTx {
    to: String,
    data: String,
    #[serde(default)]
    value: Option<String>,
}

fn token_param(field: &str, raw: &str) -> Result<Option<String>> {
    if raw.eq_ignore_ascii_case("ETH") || raw.eq_ignore_ascii_case(NATIVE) {
        return Ok(None);
    }
    check_address(Chain::Ethereum, &format!("params.{field}"), raw).map(Some)
}

pub(crate) struct ZeroX;

#[async_trait]
impl ActionProvider for ZeroX {
    fn meta(&self) -> ProviderMeta {
        ProviderMeta {
            name: "zerox_swap",
            description: "0x Swap API: swap ETH and ERC-20 tokens at the best quote 0x finds (API key required)",
            version: "1.0.0",
            chains: &[Chain::Ethereum],
            category: "Swap",
            requires_api_key: true,
            mcp_expose: true,
        }
    }

    fn actions(&self) -> Vec<ActionDef> {
        vec![ActionDef {
            name: "swap",
            description: "Swap an exact amount of one token (or ETH) for another at a 0x quote; a token sold is approved to 0x's AllowanceHolder first",
            risk_level: "high",
            default_tier: Tier::Notify,
            input_schema: schema::<Swap>(),
        }]
    }

    async fn resolve(&self, _action: &str, p: Value, cx: &ResolveCtx<'_>) -> Result<Plan> {
        let s: Swap = params(p)?;
        let (sell, buy) = (token_param("sellToken", &s.sell_token)?, token_param("buyToken", &s.buy_token)?);
        if sell == buy {
            return Err(Error::validation("params.buyToken", "must differ from sellToken"));
        }
        let bps = slippage(s.slippage_bps, cx)?;
        let key = cx
            .settings
            .get("api_key")
            .ok_or_else(|| Error::new(ErrorCode::API_KEY_REQUIRED, "zerox_swap needs an API key: set [actions] zerox_swap_api_key"))?;
        let base = cx.settings.get("api_url").unwrap_or_else(|| "https://api.0x.org".into());
        let chain_id = cx.network.info().chain_id.ok_or_else(|| Error::new(ErrorCode::ACTION_CHAIN_MISMATCH, "0x quotes need an EVM chain id"))?;
        let query = [
            ("chainId", chain_id.to_string()),
            ("sellToken", sell.clone().unwrap_or_else(|| NATIVE.into())),
            ("buyToken", buy.unwrap_or_else(|| NATIVE.into())),
            ("sellAmount", s.sell_amount.0.to_string()),
            ("taker", cx.wallet_address.to_string()),
            ("slippageBps", bps.to_string()),
        ];
        let failed = |why: String| Error::new(ErrorCode::ACTION_RESOLVE_FAILED, format!("0x quote: {why}"));
        let answer = cx
            .http
            .get(format!("{}/swap/allowance-holder/quote", base.trim_end_matches('/')))
            .query(&query)
            .header("0x-api-key", key)
            .header("0x-version", "v2")
            .timeout(std::time::Duration::from_secs(15))
            .send()
            .await
            .map_err(|e| failed(format!("the API cannot be reached: {}", crate::redact::http_error(e))))?;
        let status = answer.status();
        let body = answer.text().await.map_err(|e| failed(e.to_string()))?;
        if !status.is_success() {
            let short: String = body.chars().take(300).collect();
            return Err(failed(format!("HTTP {status}: {short}")));
        }
        let q: Quote = serde_json::from_str(&body).map_err(|e| failed(format!("unexpected answer: {e}")))?;
        if q.liquidity_available == Some(false) {
            return Err(failed("no liquidity for this pair".into()));
        }
        let units = |field: &str, v: &str| v.parse::<u128>().map_err(|_| failed(format!("{field} '{v}' is not an amount")));
        let (buy_amount, min_buy) = (units("buyAmount", &q.buy_amount)?, units("minBuyAmount", &q.min_buy_amount)?);
        if min_buy == 0 || min_buy > buy_amount {
            return Err(failed(format!("minBuyAmount {min_buy} is not within (0, buyAmount {buy_amount}]")));
        }
        let to = check_address(Chain::Ethereum, "transaction.to", &q.transaction.to).map_err(|e| failed(e.message))?;
        let value = match q.transaction.value.as_deref() {
            None | Some("") => 0,
            Some(v) => units("transaction.value", v)?,
        };
        let expected = if sell.is_none() { s.sell_amount.0 } else { 0 };
        if value != expected {
            return Err(failed(format!("the transaction would send {value} wei; selling this needs {expected}")));
        }
        let calldata = hex::decode(q.transaction.data.trim_start_matches("0x")).map_err(|_| failed("transaction.data is not hex".into()))?;
        if calldata.len() < 4 {
            return Err(failed("transaction.data has no selector".into()));
        }
        let swap = TxKind::ContractCall { to: to.clone(), calldata, value, accounts: vec![] };
        let Some(token) = sell else { return Ok(Plan::of(vec![swap])) };
        let target = q.allowance_target.or(q.issues.allowance.map(|a| a.spender)).ok_or_else(|| failed("no allowanceTarget for the token sold".into()))?;
        let spender = check_address(Chain::Ethereum, "allowanceTarget", &target).map_err(|e| failed(e.message))?;
        if !Chain::Ethereum.same_address(&spender, &to) {
            return Err(failed(format!("the approval would be for {spender} but the swap calls {to}")));
        }
        Ok(Plan::of(vec![cx.approval(&token, &spender, s.sell_amount.0).await?, swap]))
    }
}
