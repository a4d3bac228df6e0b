//! Typed rules of the 21 policy types and their one strict parser.
//!
//! The same parser validates rules on create and on update ([`validate_rules`](super::validate_rules))
//! and reads stored rules at evaluation time (a stored rule that no longer parses denies with
//! `POLICY_RULES_CORRUPT`). Keys are the upstream ones (snake_case for the older types,
//! camelCase for the newer ones, exactly as upstream stores them); unknown keys are refused.

use super::fields::{
    boolean, digits, ensure, integer_in, integer_min, invalid, list, name, non_negative, number_in, positive, text, text_max, tier, Obj, Path,
};
use super::types::{PolicyType, Tier};
use crate::error::Result;
use crate::network::{Chain, Network};
use serde_json::Value;
use std::cmp::Ordering;
use std::fmt;

/// `SPENDING_LIMIT`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SpendingLimit {
    /// `instant_max, notify_max, delay_max` in raw smallest units.
    pub raw: [Option<u128>; 3],
    /// `instant_max_usd, notify_max_usd, delay_max_usd`.
    pub usd: [Option<f64>; 3],
    pub delay_seconds: u64,
    pub daily_limit_usd: Option<f64>,
    pub monthly_limit_usd: Option<f64>,
    /// `(key, [instant_max, notify_max, delay_max])` in human units.
    pub token_limits: Vec<(String, [Decimal; 3])>,
    pub approval_timeout: Option<u64>,
}

impl SpendingLimit {
    pub fn has_raw(&self) -> bool {
        self.raw.iter().any(Option::is_some)
    }
    pub fn has_usd(&self) -> bool {
        self.usd.iter().any(Option::is_some)
    }
}

/// `WHITELIST`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Whitelist {
    pub allowed_addresses: Vec<String>,
}

/// `TIME_RESTRICTION`: hours `[start, end)`, wrapping past midnight when `start > end`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TimeRestriction {
    pub start: u64,
    pub end: u64,
    /// Indexed by weekday, 0 = Sunday.
    pub days: [bool; 7],
}

/// `RATE_LIMIT`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RateLimit {
    pub max_requests: u64,
    pub window_seconds: u64,
}

/// One `ALLOWED_TOKENS` entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ListedToken {
    pub address: String,
    pub chain: Option<Chain>,
    pub asset_id: Option<String>,
}

/// `ALLOWED_TOKENS`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AllowedTokens {
    pub tokens: Vec<ListedToken>,
}

/// One `CONTRACT_WHITELIST` entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ListedContract {
    pub address: String,
    pub chain: Option<Chain>,
}

/// `CONTRACT_WHITELIST`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ContractWhitelist {
    pub contracts: Vec<ListedContract>,
}

/// One `METHOD_WHITELIST` entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ContractMethods {
    pub contract_address: String,
    pub selectors: Vec<String>,
}

/// `METHOD_WHITELIST`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MethodWhitelist {
    pub methods: Vec<ContractMethods>,
}

/// One `APPROVED_SPENDERS` entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spender {
    pub address: String,
    pub max_amount: Option<u128>,
}

/// `APPROVED_SPENDERS`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApprovedSpenders {
    pub spenders: Vec<Spender>,
}

/// `APPROVE_AMOUNT_LIMIT`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApproveAmountLimit {
    pub max_amount: Option<u128>,
    pub block_unlimited: bool,
}

/// `APPROVE_TIER_OVERRIDE`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApproveTierOverride {
    pub tier: Tier,
}

/// `ALLOWED_NETWORKS` (canonical network ids).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AllowedNetworks {
    pub networks: Vec<&'static str>,
}

/// `X402_ALLOWED_DOMAINS`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct X402AllowedDomains {
    pub domains: Vec<String>,
}

/// `LENDING_LTV_LIMIT`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LendingLtvLimit {
    pub max_ltv: f64,
    pub warning_ltv: f64,
}

/// `LENDING_ASSET_WHITELIST` (asset addresses).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LendingAssetWhitelist {
    pub assets: Vec<String>,
}

/// `PERP_MAX_LEVERAGE`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PerpMaxLeverage {
    pub max_leverage: f64,
    pub warning_leverage: Option<f64>,
}

/// `PERP_MAX_POSITION_USD`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PerpMaxPositionUsd {
    pub max_position_usd: f64,
    pub warning_position_usd: Option<f64>,
}

/// `PERP_ALLOWED_MARKETS` (market ids).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PerpAllowedMarkets {
    pub markets: Vec<String>,
}

/// `REPUTATION_THRESHOLD` (`tag1`/`tag2` only filter the caller's reputation lookup).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReputationThreshold {
    pub min_score: f64,
    pub below_threshold_tier: Tier,
    pub unrated_tier: Tier,
    pub check_counterparty: bool,
}

/// `ERC8128_ALLOWED_DOMAINS`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Erc8128AllowedDomains {
    pub domains: Vec<String>,
    pub rate_limit_rpm: Option<u64>,
}

/// `VENUE_WHITELIST` (venue ids).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VenueWhitelist {
    pub venues: Vec<String>,
}

/// `ACTION_CATEGORY_LIMIT`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ActionCategoryLimit {
    pub category: String,
    pub daily_limit_usd: Option<f64>,
    pub monthly_limit_usd: Option<f64>,
    pub per_action_limit_usd: Option<f64>,
    pub tier_on_exceed: Tier,
}

/// A typed rule struct: its policy type, its parser, and how to find it in [`Rules`].
pub(crate) trait Kind: Sized {
    const TYPE: PolicyType;
    fn parse(rules: &Value) -> Result<Self>;
    fn pick(rules: &Rules) -> Option<&Self>;
}

/// One enum variant per policy type; the struct of each variant has the type's name.
macro_rules! rules_enum {
    ($($t:ident),* $(,)?) => {
        /// Parsed rules of any type.
        #[derive(Debug, Clone, PartialEq)]
        pub(crate) enum Rules { $($t($t),)* }

        /// Parse `rules` as the rules of `t`.
        pub(crate) fn parse_rules(t: PolicyType, rules: &Value) -> Result<Rules> {
            Ok(match t { $(PolicyType::$t => Rules::$t($t::parse(rules)?),)* })
        }

        $(impl Kind for $t {
            const TYPE: PolicyType = PolicyType::$t;
            fn parse(rules: &Value) -> Result<Self> {
                $t::read(rules)
            }
            fn pick(rules: &Rules) -> Option<&Self> {
                match rules { Rules::$t(r) => Some(r), _ => None }
            }
        })*
    };
}

rules_enum!(
    SpendingLimit,
    Whitelist,
    TimeRestriction,
    RateLimit,
    AllowedTokens,
    ContractWhitelist,
    MethodWhitelist,
    ApprovedSpenders,
    ApproveAmountLimit,
    ApproveTierOverride,
    AllowedNetworks,
    X402AllowedDomains,
    LendingLtvLimit,
    LendingAssetWhitelist,
    PerpMaxLeverage,
    PerpMaxPositionUsd,
    PerpAllowedMarkets,
    ReputationThreshold,
    Erc8128AllowedDomains,
    VenueWhitelist,
    ActionCategoryLimit,
);

const TIER_NAMES: [&str; 3] = ["instant_max", "notify_max", "delay_max"];
const TIER_USD_NAMES: [&str; 3] = ["instant_max_usd", "notify_max_usd", "delay_max_usd"];

impl SpendingLimit {
    fn read(v: &Value) -> Result<Self> {
        let o = Obj::new(
            v,
            Path::Root,
            &[
                "instant_max",
                "notify_max",
                "delay_max",
                "instant_max_usd",
                "notify_max_usd",
                "delay_max_usd",
                "delay_seconds",
                "daily_limit_usd",
                "monthly_limit_usd",
                "token_limits",
                "approval_timeout",
            ],
        )?;
        let raw = [o.opt(TIER_NAMES[0], digits)?, o.opt(TIER_NAMES[1], digits)?, o.opt(TIER_NAMES[2], digits)?];
        let usd = [o.opt(TIER_USD_NAMES[0], non_negative)?, o.opt(TIER_USD_NAMES[1], non_negative)?, o.opt(TIER_USD_NAMES[2], non_negative)?];
        ordered(&TIER_NAMES.map(|k| o.path(k)), &TIER_NAMES, &raw)?;
        ordered(&TIER_USD_NAMES.map(|k| o.path(k)), &TIER_USD_NAMES, &usd)?;
        let token_limits = o.opt("token_limits", token_limits)?.unwrap_or_default();
        let rules = SpendingLimit {
            raw,
            usd,
            delay_seconds: o.opt("delay_seconds", |v, p| integer_min(v, p, 60))?.unwrap_or(900),
            daily_limit_usd: o.opt("daily_limit_usd", positive)?,
            monthly_limit_usd: o.opt("monthly_limit_usd", positive)?,
            token_limits,
            approval_timeout: o.opt("approval_timeout", |v, p| integer_min(v, p, 1))?,
        };
        ensure(rules.has_raw() || rules.has_usd() || !rules.token_limits.is_empty(), &Path::Root, || {
            "at least one of instant_max_usd/notify_max_usd/delay_max_usd, a non-empty token_limits, \
             or instant_max/notify_max/delay_max is required"
                .into()
        })?;
        Ok(rules)
    }
}

/// Defined values of a threshold triple must not decrease (`instant <= notify <= delay`).
fn ordered<T: PartialOrd + fmt::Display>(paths: &[Path<'_>; 3], names: &[&str; 3], values: &[Option<T>; 3]) -> Result<()> {
    for hi in 1..3 {
        for lo in 0..hi {
            if let (Some(a), Some(b)) = (&values[lo], &values[hi]) {
                ensure(a <= b, &paths[hi], || format!("must be >= {} ({a})", names[lo]))?;
            }
        }
    }
    Ok(())
}

fn token_limits(v: &Value, path: &Path<'_>) -> Result<Vec<(String, [Decimal; 3])>> {
    let map = v.as_object().ok_or_else(|| invalid(path, "must be an object"))?;
    let mut out = Vec::with_capacity(map.len());
    for (key, limit) in map {
        let entry_path = Path::Key(path, key);
        ensure(is_token_limit_key(key), &entry_path, || {
            format!("invalid token_limits key '{key}' (expected \"native\", \"native:solana\", \"native:ethereum\" or a CAIP-19 asset id)")
        })?;
        let o = Obj::new(limit, entry_path, &TIER_NAMES)?;
        let values = [o.req(TIER_NAMES[0], decimal)?, o.req(TIER_NAMES[1], decimal)?, o.req(TIER_NAMES[2], decimal)?];
        ordered(&TIER_NAMES.map(|k| o.path(k)), &TIER_NAMES, &values.clone().map(Some))?;
        out.push((key.clone(), values));
    }
    Ok(out)
}

fn is_token_limit_key(key: &str) -> bool {
    matches!(key, "native" | "native:solana" | "native:ethereum") || is_caip19(key)
}

impl Whitelist {
    fn read(v: &Value) -> Result<Self> {
        let o = Obj::new(v, Path::Root, &["allowed_addresses"])?;
        Ok(Whitelist { allowed_addresses: o.req("allowed_addresses", |v, p| list(v, p, name))? })
    }
}

impl TimeRestriction {
    fn read(v: &Value) -> Result<Self> {
        let o = Obj::new(v, Path::Root, &["allowed_hours", "allowed_days"])?;
        let (start, end) = o.req("allowed_hours", |v, p| {
            let h = Obj::new(v, *p, &["start", "end"])?;
            let start = h.req("start", |v, p| integer_in(v, p, 0, 23))?;
            let end = h.req("end", |v, p| integer_in(v, p, 1, 24))?;
            ensure(start != end, &h.path("end"), || "must differ from start (use start 0, end 24 for all day)".into())?;
            Ok((start, end))
        })?;
        let mut days = [false; 7];
        for day in o.req("allowed_days", |v, p| list(v, p, |v, p| integer_in(v, p, 0, 6)))? {
            days[day as usize] = true;
        }
        Ok(TimeRestriction { start, end, days })
    }

    /// Whether local `hour` (0..23) on local `weekday` (0 = Sunday) is inside the window.
    pub fn allows(&self, weekday: usize, hour: u64) -> bool {
        let in_hours = if self.start < self.end { self.start <= hour && hour < self.end } else { hour >= self.start || hour < self.end };
        self.days[weekday] && in_hours
    }
}

impl RateLimit {
    fn read(v: &Value) -> Result<Self> {
        let o = Obj::new(v, Path::Root, &["max_requests", "window_seconds"])?;
        Ok(RateLimit {
            max_requests: o.req("max_requests", |v, p| integer_min(v, p, 1))?,
            window_seconds: o.req("window_seconds", |v, p| integer_min(v, p, 1))?,
        })
    }
}

impl AllowedTokens {
    fn read(v: &Value) -> Result<Self> {
        let o = Obj::new(v, Path::Root, &["tokens"])?;
        let tokens = o.req("tokens", |v, p| {
            list(v, p, |v, p| {
                let t = Obj::new(v, *p, &["address", "symbol", "chain", "assetId"])?;
                t.opt("symbol", |v, p| {
                    let s = text_max(v, p, 10)?;
                    ensure(!s.is_empty(), p, || "must be 1 to 10 characters".into())
                })?;
                Ok(ListedToken { address: t.req("address", name)?, chain: t.opt("chain", chain)?, asset_id: t.opt("assetId", caip19)? })
            })
        })?;
        Ok(AllowedTokens { tokens })
    }
}

impl ContractWhitelist {
    fn read(v: &Value) -> Result<Self> {
        let o = Obj::new(v, Path::Root, &["contracts"])?;
        let contracts = o.req("contracts", |v, p| {
            list(v, p, |v, p| {
                let c = Obj::new(v, *p, &["address", "name", "chain"])?;
                c.opt("name", text)?;
                Ok(ListedContract { address: c.req("address", name)?, chain: c.opt("chain", chain)? })
            })
        })?;
        Ok(ContractWhitelist { contracts })
    }
}

impl MethodWhitelist {
    fn read(v: &Value) -> Result<Self> {
        let o = Obj::new(v, Path::Root, &["methods"])?;
        let methods = o.req("methods", |v, p| {
            list(v, p, |v, p| {
                let m = Obj::new(v, *p, &["contractAddress", "selectors"])?;
                Ok(ContractMethods { contract_address: m.req("contractAddress", name)?, selectors: m.req("selectors", |v, p| list(v, p, selector))? })
            })
        })?;
        Ok(MethodWhitelist { methods })
    }
}

impl ApprovedSpenders {
    fn read(v: &Value) -> Result<Self> {
        let o = Obj::new(v, Path::Root, &["spenders"])?;
        let spenders = o.req("spenders", |v, p| {
            list(v, p, |v, p| {
                let s = Obj::new(v, *p, &["address", "name", "maxAmount"])?;
                s.opt("name", text)?;
                Ok(Spender { address: s.req("address", name)?, max_amount: s.opt("maxAmount", digits)? })
            })
        })?;
        Ok(ApprovedSpenders { spenders })
    }
}

impl ApproveAmountLimit {
    fn read(v: &Value) -> Result<Self> {
        let o = Obj::new(v, Path::Root, &["maxAmount", "blockUnlimited"])?;
        Ok(ApproveAmountLimit { max_amount: o.opt("maxAmount", digits)?, block_unlimited: o.opt("blockUnlimited", boolean)?.unwrap_or(true) })
    }
}

impl ApproveTierOverride {
    fn read(v: &Value) -> Result<Self> {
        let o = Obj::new(v, Path::Root, &["tier"])?;
        Ok(ApproveTierOverride { tier: o.req("tier", tier)? })
    }
}

impl AllowedNetworks {
    fn read(v: &Value) -> Result<Self> {
        let o = Obj::new(v, Path::Root, &["networks"])?;
        let networks = o.req("networks", |v, p| {
            list(v, p, |v, p| {
                let n = Obj::new(v, *p, &["network", "name"])?;
                n.opt("name", text)?;
                n.req("network", |v, p| {
                    let s = name(v, p)?;
                    Network::parse(&s).map(|n| n.id()).map_err(|_| invalid(p, format!("unknown network '{s}'")))
                })
            })
        })?;
        Ok(AllowedNetworks { networks })
    }
}

impl X402AllowedDomains {
    fn read(v: &Value) -> Result<Self> {
        let o = Obj::new(v, Path::Root, &["domains"])?;
        Ok(X402AllowedDomains { domains: o.req("domains", |v, p| list(v, p, domain_pattern))? })
    }
}

impl LendingLtvLimit {
    fn read(v: &Value) -> Result<Self> {
        let o = Obj::new(v, Path::Root, &["maxLtv", "warningLtv"])?;
        let max_ltv = o.req("maxLtv", |v, p| number_in(v, p, 0.0, 1.0))?;
        let warning_ltv = o.req("warningLtv", |v, p| number_in(v, p, 0.0, 1.0))?;
        ensure(warning_ltv <= max_ltv, &o.path("warningLtv"), || format!("must be <= maxLtv ({max_ltv})"))?;
        Ok(LendingLtvLimit { max_ltv, warning_ltv })
    }
}

impl LendingAssetWhitelist {
    fn read(v: &Value) -> Result<Self> {
        let o = Obj::new(v, Path::Root, &["assets"])?;
        let assets = o.req("assets", |v, p| {
            list(v, p, |v, p| {
                let a = Obj::new(v, *p, &["address", "symbol"])?;
                a.opt("symbol", text)?;
                a.req("address", name)
            })
        })?;
        Ok(LendingAssetWhitelist { assets })
    }
}

/// A `max` (> 0) and an optional `warning` (> 0, <= max).
fn limit_with_warning(o: &Obj<'_, '_>, max_key: &str, warning_key: &str) -> Result<(f64, Option<f64>)> {
    let max = o.req(max_key, positive)?;
    let warning = o.opt(warning_key, positive)?;
    if let Some(w) = warning {
        ensure(w <= max, &o.path(warning_key), || format!("must be <= {max_key} ({max})"))?;
    }
    Ok((max, warning))
}

impl PerpMaxLeverage {
    fn read(v: &Value) -> Result<Self> {
        let o = Obj::new(v, Path::Root, &["maxLeverage", "warningLeverage"])?;
        let (max_leverage, warning_leverage) = limit_with_warning(&o, "maxLeverage", "warningLeverage")?;
        Ok(PerpMaxLeverage { max_leverage, warning_leverage })
    }
}

impl PerpMaxPositionUsd {
    fn read(v: &Value) -> Result<Self> {
        let o = Obj::new(v, Path::Root, &["maxPositionUsd", "warningPositionUsd"])?;
        let (max_position_usd, warning_position_usd) = limit_with_warning(&o, "maxPositionUsd", "warningPositionUsd")?;
        Ok(PerpMaxPositionUsd { max_position_usd, warning_position_usd })
    }
}

impl PerpAllowedMarkets {
    fn read(v: &Value) -> Result<Self> {
        let o = Obj::new(v, Path::Root, &["markets"])?;
        let markets = o.req("markets", |v, p| {
            list(v, p, |v, p| {
                let m = Obj::new(v, *p, &["market", "name"])?;
                m.opt("name", text)?;
                m.req("market", name)
            })
        })?;
        Ok(PerpAllowedMarkets { markets })
    }
}

impl ReputationThreshold {
    fn read(v: &Value) -> Result<Self> {
        let o = Obj::new(v, Path::Root, &["min_score", "below_threshold_tier", "unrated_tier", "tag1", "tag2", "check_counterparty"])?;
        o.opt("tag1", |v, p| text_max(v, p, 32))?;
        o.opt("tag2", |v, p| text_max(v, p, 32))?;
        Ok(ReputationThreshold {
            min_score: o.req("min_score", |v, p| number_in(v, p, 0.0, 100.0))?,
            below_threshold_tier: o.opt("below_threshold_tier", tier)?.unwrap_or(Tier::Approval),
            unrated_tier: o.opt("unrated_tier", tier)?.unwrap_or(Tier::Approval),
            check_counterparty: o.opt("check_counterparty", boolean)?.unwrap_or(false),
        })
    }
}

impl Erc8128AllowedDomains {
    fn read(v: &Value) -> Result<Self> {
        let o = Obj::new(v, Path::Root, &["domains", "rate_limit_rpm"])?;
        Ok(Erc8128AllowedDomains {
            domains: o.req("domains", |v, p| list(v, p, domain_pattern))?,
            rate_limit_rpm: o.opt("rate_limit_rpm", |v, p| integer_min(v, p, 1))?,
        })
    }
}

impl VenueWhitelist {
    fn read(v: &Value) -> Result<Self> {
        let o = Obj::new(v, Path::Root, &["venues"])?;
        let venues = o.req("venues", |v, p| {
            list(v, p, |v, p| {
                let e = Obj::new(v, *p, &["id", "name"])?;
                e.opt("name", text)?;
                e.req("id", name)
            })
        })?;
        Ok(VenueWhitelist { venues })
    }
}

impl ActionCategoryLimit {
    fn read(v: &Value) -> Result<Self> {
        let o = Obj::new(v, Path::Root, &["category", "daily_limit_usd", "monthly_limit_usd", "per_action_limit_usd", "tier_on_exceed"])?;
        let rules = ActionCategoryLimit {
            category: o.req("category", name)?,
            daily_limit_usd: o.opt("daily_limit_usd", positive)?,
            monthly_limit_usd: o.opt("monthly_limit_usd", positive)?,
            per_action_limit_usd: o.opt("per_action_limit_usd", positive)?,
            tier_on_exceed: o.opt("tier_on_exceed", tier)?.unwrap_or(Tier::Delay),
        };
        ensure(rules.daily_limit_usd.is_some() || rules.monthly_limit_usd.is_some() || rules.per_action_limit_usd.is_some(), &Path::Root, || {
            "at least one of daily_limit_usd, monthly_limit_usd or per_action_limit_usd is required".into()
        })?;
        Ok(rules)
    }
}

/// `solana | ethereum`.
fn chain(v: &Value, path: &Path<'_>) -> Result<Chain> {
    match text(v, path)?.as_str() {
        "solana" => Ok(Chain::Solana),
        "ethereum" => Ok(Chain::Ethereum),
        other => Err(invalid(path, format!("unsupported chain '{other}' (expected solana or ethereum)"))),
    }
}

/// A 4-byte function selector, `0x` + 8 hex digits.
fn selector(v: &Value, path: &Path<'_>) -> Result<String> {
    let s = text(v, path)?;
    let ok = s.len() == 10 && s.starts_with("0x") && s[2..].bytes().all(|b| b.is_ascii_hexdigit());
    ensure(ok, path, || format!("'{s}' is not a 4-byte selector (0x + 8 hex digits)"))?;
    Ok(s)
}

/// A host name or `*.suffix` pattern (no scheme, no path, no spaces).
fn domain_pattern(v: &Value, path: &Path<'_>) -> Result<String> {
    let s = name(v, path)?;
    let host = s.strip_prefix("*.").unwrap_or(&s);
    let ok = !host.is_empty() && !host.contains(['*', '/', ' ', '\t', '\n']) && !host.starts_with('.');
    ensure(ok, path, || format!("'{s}' is not a domain or *.domain pattern"))?;
    Ok(s)
}

fn caip19(v: &Value, path: &Path<'_>) -> Result<String> {
    let s = text(v, path)?;
    ensure(is_caip19(&s), path, || format!("'{s}' is not a CAIP-19 asset id"))?;
    Ok(s)
}

fn decimal(v: &Value, path: &Path<'_>) -> Result<Decimal> {
    let s = text(v, path)?;
    Decimal::parse(&s).ok_or_else(|| invalid(path, format!("'{s}' is not a non-negative decimal string")))
}

/// Upstream `CAIP19_REGEX`:
/// `[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}/[-a-z0-9]{3,8}:[-.%a-zA-Z0-9]{1,128}`.
pub(crate) fn is_caip19(s: &str) -> bool {
    fn part(s: &str, min: usize, max: usize, ok: impl Fn(u8) -> bool) -> bool {
        (min..=max).contains(&s.len()) && s.bytes().all(ok)
    }
    let namespace = |b: u8| b == b'-' || b.is_ascii_lowercase() || b.is_ascii_digit();
    let Some((chain_id, asset)) = s.split_once('/') else { return false };
    let (Some((ns, reference)), Some((asset_ns, asset_ref))) = (chain_id.split_once(':'), asset.split_once(':')) else {
        return false;
    };
    part(ns, 3, 8, namespace)
        && part(reference, 1, 32, |b| b == b'-' || b == b'_' || b.is_ascii_alphanumeric())
        && part(asset_ns, 3, 8, namespace)
        && part(asset_ref, 1, 128, |b| b"-.%".contains(&b) || b.is_ascii_alphanumeric())
}

/// The asset reference of a CAIP-19 id (the token address), e.g. `0xa0b8...` of
/// `eip155:1/erc20:0xa0b8...`.
pub(crate) fn caip19_reference(asset_id: &str) -> Option<&str> {
    asset_id.split_once('/')?.1.split_once(':').map(|(_, r)| r)
}

/// A non-negative decimal in human units (`"1.5"`), compared exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decimal {
    /// Integer digits without leading zeros (`""` for zero).
    int: String,
    /// Fraction digits without trailing zeros.
    frac: String,
}

impl Decimal {
    /// `^\d+(\.\d+)?$`.
    pub fn parse(s: &str) -> Option<Decimal> {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
        if !digits(int) || (s.contains('.') && !digits(frac)) {
            return None;
        }
        Some(Decimal { int: int.trim_start_matches('0').to_string(), frac: frac.trim_end_matches('0').to_string() })
    }

    /// The value in smallest units for `decimals` (extra fraction digits are truncated, as
    /// upstream does; values above `u128::MAX` saturate).
    pub fn to_raw(&self, decimals: u8) -> u128 {
        let decimals = decimals as usize;
        let frac: String = self.frac.chars().chain(std::iter::repeat('0')).take(decimals).collect();
        let digits = format!("{}{}", self.int, frac);
        let digits = digits.trim_start_matches('0');
        if digits.is_empty() {
            0
        } else {
            digits.parse().unwrap_or(u128::MAX)
        }
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        self.int.len().cmp(&other.int.len()).then_with(|| self.int.cmp(&other.int)).then_with(|| self.frac.cmp(&other.frac))
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let int = if self.int.is_empty() { "0" } else { &self.int };
        if self.frac.is_empty() {
            f.write_str(int)
        } else {
            write!(f, "{int}.{}", self.frac)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_compare_exactly_and_scale() {
        let d = |s| Decimal::parse(s).unwrap();
        assert!(d("10") > d("9.999"));
        assert!(d("0.5") > d("0.45"));
        assert_eq!(d("007.50"), d("7.5"));
        assert_eq!(d("1.5").to_raw(9), 1_500_000_000);
        assert_eq!(d("0.0000001").to_raw(6), 0, "extra fraction digits are truncated");
        assert_eq!(d("0").to_raw(18), 0);
        assert_eq!(d("1").to_raw(255), u128::MAX, "saturates");
        assert!(Decimal::parse("1.").is_none() && Decimal::parse(".5").is_none() && Decimal::parse("-1").is_none());
        assert_eq!(d("0012.340").to_string(), "12.34");
    }

    #[test]
    fn caip19_ids() {
        let usdc = "eip155:1/erc20:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48";
        assert!(is_caip19(usdc));
        assert_eq!(caip19_reference(usdc), Some("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"));
        assert!(is_caip19("solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp/token:EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"));
        assert!(!is_caip19("eip155:1"));
        assert!(!is_caip19("EIP155:1/erc20:0xabc"));
        assert!(!is_caip19("eip155:1/erc20:"));
    }
}
