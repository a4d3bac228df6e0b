//! USD prices for the policy engine.
//!
//! A [`PriceOracle`] answers the USD price of a native asset or token. [`OracleChain`] asks
//! its oracles in order (Pyth Hermes, then CoinGecko, then the offline `[prices]` table),
//! caches answers for `cache_ttl_seconds` and remembers failures for a minute so an outage
//! does not stall every send. A price is only used when it is finite, above zero and its
//! source timestamp is at most `max_age_seconds` old (checked again on every cache hit);
//! otherwise the next oracle is asked, and when nobody has a usable price the value is unknown.
//! The policy engine fails closed on unknown values (APPROVAL unless a raw-unit or token limit
//! classifies them; see [`crate::policy`]), and asks for no price at all when the allowlists
//! already deny the request.

use crate::error::{Error, ErrorCode, Result};
use crate::network::{Chain, Network};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What is being priced.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Asset {
    pub network: &'static str,
    pub chain: Chain,
    /// `None` = the network's native asset.
    pub token: Option<String>,
    pub native_symbol: &'static str,
}

impl Asset {
    pub fn native(network: Network) -> Asset {
        Asset { network: network.id(), chain: network.chain(), token: None, native_symbol: network.info().native_symbol }
    }
    pub fn token(network: Network, address: &str) -> Asset {
        Asset { token: Some(address.to_string()), ..Asset::native(network) }
    }
}

/// A price and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Price {
    pub usd: f64,
    pub source: String,
    /// Unix seconds the source says the price is from.
    pub at: i64,
}

#[async_trait]
pub trait PriceOracle: Send + Sync {
    fn name(&self) -> &str;
    /// `Ok(None)`: this oracle does not know the asset. `Err`: it could not answer.
    async fn price(&self, asset: &Asset) -> Result<Option<Price>>;
}

/// The offline `[prices]` table of config.toml. With an `updated_at` key its prices carry that
/// timestamp (and age out like any other); without it they are the operator's fixed prices,
/// dated at the moment they are read.
pub struct ConfigOracle {
    prices: BTreeMap<String, f64>,
    updated_at: Option<i64>,
}

impl ConfigOracle {
    pub fn new(prices: &BTreeMap<String, f64>) -> ConfigOracle {
        let updated_at = prices.iter().find(|(k, _)| k.eq_ignore_ascii_case("updated_at")).map(|(_, v)| *v as i64);
        ConfigOracle { prices: prices.clone(), updated_at }
    }
    fn lookup(&self, k: &str) -> Option<f64> {
        self.prices.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)).map(|(_, v)| *v)
    }
}

#[async_trait]
impl PriceOracle for ConfigOracle {
    fn name(&self) -> &str {
        "config"
    }
    async fn price(&self, a: &Asset) -> Result<Option<Price>> {
        let net = Network::parse(a.network)?;
        let usd = match &a.token {
            None => self
                .lookup(a.native_symbol)
                .or_else(|| self.lookup(&format!("{}/slip44:{}", net.info().caip2, if a.chain == Chain::Solana { 501 } else { 60 }))),
            Some(t) => self.lookup(t).or_else(|| self.lookup(&crate::network::asset_id(net, t))),
        };
        Ok(usd.map(|usd| Price { usd, source: "config".into(), at: self.updated_at.unwrap_or_else(crate::now) }))
    }
}

fn http() -> reqwest::Client {
    crate::http_client(Duration::from_secs(5), Duration::from_secs(2))
}

fn oracle_err(name: &str, e: impl std::fmt::Display) -> Error {
    // reqwest errors name the URL (a configured oracle URL may carry a key).
    Error::new(ErrorCode::CHAIN_ERROR, format!("price oracle {name}: {}", crate::redact::urls_in(&e.to_string())))
}

/// Pyth Hermes (`GET {base}/v2/updates/price/latest?ids[]=<feed>`), native assets by feed id.
pub struct PythOracle {
    base: String,
    feeds: HashMap<&'static str, &'static str>,
    http: reqwest::Client,
}

impl PythOracle {
    pub fn new(base: &str) -> PythOracle {
        let feeds = HashMap::from([
            ("ETH", "ff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace"),
            ("SOL", "ef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d"),
        ]);
        PythOracle { base: base.trim_end_matches('/').to_string(), feeds, http: http() }
    }
}

#[async_trait]
impl PriceOracle for PythOracle {
    fn name(&self) -> &str {
        "pyth"
    }
    async fn price(&self, a: &Asset) -> Result<Option<Price>> {
        if a.token.is_some() {
            return Ok(None);
        }
        let Some(feed) = self.feeds.get(a.native_symbol) else { return Ok(None) };
        let v: serde_json::Value = self
            .http
            .get(format!("{}/v2/updates/price/latest", self.base))
            .query(&[("ids[]", feed), ("parsed", &"true")])
            .send()
            .await
            .map_err(|e| oracle_err("pyth", e))?
            .error_for_status()
            .map_err(|e| oracle_err("pyth", e))?
            .json()
            .await
            .map_err(|e| oracle_err("pyth", e))?;
        let p = &v["parsed"][0]["price"];
        let (Some(price), Some(expo)) = (p["price"].as_str().and_then(|s| s.parse::<i64>().ok()), p["expo"].as_i64()) else {
            return Err(oracle_err("pyth", "unexpected response shape"));
        };
        Ok(Some(Price { usd: price as f64 * 10f64.powi(expo as i32), source: "pyth".into(), at: p["publish_time"].as_i64().unwrap_or(0) }))
    }
}

/// CoinGecko (`/simple/price` for natives, `/simple/token_price/<platform>` for tokens).
pub struct CoinGeckoOracle {
    base: String,
    api_key: Option<String>,
    http: reqwest::Client,
}

impl CoinGeckoOracle {
    pub fn new(base: &str, api_key: Option<String>) -> CoinGeckoOracle {
        CoinGeckoOracle { base: base.trim_end_matches('/').to_string(), api_key, http: http() }
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<serde_json::Value> {
        let mut req = self.http.get(format!("{}{}", self.base, path)).query(query);
        if let Some(k) = &self.api_key {
            req = req.header("x-cg-demo-api-key", k);
        }
        req.send()
            .await
            .map_err(|e| oracle_err("coingecko", e))?
            .error_for_status()
            .map_err(|e| oracle_err("coingecko", e))?
            .json()
            .await
            .map_err(|e| oracle_err("coingecko", e))
    }
}

fn coingecko_id(symbol: &str) -> Option<&'static str> {
    Some(match symbol {
        "ETH" => "ethereum",
        "SOL" => "solana",
        "POL" => "polygon-ecosystem-token",
        "HYPE" => "hyperliquid",
        _ => return None,
    })
}

fn coingecko_platform(network: &str) -> Option<&'static str> {
    Some(match network {
        "ethereum-mainnet" => "ethereum",
        "polygon-mainnet" => "polygon-pos",
        "arbitrum-mainnet" => "arbitrum-one",
        "optimism-mainnet" => "optimistic-ethereum",
        "base-mainnet" => "base",
        "solana-mainnet" => "solana",
        _ => return None,
    })
}

#[async_trait]
impl PriceOracle for CoinGeckoOracle {
    fn name(&self) -> &str {
        "coingecko"
    }
    async fn price(&self, a: &Asset) -> Result<Option<Price>> {
        // `last_updated_at` dates the price; an answer without it is dated now.
        let price = |e: &serde_json::Value| {
            e["usd"].as_f64().map(|usd| Price { usd, source: "coingecko".into(), at: e["last_updated_at"].as_i64().unwrap_or_else(crate::now) })
        };
        let dated = ("include_last_updated_at", "true");
        match &a.token {
            None => {
                let Some(id) = coingecko_id(a.native_symbol) else { return Ok(None) };
                let v = self.get("/simple/price", &[("ids", id), ("vs_currencies", "usd"), dated]).await?;
                Ok(price(&v[id]))
            }
            Some(t) => {
                // Testnet tokens have no market price.
                let Some(platform) = coingecko_platform(a.network) else { return Ok(None) };
                let v = self.get(&format!("/simple/token_price/{platform}"), &[("contract_addresses", t), ("vs_currencies", "usd"), dated]).await?;
                let entry = v.as_object().and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(t)).map(|(_, v)| v.clone()));
                Ok(entry.and_then(|e| price(&e)))
            }
        }
    }
}

/// How a lookup ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    Found(Price),
    /// Every oracle answered and none lists it.
    NotListed,
    /// At least one oracle failed, or answered only with an unusable price (`<= 0` or older
    /// than the maximum age), and none has a usable one.
    Down,
}

/// Default of `[oracle] max_age_seconds`.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(1800);

/// Whether `p` may be used at unix time `now`: finite, above zero, and not older than `max_age`.
/// The USD value of `amount` smallest units of an asset with `decimals` at `usd` a whole unit.
pub fn usd_value(amount: u128, decimals: u8, usd: f64) -> f64 {
    amount as f64 / 10f64.powi(i32::from(decimals)) * usd
}

pub fn usable(p: &Price, now: i64, max_age: Duration) -> bool {
    p.usd.is_finite() && p.usd > 0.0 && now.saturating_sub(p.at) <= i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX)
}

struct Cached {
    at: Instant,
    value: Lookup,
}

/// Oracles in order of preference, with a cache.
pub struct OracleChain {
    oracles: Vec<Box<dyn PriceOracle>>,
    ttl: Duration,
    max_age: Duration,
    cache: Mutex<HashMap<Asset, Cached>>,
}

impl OracleChain {
    /// Prices older than [`DEFAULT_MAX_AGE`] are unknown; see [`OracleChain::with_max_age`].
    pub fn new(oracles: Vec<Box<dyn PriceOracle>>, ttl: Duration) -> OracleChain {
        OracleChain { oracles, ttl, max_age: DEFAULT_MAX_AGE, cache: Mutex::new(HashMap::new()) }
    }

    /// Treat prices whose source timestamp is older than `max_age` as unknown.
    pub fn with_max_age(mut self, max_age: Duration) -> OracleChain {
        self.max_age = max_age;
        self
    }

    /// From config: Pyth and CoinGecko when `[oracle] enabled`, then the `[prices]` table.
    pub fn from_config(c: &crate::config::Config) -> OracleChain {
        let mut oracles: Vec<Box<dyn PriceOracle>> = vec![];
        if c.oracle.enabled {
            if !c.oracle.pyth_url.is_empty() {
                oracles.push(Box::new(PythOracle::new(&c.oracle.pyth_url)));
            }
            if !c.oracle.coingecko_url.is_empty() {
                oracles.push(Box::new(CoinGeckoOracle::new(&c.oracle.coingecko_url, Some(c.oracle.coingecko_api_key.clone()).filter(|k| !k.is_empty()))));
            }
        }
        oracles.push(Box::new(ConfigOracle::new(&c.prices)));
        OracleChain::new(oracles, Duration::from_secs(c.oracle.cache_ttl_seconds)).with_max_age(Duration::from_secs(c.oracle.max_age_seconds))
    }

    /// The first usable price of `asset` (see [`usable`]), from the cache or the oracles in order.
    pub async fn price(&self, asset: &Asset) -> Lookup {
        if let Some(c) = self.cache.lock().unwrap_or_else(|e| e.into_inner()).get(asset) {
            let (ttl, still_usable) = match &c.value {
                // A cached price ages too: past the maximum age it is looked up again.
                Lookup::Found(p) => (self.ttl, usable(p, crate::now(), self.max_age)),
                _ => (Duration::from_secs(60).min(self.ttl), true),
            };
            if c.at.elapsed() < ttl && still_usable {
                return c.value.clone();
            }
        }
        let mut failed = false;
        let mut value = Lookup::NotListed;
        for o in &self.oracles {
            match o.price(asset).await {
                Ok(Some(p)) if usable(&p, crate::now(), self.max_age) => {
                    value = Lookup::Found(p);
                    break;
                }
                Ok(Some(p)) => {
                    tracing::warn!(oracle = o.name(), usd = p.usd, at = p.at, "price unusable (not above zero, or older than oracle.max_age_seconds)");
                    failed = true;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(oracle = o.name(), "price lookup failed: {}", e.message);
                    failed = true;
                }
            }
        }
        if failed && value == Lookup::NotListed {
            value = Lookup::Down;
        }
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).insert(asset.clone(), Cached { at: Instant::now(), value: value.clone() });
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A local HTTP server answering every request with `(status, body)` from `answer(path)`;
    /// returns its base URL and a request counter.
    async fn serve(answer: fn(&str) -> (u16, String)) -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else { return };
                h.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    let n = sock.read(&mut buf).await.unwrap_or(0);
                    let req = String::from_utf8_lossy(&buf[..n]).to_string();
                    let path = req.split_whitespace().nth(1).unwrap_or("/").to_string();
                    let (status, body) = answer(&path);
                    let res =
                        format!("HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
                    let _ = sock.write_all(res.as_bytes()).await;
                });
            }
        });
        (base, hits)
    }

    fn sepolia() -> Network {
        Network::parse("ethereum-mainnet").unwrap()
    }

    #[tokio::test]
    async fn pyth_first_then_coingecko_then_config_with_a_cache() {
        let (pyth, pyth_hits) = serve(|p| {
            assert!(p.starts_with("/v2/updates/price/latest"), "{p}");
            (200, r#"{"parsed":[{"id":"ff","price":{"price":"300012345678","conf":"1","expo":-8,"publish_time":1700000000}}]}"#.into())
        })
        .await;
        // The canned answers carry fixed (old) timestamps: no age limit here (see below).
        let forever = Duration::from_secs(u64::MAX);
        let chain = OracleChain::new(vec![Box::new(PythOracle::new(&pyth))], Duration::from_secs(300)).with_max_age(forever);
        let eth = Asset::native(sepolia());
        match chain.price(&eth).await {
            Lookup::Found(p) => {
                assert!((p.usd - 3000.12345678).abs() < 1e-6, "{p:?}");
                assert_eq!((p.source.as_str(), p.at), ("pyth", 1_700_000_000));
            }
            other => panic!("{other:?}"),
        }
        chain.price(&eth).await;
        assert_eq!(pyth_hits.load(Ordering::SeqCst), 1, "second lookup served from the cache");

        // Pyth down: CoinGecko answers.
        let (down, _) = serve(|_| (500, "{}".into())).await;
        let (cg, _) = serve(|p| {
            if p.starts_with("/simple/price") {
                (200, r#"{"ethereum":{"usd":2999.5}}"#.into())
            } else {
                (200, r#"{"0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48":{"usd":1.0001}}"#.into())
            }
        })
        .await;
        let chain =
            OracleChain::new(vec![Box::new(PythOracle::new(&down)), Box::new(CoinGeckoOracle::new(&cg, None))], Duration::from_secs(300)).with_max_age(forever);
        assert!(matches!(chain.price(&eth).await, Lookup::Found(p) if p.source == "coingecko" && p.usd == 2999.5));
        let usdc = Asset::token(sepolia(), "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48");
        assert!(matches!(chain.price(&usdc).await, Lookup::Found(p) if (p.usd - 1.0001).abs() < 1e-9));
    }

    #[tokio::test]
    async fn outages_are_down_not_zero_and_config_prices_fill_in() {
        let dead = "http://127.0.0.1:1";
        let none: BTreeMap<String, f64> = BTreeMap::new();
        let chain = OracleChain::new(
            vec![Box::new(PythOracle::new(dead)), Box::new(CoinGeckoOracle::new(dead, None)), Box::new(ConfigOracle::new(&none))],
            Duration::from_secs(300),
        );
        assert_eq!(chain.price(&Asset::native(sepolia())).await, Lookup::Down);
        let updated_at = crate::now() - 10;
        let prices = BTreeMap::from([("eth".to_string(), 2000.0), ("updated_at".to_string(), updated_at as f64)]);
        let chain = OracleChain::new(vec![Box::new(PythOracle::new(dead)), Box::new(ConfigOracle::new(&prices))], Duration::from_secs(300));
        assert!(matches!(chain.price(&Asset::native(sepolia())).await, Lookup::Found(p) if p.usd == 2000.0 && p.source == "config" && p.at == updated_at));
        // A token nobody lists, with every oracle answering: NotListed.
        let (cg, _) = serve(|_| (200, "{}".into())).await;
        let chain = OracleChain::new(vec![Box::new(CoinGeckoOracle::new(&cg, None)), Box::new(ConfigOracle::new(&prices))], Duration::from_secs(300));
        assert_eq!(chain.price(&Asset::token(sepolia(), "0x0000000000000000000000000000000000000009")).await, Lookup::NotListed);
    }

    /// A price `<= 0` or older than the maximum age is unknown (`Down`); the next oracle is
    /// asked; a cached price that ages out is looked up again.
    #[tokio::test]
    async fn zero_negative_and_stale_prices_are_unknown() {
        let eth = Asset::native(sepolia());
        let table = |pairs: &[(&str, f64)]| ConfigOracle::new(&pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect());
        let lookup =
            |oracles: Vec<Box<dyn PriceOracle>>, max_age: u64| OracleChain::new(oracles, Duration::from_secs(300)).with_max_age(Duration::from_secs(max_age));
        for usd in [0.0, -5.0] {
            let chain = lookup(vec![Box::new(table(&[("eth", usd)]))], 1800);
            assert_eq!(chain.price(&eth).await, Lookup::Down, "price {usd}");
        }
        // `updated_at` dates the table: an hour old is stale under a 30-minute limit, fine under two hours.
        let hour_old = (crate::now() - 3600) as f64;
        assert_eq!(lookup(vec![Box::new(table(&[("eth", 2000.0), ("updated_at", hour_old)]))], 1800).price(&eth).await, Lookup::Down);
        assert!(
            matches!(lookup(vec![Box::new(table(&[("eth", 2000.0), ("updated_at", hour_old)]))], 7200).price(&eth).await, Lookup::Found(p) if p.usd == 2000.0)
        );
        // Without `updated_at` the operator's fixed prices do not age.
        assert!(matches!(lookup(vec![Box::new(table(&[("eth", 2000.0)]))], 1).price(&eth).await, Lookup::Found(_)));

        // Pyth's publish_time is from 2023: stale, so CoinGecko (dated by last_updated_at) answers.
        let (pyth, _) =
            serve(|_| (200, r#"{"parsed":[{"id":"ff","price":{"price":"300000000000","conf":"1","expo":-8,"publish_time":1700000000}}]}"#.into())).await;
        assert_eq!(lookup(vec![Box::new(PythOracle::new(&pyth))], 1800).price(&eth).await, Lookup::Down);
        let (cg, _) = serve(|p| {
            assert!(p.contains("include_last_updated_at=true"), "{p}");
            (200, format!(r#"{{"ethereum":{{"usd":2500.0,"last_updated_at":{}}}}}"#, crate::now() - 60))
        })
        .await;
        let chain = lookup(vec![Box::new(PythOracle::new(&pyth)), Box::new(CoinGeckoOracle::new(&cg, None))], 1800);
        assert!(matches!(chain.price(&eth).await, Lookup::Found(p) if p.source == "coingecko" && p.usd == 2500.0));
        let (cg_old, _) = serve(|_| (200, r#"{"ethereum":{"usd":2500.0,"last_updated_at":1700000000}}"#.into())).await;
        assert_eq!(lookup(vec![Box::new(CoinGeckoOracle::new(&cg_old, None))], 1800).price(&eth).await, Lookup::Down);

        // A cached price ages too: fresh at first, unknown once older than the limit.
        let chain = lookup(vec![Box::new(table(&[("eth", 2000.0), ("updated_at", crate::now() as f64)]))], 1);
        assert!(matches!(chain.price(&eth).await, Lookup::Found(_)));
        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert_eq!(chain.price(&eth).await, Lookup::Down);
    }
}
