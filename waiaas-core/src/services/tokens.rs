//! The token registry: built-in well-known tokens plus operator-added ones
//! (`GET/POST/DELETE /v1/tokens`).
//!
//! [`Tokens`] is the service: it holds the token rows of the store and the clock.

use crate::clock::Clock;
use crate::error::{Error, ErrorCode, Result};
pub use crate::network::asset_id;
use crate::network::{check_address, Network};
use crate::store::{TokenRow, TokenStore};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// (network, address, symbol, name, decimals)
const BUILTIN: &[(&str, &str, &str, &str, u8)] = &[
    ("solana-mainnet", "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", "USDC", "USD Coin", 6),
    ("solana-mainnet", "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB", "USDT", "Tether USD", 6),
    ("solana-devnet", "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU", "USDC", "USD Coin (devnet)", 6),
    ("ethereum-mainnet", "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "USDC", "USD Coin", 6),
    ("ethereum-mainnet", "0xdAC17F958D2ee523a2206206994597C13D831ec7", "USDT", "Tether USD", 6),
    ("ethereum-sepolia", "0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238", "USDC", "USD Coin (Sepolia)", 6),
    ("base-mainnet", "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "USDC", "USD Coin", 6),
    ("polygon-mainnet", "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359", "USDC", "USD Coin", 6),
    ("arbitrum-mainnet", "0xaf88d065e77c8cC2239327C5EDb3A432268e5831", "USDC", "USD Coin", 6),
    ("optimism-mainnet", "0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85", "USDC", "USD Coin", 6),
];

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TokenRegistryItem))]
pub struct TokenView {
    pub address: String,
    pub symbol: String,
    pub name: String,
    pub decimals: u8,
    pub source: &'static str,
    pub asset_id: Option<String>,
    pub chain_id: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TokenRegistryListResponse))]
pub struct TokenList {
    pub network: String,
    pub tokens: Vec<TokenView>,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = AddTokenRequest))]
pub struct AddToken {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::network::NetworkId))]
    pub network: String,
    pub address: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 20))]
    pub symbol: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 18))]
    pub decimals: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = AddTokenResponse))]
pub struct TokenAdded {
    pub id: String,
    pub network: String,
    pub address: String,
    pub symbol: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = RemoveTokenResponse))]
pub struct TokenRemoved {
    pub removed: bool,
    pub network: String,
    pub address: String,
}

fn same(network: Network, a: &str, b: &str) -> bool {
    if network.chain() == crate::network::Chain::Ethereum {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

/// The token registry service.
pub struct Tokens {
    store: Arc<dyn TokenStore>,
    clock: Arc<dyn Clock>,
}

impl Tokens {
    pub fn new(store: Arc<dyn TokenStore>, clock: Arc<dyn Clock>) -> Tokens {
        Tokens { store, clock }
    }

    /// Built-in and custom tokens of a network.
    pub async fn list(&self, network: &str) -> Result<TokenList> {
        let net = Network::parse(network)?;
        let mut tokens: Vec<TokenView> = BUILTIN
            .iter()
            .filter(|t| t.0 == net.id())
            .map(|t| TokenView {
                address: t.1.into(),
                symbol: t.2.into(),
                name: t.3.into(),
                decimals: t.4,
                source: "builtin",
                asset_id: Some(asset_id(net, t.1)),
                chain_id: net.info().caip2.into(),
            })
            .collect();
        for r in self.store.list_tokens(net.id()).await? {
            tokens.push(TokenView {
                asset_id: Some(asset_id(net, &r.address)),
                address: r.address,
                symbol: r.symbol,
                name: r.name,
                decimals: r.decimals,
                source: "custom",
                chain_id: net.info().caip2.into(),
            });
        }
        Ok(TokenList { network: net.id().into(), tokens })
    }

    /// Decimals of a registered token, if it is registered.
    pub async fn registered_decimals(&self, network: Network, address: &str) -> Result<Option<u8>> {
        Ok(self.list(network.id()).await?.tokens.into_iter().find(|t| same(network, &t.address, address)).map(|t| t.decimals))
    }

    /// Register a custom token.
    pub async fn add(&self, req: AddToken) -> Result<TokenAdded> {
        let net = Network::parse(&req.network)?;
        let address = check_address(net.chain(), "address", &req.address)?;
        let symbol = req.symbol.trim();
        if symbol.is_empty() || symbol.chars().count() > 20 {
            return Err(Error::validation("symbol", "must be 1..20 characters"));
        }
        let name = req.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::validation("name", "must be 1..100 characters"));
        }
        if !(0..=18).contains(&req.decimals) {
            return Err(Error::validation("decimals", "must be 0..18"));
        }
        if self.registered_decimals(net, &address).await?.is_some() {
            return Err(Error::new(ErrorCode::ACTION_VALIDATION_FAILED, format!("token {address} is already registered on {}", net.id())));
        }
        let row = TokenRow {
            id: crate::new_id(),
            network: net.id().into(),
            address: address.clone(),
            symbol: symbol.into(),
            name: name.into(),
            decimals: req.decimals as u8,
            created_at: self.clock.now(),
        };
        self.store.insert_token(&row).await?;
        Ok(TokenAdded { id: row.id, network: row.network, address: row.address, symbol: row.symbol })
    }

    /// Remove a custom token (built-in ones cannot be removed).
    pub async fn remove(&self, network: &str, address: &str) -> Result<TokenRemoved> {
        let net = Network::parse(network)?;
        let address = check_address(net.chain(), "address", address)?;
        let removed = self.store.delete_token(net.id(), &address).await?;
        if !removed {
            return Err(Error::new(ErrorCode::TOKEN_NOT_FOUND, "no such custom token (built-in tokens cannot be removed)"));
        }
        Ok(TokenRemoved { removed, network: net.id().into(), address })
    }
}
