//! `aave_v3`: supply, borrow, repay and withdraw on an Aave v3 Pool (`[actions]
//! aave_v3_pool_address`), variable rate.
//!
//! Supply and repay approve the Pool for exactly the amount first (approve + call, one
//! bundle). Every action names its asset, which LENDING_ASSET_WHITELIST requires; a borrow
//! carries the loan-to-value the account would have after it, computed from the Pool's own
//! `getUserAccountData` and the market's price oracle (`ADDRESSES_PROVIDER().getPriceOracle()`),
//! for LENDING_LTV_LIMIT.

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
    function supply(address asset, uint256 amount, address onBehalfOf, uint16 referralCode) external;
    function borrow(address asset, uint256 amount, uint256 interestRateMode, uint16 referralCode, address onBehalfOf) external;
    function repay(address asset, uint256 amount, uint256 interestRateMode, address onBehalfOf) external returns (uint256);
    function withdraw(address asset, uint256 amount, address to) external returns (uint256);
    function getUserAccountData(address user) external view returns (uint256 totalCollateralBase, uint256 totalDebtBase, uint256 availableBorrowsBase, uint256 currentLiquidationThreshold, uint256 ltv, uint256 healthFactor);
    function ADDRESSES_PROVIDER() external view returns (address);
    function getPriceOracle() external view returns (address);
    function getAssetPrice(address asset) external view returns (uint256);
}

/// Aave's variable interest rate mode.
const VARIABLE: u64 = 2;

/// The params of every action.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct Lending {
    /// The reserve's ERC-20 address.
    asset: String,
    /// In the asset's smallest units.
    amount: Units,
}

pub(crate) struct AaveV3;

/// A base-currency figure (8 decimals in Aave v3's USD markets) as a float, for ratios.
fn base(v: U256) -> f64 {
    u128::try_from(v).map(|x| x as f64).unwrap_or(f64::INFINITY)
}

/// The account's loan-to-value once it has borrowed `amount` more of `asset`: (debt + the
/// borrow's value) / collateral, all in the market's base currency; infinite without collateral.
async fn ltv_after_borrow(cx: &ResolveCtx<'_>, pool: &str, asset: Address, amount: u128, user: Address) -> Result<f64> {
    let account = cx.read(pool, getUserAccountDataCall { user }).await?;
    let provider = cx.read(pool, ADDRESSES_PROVIDERCall {}).await?;
    let oracle = cx.read(&provider.to_string(), getPriceOracleCall {}).await?;
    let price = cx.read(&oracle.to_string(), getAssetPriceCall { asset }).await?;
    let decimals = cx.chain.token_info(&asset.to_string()).await.map_err(Error::from)?.decimals;
    let borrowed = U256::from(amount) * price / U256::from(10u64).pow(U256::from(decimals));
    let collateral = base(account.totalCollateralBase);
    if collateral == 0.0 {
        return Ok(f64::INFINITY);
    }
    Ok((base(account.totalDebtBase) + base(borrowed)) / collateral)
}

#[async_trait]
impl ActionProvider for AaveV3 {
    fn meta(&self) -> ProviderMeta {
        ProviderMeta {
            name: "aave_v3",
            description: "Aave v3 lending: supply and withdraw collateral, borrow and repay at the variable rate",
            version: "1.0.0",
            chains: &[Chain::Ethereum],
            category: "Lending",
            requires_api_key: false,
            mcp_expose: true,
        }
    }

    fn actions(&self) -> Vec<ActionDef> {
        let def = |name, description, risk_level, default_tier| ActionDef { name, description, risk_level, default_tier, input_schema: schema::<Lending>() };
        vec![
            def("supply", "Supply an asset to the Aave v3 pool as collateral (the pool is approved for the amount first)", "medium", Tier::Notify),
            def("borrow", "Borrow an asset from the Aave v3 pool at the variable rate against the wallet's collateral", "high", Tier::Notify),
            def("repay", "Repay a variable-rate Aave v3 debt (the pool is approved for the amount first)", "low", Tier::Instant),
            def("withdraw", "Withdraw a supplied asset from the Aave v3 pool to the wallet", "medium", Tier::Notify),
        ]
    }

    async fn resolve(&self, action: &str, p: Value, cx: &ResolveCtx<'_>) -> Result<Plan> {
        let Lending { asset, amount } = params(p)?;
        let asset = check_address(Chain::Ethereum, "params.asset", &asset)?;
        let pool = cx.settings.address("pool_address", Chain::Ethereum)?;
        let (a, me): (Address, Address) = (
            asset.parse().map_err(|_| Error::validation("params.asset", "must be an EVM address"))?,
            cx.wallet_address.parse().map_err(|_| Error::internal("wallet address"))?,
        );
        let n = U256::from(amount.0);
        let call = |calldata: Vec<u8>| TxKind::ContractCall { to: pool.clone(), calldata, value: 0, accounts: vec![] };
        let mut plan = Plan { asset: Some(asset.clone()), ..Plan::default() };
        plan.steps = match action {
            "supply" => {
                vec![cx.approval(&asset, &pool, amount.0).await?, call(supplyCall { asset: a, amount: n, onBehalfOf: me, referralCode: 0 }.abi_encode())]
            }
            "borrow" => {
                plan.projected_ltv = Some(ltv_after_borrow(cx, &pool, a, amount.0, me).await?);
                vec![call(borrowCall { asset: a, amount: n, interestRateMode: U256::from(VARIABLE), referralCode: 0, onBehalfOf: me }.abi_encode())]
            }
            "repay" => vec![
                cx.approval(&asset, &pool, amount.0).await?,
                call(repayCall { asset: a, amount: n, interestRateMode: U256::from(VARIABLE), onBehalfOf: me }.abi_encode()),
            ],
            "withdraw" => vec![call(withdrawCall { asset: a, amount: n, to: me }.abi_encode())],
            other => return Err(Error::new(ErrorCode::ACTION_NOT_FOUND, format!("Action '{other}' not found in provider 'aave_v3'"))),
        };
        Ok(plan)
    }
}
