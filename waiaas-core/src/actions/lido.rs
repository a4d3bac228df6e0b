//! `lido_staking`: stake ETH for stETH through Lido's `submit(address _referral)`, a payable
//! call to the stETH contract (`[actions] lido_staking_steth_address`; Lido's own address on
//! ethereum-mainnet when unset).

use super::{params, schema, ActionDef, ActionProvider, Plan, ProviderMeta, ResolveCtx, Units};
use crate::chain::TxKind;
use crate::error::Result;
use crate::network::Chain;
use crate::policy::Tier;
use alloy_primitives::Address;
use alloy_sol_types::{sol, SolCall};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;

sol! {
    function submit(address _referral) external payable returns (uint256);
}

/// stETH on ethereum-mainnet.
const MAINNET_STETH: &str = "0xae7ab96520DE3A18E5e111B5EaAb095312D7fE84";

/// `stake` params.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct Stake {
    /// Wei to stake.
    amount: Units,
}

pub(crate) struct Lido;

#[async_trait]
impl ActionProvider for Lido {
    fn meta(&self) -> ProviderMeta {
        ProviderMeta {
            name: "lido_staking",
            description: "Lido liquid staking: stake ETH and receive stETH",
            version: "1.0.0",
            chains: &[Chain::Ethereum],
            category: "Staking",
            requires_api_key: false,
            mcp_expose: true,
        }
    }

    fn actions(&self) -> Vec<ActionDef> {
        vec![ActionDef {
            name: "stake",
            description: "Stake ETH with Lido (stETH submit): the wallet receives stETH for the ETH it sends",
            risk_level: "medium",
            default_tier: Tier::Notify,
            input_schema: schema::<Stake>(),
        }]
    }

    async fn resolve(&self, _action: &str, p: Value, cx: &ResolveCtx<'_>) -> Result<Plan> {
        let Stake { amount } = params(p)?;
        let steth = match cx.settings.get("steth_address") {
            None if cx.network.id() == "ethereum-mainnet" => MAINNET_STETH.to_string(),
            _ => cx.settings.address("steth_address", Chain::Ethereum)?,
        };
        let calldata = submitCall { _referral: Address::ZERO }.abi_encode();
        Ok(Plan::of(vec![TxKind::ContractCall { to: steth, calldata, value: amount.0, accounts: vec![] }]))
    }
}
