//! DeFi actions: providers that turn an action (`stake`, `swap`, ...) into the contract calls
//! that perform it, and the bundle those calls run as.
//!
//! A provider ([`ActionProvider`]) is a trusted builder of calldata and nothing more: its input
//! is validated against the action's declared type (whose JSON Schema the providers list and the
//! MCP tools publish), every step it returns is checked again, provenance (which provider, which
//! action) is set here and never taken from a client, and the steps pass the policy engine like
//! any send (CONTRACT_WHITELIST included: a provider is no exemption).
//!
//! The steps of one action are one **bundle** ([`crate::pipeline::bundle`]): recorded
//! together, decided once as a whole (every step's value, target and approval, at the
//! action's tier floor) on the first step, reserved once, then run strictly in order: step
//! n+1 is built and signed only after step n is CONFIRMED; a step that ends any other way
//! cancels the rest and releases the reservation when nothing moved; a restart resumes the
//! bundle where it stood.

mod aave;
mod lido;
pub(crate) mod run;
mod uniswap;
mod zerox;

use crate::chain::{ChainAdapter, TxKind};
use crate::config::Config;
use crate::error::{Error, ErrorCode, Result};
use crate::network::{Chain, Network};
use crate::policy::Tier;
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

pub use run::{ActionAccepted, ActionOutcome, StepView};

/// Most steps one action may resolve to.
pub const MAX_STEPS: usize = 8;

/// What a provider is (upstream's provider metadata).
#[derive(Debug, Clone)]
pub struct ProviderMeta {
    /// `^[a-z][a-z0-9_]*$`; also the prefix of its `[actions]` settings.
    pub name: &'static str,
    pub description: &'static str,
    pub version: &'static str,
    pub chains: &'static [Chain],
    /// `Swap`, `Staking`, `Lending`, ...
    pub category: &'static str,
    pub requires_api_key: bool,
    /// Whether MCP exposes its actions as `action_<provider>_<action>` tools.
    pub mcp_expose: bool,
}

/// One action of a provider.
#[derive(Debug, Clone)]
pub struct ActionDef {
    pub name: &'static str,
    pub description: &'static str,
    /// `low`, `medium`, `high` or `critical`.
    pub risk_level: &'static str,
    /// The lowest tier the action's bundle is decided at (`actions.<provider>_<action>_tier`
    /// may only raise it).
    pub default_tier: Tier,
    /// JSON Schema of `params`.
    pub input_schema: Value,
}

/// What a provider reads while resolving.
pub struct ResolveCtx<'a> {
    pub wallet_address: &'a str,
    pub network: Network,
    /// The network's adapter, for contract reads (quotes, reserves, account data).
    pub chain: Arc<dyn ChainAdapter>,
    pub settings: ProviderSettings<'a>,
    pub http: reqwest::Client,
    /// Unix seconds.
    pub now: i64,
}

impl ResolveCtx<'_> {
    /// The approval step of `amount` of `token` to `spender`, at the token's decimals read from
    /// the chain.
    pub async fn approval(&self, token: &str, spender: &str, amount: u128) -> Result<TxKind> {
        let info = self.chain.token_info(token).await.map_err(Error::from)?;
        Ok(TxKind::Approve {
            spender: spender.to_string(),
            amount,
            token: crate::chain::TokenInfo { address: token.to_string(), decimals: info.decimals, symbol: info.symbol, program_id: None },
        })
    }

    /// A contract view `call` to `to`, decoded (`ACTION_RESOLVE_FAILED` when it reverts or
    /// answers something else).
    pub async fn read<C: alloy_sol_types::SolCall>(&self, to: &str, call: C) -> Result<C::Return> {
        let raw = self.chain.read_call(to, &call.abi_encode()).await.map_err(Error::from)?;
        C::abi_decode_returns(&raw).map_err(|_| Error::new(ErrorCode::ACTION_RESOLVE_FAILED, format!("{to}: malformed {} answer", C::SIGNATURE)))
    }
}

/// A provider: metadata, actions, and `resolve`, which turns validated params into the steps
/// that perform the action (each a transfer, a contract call or an ERC-20 approval).
///
/// The policy engine values a bundle by the native value of its steps and the tokens its
/// approvals let the next steps pull. So a step that spends a token the wallet holds must come
/// after an approval of exactly that amount in the same bundle, even when an earlier allowance
/// would do: a call that pulls tokens under an old allowance would be valued at nothing.
#[async_trait]
pub trait ActionProvider: Send + Sync {
    fn meta(&self) -> ProviderMeta;
    fn actions(&self) -> Vec<ActionDef>;
    async fn resolve(&self, action: &str, params: Value, cx: &ResolveCtx<'_>) -> Result<Plan>;
}

/// What `resolve` returns: the steps, and what the policy engine must know of the action
/// beyond them (read by the provider from the protocol itself).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub steps: Vec<TxKind>,
    /// The asset a lending action acts on (LENDING_ASSET_WHITELIST).
    pub asset: Option<String>,
    /// The account's loan-to-value after the action (LENDING_LTV_LIMIT), from the protocol's
    /// own account data.
    pub projected_ltv: Option<f64>,
}

impl Plan {
    pub fn of(steps: Vec<TxKind>) -> Plan {
        Plan { steps, ..Plan::default() }
    }
}

/// The built-in providers, enabled by `[actions] <name>_enabled = true`.
pub(crate) fn builtins() -> Vec<Arc<dyn ActionProvider>> {
    vec![Arc::new(aave::AaveV3), Arc::new(lido::Lido), Arc::new(uniswap::UniswapV2), Arc::new(zerox::ZeroX)]
}

/// A provider's `[actions]` settings: `<provider>_<key>` (env `WAIAAS_ACTIONS_<PROVIDER>_<KEY>`).
#[derive(Clone, Copy)]
pub struct ProviderSettings<'a> {
    config: &'a Config,
    provider: &'static str,
}

impl<'a> ProviderSettings<'a> {
    pub(crate) fn new(config: &'a Config, provider: &'static str) -> Self {
        ProviderSettings { config, provider }
    }

    /// The provider's name (its settings' prefix).
    pub fn name(&self) -> &'static str {
        self.provider
    }

    fn key(&self, key: &str) -> String {
        format!("{}_{key}", self.provider)
    }

    /// The value, if set and not empty.
    pub fn get(&self, key: &str) -> Option<String> {
        Some(crate::config::setting(self.config, "actions", &self.key(key))).filter(|v| !v.is_empty())
    }

    /// Whether `<provider>_enabled` is `true`.
    pub fn enabled(&self) -> bool {
        self.get("enabled").as_deref() == Some("true")
    }

    /// An address setting the action cannot do without.
    pub fn address(&self, key: &str, chain: Chain) -> Result<String> {
        let name = format!("actions.{}", self.key(key));
        let raw =
            self.get(key).ok_or_else(|| Error::new(ErrorCode::ACTION_RESOLVE_FAILED, format!("{name} is not set: the provider does not know the contract")))?;
        crate::network::check_address(chain, &name, &raw).map_err(|e| Error::new(ErrorCode::ACTION_RESOLVE_FAILED, format!("{name}: {}", e.message)))
    }

    /// A whole-number setting in `range`, `default` when unset.
    pub fn number(&self, key: &str, default: u64, range: std::ops::RangeInclusive<u64>) -> Result<u64> {
        let Some(raw) = self.get(key) else { return Ok(default) };
        raw.parse::<u64>().ok().filter(|v| range.contains(v)).ok_or_else(|| {
            Error::new(ErrorCode::VALIDATION_FAILED, format!("config: actions.{} must be {}..{} (got '{raw}')", self.key(key), range.start(), range.end()))
        })
    }

    /// The tier floor an operator set for `action` (`<provider>_<action>_tier`), if any.
    pub fn tier(&self, action: &str) -> Result<Option<Tier>> {
        let key = format!("{action}_tier");
        let Some(raw) = self.get(&key) else { return Ok(None) };
        Tier::parse(&raw.to_ascii_uppercase()).map(Some).ok_or_else(|| {
            Error::new(ErrorCode::VALIDATION_FAILED, format!("config: actions.{} must be INSTANT, NOTIFY, DELAY or APPROVAL (got '{raw}')", self.key(&key)))
        })
    }
}

/// `params` as the action's input type; a mismatch is `ACTION_VALIDATION_FAILED` naming the
/// field (`params.amount`).
pub fn params<T: DeserializeOwned>(v: Value) -> Result<T> {
    let v = match v {
        Value::Null => Value::Object(Default::default()),
        Value::Object(_) => v,
        _ => return Err(Error::validation("params", "must be an object")),
    };
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let field = if path == "." {
            inner.strip_prefix("missing field `").and_then(|r| r.split('`').next()).map(|f| format!("params.{f}")).unwrap_or_else(|| "params".into())
        } else {
            format!("params.{path}")
        };
        let message = inner.split(" at line ").next().unwrap_or_default().to_string();
        Error::validation(&field, message)
    })
}

/// The JSON Schema of an action's input type.
pub fn schema<T: schemars::JsonSchema>() -> Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null)
}

/// A base-10 amount in smallest units (`"1000000"`), as actions take them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Units(pub u128);

impl<'de> Deserialize<'de> for Units {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Units, D::Error> {
        let s = String::deserialize(d)?;
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(serde::de::Error::custom("must be a whole number of smallest units, as a string of digits"));
        }
        match s.parse::<u128>() {
            Ok(0) => Err(serde::de::Error::custom("must be more than 0")),
            Ok(v) => Ok(Units(v)),
            Err(_) => Err(serde::de::Error::custom("is too large")),
        }
    }
}

impl schemars::JsonSchema for Units {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Units".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "pattern": "^[0-9]+$", "description": "An amount in the asset's smallest units (wei, token base units), more than 0"})
    }
}

/// The providers list (`GET /v1/actions/providers`), upstream's shape.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderView {
    pub name: String,
    pub description: String,
    pub version: String,
    pub chains: Vec<String>,
    pub mcp_expose: bool,
    pub requires_api_key: bool,
    pub has_api_key: bool,
    pub enabled_key: String,
    pub category: String,
    pub is_enabled: bool,
    /// Empty for a provider that is not enabled.
    pub actions: Vec<ActionView>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionView {
    pub name: String,
    pub description: String,
    pub chain: String,
    pub risk_level: String,
    pub default_tier: String,
    pub input_schema: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProvidersList {
    pub providers: Vec<ProviderView>,
}

/// `POST /v1/actions/{provider}/{action}` body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecuteAction {
    #[serde(default)]
    pub params: Value,
    pub network: Option<String>,
    pub wallet_id: Option<String>,
}

/// One MCP tool per action of an enabled provider that exposes them.
#[derive(Debug, Clone)]
pub struct ActionTool {
    /// `action_<provider>_<action>`.
    pub name: String,
    pub provider: String,
    pub action: String,
    pub description: String,
    /// The tool's input: `params` (the action's schema), `network`, `walletId`.
    pub input_schema: Value,
}

/// The view of the providers, as `config` enables them.
pub fn providers_list(config: &Config) -> ProvidersList {
    let providers = builtins()
        .iter()
        .map(|p| {
            let m = p.meta();
            let s = ProviderSettings::new(config, m.name);
            let enabled = s.enabled();
            let chain = m.chains.first().map(|c| c.as_str()).unwrap_or_default();
            ProviderView {
                name: m.name.into(),
                description: m.description.into(),
                version: m.version.into(),
                chains: m.chains.iter().map(|c| c.as_str().to_string()).collect(),
                mcp_expose: m.mcp_expose,
                requires_api_key: m.requires_api_key,
                has_api_key: s.get("api_key").is_some(),
                enabled_key: m.name.into(),
                category: m.category.into(),
                is_enabled: enabled,
                actions: if enabled {
                    p.actions()
                        .into_iter()
                        .map(|a| ActionView {
                            name: a.name.into(),
                            description: a.description.into(),
                            chain: chain.into(),
                            risk_level: a.risk_level.into(),
                            default_tier: a.default_tier.as_str().into(),
                            input_schema: a.input_schema,
                        })
                        .collect()
                } else {
                    vec![]
                },
            }
        })
        .collect();
    ProvidersList { providers }
}

/// The MCP tools of the enabled providers of `list` that expose them (an MCP server reads the
/// list from the daemon it serves).
pub fn mcp_tools(list: ProvidersList) -> Vec<ActionTool> {
    list.providers
        .into_iter()
        .filter(|p| p.is_enabled && p.mcp_expose)
        .flat_map(|p| {
            p.actions.into_iter().map(move |a| ActionTool {
                name: format!("action_{}_{}", p.name, a.name),
                provider: p.name.clone(),
                action: a.name.clone(),
                description: format!("{} ({} action of {}; every step passes the wallet's policies)", a.description, a.risk_level, p.name),
                input_schema: serde_json::json!({
                    "type": "object",
                    "properties": {
                        "params": a.input_schema,
                        "network": {"type": "string", "description": "Network (default: the wallet's)"},
                        "walletId": {"type": "string", "description": "Wallet (when the session has several)"},
                        "dryRun": {"type": "boolean", "description": "Only explain the policy decision of the whole bundle; nothing is recorded or signed"},
                    },
                    "required": ["params"],
                }),
            })
        })
        .collect()
}

/// `0x`-prefixed hex, for views.
pub(crate) fn hex0x(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct P {
        amount_in: Units,
        note: Option<String>,
    }

    fn field_of(e: Error) -> (ErrorCode, Value) {
        (e.code, e.details.unwrap_or_default()["issues"][0]["path"].clone())
    }

    #[test]
    fn params_are_typed_and_a_bad_one_names_its_field() {
        let p: P = params(json!({"amountIn": "1000000"})).unwrap();
        assert_eq!((p.amount_in, p.note), (Units(1_000_000), None));
        for (bad, path) in [
            (json!({}), json!(["params", "amountIn"])),
            (json!({"amountIn": "0"}), json!(["params", "amountIn"])),
            (json!({"amountIn": "1.5"}), json!(["params", "amountIn"])),
            (json!({"amountIn": "-1"}), json!(["params", "amountIn"])),
            (json!({"amountIn": 5}), json!(["params", "amountIn"])),
            (json!({"amountIn": "340282366920938463463374607431768211456"}), json!(["params", "amountIn"])),
            (json!({"amountIn": "1", "to": "0x"}), json!(["params", "to"])),
            (json!([1]), json!(["params"])),
        ] {
            let e = params::<P>(bad.clone()).unwrap_err();
            assert_eq!(field_of(e), (ErrorCode::ACTION_VALIDATION_FAILED, path), "{bad}");
        }
        // Absent params are an empty object (an action without inputs).
        assert!(params::<P>(Value::Null).is_err());
    }

    #[test]
    fn schemas_describe_the_params() {
        let s = schema::<P>();
        assert_eq!(s["required"], json!(["amountIn"]), "{s}");
        assert_eq!(s["additionalProperties"], json!(false), "{s}");
        let units = &s["properties"]["amountIn"];
        let units = if units.get("$ref").is_some() { &s["$defs"]["Units"] } else { units };
        assert_eq!(units["pattern"], "^[0-9]+$", "{s}");
    }

    #[test]
    fn provider_settings_read_the_actions_section_and_refuse_bad_values() {
        let toml = "[actions]\nuniswap_v2_enabled = true\nuniswap_v2_slippage_bps = 75\nuniswap_v2_swap_tier = \"delay\"\n";
        let config = crate::config::Config::from_toml(toml, &[]).unwrap().config;
        let uni = ProviderSettings::new(&config, "uniswap_v2");
        assert!(uni.enabled());
        assert_eq!(uni.number("slippage_bps", 50, 0..=5000).unwrap(), 75);
        assert_eq!(uni.number("deadline_sec", 1200, 60..=86_400).unwrap(), 1200);
        // Within the shape config.toml checks, outside the range the provider takes.
        assert_eq!(uni.number("slippage_bps", 50, 0..=10).unwrap_err().code, ErrorCode::VALIDATION_FAILED);
        assert_eq!(uni.tier("swap").unwrap(), Some(Tier::Delay));
        assert_eq!(uni.tier("other").unwrap(), None);
        // An address the action cannot do without, unset: the action fails, naming the key.
        let e = uni.address("router_address", Chain::Ethereum).unwrap_err();
        assert_eq!(e.code, ErrorCode::ACTION_RESOLVE_FAILED);
        assert!(e.message.contains("actions.uniswap_v2_router_address"), "{}", e.message);
        assert!(!ProviderSettings::new(&config, "lido_staking").enabled());
        // Bad values never get this far: the config refuses them (config::tests).
        assert!(crate::config::Config::from_toml("[actions]\nlido_staking_swap_tier = \"SOMETIMES\"\n", &[]).is_err());
    }

    #[test]
    fn the_list_shows_every_builtin_and_only_enabled_ones_carry_actions_and_tools() {
        let config = crate::config::Config::from_toml("[actions]\nlido_staking_enabled = true\n", &[]).unwrap().config;
        let list = providers_list(&config);
        let names: Vec<&str> = list.providers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["aave_v3", "lido_staking", "uniswap_v2", "zerox_swap"]);
        for p in &list.providers {
            assert_eq!(p.is_enabled, p.name == "lido_staking", "{}", p.name);
            assert_eq!(p.actions.is_empty(), !p.is_enabled, "{}", p.name);
        }
        let tools = mcp_tools(list);
        assert_eq!(tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["action_lido_staking_stake"]);
        assert_eq!(tools[0].input_schema["required"], json!(["params"]));
    }
}
