//! The policy evaluator: pure, deterministic, total.
//!
//! [`evaluate`] takes the stored policies, a resolved request ([`Intent`]), the usage windows the
//! caller read in the same store transaction that records the reservation ([`Usage`]), the
//! operator [`PolicySettings`], the current time and whether the wallet has an owner, and returns
//! an explained [`Decision`]. It does no I/O, reads no clock and never touches keys.
//! [`validate_rules`] checks a rule object on create and on update with the same strictness.
//!
//! # Policy semantics v2
//!
//! **Scoping.** Only enabled policies of the request's wallet or global, on its network or on all
//! networks, apply; of each type exactly one survives ([`applicable`]): wallet + network > wallet >
//! global + network > global, ties broken by priority, then `updated_at`, then id.
//!
//! **Combination.** Every applicable rule is evaluated; none "returns first". A rule either denies
//! or asks for a tier. *Deny wins*: one denial denies the request. The tier is the *maximum* of
//! all tiers asked for (`INSTANT < NOTIFY < DELAY < APPROVAL`). Neither depends on the order of
//! the policies. Every contributing rule is listed in [`Decision::reasons`]; `decided_by` is the
//! denial, or the first reason (in the fixed family order below) at the final tier.
//!
//! **Default deny.** Token transfers (ALLOWED_TOKENS), contract calls and NFT transfers
//! (CONTRACT_WHITELIST), approvals (APPROVED_SPENDERS), x402 payments (X402_ALLOWED_DOMAINS) and
//! ERC-8128 signing (ERC8128_ALLOWED_DOMAINS) are denied until allowlisted, unless the matching
//! `default_deny_*` setting is `false`. Lending actions need LENDING_ASSET_WHITELIST, perp actions
//! PERP_ALLOWED_MARKETS, venues VENUE_WHITELIST when `venue_whitelist_enabled`. Unlimited approvals
//! (amount >= [`UNLIMITED_APPROVE`] = `u128::MAX / 2`; a `uint256` above `u128::MAX` is passed
//! saturated) are denied unless an APPROVE_AMOUNT_LIMIT with `blockUnlimited: false` applies.
//! Having no policies at all changes nothing: the defaults above still deny (upstream's
//! "no policies = allow everything INSTANT" is not reproduced).
//!
//! **Value tier.** With a SPENDING_LIMIT: raw thresholds (`token_limits` entry of the asset, else
//! `instant_max/notify_max/delay_max`, missing ones counting as 0) on amount + reserved raw amount
//! of the same asset; USD thresholds on the USD value (first satisfied threshold, else APPROVAL);
//! the tier is the maximum of both. A SPENDING_LIMIT that has no USD thresholds and no raw or
//! token threshold for this asset falls back to the defaults. Without a SPENDING_LIMIT the
//! settings' defaults apply: `<= $10` INSTANT, `<= $100` NOTIFY, `<= $500` DELAY, else APPROVAL.
//! Cumulative: USD spent in 24 h / 30 days + this value above `daily_limit_usd` /
//! `monthly_limit_usd` asks for APPROVAL (`approval_reason` `cumulative_daily` /
//! `cumulative_monthly`); at 80 % or more `cumulative_warning` is set.
//!
//! **What cannot be priced fails closed** (v2; v1 made it at least NOTIFY). A positive value
//! whose USD value is unknown (`NotListed`, `OracleDown`, or a `Priced` value that is not finite
//! or negative) is APPROVAL (rule `unpriced`, attributed to the applicable SPENDING_LIMIT if any;
//! DELAY after the owner downgrade) unless a raw-unit threshold or a
//! `token_limits` entry of the applicable SPENDING_LIMIT classifies it: then that raw tier
//! applies, at least NOTIFY. USD thresholds, the settings' defaults and a USD-only SPENDING_LIMIT
//! never classify an unpriced value; an oracle outage never lowers a tier. The caller reports a
//! price `<= 0` or older than `[oracle] max_age_seconds` as unknown (see the `price` module).
//! In a batch each unpriced instruction is judged on its own; the batch total's unpriced flag
//! covers native value only (the value its raw thresholds measure).
//!
//! **Allowlists before prices.** [`denied_before_pricing`] runs the allowlist families
//! (WHITELIST, ALLOWED_TOKENS, CONTRACT_WHITELIST, METHOD_WHITELIST, APPROVED_SPENDERS,
//! APPROVE_AMOUNT_LIMIT), which read neither prices nor usage; the caller looks up no price for a
//! request they deny, so an agent cannot spend the oracle quota on random tokens. A request they
//! deny is denied by [`evaluate`] whatever its prices.
//!
//! APPROVE_TIER_OVERRIDE replaces the value tier of an approval. NFT transfers take
//! `nft_transfer_default_tier` (APPROVAL); contract deployments are at least
//! `deploy_default_tier` (APPROVAL). Upstream's non-spending lending actions (`supply`,
//! `repay`, `withdraw`, `close_position`, `add_margin`) have value tier INSTANT.
//!
//! **Evaluated here, only validated upstream.** RATE_LIMIT denies (`RATE_LIMIT_EXCEEDED`) when
//! the requests already made in `window_seconds` plus this one exceed `max_requests`.
//! TIME_RESTRICTION denies outside `allowed_days` / `allowed_hours` (`end` exclusive, 24 =
//! midnight, `start > end` wraps past midnight) in the settings' UTC offset. APPROVED_SPENDERS
//! denies above a spender's `maxAmount`. ERC8128_ALLOWED_DOMAINS has a real schema and its
//! `rate_limit_rpm` is enforced.
//!
//! **Missing inputs fail closed.** A rate window or a category the caller did not put in
//! [`Usage`] (see [`usage_needs`]) denies or counts as exceeded; a leverage, projected LTV or
//! position size a limit needs denies; stored rules that no longer parse deny with
//! `POLICY_RULES_CORRUPT`.
//!
//! **Batch.** Request guards (networks, time, rate) run once; every instruction is evaluated
//! like a request (without the request-wide budgets); any instruction denial denies the batch with
//! `BATCH_POLICY_VIOLATION` and a message listing `[i] TYPE: reason`. The tier is the maximum
//! over the instructions and the value tier of the totals (native value summed, USD summed over
//! priced instructions) with the cumulative budgets.
//!
//! **Workflow.** APPROVAL without a registered owner becomes DELAY (`downgraded`). DELAY lasts the
//! deciding SPENDING_LIMIT's `delay_seconds`, else `default_delay_seconds`; APPROVAL times out
//! after the applicable SPENDING_LIMIT's `approval_timeout`, else `default_approval_timeout`.
//!
//! **Matching.** EVM addresses compare case-insensitively, Solana addresses exactly; network ids
//! by canonical id; domains exactly or as `*.suffix` (subdomains only), case-insensitively;
//! selectors, venues, markets and categories case-insensitively.
//!
//! Family order (reasons and `decided_by` ties): corrupt rules, networks, time, rate, WHITELIST,
//! ALLOWED_TOKENS, CONTRACT_WHITELIST, METHOD_WHITELIST, APPROVED_SPENDERS, APPROVE_AMOUNT_LIMIT,
//! domains, VENUE_WHITELIST, LENDING_ASSET_WHITELIST, PERP_ALLOWED_MARKETS, value (cumulative
//! before per transaction), LENDING_LTV_LIMIT, PERP_MAX_LEVERAGE, PERP_MAX_POSITION_USD,
//! ACTION_CATEGORY_LIMIT, REPUTATION_THRESHOLD.

mod allowlist;
mod defi;
mod domains;
mod eval;
mod fields;
mod guard;
mod resolve;
mod rules;
mod types;
mod value;

#[cfg(test)]
mod tests;

pub use allowlist::UNLIMITED_APPROVE;
pub use resolve::{applicable, usage_needs};
pub use types::{Decision, Intent, PolicyRecord, PolicySettings, PolicyType, PriceStatus, Reason, Tier, TokenRef, TxType, Usage, UsageNeeds};

/// Version of the semantics described in this module's documentation.
pub const SEMANTICS_VERSION: u32 = 2;

/// Validate a rules object for a type, on create and on update (same strictness). Errors are
/// `ACTION_VALIDATION_FAILED` naming the field (`rules.<field path>`).
pub fn validate_rules(t: PolicyType, rules: &serde_json::Value) -> crate::Result<()> {
    rules::parse_rules(t, rules).map(drop)
}

/// Whether the allowlist families alone already deny `intent` (for a batch: one of its
/// instructions), whatever its USD value: such a request needs no price lookup. Pure; reads no
/// prices, usage or clock. See "Allowlists before prices" in the module documentation.
pub fn denied_before_pricing(policies: &[PolicyRecord], intent: &Intent, settings: &PolicySettings) -> bool {
    eval::denied_before_pricing(policies, intent, settings)
}

/// The denial of the domain allowlists alone (X402_ALLOWED_DOMAINS, ERC8128_ALLOWED_DOMAINS) for
/// `intent`, if they deny it. Pure; for checks repeated on every hop of one request (an x402
/// fetch's redirects), before anything is valued or decided.
pub fn domain_denial(policies: &[PolicyRecord], intent: &Intent, settings: &PolicySettings) -> Option<Reason> {
    eval::domain_denial(policies, intent, settings)
}

/// The denial of ALLOWED_TOKENS alone (with `default_deny_tokens`) for the token of `intent`,
/// if it denies it: whether the agent may move that token at all. Pure; for the incoming
/// monitor, which flags tokens arriving that the agent is not allowed to use.
pub fn token_denial(policies: &[PolicyRecord], intent: &Intent, settings: &PolicySettings) -> Option<Reason> {
    eval::token_denial(policies, intent, settings)
}

/// Evaluate `intent` against `policies` (all stored policies; scoping happens here). Pure: `now`
/// is unix seconds (TIME_RESTRICTION), `owner_registered` decides whether APPROVAL stays APPROVAL
/// or is downgraded to DELAY. See the module documentation for the semantics.
pub fn evaluate(policies: &[PolicyRecord], intent: &Intent, usage: &Usage, settings: &PolicySettings, now: i64, owner_registered: bool) -> Decision {
    eval::evaluate(policies, intent, usage, settings, now, owner_registered)
}
