//! Chains, networks and environments (upstream spec §8.1).
//!
//! WAIaaS knows two chains, `solana` and `ethereum` (every EVM network), and
//! fifteen network ids. Every place that accepts a network accepts the
//! canonical id (`ethereum-sepolia`), its CAIP-2 id (`eip155:11155111`) or,
//! for Solana, the legacy names `mainnet | devnet | testnet`.

use crate::error::{Error, ErrorCode, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A chain family: one key curve, one address format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Chain {
    Solana,
    Ethereum,
}

impl Chain {
    /// EVM addresses compare case-insensitively (checksums are only a display form);
    /// Solana's base58 addresses are case-sensitive and compare exactly.
    pub fn same_address(self, a: &str, b: &str) -> bool {
        match self {
            Chain::Ethereum => a.eq_ignore_ascii_case(b),
            Chain::Solana => a == b,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Chain::Solana => "solana",
            Chain::Ethereum => "ethereum",
        }
    }
    /// Key curve used by this chain's wallets (keystore `curve` field).
    pub fn curve(self) -> &'static str {
        match self {
            Chain::Solana => "ed25519",
            Chain::Ethereum => "secp256k1",
        }
    }
}

impl FromStr for Chain {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "solana" => Ok(Chain::Solana),
            "ethereum" => Ok(Chain::Ethereum),
            "ripple" => Err(Error::new(ErrorCode::CHAIN_NOT_SUPPORTED, "chain 'ripple' is not supported by this daemon")),
            other => Err(Error::validation("chain", format!("unknown chain '{other}' (expected solana or ethereum)"))),
        }
    }
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `testnet` or `mainnet`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Environment {
    Testnet,
    Mainnet,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Testnet => "testnet",
            Environment::Mainnet => "mainnet",
        }
    }
}

impl FromStr for Environment {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "testnet" => Ok(Environment::Testnet),
            "mainnet" => Ok(Environment::Mainnet),
            other => Err(Error::validation("environment", format!("unknown environment '{other}' (expected testnet or mainnet)"))),
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Static facts about one network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NetworkInfo {
    pub id: &'static str,
    pub chain: Chain,
    pub environment: Environment,
    pub caip2: &'static str,
    /// EVM chain id (EIP-155); `None` for Solana.
    pub chain_id: Option<u64>,
    pub native_symbol: &'static str,
    pub native_decimals: u8,
    /// Key in the `[rpc]` config section; the env variable is `WAIAAS_RPC_` + upper case.
    pub rpc_key: &'static str,
    pub default_rpc: &'static str,
}

impl NetworkInfo {
    /// Environment variable that overrides this network's RPC URL.
    pub fn rpc_env_var(&self) -> String {
        format!("WAIAAS_RPC_{}", self.rpc_key.to_ascii_uppercase())
    }
}

macro_rules! net {
    ($id:literal, $chain:ident, $env:ident, $caip:literal, $cid:expr, $sym:literal, $dec:literal, $key:literal, $url:literal) => {
        NetworkInfo {
            id: $id,
            chain: Chain::$chain,
            environment: Environment::$env,
            caip2: $caip,
            chain_id: $cid,
            native_symbol: $sym,
            native_decimals: $dec,
            rpc_key: $key,
            default_rpc: $url,
        }
    };
}

/// OpenAPI schema of a network id field: the canonical ids (CAIP-2 ids, and Solana's legacy
/// `mainnet|devnet|testnet`, are accepted too).
#[cfg(feature = "openapi")]
pub struct NetworkId;

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for NetworkId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("Network id (CAIP-2 ids and Solana's legacy mainnet|devnet|testnet are accepted too)"))
            .enum_values(Some(NETWORKS.iter().map(|n| n.id)))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for NetworkId {}

/// The fifteen networks, in upstream order (the first of an environment is its default).
pub const NETWORKS: &[NetworkInfo] = &[
    net!("solana-mainnet", Solana, Mainnet, "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp", None, "SOL", 9, "solana_mainnet", "https://api.mainnet-beta.solana.com"),
    net!("solana-devnet", Solana, Testnet, "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1", None, "SOL", 9, "solana_devnet", "https://api.devnet.solana.com"),
    net!("solana-testnet", Solana, Testnet, "solana:4uhcVJyU9pJkvQyS88uRDiswHXSCkY3z", None, "SOL", 9, "solana_testnet", "https://api.testnet.solana.com"),
    net!("ethereum-mainnet", Ethereum, Mainnet, "eip155:1", Some(1), "ETH", 18, "evm_ethereum_mainnet", "https://eth.drpc.org"),
    net!("ethereum-sepolia", Ethereum, Testnet, "eip155:11155111", Some(11155111), "ETH", 18, "evm_ethereum_sepolia", "https://sepolia.drpc.org"),
    net!("polygon-mainnet", Ethereum, Mainnet, "eip155:137", Some(137), "POL", 18, "evm_polygon_mainnet", "https://polygon.drpc.org"),
    net!("polygon-amoy", Ethereum, Testnet, "eip155:80002", Some(80002), "POL", 18, "evm_polygon_amoy", "https://polygon-amoy.drpc.org"),
    net!("arbitrum-mainnet", Ethereum, Mainnet, "eip155:42161", Some(42161), "ETH", 18, "evm_arbitrum_mainnet", "https://arbitrum.drpc.org"),
    net!("arbitrum-sepolia", Ethereum, Testnet, "eip155:421614", Some(421614), "ETH", 18, "evm_arbitrum_sepolia", "https://arbitrum-sepolia.drpc.org"),
    net!("optimism-mainnet", Ethereum, Mainnet, "eip155:10", Some(10), "ETH", 18, "evm_optimism_mainnet", "https://optimism.drpc.org"),
    net!("optimism-sepolia", Ethereum, Testnet, "eip155:11155420", Some(11155420), "ETH", 18, "evm_optimism_sepolia", "https://optimism-sepolia.drpc.org"),
    net!("base-mainnet", Ethereum, Mainnet, "eip155:8453", Some(8453), "ETH", 18, "evm_base_mainnet", "https://base.drpc.org"),
    net!("base-sepolia", Ethereum, Testnet, "eip155:84532", Some(84532), "ETH", 18, "evm_base_sepolia", "https://base-sepolia.drpc.org"),
    net!("hyperevm-mainnet", Ethereum, Mainnet, "eip155:999", Some(999), "HYPE", 18, "evm_hyperevm_mainnet", "https://rpc.hyperliquid.xyz/evm"),
    net!("hyperevm-testnet", Ethereum, Testnet, "eip155:998", Some(998), "HYPE", 18, "evm_hyperevm_testnet", "https://rpc.hyperliquid-testnet.xyz/evm"),
];

/// A validated network id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Network(&'static NetworkInfo);

impl Network {
    /// Parse a canonical id, a CAIP-2 id, or a legacy Solana name (`mainnet|devnet|testnet`).
    pub fn parse(input: &str) -> Result<Network> {
        let s = input.trim();
        let canonical = match s {
            "mainnet" => "solana-mainnet",
            "devnet" => "solana-devnet",
            "testnet" => "solana-testnet",
            other => other,
        };
        NETWORKS
            .iter()
            .find(|n| n.id == canonical || n.caip2 == canonical)
            .map(Network)
            .ok_or_else(|| Error::validation("network", format!("unknown network '{input}'")))
    }
    pub fn info(self) -> &'static NetworkInfo {
        self.0
    }
    pub fn id(self) -> &'static str {
        self.0.id
    }
    pub fn chain(self) -> Chain {
        self.0.chain
    }
    pub fn environment(self) -> Environment {
        self.0.environment
    }
    /// All networks of a chain in an environment, in upstream order.
    pub fn for_environment(chain: Chain, env: Environment) -> Vec<Network> {
        NETWORKS.iter().filter(|n| n.chain == chain && n.environment == env).map(Network).collect()
    }
    /// The network picked when none is given: the first of the environment
    /// (`solana-devnet` for Solana testnet, `ethereum-sepolia` for EVM testnet).
    pub fn default_for(chain: Chain, env: Environment) -> Network {
        let first = Network::for_environment(chain, env)[0];
        if chain == Chain::Solana && env == Environment::Testnet {
            return Network::parse("solana-devnet").unwrap_or(first);
        }
        first
    }
    /// The one network of an environment when it has only one (`getSingleNetwork`), else `None`.
    pub fn single_for(chain: Chain, env: Environment) -> Option<Network> {
        match (chain, env) {
            (Chain::Solana, _) => Some(Network::default_for(chain, env)),
            (Chain::Ethereum, _) => None,
        }
    }
    /// Check that this network belongs to the wallet's chain and environment.
    pub fn check_belongs(self, chain: Chain, env: Environment) -> Result<()> {
        if self.chain() != chain || self.environment() != env {
            return Err(Error::new(ErrorCode::ENVIRONMENT_NETWORK_MISMATCH, format!("network '{}' is not a {} {} network", self.id(), chain, env)));
        }
        Ok(())
    }
    /// RPC URLs for this network: the comma-separated `WAIAAS_RPC_*` variable if set,
    /// else the configured `[rpc]` value, else the built-in default.
    pub fn rpc_urls(self, configured: Option<&str>) -> Vec<String> {
        let from_env = std::env::var(self.0.rpc_env_var()).ok();
        let raw = from_env.as_deref().or(configured).unwrap_or(self.0.default_rpc);
        raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.id)
    }
}

/// CAIP-19 id of a token on a network.
pub fn asset_id(network: Network, address: &str) -> String {
    let ns = if network.chain() == Chain::Ethereum { "erc20" } else { "token" };
    format!("{}/{ns}:{address}", network.info().caip2)
}

/// Validate an address for a chain: EIP-55 (or all-lower/upper) hex for EVM, 32-byte base58 for Solana.
pub fn check_address(chain: Chain, field: &str, s: &str) -> Result<String> {
    let bad = |why: &str| Error::new(ErrorCode::INVALID_ADDRESS, format!("{field}: {why}")).with_details(serde_json::json!({"field": field}));
    match chain {
        Chain::Ethereum => {
            let hex = s.strip_prefix("0x").ok_or_else(|| bad("must be a 0x-prefixed EVM address"))?;
            if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad("must be 20 bytes of hex"));
            }
            let addr: alloy_primitives::Address = s.parse().map_err(|_| bad("not an EVM address"))?;
            let mixed = hex.bytes().any(|b| b.is_ascii_lowercase()) && hex.bytes().any(|b| b.is_ascii_uppercase());
            if mixed && addr.to_checksum(None) != s {
                return Err(bad("EIP-55 checksum mismatch"));
            }
            Ok(addr.to_checksum(None))
        }
        Chain::Solana => {
            let bytes = bs58::decode(s).into_vec().map_err(|_| bad("must be a base58 Solana address"))?;
            if bytes.len() != 32 {
                return Err(bad("must be a 32-byte base58 Solana address"));
            }
            Ok(s.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifteen_networks_with_unique_ids() {
        assert_eq!(NETWORKS.len(), 15);
        let mut ids: Vec<_> = NETWORKS.iter().map(|n| n.id).collect();
        ids.extend(NETWORKS.iter().map(|n| n.caip2));
        let len = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), len);
        for n in NETWORKS {
            if let Some(id) = n.chain_id {
                assert_eq!(n.caip2, format!("eip155:{id}"));
            }
        }
    }

    #[test]
    fn parses_canonical_caip2_and_legacy() {
        assert_eq!(Network::parse("ethereum-sepolia").unwrap().id(), "ethereum-sepolia");
        assert_eq!(Network::parse("eip155:8453").unwrap().id(), "base-mainnet");
        assert_eq!(Network::parse("devnet").unwrap().id(), "solana-devnet");
        assert_eq!(Network::parse("mainnet").unwrap().id(), "solana-mainnet");
        assert_eq!(Network::parse("solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp").unwrap().id(), "solana-mainnet");
        let e = Network::parse("xrpl-mainnet").unwrap_err();
        assert_eq!(e.code, ErrorCode::ACTION_VALIDATION_FAILED);
    }

    #[test]
    fn environments_and_defaults() {
        assert_eq!(Network::default_for(Chain::Solana, Environment::Testnet).id(), "solana-devnet");
        assert_eq!(Network::default_for(Chain::Ethereum, Environment::Testnet).id(), "ethereum-sepolia");
        assert_eq!(Network::default_for(Chain::Ethereum, Environment::Mainnet).id(), "ethereum-mainnet");
        assert_eq!(Network::for_environment(Chain::Ethereum, Environment::Mainnet).len(), 6);
        assert_eq!(Network::for_environment(Chain::Solana, Environment::Testnet).len(), 2);
        let sep = Network::parse("ethereum-sepolia").unwrap();
        assert!(sep.check_belongs(Chain::Ethereum, Environment::Testnet).is_ok());
        assert_eq!(sep.check_belongs(Chain::Ethereum, Environment::Mainnet).unwrap_err().code, ErrorCode::ENVIRONMENT_NETWORK_MISMATCH);
        assert_eq!(Network::parse("polygon-amoy").unwrap().info().native_symbol, "POL");
        assert_eq!(Network::parse("base-sepolia").unwrap().info().rpc_env_var(), "WAIAAS_RPC_EVM_BASE_SEPOLIA");
    }

    #[test]
    fn chain_parsing() {
        assert_eq!("solana".parse::<Chain>().unwrap(), Chain::Solana);
        assert_eq!("ripple".parse::<Chain>().unwrap_err().code, ErrorCode::CHAIN_NOT_SUPPORTED);
        assert_eq!("bitcoin".parse::<Chain>().unwrap_err().code, ErrorCode::ACTION_VALIDATION_FAILED);
    }
}
