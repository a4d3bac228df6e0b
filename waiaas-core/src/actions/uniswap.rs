//! `uniswap_v2`: swap through a Uniswap v2 router (`[actions] uniswap_v2_router_address`).
//!
//! The quote is the router's own `getAmountsOut` (the pool's reserves and fee) read when the
//! action is resolved; the swap's minimum output is that quote less the slippage bound
//! (`slippageBps`, default `uniswap_v2_slippage_bps` = 50, at most `uniswap_v2_max_slippage_bps`
//! = 500), so a price that moves further before the swap runs makes the router revert it. A
//! token sold is approved to the router first: approve + swap, one bundle, in that order.

use super::{params, schema, ActionDef, ActionProvider, Plan, ProviderMeta, ResolveCtx, Units};
use crate::chain::TxKind;
use crate::error::{Error, ErrorCode, Result};
use crate::network::{check_address, Chain};
use crate::policy::Tier;
use alloy_primitives::{Address, U256};
use alloy_sol_types::{sol, SolCall};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;

sol! {
    function WETH() external pure returns (address);
    function getAmountsOut(uint256 amountIn, address[] path) external view returns (uint256[] amounts);
    function swapExactETHForTokens(uint256 amountOutMin, address[] path, address to, uint256 deadline) external payable returns (uint256[] amounts);
    function swapExactTokensForETH(uint256 amountIn, uint256 amountOutMin, address[] path, address to, uint256 deadline) external returns (uint256[] amounts);
    function swapExactTokensForTokens(uint256 amountIn, uint256 amountOutMin, address[] path, address to, uint256 deadline) external returns (uint256[] amounts);
}

/// `swap` params.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Swap {
    /// The token sold: an ERC-20 address, or `ETH`.
    token_in: String,
    /// The token bought: an ERC-20 address, or `ETH`.
    token_out: String,
    /// How much of `tokenIn` to sell, in its smallest units.
    amount_in: Units,
    /// Largest accepted shortfall from the quote, in basis points (default from settings).
    slippage_bps: Option<u64>,
}

/// A side of the swap: native ETH (through WETH) or a token.
fn side(field: &str, raw: &str) -> Result<Option<Address>> {
    if raw.eq_ignore_ascii_case("ETH") {
        return Ok(None);
    }
    let a = check_address(Chain::Ethereum, &format!("params.{field}"), raw)?;
    a.parse::<Address>().map(Some).map_err(|_| Error::validation(&format!("params.{field}"), "must be an EVM address or ETH"))
}

/// A slippage bound within `[0, max]` basis points, from the request or the settings.
pub(crate) fn slippage(requested: Option<u64>, cx: &ResolveCtx<'_>) -> Result<u64> {
    let max = cx.settings.number("max_slippage_bps", 500, 0..=5_000)?;
    let bps = match requested {
        Some(b) => b,
        None => cx.settings.number("slippage_bps", 50, 0..=5_000)?,
    };
    if bps > max {
        return Err(Error::validation("params.slippageBps", format!("must be at most {max} (actions.{}_max_slippage_bps)", cx.settings.name())));
    }
    Ok(bps)
}

/// `quote` less `bps` basis points, rounded down.
pub(crate) fn minimum(quote: U256, bps: u64) -> U256 {
    quote * U256::from(10_000 - bps) / U256::from(10_000u64)
}

pub(crate) struct UniswapV2;

#[async_trait]
impl ActionProvider for UniswapV2 {
    fn meta(&self) -> ProviderMeta {
        ProviderMeta {
            name: "uniswap_v2",
            description: "Uniswap v2: swap ETH and ERC-20 tokens through the router, at the pool's quote within a slippage bound",
            version: "1.0.0",
            chains: &[Chain::Ethereum],
            category: "Swap",
            requires_api_key: false,
            mcp_expose: true,
        }
    }

    fn actions(&self) -> Vec<ActionDef> {
        vec![ActionDef {
            name: "swap",
            description: "Swap an exact amount of one token (or ETH) for another through the Uniswap v2 router; a token sold is approved to the router first",
            risk_level: "high",
            default_tier: Tier::Notify,
            input_schema: schema::<Swap>(),
        }]
    }

    async fn resolve(&self, _action: &str, p: Value, cx: &ResolveCtx<'_>) -> Result<Plan> {
        let s: Swap = params(p)?;
        let (token_in, token_out) = (side("tokenIn", &s.token_in)?, side("tokenOut", &s.token_out)?);
        if token_in == token_out {
            return Err(Error::validation("params.tokenOut", "must differ from tokenIn"));
        }
        let bps = slippage(s.slippage_bps, cx)?;
        let router = cx.settings.address("router_address", Chain::Ethereum)?;
        let weth = cx.read(&router, WETHCall {}).await?;
        let path = vec![token_in.unwrap_or(weth), token_out.unwrap_or(weth)];
        let amount_in = U256::from(s.amount_in.0);
        let amounts = cx
            .read(&router, getAmountsOutCall { amountIn: amount_in, path: path.clone() })
            .await
            .map_err(|e| Error::new(ErrorCode::ACTION_RESOLVE_FAILED, format!("no Uniswap v2 quote for {} -> {}: {}", s.token_in, s.token_out, e.message)))?;
        let quote = amounts.last().copied().unwrap_or_default();
        if quote.is_zero() {
            return Err(Error::new(ErrorCode::ACTION_RESOLVE_FAILED, "the pool quotes nothing for this amount"));
        }
        let min = minimum(quote, bps);
        let to: Address = cx.wallet_address.parse().map_err(|_| Error::internal("wallet address"))?;
        let deadline = U256::from(u64::try_from(cx.now).unwrap_or(0) + cx.settings.number("deadline_sec", 1_200, 60..=86_400)?);
        let (calldata, value) = match (token_in, token_out) {
            (None, _) => (swapExactETHForTokensCall { amountOutMin: min, path, to, deadline }.abi_encode(), s.amount_in.0),
            (Some(_), None) => (swapExactTokensForETHCall { amountIn: amount_in, amountOutMin: min, path, to, deadline }.abi_encode(), 0),
            (Some(_), Some(_)) => (swapExactTokensForTokensCall { amountIn: amount_in, amountOutMin: min, path, to, deadline }.abi_encode(), 0),
        };
        let swap = TxKind::ContractCall { to: router.clone(), calldata, value, accounts: vec![] };
        Ok(Plan::of(match token_in {
            None => vec![swap],
            Some(t) => vec![cx.approval(&t.to_string(), &router, s.amount_in.0).await?, swap],
        }))
    }
}
