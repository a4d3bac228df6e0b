//! The evaluator's data: tiers, policy types, stored policy records, the resolved request
//! ([`Intent`]), the usage windows read by the caller, settings, and the explained [`Decision`].

use crate::error::ErrorCode;
use crate::network::Chain;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A closed set of wire strings: `as_str`, `parse`, `ALL`, `Display` and serde all agree.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vmeta])* #[serde(rename = $wire)] $variant,)* }

        // By hand: the derive does not see `rename = $wire` through the macro.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($wire),*]))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The wire string.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire,)* }
            }

            /// Parse a wire string (exact, case-sensitive).
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($wire => Some($name::$variant),)* _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum! {
    /// How much friction a request meets. Ordered: `Instant < Notify < Delay < Approval`;
    /// combining tiers always takes the maximum.
    Tier {
        /// Execute at once.
        Instant = "INSTANT",
        /// Execute at once and notify (same as INSTANT in practice).
        Notify = "NOTIFY",
        /// Queue for `delay_seconds`, cancellable meanwhile.
        Delay = "DELAY",
        /// Wait for the owner's approval.
        Approval = "APPROVAL",
    }
}

wire_enum! {
    /// The 21 upstream policy types (spec §5.2), in upstream order.
    PolicyType {
        SpendingLimit = "SPENDING_LIMIT",
        Whitelist = "WHITELIST",
        TimeRestriction = "TIME_RESTRICTION",
        RateLimit = "RATE_LIMIT",
        AllowedTokens = "ALLOWED_TOKENS",
        ContractWhitelist = "CONTRACT_WHITELIST",
        MethodWhitelist = "METHOD_WHITELIST",
        ApprovedSpenders = "APPROVED_SPENDERS",
        ApproveAmountLimit = "APPROVE_AMOUNT_LIMIT",
        ApproveTierOverride = "APPROVE_TIER_OVERRIDE",
        AllowedNetworks = "ALLOWED_NETWORKS",
        X402AllowedDomains = "X402_ALLOWED_DOMAINS",
        LendingLtvLimit = "LENDING_LTV_LIMIT",
        LendingAssetWhitelist = "LENDING_ASSET_WHITELIST",
        PerpMaxLeverage = "PERP_MAX_LEVERAGE",
        PerpMaxPositionUsd = "PERP_MAX_POSITION_USD",
        PerpAllowedMarkets = "PERP_ALLOWED_MARKETS",
        ReputationThreshold = "REPUTATION_THRESHOLD",
        Erc8128AllowedDomains = "ERC8128_ALLOWED_DOMAINS",
        VenueWhitelist = "VENUE_WHITELIST",
        ActionCategoryLimit = "ACTION_CATEGORY_LIMIT",
    }
}

impl PolicyType {
    /// Number of policy types.
    pub const COUNT: usize = PolicyType::ALL.len();

    /// Position in [`PolicyType::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

wire_enum! {
    /// The nine upstream transaction types (spec §4.3).
    TxType {
        Transfer = "TRANSFER",
        TokenTransfer = "TOKEN_TRANSFER",
        ContractCall = "CONTRACT_CALL",
        Approve = "APPROVE",
        Batch = "BATCH",
        NftTransfer = "NFT_TRANSFER",
        Sign = "SIGN",
        X402Payment = "X402_PAYMENT",
        ContractDeploy = "CONTRACT_DEPLOY",
    }
}

wire_enum! {
    /// Whether the request's USD value is known (spec §5.4).
    PriceStatus {
        /// `amount_usd` holds the value.
        Priced = "priced",
        /// The asset has no price feed.
        NotListed = "notListed",
        /// Every oracle failed.
        OracleDown = "oracleDown",
    }
}

/// A stored policy row (`policies` table; upstream `PolicyResponse` on the wire).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PolicyResponse))]
pub struct PolicyRecord {
    pub id: String,
    /// `None` = global (every wallet).
    pub wallet_id: Option<String>,
    #[serde(rename = "type")]
    pub policy_type: PolicyType,
    /// The rule JSON, as validated by [`validate_rules`](super::validate_rules).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub rules: serde_json::Value,
    /// Only breaks ties between two policies of one type and one scope (see [`applicable`](super::applicable)).
    pub priority: i64,
    pub enabled: bool,
    /// `None` = every network.
    pub network: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl PolicyRecord {
    /// An enabled global policy for every network, priority 0.
    pub fn new(id: impl Into<String>, policy_type: PolicyType, rules: serde_json::Value) -> PolicyRecord {
        PolicyRecord { id: id.into(), wallet_id: None, policy_type, rules, priority: 0, enabled: true, network: None, created_at: 0, updated_at: 0 }
    }
    /// Scope the policy to one wallet.
    pub fn for_wallet(mut self, wallet_id: impl Into<String>) -> PolicyRecord {
        self.wallet_id = Some(wallet_id.into());
        self
    }
    /// Scope the policy to one network.
    pub fn on_network(mut self, network: impl Into<String>) -> PolicyRecord {
        self.network = Some(network.into());
        self
    }
}

/// The asset a token request moves or approves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRef {
    /// Mint (Solana) or contract (EVM) address.
    pub address: Option<String>,
    /// CAIP-19 asset id, e.g. `eip155:1/erc20:0xa0b8...`.
    pub asset_id: Option<String>,
    pub symbol: Option<String>,
    pub decimals: Option<u8>,
}

/// What a request carries, already resolved by the caller: canonical network id, amounts in
/// smallest units, USD value when priced. The evaluator trusts these fields and reads nothing else.
///
/// * `to`: recipient (transfers, NFT transfers, x402 `payTo`); for contract calls the callee
///   may be given here or in `contract`.
/// * `amount`: native value, token amount or allowance in smallest units. An EVM `uint256`
///   that does not fit a `u128` must be passed as `u128::MAX` (saturated).
/// * `spender`: the approved address of an `APPROVE` (required there).
/// * `batch`: the instructions of a `BATCH`. They are evaluated under the parent's wallet,
///   chain and network; the parent's `amount`, `amount_usd` and `price` are ignored (totals
///   come from the instructions).
/// * `domain`: bare host (no scheme, port or path) of an `X402_PAYMENT`, or of an ERC-8128
///   signed HTTP request, which is a `SIGN` intent that names a `domain`.
/// * `reputation_score`: ERC-8004 score (0..100) of the counterparty, `None` = unrated.
/// * `min_tier`: the lowest tier the request may get (an action's tier floor: the higher of
///   its default tier and `actions.<provider>_<action>_tier`); it only ever raises the tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Intent {
    pub wallet_id: String,
    pub chain: Chain,
    pub network: String,
    pub tx_type: TxType,
    pub to: Option<String>,
    #[serde(with = "u128_string")]
    pub amount: u128,
    pub amount_usd: Option<f64>,
    pub price: PriceStatus,
    pub token: Option<TokenRef>,
    pub contract: Option<String>,
    /// 4-byte selector, `0x` + 8 hex digits.
    pub selector: Option<String>,
    pub spender: Option<String>,
    #[serde(default)]
    pub batch: Vec<Intent>,
    pub action_provider: Option<String>,
    pub action_name: Option<String>,
    pub leverage: Option<f64>,
    pub projected_ltv: Option<f64>,
    pub market: Option<String>,
    pub venue: Option<String>,
    pub action_category: Option<String>,
    pub notional_usd: Option<f64>,
    pub domain: Option<String>,
    pub reputation_score: Option<f64>,
    #[serde(default)]
    pub min_tier: Option<Tier>,
}

impl Default for Intent {
    /// A zero-value `TRANSFER` on `ethereum-sepolia` with no destination.
    fn default() -> Intent {
        Intent::new("", Chain::Ethereum, "ethereum-sepolia", TxType::Transfer)
    }
}

impl Intent {
    /// A zero-value request of `tx_type` (priced at $0); fill the rest with the `with_*` helpers
    /// or struct update syntax.
    pub fn new(wallet_id: impl Into<String>, chain: Chain, network: impl Into<String>, tx_type: TxType) -> Intent {
        Intent {
            wallet_id: wallet_id.into(),
            chain,
            network: network.into(),
            tx_type,
            to: None,
            amount: 0,
            amount_usd: Some(0.0),
            price: PriceStatus::Priced,
            token: None,
            contract: None,
            selector: None,
            spender: None,
            batch: Vec::new(),
            action_provider: None,
            action_name: None,
            leverage: None,
            projected_ltv: None,
            market: None,
            venue: None,
            action_category: None,
            notional_usd: None,
            domain: None,
            reputation_score: None,
            min_tier: None,
        }
    }
    pub fn with_to(mut self, to: impl Into<String>) -> Intent {
        self.to = Some(to.into());
        self
    }
    /// A priced amount.
    pub fn with_value(mut self, amount: u128, usd: f64) -> Intent {
        self.amount = amount;
        self.amount_usd = Some(usd);
        self.price = PriceStatus::Priced;
        self
    }
    /// An amount whose USD value is unknown (`NotListed` or `OracleDown`).
    pub fn with_unpriced(mut self, amount: u128, status: PriceStatus) -> Intent {
        self.amount = amount;
        self.amount_usd = None;
        self.price = status;
        self
    }
    pub fn with_token(mut self, token: TokenRef) -> Intent {
        self.token = Some(token);
        self
    }
    pub fn with_contract(mut self, contract: impl Into<String>, selector: Option<&str>) -> Intent {
        self.contract = Some(contract.into());
        self.selector = selector.map(str::to_string);
        self
    }
    pub fn with_spender(mut self, spender: impl Into<String>) -> Intent {
        self.spender = Some(spender.into());
        self
    }
    pub fn with_action(mut self, provider: impl Into<String>, name: impl Into<String>) -> Intent {
        self.action_provider = Some(provider.into());
        self.action_name = Some(name.into());
        self
    }
    pub fn with_domain(mut self, domain: impl Into<String>) -> Intent {
        self.domain = Some(domain.into());
        self
    }
    pub fn with_batch(mut self, instructions: Vec<Intent>) -> Intent {
        self.batch = instructions;
        self
    }

    /// The USD value the evaluator may rely on: only when priced, finite and not negative.
    pub fn known_usd(&self) -> Option<f64> {
        match self.price {
            PriceStatus::Priced => self.amount_usd.filter(|u| u.is_finite() && *u >= 0.0),
            PriceStatus::NotListed | PriceStatus::OracleDown => None,
        }
    }
}

/// Usage windows, read by the caller in the same store transaction that records the reservation.
/// [`usage_needs`](super::usage_needs) lists the windows and categories the applicable policies read;
/// a missing entry is never taken as zero (a missing rate window denies, a missing category
/// counts as exceeded).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Usage {
    /// USD of CONFIRMED + SIGNED transactions plus reserved PENDING/QUEUED ones, rolling 24 h.
    pub spent_usd_day: f64,
    /// Same, rolling 30 days.
    pub spent_usd_month: f64,
    /// Raw amounts of PENDING + QUEUED transactions of the same asset (native for a batch).
    #[serde(with = "u128_string")]
    pub reserved_raw: u128,
    /// `(window_seconds, requests already made in that window)` for each RATE_LIMIT window.
    pub requests_in_window: Vec<(u64, u64)>,
    /// `(category, USD)` of external actions today (UTC day).
    pub category_usd_day: Vec<(String, f64)>,
    /// `(category, USD)` of external actions this month (UTC month).
    pub category_usd_month: Vec<(String, f64)>,
    /// ERC-8128 requests already signed for `intent.domain` in the last 60 s (`rate_limit_rpm`).
    pub domain_requests_last_minute: u64,
}

/// What the caller must read into [`Usage`] for a set of policies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageNeeds {
    /// RATE_LIMIT `window_seconds` values.
    pub rate_windows: Vec<u64>,
    /// ACTION_CATEGORY_LIMIT categories with a daily or monthly limit.
    pub categories: Vec<String>,
}

/// Operator settings the evaluator reads (Admin Settings `policy.*` and `security.*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PolicySettings {
    /// Thresholds used when no SPENDING_LIMIT applies: `<= 10` INSTANT, `<= 100` NOTIFY,
    /// `<= 500` DELAY, above APPROVAL.
    pub default_instant_max_usd: f64,
    pub default_notify_max_usd: f64,
    pub default_delay_max_usd: f64,
    /// DELAY length when the deciding rule is not a SPENDING_LIMIT.
    pub default_delay_seconds: u64,
    /// APPROVAL timeout when the SPENDING_LIMIT sets none.
    pub default_approval_timeout: u64,
    pub default_deny_tokens: bool,
    pub default_deny_contracts: bool,
    pub default_deny_spenders: bool,
    pub default_deny_x402_domains: bool,
    pub default_deny_erc8128_domains: bool,
    pub venue_whitelist_enabled: bool,
    /// Time zone of TIME_RESTRICTION, minutes east of UTC.
    pub utc_offset_minutes: i32,
    /// Tier of every NFT_TRANSFER (upstream `policy.nft_transfer_default_tier`).
    pub nft_transfer_default_tier: Tier,
    /// Tier floor of every CONTRACT_DEPLOY (upstream `rpc_proxy.deploy_default_tier`).
    pub deploy_default_tier: Tier,
}

impl Default for PolicySettings {
    fn default() -> PolicySettings {
        PolicySettings {
            default_instant_max_usd: 10.0,
            default_notify_max_usd: 100.0,
            default_delay_max_usd: 500.0,
            default_delay_seconds: 900,
            default_approval_timeout: 3600,
            default_deny_tokens: true,
            default_deny_contracts: true,
            default_deny_spenders: true,
            default_deny_x402_domains: true,
            default_deny_erc8128_domains: true,
            venue_whitelist_enabled: false,
            utc_offset_minutes: 0,
            nft_transfer_default_tier: Tier::Approval,
            deploy_default_tier: Tier::Approval,
        }
    }
}

/// One rule that contributed a tier or a denial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reason {
    /// The policy row, `None` for defaults (missing policy, settings thresholds, engine rules).
    pub policy_id: Option<String>,
    /// The policy type the rule belongs to (also set for "no such policy" denials).
    pub policy_type: Option<PolicyType>,
    /// Stable machine name of the rule, e.g. `per_tx`, `cumulative_daily`, `not_listed`.
    pub rule: String,
    pub message: String,
    /// The tier this rule asks for (`None` for denials).
    pub tier: Option<Tier>,
    pub denied: bool,
    /// Error code of a denial.
    #[serde(default, with = "code_string", skip_serializing_if = "Option::is_none")]
    pub error_code: Option<ErrorCode>,
}

/// The evaluator's answer.
///
/// For a denied request `tier` is informational (what the request would have needed) and the
/// workflow fields (`delay_seconds`, `approval_timeout`, `approval_reason`) are `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub allowed: bool,
    pub tier: Tier,
    /// Every rule that contributed a tier or a denial, in evaluation order.
    pub reasons: Vec<Reason>,
    /// The denial, or the reason that set the final tier.
    pub decided_by: Option<Reason>,
    /// Set when the final tier is DELAY.
    pub delay_seconds: Option<u64>,
    /// Set when the final tier is APPROVAL.
    pub approval_timeout: Option<u64>,
    /// Rule that asked for APPROVAL: `per_tx`, `cumulative_daily`, `cumulative_monthly`, ...
    pub approval_reason: Option<String>,
    /// APPROVAL was turned into DELAY because the wallet has no owner.
    pub downgraded: bool,
    /// Cumulative spend reached 80 % of a daily or monthly limit.
    pub cumulative_warning: Option<String>,
    /// Error code of a denial (`TOKEN_NOT_ALLOWED`, `RATE_LIMIT_EXCEEDED`, `POLICY_DENIED`, ...).
    #[serde(default, with = "code_string")]
    pub error_code: Option<ErrorCode>,
}

impl Decision {
    /// The denial message (for the transaction's `error` column), if denied.
    pub fn denial_message(&self) -> Option<&str> {
        if self.allowed {
            return None;
        }
        self.decided_by.as_ref().map(|r| r.message.as_str())
    }
}

/// `u128` as a decimal string on the wire (JSON numbers lose precision above 2^53);
/// numbers are accepted on input.
mod u128_string {
    use serde::de::{Deserializer, Error};
    use serde::{Deserialize, Serializer};

    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Str(String),
            Num(u64),
        }
        match Raw::deserialize(d)? {
            Raw::Str(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().map_err(|_| D::Error::custom("amount does not fit 128 bits")),
            Raw::Str(_) => Err(D::Error::custom("amount must be a decimal digit string")),
            Raw::Num(n) => Ok(n.into()),
        }
    }
}

/// [`ErrorCode`] as its wire string.
mod code_string {
    use crate::error::ErrorCode;
    use serde::de::{Deserializer, Error};
    use serde::{Deserialize, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<ErrorCode>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(c) => s.serialize_some(c.as_str()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ErrorCode>, D::Error> {
        Option::<String>::deserialize(d)?.map(|s| ErrorCode::parse(&s).ok_or_else(|| D::Error::custom(format!("unknown error code '{s}'")))).transpose()
    }
}
