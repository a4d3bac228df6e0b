//! Unit tests of the policy evaluator: for each of the 21 types an allowed case, a denied or
//! escalated case, the boundary values and malformed rules; then the cross-cutting semantics
//! (defaults, unpriced values, downgrade, scoping, batches, wire formats) and property tests.

use super::*;
use crate::error::ErrorCode;
use crate::network::Chain;
use serde_json::{json, Value};

const W: &str = "wallet-1";
const NET: &str = "ethereum-sepolia";
const ALICE: &str = "0x1111111111111111111111111111111111111111";
const BOB: &str = "0x2222222222222222222222222222222222222222";
const USDC: &str = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48";
const USDC_ID: &str = "eip155:11155111/erc20:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48";
const DAI: &str = "0x6b175474e89094c44da98b954eedeac495271d0f";
const ROUTER: &str = "0x7a250d5630b4cf539739df2c5dacb4c659f2488d";
const POOL: &str = "0x87870bca3f3fd6335c3f4ce8392d69350b4fa4e2";
const TRANSFER_SEL: &str = "0xa9059cbb";
const APPROVE_SEL: &str = "0x095ea7b3";
/// Tuesday 2023-11-14 22:13:20 UTC.
const NOW: i64 = 1_700_000_000;

fn pol(id: &str, t: PolicyType, rules: Value) -> PolicyRecord {
    assert!(validate_rules(t, &rules).is_ok(), "test rules for {t} must be valid: {rules}");
    PolicyRecord::new(id, t, rules)
}

fn base(t: TxType) -> Intent {
    Intent::new(W, Chain::Ethereum, NET, t)
}

fn transfer(usd: f64) -> Intent {
    base(TxType::Transfer).with_to(ALICE).with_value(1_000, usd)
}

fn usdc() -> TokenRef {
    TokenRef { address: Some(USDC.into()), asset_id: Some(USDC_ID.into()), symbol: Some("USDC".into()), decimals: Some(6) }
}

fn token_transfer(amount: u128, usd: f64) -> Intent {
    base(TxType::TokenTransfer).with_to(ALICE).with_token(usdc()).with_value(amount, usd)
}

fn call(contract: &str, selector: Option<&str>) -> Intent {
    base(TxType::ContractCall).with_contract(contract, selector)
}

fn approve(spender: &str, amount: u128) -> Intent {
    base(TxType::Approve).with_spender(spender).with_token(usdc()).with_value(amount, 0.0)
}

fn allowed_usdc() -> PolicyRecord {
    pol("tokens", PolicyType::AllowedTokens, json!({"tokens": [{"address": USDC, "symbol": "USDC"}]}))
}

fn spenders(rules: Value) -> PolicyRecord {
    pol("spenders", PolicyType::ApprovedSpenders, rules)
}

fn run(policies: &[PolicyRecord], it: &Intent) -> Decision {
    run_with(policies, it, &Usage::default(), &PolicySettings::default())
}

/// Contract calls without a CONTRACT_WHITELIST allowed (`default_deny_contracts = false`), for
/// tests of the families that come after it.
fn open_contracts() -> PolicySettings {
    PolicySettings { default_deny_contracts: false, ..PolicySettings::default() }
}

fn run_with(policies: &[PolicyRecord], it: &Intent, usage: &Usage, settings: &PolicySettings) -> Decision {
    evaluate(policies, it, usage, settings, NOW, true)
}

#[track_caller]
fn assert_allowed(d: &Decision, tier: Tier) {
    assert!(d.allowed, "expected allowed, got {d:#?}");
    assert_eq!(d.tier, tier, "{d:#?}");
    assert_eq!(d.error_code, None);
    assert_eq!(d.decided_by.as_ref().and_then(|r| r.tier), Some(tier), "decided_by explains the tier: {d:#?}");
}

#[track_caller]
fn assert_denied(d: &Decision, code: ErrorCode) {
    assert!(!d.allowed, "expected denied, got {d:#?}");
    assert_eq!(d.error_code, Some(code), "{d:#?}");
    let by = d.decided_by.as_ref().expect("a denial names its reason");
    assert!(by.denied);
    assert!(d.reasons.contains(by));
    assert_eq!((d.delay_seconds, d.approval_timeout, &d.approval_reason), (None, None, &None));
}

#[track_caller]
fn assert_rule(d: &Decision, rule: &str) {
    assert_eq!(d.decided_by.as_ref().map(|r| r.rule.as_str()), Some(rule), "{d:#?}");
}

/// Malformed rules are refused naming the field (message and `details.issues[0].path`).
#[track_caller]
fn assert_invalid(t: PolicyType, rules: Value, field: &str) {
    let e = validate_rules(t, &rules).expect_err(&format!("{t} rules {rules} must be refused"));
    assert_eq!(e.code, ErrorCode::ACTION_VALIDATION_FAILED);
    assert!(e.message.starts_with(&format!("Validation error: {field}: ")), "{t} {rules}: expected field {field}, got '{}'", e.message);
    let path: Vec<String> = field.split('.').map(str::to_string).collect();
    assert_eq!(e.details.unwrap()["issues"][0]["path"], json!(path));
}

// ---------------------------------------------------------------------------------------------
// 1. SPENDING_LIMIT
// ---------------------------------------------------------------------------------------------

fn usd_limit() -> PolicyRecord {
    pol(
        "sl",
        PolicyType::SpendingLimit,
        json!({"instant_max_usd": 10, "notify_max_usd": 100, "delay_max_usd": 1000, "delay_seconds": 600, "approval_timeout": 7200}),
    )
}

#[test]
fn spending_limit_allows_small_amounts_instantly() {
    let d = run(&[usd_limit()], &transfer(5.0));
    assert_allowed(&d, Tier::Instant);
    assert_rule(&d, "per_tx");
    assert_eq!(d.decided_by.as_ref().unwrap().policy_id.as_deref(), Some("sl"));
}

#[test]
fn spending_limit_escalates_with_its_own_delay_and_timeout() {
    let d = run(&[usd_limit()], &transfer(150.0));
    assert_allowed(&d, Tier::Delay);
    assert_eq!(d.delay_seconds, Some(600), "DELAY lasts the deciding SPENDING_LIMIT's delay_seconds");
    let d = run(&[usd_limit()], &transfer(5000.0));
    assert_allowed(&d, Tier::Approval);
    assert_eq!(d.approval_timeout, Some(7200));
    assert_eq!(d.approval_reason.as_deref(), Some("per_tx"));
    assert_eq!(d.delay_seconds, None);
}

#[test]
fn spending_limit_boundaries_are_inclusive() {
    let sl = [usd_limit()];
    assert_allowed(&run(&sl, &transfer(10.0)), Tier::Instant);
    assert_allowed(&run(&sl, &transfer(10.01)), Tier::Notify);
    assert_allowed(&run(&sl, &transfer(1000.0)), Tier::Delay);
    assert_allowed(&run(&sl, &transfer(1000.01)), Tier::Approval);

    let raw = [pol("raw", PolicyType::SpendingLimit, json!({"instant_max": "100", "notify_max": "200", "delay_max": "300"}))];
    let at = |amount| run(&raw, &base(TxType::Transfer).with_to(ALICE).with_value(amount, 0.0)).tier;
    assert_eq!([at(100), at(101), at(200), at(201), at(300), at(301)], [Tier::Instant, Tier::Notify, Tier::Notify, Tier::Delay, Tier::Delay, Tier::Approval]);
    // Pending and queued amounts of the same asset count toward the raw thresholds.
    let usage = Usage { reserved_raw: 50, ..Usage::default() };
    let d = run_with(&raw, &base(TxType::Transfer).with_to(ALICE).with_value(60, 0.0), &usage, &PolicySettings::default());
    assert_allowed(&d, Tier::Notify);
    assert!(d.decided_by.unwrap().message.contains("110 (60 + 50 reserved)"));
}

#[test]
fn spending_limit_cumulative_daily_and_monthly() {
    let sl = [pol("sl", PolicyType::SpendingLimit, json!({"instant_max_usd": 1000, "daily_limit_usd": 100, "monthly_limit_usd": 1000}))];
    let s = PolicySettings::default();
    let day = |spent| Usage { spent_usd_day: spent, spent_usd_month: spent, ..Usage::default() };
    // 90 + 15 > 100: APPROVAL for the day.
    let d = run_with(&sl, &transfer(15.0), &day(90.0), &s);
    assert_allowed(&d, Tier::Approval);
    assert_eq!(d.approval_reason.as_deref(), Some("cumulative_daily"));
    // Exactly at the limit is not over it, but warns (>= 80 %).
    let d = run_with(&sl, &transfer(15.0), &day(85.0), &s);
    assert_allowed(&d, Tier::Instant);
    assert!(d.cumulative_warning.as_deref().unwrap().starts_with("daily spend $100.00 is 100%"));
    // 70 + 10 = 80 %: warning; 69 + 10 = 79 %: none.
    assert!(run_with(&sl, &transfer(10.0), &day(70.0), &s).cumulative_warning.is_some());
    assert!(run_with(&sl, &transfer(10.0), &day(69.0), &s).cumulative_warning.is_none());
    // Monthly.
    let usage = Usage { spent_usd_day: 0.0, spent_usd_month: 995.0, ..Usage::default() };
    let d = run_with(&sl, &transfer(10.0), &usage, &s);
    assert_eq!(d.approval_reason.as_deref(), Some("cumulative_monthly"));
    // An unpriced value under USD-only limits is APPROVAL whatever the budget.
    let unpriced = base(TxType::Transfer).with_to(ALICE).with_unpriced(1, PriceStatus::OracleDown);
    assert_allowed(&run_with(&sl, &unpriced, &day(0.0), &s), Tier::Approval);
    // Classified by a raw limit: APPROVAL once the budget is used up, before that the NOTIFY floor.
    let with_raw =
        [pol("sl", PolicyType::SpendingLimit, json!({"instant_max": "10", "instant_max_usd": 1000, "daily_limit_usd": 100, "monthly_limit_usd": 1000}))];
    let d = run_with(&with_raw, &unpriced, &day(100.0), &s);
    assert_allowed(&d, Tier::Approval);
    assert_eq!(d.approval_reason.as_deref(), Some("cumulative_daily"));
    assert_allowed(&run_with(&with_raw, &unpriced, &day(99.0), &s), Tier::Notify);
}

#[test]
fn spending_limit_token_limits_match_by_asset_and_native_key() {
    let sl = [pol(
        "sl",
        PolicyType::SpendingLimit,
        json!({"token_limits": {
            USDC_ID: {"instant_max": "1.5", "notify_max": "10", "delay_max": "100"},
            "native:ethereum": {"instant_max": "0.01", "notify_max": "0.1", "delay_max": "1"}
        }}),
    )];
    let with_tokens = [sl[0].clone(), allowed_usdc()];
    assert_allowed(&run(&with_tokens, &token_transfer(1_500_000, 0.0)), Tier::Instant);
    // An EVM asset id matches whatever the case of its address (a checksummed request).
    let mut checksummed = token_transfer(1_500_001, 0.0);
    checksummed.token.as_mut().unwrap().asset_id = Some("eip155:11155111/erc20:0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48".into());
    assert_allowed(&run(&with_tokens, &checksummed), Tier::Notify);
    assert_allowed(&run(&with_tokens, &token_transfer(1_500_001, 0.0)), Tier::Notify);
    assert_allowed(&run(&with_tokens, &token_transfer(100_000_001, 0.0)), Tier::Approval);
    let eth = |wei| run(&sl, &base(TxType::Transfer).with_to(ALICE).with_value(wei, 0.0)).tier;
    assert_eq!(eth(10_000_000_000_000_000), Tier::Instant);
    assert_eq!(eth(10_000_000_000_000_001), Tier::Notify);
    assert_eq!(eth(1_000_000_000_000_000_001), Tier::Approval);
    // "native" applies only when the policy is scoped to a network.
    let native = |network: Option<&str>| {
        let mut p =
            PolicyRecord::new("sl", PolicyType::SpendingLimit, json!({"token_limits": {"native": {"instant_max": "0", "notify_max": "0", "delay_max": "0"}}}));
        p.network = network.map(str::to_string);
        run(&[p], &base(TxType::Transfer).with_to(ALICE).with_value(1, 0.0)).tier
    };
    assert_eq!(native(Some(NET)), Tier::Approval);
    assert_eq!(native(None), Tier::Instant, "unscoped 'native' does not match; $0 by the defaults is INSTANT");
}

#[test]
fn spending_limit_that_does_not_cover_the_asset_falls_back_to_defaults() {
    let only_usdc = pol("sl", PolicyType::SpendingLimit, json!({"token_limits": {USDC_ID: {"instant_max": "1", "notify_max": "2", "delay_max": "3"}}}));
    let d = run(&[only_usdc], &transfer(600.0));
    assert_allowed(&d, Tier::Approval);
    assert_rule(&d, "default_thresholds");
}

#[test]
fn spending_limit_malformed_rules_name_the_field() {
    let t = PolicyType::SpendingLimit;
    assert_invalid(t, json!({}), "rules");
    assert_invalid(t, json!([]), "rules");
    assert_invalid(t, json!({"instant_max_usd": 10, "delay_seconds": 59}), "rules.delay_seconds");
    assert_invalid(t, json!({"instant_max_usd": 10, "delay_seconds": 90.5}), "rules.delay_seconds");
    assert_invalid(t, json!({"instant_max_usd": 50, "notify_max_usd": 10}), "rules.notify_max_usd");
    assert_invalid(t, json!({"instant_max_usd": 50, "delay_max_usd": 10}), "rules.delay_max_usd");
    assert_invalid(t, json!({"instant_max": "300", "notify_max": "200"}), "rules.notify_max");
    assert_invalid(t, json!({"instant_max": "12a"}), "rules.instant_max");
    assert_invalid(t, json!({"instant_max": 12}), "rules.instant_max");
    assert_invalid(t, json!({"instant_max_usd": -1}), "rules.instant_max_usd");
    assert_invalid(t, json!({"instant_max_usd": "10"}), "rules.instant_max_usd");
    assert_invalid(t, json!({"instant_max_usd": 10, "daily_limit_usd": 0}), "rules.daily_limit_usd");
    assert_invalid(t, json!({"instant_max_usd": 10, "approval_timeout": 0}), "rules.approval_timeout");
    assert_invalid(t, json!({"instant_max_USD": 10}), "rules.instant_max_USD");
    assert_invalid(t, json!({"token_limits": {"bitcoin": {"instant_max": "1", "notify_max": "2", "delay_max": "3"}}}), "rules.token_limits.bitcoin");
    assert_invalid(t, json!({"token_limits": {"native": {"instant_max": "2", "notify_max": "1.5", "delay_max": "3"}}}), "rules.token_limits.native.notify_max");
    assert_invalid(t, json!({"token_limits": {"native": {"instant_max": "1", "notify_max": "2"}}}), "rules.token_limits.native.delay_max");
    assert_invalid(t, json!({"token_limits": {"native": {"instant_max": "1.", "notify_max": "2", "delay_max": "3"}}}), "rules.token_limits.native.instant_max");
    assert_invalid(t, json!({"token_limits": {}}), "rules");
    // Equal thresholds, integral floats and huge raw values are fine.
    assert!(validate_rules(t, &json!({"instant_max_usd": 10, "notify_max_usd": 10, "delay_seconds": 60.0})).is_ok());
    assert!(validate_rules(t, &json!({"delay_max": "9".repeat(80)})).is_ok());
}

// ---------------------------------------------------------------------------------------------
// 2. WHITELIST
// ---------------------------------------------------------------------------------------------

fn whitelist(addresses: &[&str]) -> PolicyRecord {
    pol("wl", PolicyType::Whitelist, json!({"allowed_addresses": addresses}))
}

#[test]
fn whitelist_allows_listed_destinations() {
    assert_allowed(&run(&[whitelist(&[ALICE])], &transfer(1.0)), Tier::Instant);
}

#[test]
fn whitelist_denies_other_destinations_including_spenders_and_callees() {
    let d = run(&[whitelist(&[ALICE])], &base(TxType::Transfer).with_to(BOB).with_value(1, 1.0));
    assert_denied(&d, ErrorCode::WHITELIST_DENIED);
    assert!(d.decided_by.unwrap().message.contains(BOB));
    let d = run(&[whitelist(&[ALICE]), spenders(json!({"spenders": [{"address": BOB}]}))], &approve(BOB, 10));
    assert_denied(&d, ErrorCode::WHITELIST_DENIED);
    let d = run_with(&[whitelist(&[ALICE])], &call(ROUTER, Some(TRANSFER_SEL)), &Usage::default(), &open_contracts());
    assert!(d.reasons.iter().any(|r| r.error_code == Some(ErrorCode::WHITELIST_DENIED)));
}

#[test]
fn whitelist_matches_evm_case_insensitively_and_solana_exactly() {
    let upper = ALICE.to_uppercase().replace("0X", "0x");
    assert_allowed(&run(&[whitelist(&[&upper])], &transfer(1.0)), Tier::Instant);
    let sol = "7EcDhSYGxXyscszYEp35KHN8vvw3svAuLKTzXwCFLtV";
    let wl = [whitelist(&[sol])];
    let to = |addr: &str| Intent::new(W, Chain::Solana, "solana-devnet", TxType::Transfer).with_to(addr).with_value(1, 1.0);
    assert_allowed(&run(&wl, &to(sol)), Tier::Instant);
    assert_denied(&run(&wl, &to(&sol.to_lowercase())), ErrorCode::WHITELIST_DENIED);
}

#[test]
fn whitelist_malformed_rules_name_the_field() {
    let t = PolicyType::Whitelist;
    assert_invalid(t, json!({"allowed_addresses": []}), "rules.allowed_addresses");
    assert_invalid(t, json!({"allowed_addresses": [ALICE, 7]}), "rules.allowed_addresses.1");
    assert_invalid(t, json!({"allowed_addresses": [""]}), "rules.allowed_addresses.0");
    assert_invalid(t, json!({}), "rules.allowed_addresses");
}

// ---------------------------------------------------------------------------------------------
// 3. TIME_RESTRICTION (NOW is Tuesday 22:13 UTC)
// ---------------------------------------------------------------------------------------------

fn hours(start: u64, end: u64, days: &[u64]) -> PolicyRecord {
    pol("time", PolicyType::TimeRestriction, json!({"allowed_hours": {"start": start, "end": end}, "allowed_days": days}))
}

#[test]
fn time_restriction_allows_inside_the_window() {
    assert_allowed(&run(&[hours(9, 23, &[1, 2, 3, 4, 5])], &transfer(1.0)), Tier::Instant);
}

#[test]
fn time_restriction_denies_outside_hours_or_days() {
    let d = run(&[hours(9, 17, &[1, 2, 3, 4, 5])], &transfer(1.0));
    assert_denied(&d, ErrorCode::POLICY_DENIED);
    assert_rule(&d, "outside_allowed_time");
    assert!(d.decided_by.unwrap().message.contains("Tue 22:13 (UTC+00:00)"));
    assert_denied(&run(&[hours(0, 24, &[0, 6])], &transfer(1.0)), ErrorCode::POLICY_DENIED);
}

#[test]
fn time_restriction_boundaries_end_exclusive_midnight_wrap_and_offset() {
    let at = |p: PolicyRecord, now: i64, offset: i32| {
        let s = PolicySettings { utc_offset_minutes: offset, ..PolicySettings::default() };
        evaluate(&[p], &transfer(1.0), &Usage::default(), &s, now, true).allowed
    };
    let ten_pm = NOW - 13 * 60 - 20; // Tuesday 22:00:00
    assert!(!at(hours(9, 22, &[2]), ten_pm, 0), "end is exclusive");
    assert!(at(hours(22, 24, &[2]), ten_pm, 0), "start is inclusive, 24 = midnight");
    assert!(!at(hours(22, 24, &[2]), ten_pm - 1, 0), "21:59:59 is before start");
    assert!(at(hours(22, 6, &[2]), NOW, 0), "start > end wraps past midnight");
    assert!(at(hours(22, 6, &[3]), NOW + 3 * 3600, 0), "Wednesday 01:13 inside the wrapped window");
    assert!(!at(hours(22, 6, &[3]), NOW + 8 * 3600, 0), "Wednesday 06:13 after it");
    // UTC+2: Wednesday 00:13 local.
    assert!(!at(hours(0, 24, &[2]), NOW, 120));
    assert!(at(hours(0, 1, &[3]), NOW, 120));
    // UTC-5:30: Tuesday 16:43 local.
    assert!(at(hours(16, 17, &[2]), NOW, -330));
}

#[test]
fn time_restriction_malformed_rules_name_the_field() {
    let t = PolicyType::TimeRestriction;
    assert_invalid(t, json!({"allowed_hours": {"start": 24, "end": 24}, "allowed_days": [1]}), "rules.allowed_hours.start");
    assert_invalid(t, json!({"allowed_hours": {"start": 0, "end": 0}, "allowed_days": [1]}), "rules.allowed_hours.end");
    assert_invalid(t, json!({"allowed_hours": {"start": 5, "end": 5}, "allowed_days": [1]}), "rules.allowed_hours.end");
    assert_invalid(t, json!({"allowed_hours": {"start": -1, "end": 5}, "allowed_days": [1]}), "rules.allowed_hours.start");
    assert_invalid(t, json!({"allowed_hours": {"start": 1, "end": 5}, "allowed_days": []}), "rules.allowed_days");
    assert_invalid(t, json!({"allowed_hours": {"start": 1, "end": 5}, "allowed_days": [1, 7]}), "rules.allowed_days.1");
    assert_invalid(t, json!({"allowed_hours": {"start": 1}, "allowed_days": [1]}), "rules.allowed_hours.end");
    assert_invalid(t, json!({"allowed_days": [1]}), "rules.allowed_hours");
}

// ---------------------------------------------------------------------------------------------
// 4. RATE_LIMIT
// ---------------------------------------------------------------------------------------------

fn rate(max: u64, window: u64) -> PolicyRecord {
    pol("rate", PolicyType::RateLimit, json!({"max_requests": max, "window_seconds": window}))
}

fn done(window: u64, count: u64) -> Usage {
    Usage { requests_in_window: vec![(3600, 0), (window, count)], ..Usage::default() }
}

#[test]
fn rate_limit_allows_below_the_limit() {
    let d = run_with(&[rate(5, 60)], &transfer(1.0), &done(60, 3), &PolicySettings::default());
    assert_allowed(&d, Tier::Instant);
}

#[test]
fn rate_limit_denies_over_the_limit_and_without_usage() {
    let d = run_with(&[rate(5, 60)], &transfer(1.0), &done(60, 5), &PolicySettings::default());
    assert_denied(&d, ErrorCode::RATE_LIMIT_EXCEEDED);
    assert!(ErrorCode::RATE_LIMIT_EXCEEDED.retryable());
    let d = run(&[rate(5, 60)], &transfer(1.0));
    assert_denied(&d, ErrorCode::POLICY_DENIED);
    assert_rule(&d, "usage_missing");
}

#[test]
fn rate_limit_boundary_last_allowed_request() {
    let s = PolicySettings::default();
    assert!(run_with(&[rate(5, 60)], &transfer(1.0), &done(60, 4), &s).allowed, "4 done + this one = 5");
    assert!(!run_with(&[rate(1, 60)], &transfer(1.0), &done(60, 1), &s).allowed);
    assert!(run_with(&[rate(1, 60)], &transfer(1.0), &done(60, 0), &s).allowed);
}

#[test]
fn rate_limit_malformed_rules_name_the_field() {
    let t = PolicyType::RateLimit;
    assert_invalid(t, json!({"max_requests": 0, "window_seconds": 60}), "rules.max_requests");
    assert_invalid(t, json!({"max_requests": 1.5, "window_seconds": 60}), "rules.max_requests");
    assert_invalid(t, json!({"max_requests": 5, "window_seconds": "60"}), "rules.window_seconds");
    assert_invalid(t, json!({"max_requests": 5}), "rules.window_seconds");
    assert_invalid(t, json!({"max_requests": 5, "window_seconds": 60, "burst": 2}), "rules.burst");
}

// ---------------------------------------------------------------------------------------------
// 5. ALLOWED_TOKENS
// ---------------------------------------------------------------------------------------------

#[test]
fn allowed_tokens_allows_listed_tokens() {
    assert_allowed(&run(&[allowed_usdc()], &token_transfer(1_000_000, 1.0)), Tier::Instant);
    let s = PolicySettings { default_deny_tokens: false, ..PolicySettings::default() };
    assert_allowed(&run_with(&[], &token_transfer(1, 1.0), &Usage::default(), &s), Tier::Instant);
}

#[test]
fn allowed_tokens_denies_by_default_and_unlisted_tokens() {
    let d = run(&[], &token_transfer(1, 1.0));
    assert_denied(&d, ErrorCode::TOKEN_NOT_ALLOWED);
    assert_eq!(d.decided_by.as_ref().unwrap().policy_type, Some(PolicyType::AllowedTokens));
    assert_eq!(d.decided_by.as_ref().unwrap().policy_id, None);
    let dai = base(TxType::TokenTransfer).with_to(ALICE).with_token(TokenRef { address: Some(DAI.into()), ..TokenRef::default() });
    assert_denied(&run(&[allowed_usdc()], &dai), ErrorCode::TOKEN_NOT_ALLOWED);
    assert_denied(&run(&[allowed_usdc()], &base(TxType::TokenTransfer).with_to(ALICE)), ErrorCode::TOKEN_NOT_ALLOWED);
}

#[test]
fn allowed_tokens_four_way_matching_and_chain_scope() {
    let by_id = [pol("t", PolicyType::AllowedTokens, json!({"tokens": [{"address": "ignored", "assetId": USDC_ID}]}))];
    let only_address = token_transfer(1, 1.0).with_token(TokenRef { address: Some(USDC.to_uppercase().replace("0X", "0x")), ..TokenRef::default() });
    assert!(run(&by_id, &only_address).allowed, "policy assetId vs request address");
    let only_id = token_transfer(1, 1.0).with_token(TokenRef { asset_id: Some(USDC_ID.into()), ..TokenRef::default() });
    assert!(run(&[allowed_usdc()], &only_id).allowed, "policy address vs request assetId");
    assert!(run(&by_id, &only_id).allowed, "assetId vs assetId");
    let solana_only = [pol("t", PolicyType::AllowedTokens, json!({"tokens": [{"address": USDC, "chain": "solana"}]}))];
    assert!(!run(&solana_only, &token_transfer(1, 1.0)).allowed, "an entry for another chain does not match");
}

#[test]
fn allowed_tokens_malformed_rules_name_the_field() {
    let t = PolicyType::AllowedTokens;
    assert_invalid(t, json!({"tokens": []}), "rules.tokens");
    assert_invalid(t, json!({"tokens": [{"symbol": "USDC"}]}), "rules.tokens.0.address");
    assert_invalid(t, json!({"tokens": [{"address": USDC, "symbol": "ELEVENCHARS"}]}), "rules.tokens.0.symbol");
    assert_invalid(t, json!({"tokens": [{"address": USDC, "assetId": "erc20:0xabc"}]}), "rules.tokens.0.assetId");
    assert_invalid(t, json!({"tokens": [{"address": USDC, "chain": "bitcoin"}]}), "rules.tokens.0.chain");
    assert_invalid(t, json!({"tokens": USDC}), "rules.tokens");
}

// ---------------------------------------------------------------------------------------------
// 6. CONTRACT_WHITELIST
// ---------------------------------------------------------------------------------------------

fn contracts(addresses: &[&str]) -> PolicyRecord {
    let list: Vec<Value> = addresses.iter().map(|a| json!({"address": a, "name": "x"})).collect();
    pol("contracts", PolicyType::ContractWhitelist, json!({ "contracts": list }))
}

#[test]
fn contract_whitelist_allows_listed_contracts() {
    assert_allowed(&run(&[contracts(&[ROUTER])], &call(ROUTER, Some(TRANSFER_SEL))), Tier::Instant);
    // Via `to` when `contract` is absent; a call an action provider built is listed like any.
    assert!(run(&[contracts(&[ROUTER])], &base(TxType::ContractCall).with_to(ROUTER)).allowed);
    assert!(run(&[contracts(&[POOL])], &call(POOL, None).with_action("jupiter", "swap")).allowed);
}

#[test]
fn contract_whitelist_denies_by_default_and_unlisted_contracts() {
    assert_denied(&run(&[], &call(ROUTER, None)), ErrorCode::CONTRACT_CALL_DISABLED);
    assert_denied(&run(&[contracts(&[ROUTER])], &call(POOL, None)), ErrorCode::CONTRACT_NOT_WHITELISTED);
    let nft = base(TxType::NftTransfer).with_to(ALICE).with_contract(POOL, None);
    assert_denied(&run(&[contracts(&[ROUTER])], &nft), ErrorCode::CONTRACT_NOT_WHITELISTED);
    // An action provider is no exemption (upstream's "provider trust").
    let by_provider = call(POOL, None).with_action("jupiter", "swap");
    assert_denied(&run(&[], &by_provider), ErrorCode::CONTRACT_CALL_DISABLED);
    assert_denied(&run(&[contracts(&[ROUTER])], &by_provider), ErrorCode::CONTRACT_NOT_WHITELISTED);
}

#[test]
fn contract_whitelist_boundary_case_and_default_deny_toggle() {
    assert!(run(&[contracts(&[&ROUTER.to_uppercase().replace("0X", "0x")])], &call(ROUTER, None)).allowed);
    let s = PolicySettings { default_deny_contracts: false, ..PolicySettings::default() };
    assert!(run_with(&[], &call(ROUTER, None), &Usage::default(), &s).allowed);
}

#[test]
fn contract_whitelist_malformed_rules_name_the_field() {
    let t = PolicyType::ContractWhitelist;
    assert_invalid(t, json!({"contracts": []}), "rules.contracts");
    assert_invalid(t, json!({"contracts": [{"address": ""}]}), "rules.contracts.0.address");
    assert_invalid(t, json!({"contracts": [{"address": ROUTER, "name": 5}]}), "rules.contracts.0.name");
    assert_invalid(t, json!({"contract": [{"address": ROUTER}]}), "rules.contract");
}

// ---------------------------------------------------------------------------------------------
// 7. METHOD_WHITELIST
// ---------------------------------------------------------------------------------------------

fn methods() -> [PolicyRecord; 2] {
    [contracts(&[ROUTER, POOL]), pol("methods", PolicyType::MethodWhitelist, json!({"methods": [{"contractAddress": ROUTER, "selectors": [TRANSFER_SEL]}]}))]
}

#[test]
fn method_whitelist_allows_listed_selectors() {
    assert!(run(&methods(), &call(ROUTER, Some(TRANSFER_SEL))).allowed);
    assert!(run(&methods(), &call(ROUTER, Some("0xA9059CBB"))).allowed, "selectors compare case-insensitively");
    assert!(run(&methods(), &call(POOL, Some(APPROVE_SEL))).allowed, "only listed contracts are restricted");
}

#[test]
fn method_whitelist_denies_other_selectors() {
    let d = run(&methods(), &call(ROUTER, Some(APPROVE_SEL)));
    assert_denied(&d, ErrorCode::METHOD_NOT_WHITELISTED);
    assert!(d.decided_by.unwrap().message.contains(APPROVE_SEL));
    assert_denied(&run(&methods(), &call(ROUTER, None)), ErrorCode::METHOD_NOT_WHITELISTED);
}

#[test]
fn method_whitelist_boundary_full_calldata_uses_first_four_bytes() {
    let calldata = format!("{TRANSFER_SEL}000000000000000000000000{}", &ALICE[2..]);
    assert!(run(&methods(), &call(ROUTER, Some(&calldata))).allowed);
    assert!(!run(&methods(), &call(ROUTER, Some("0xa9059cb"))).allowed, "a truncated selector does not match");
}

#[test]
fn method_whitelist_malformed_rules_name_the_field() {
    let t = PolicyType::MethodWhitelist;
    assert_invalid(t, json!({"methods": []}), "rules.methods");
    assert_invalid(t, json!({"methods": [{"contractAddress": ROUTER, "selectors": []}]}), "rules.methods.0.selectors");
    assert_invalid(t, json!({"methods": [{"contractAddress": ROUTER, "selectors": ["transfer"]}]}), "rules.methods.0.selectors.0");
    assert_invalid(t, json!({"methods": [{"selectors": [TRANSFER_SEL]}]}), "rules.methods.0.contractAddress");
}

// ---------------------------------------------------------------------------------------------
// 8. APPROVED_SPENDERS
// ---------------------------------------------------------------------------------------------

#[test]
fn approved_spenders_allows_listed_spenders() {
    let d = run(&[spenders(json!({"spenders": [{"address": ROUTER, "name": "Uniswap"}]}))], &approve(ROUTER, 1_000));
    assert_allowed(&d, Tier::Instant);
}

#[test]
fn approved_spenders_denies_by_default_and_unlisted_spenders() {
    assert_denied(&run(&[], &approve(ROUTER, 1)), ErrorCode::APPROVE_DISABLED);
    assert_denied(&run(&[spenders(json!({"spenders": [{"address": ROUTER}]}))], &approve(BOB, 1)), ErrorCode::SPENDER_NOT_APPROVED);
    let no_spender = base(TxType::Approve).with_value(1, 0.0);
    assert_denied(&run(&[spenders(json!({"spenders": [{"address": ROUTER}]}))], &no_spender), ErrorCode::SPENDER_NOT_APPROVED);
}

#[test]
fn approved_spenders_boundary_per_spender_max_amount() {
    let p = [spenders(json!({"spenders": [{"address": ROUTER, "maxAmount": "1000"}]}))];
    assert!(run(&p, &approve(ROUTER, 1000)).allowed);
    let d = run(&p, &approve(ROUTER, 1001));
    assert_denied(&d, ErrorCode::APPROVE_AMOUNT_EXCEEDED);
    assert_rule(&d, "spender_max_amount");
}

#[test]
fn approved_spenders_malformed_rules_name_the_field() {
    let t = PolicyType::ApprovedSpenders;
    assert_invalid(t, json!({"spenders": []}), "rules.spenders");
    assert_invalid(t, json!({"spenders": [{"address": ROUTER, "maxAmount": "1e6"}]}), "rules.spenders.0.maxAmount");
    assert_invalid(t, json!({"spenders": [{"address": ROUTER, "maxAmount": 1000}]}), "rules.spenders.0.maxAmount");
    assert_invalid(t, json!({"spenders": [{"name": "x"}]}), "rules.spenders.0.address");
}

// ---------------------------------------------------------------------------------------------
// 9. APPROVE_AMOUNT_LIMIT
// ---------------------------------------------------------------------------------------------

fn router_spender() -> PolicyRecord {
    spenders(json!({"spenders": [{"address": ROUTER}]}))
}

#[test]
fn approve_amount_limit_allows_within_max_and_unlimited_when_unblocked() {
    let p = [router_spender(), pol("aal", PolicyType::ApproveAmountLimit, json!({"maxAmount": "5000"}))];
    assert!(run(&p, &approve(ROUTER, 4999)).allowed);
    let open = [router_spender(), pol("aal", PolicyType::ApproveAmountLimit, json!({"blockUnlimited": false}))];
    assert!(run(&open, &approve(ROUTER, u128::MAX)).allowed);
}

#[test]
fn approve_amount_limit_denies_unlimited_by_default_and_above_max() {
    let d = run(&[router_spender()], &approve(ROUTER, u128::MAX));
    assert_denied(&d, ErrorCode::UNLIMITED_APPROVE_BLOCKED);
    let p = [router_spender(), pol("aal", PolicyType::ApproveAmountLimit, json!({"maxAmount": "5000"}))];
    assert_denied(&run(&p, &approve(ROUTER, 5001)), ErrorCode::APPROVE_AMOUNT_EXCEEDED);
    assert_denied(&run(&p, &approve(ROUTER, u128::MAX)), ErrorCode::UNLIMITED_APPROVE_BLOCKED);
}

#[test]
fn approve_amount_limit_boundaries() {
    let p = [router_spender(), pol("aal", PolicyType::ApproveAmountLimit, json!({"maxAmount": "5000"}))];
    assert!(run(&p, &approve(ROUTER, 5000)).allowed);
    assert!(run(&[router_spender()], &approve(ROUTER, UNLIMITED_APPROVE - 1)).allowed);
    assert!(!run(&[router_spender()], &approve(ROUTER, UNLIMITED_APPROVE)).allowed);
}

#[test]
fn approve_amount_limit_malformed_rules_name_the_field() {
    let t = PolicyType::ApproveAmountLimit;
    assert_invalid(t, json!({"blockUnlimited": "yes"}), "rules.blockUnlimited");
    assert_invalid(t, json!({"maxAmount": "-5"}), "rules.maxAmount");
    assert_invalid(t, json!({"maxAmount": ""}), "rules.maxAmount");
    assert!(validate_rules(t, &json!({})).is_ok(), "both fields are optional (blockUnlimited defaults to true)");
}

// ---------------------------------------------------------------------------------------------
// 10. APPROVE_TIER_OVERRIDE
// ---------------------------------------------------------------------------------------------

fn tier_override(tier: &str) -> PolicyRecord {
    pol("ato", PolicyType::ApproveTierOverride, json!({ "tier": tier }))
}

#[test]
fn approve_tier_override_sets_the_tier_of_approvals() {
    let d = run(&[router_spender(), tier_override("DELAY")], &approve(ROUTER, 1));
    assert_allowed(&d, Tier::Delay);
    assert_rule(&d, "approve_tier_override");
    assert_eq!(d.delay_seconds, Some(PolicySettings::default().default_delay_seconds));
}

#[test]
fn approve_tier_override_replaces_the_value_tier_but_not_other_floors() {
    let pricey = approve(ROUTER, 1).with_value(1, 5000.0);
    assert_eq!(run(&[router_spender()], &pricey).tier, Tier::Approval);
    assert_eq!(run(&[router_spender(), tier_override("NOTIFY")], &pricey).tier, Tier::Notify);
    let rep = pol("rep", PolicyType::ReputationThreshold, json!({"min_score": 50, "check_counterparty": true}));
    assert_eq!(run(&[router_spender(), tier_override("INSTANT"), rep], &approve(ROUTER, 1)).tier, Tier::Approval);
    // Other transaction types are untouched.
    assert_eq!(run(&[tier_override("APPROVAL")], &transfer(1.0)).tier, Tier::Instant);
}

#[test]
fn approve_tier_override_boundary_approval_without_owner_is_downgraded() {
    let d = evaluate(&[router_spender(), tier_override("APPROVAL")], &approve(ROUTER, 1), &Usage::default(), &PolicySettings::default(), NOW, false);
    assert!(d.allowed && d.downgraded);
    assert_eq!(d.tier, Tier::Delay);
    assert_eq!(d.approval_reason.as_deref(), Some("approve_tier_override"));
}

#[test]
fn approve_tier_override_malformed_rules_name_the_field() {
    let t = PolicyType::ApproveTierOverride;
    assert_invalid(t, json!({"tier": "HIGH"}), "rules.tier");
    assert_invalid(t, json!({"tier": "approval"}), "rules.tier");
    assert_invalid(t, json!({}), "rules.tier");
    assert_invalid(t, json!({"tier": 3}), "rules.tier");
}

// ---------------------------------------------------------------------------------------------
// 11. ALLOWED_NETWORKS
// ---------------------------------------------------------------------------------------------

fn networks(list: &[&str]) -> PolicyRecord {
    let list: Vec<Value> = list.iter().map(|n| json!({"network": n})).collect();
    pol("nets", PolicyType::AllowedNetworks, json!({ "networks": list }))
}

#[test]
fn allowed_networks_allows_listed_networks() {
    assert!(run(&[networks(&[NET, "base-sepolia"])], &transfer(1.0)).allowed);
}

#[test]
fn allowed_networks_denies_other_networks() {
    let d = run(&[networks(&["base-sepolia"])], &transfer(1.0));
    assert_denied(&d, ErrorCode::POLICY_DENIED);
    assert_rule(&d, "network_not_allowed");
}

#[test]
fn allowed_networks_boundary_caip2_and_legacy_names_are_the_same_network() {
    assert!(run(&[networks(&["eip155:11155111"])], &transfer(1.0)).allowed);
    let sol = Intent::new(W, Chain::Solana, "solana-devnet", TxType::Transfer).with_to("x").with_value(1, 1.0);
    assert!(run(&[networks(&["devnet"])], &sol).allowed);
    assert!(!run(&[networks(&["solana-testnet"])], &sol).allowed);
}

#[test]
fn allowed_networks_malformed_rules_name_the_field() {
    let t = PolicyType::AllowedNetworks;
    assert_invalid(t, json!({"networks": []}), "rules.networks");
    assert_invalid(t, json!({"networks": [{"network": "xrpl-mainnet"}]}), "rules.networks.0.network");
    assert_invalid(t, json!({"networks": [NET]}), "rules.networks.0");
}

// ---------------------------------------------------------------------------------------------
// 12. X402_ALLOWED_DOMAINS
// ---------------------------------------------------------------------------------------------

fn x402(domain: &str) -> Intent {
    base(TxType::X402Payment).with_to(ALICE).with_token(usdc()).with_value(10_000, 0.01).with_domain(domain)
}

fn x402_domains(list: &[&str]) -> PolicyRecord {
    pol("x402", PolicyType::X402AllowedDomains, json!({ "domains": list }))
}

/// The domain allowlist plus ALLOWED_TOKENS for the paid asset.
fn x402_pols(list: &[&str]) -> [PolicyRecord; 2] {
    [x402_domains(list), allowed_usdc()]
}

#[test]
fn x402_allowed_domains_allows_listed_domains() {
    assert_allowed(&run(&x402_pols(&["api.example.com"]), &x402("api.example.com")), Tier::Instant);
    let s = PolicySettings { default_deny_x402_domains: false, ..PolicySettings::default() };
    assert!(run_with(&[allowed_usdc()], &x402("anything.io"), &Usage::default(), &s).allowed);
}

#[test]
fn x402_allowed_domains_denies_by_default_and_other_domains() {
    assert_denied(&run(&[allowed_usdc()], &x402("api.example.com")), ErrorCode::X402_DOMAIN_NOT_ALLOWED);
    assert_denied(&run(&x402_pols(&["api.example.com"]), &x402("evil.com")), ErrorCode::X402_DOMAIN_NOT_ALLOWED);
    let no_domain = base(TxType::X402Payment).with_to(ALICE).with_token(usdc()).with_value(1, 0.01);
    assert_denied(&run(&x402_pols(&["api.example.com"]), &no_domain), ErrorCode::X402_DOMAIN_NOT_ALLOWED);
}

#[test]
fn x402_allowed_domains_boundary_wildcards_cover_subdomains_only() {
    let p = x402_pols(&["*.example.com"]);
    assert!(run(&p, &x402("a.example.com")).allowed);
    assert!(run(&p, &x402("A.B.Example.COM")).allowed);
    assert!(!run(&p, &x402("example.com")).allowed);
    assert!(!run(&p, &x402("badexample.com")).allowed);
}

#[test]
fn x402_payments_pay_only_allowed_tokens_and_are_refused_before_pricing() {
    // The asset is a token: ALLOWED_TOKENS decides it (default deny), like a token transfer.
    let d = run(&[x402_domains(&["api.example.com"])], &x402("api.example.com"));
    assert_denied(&d, ErrorCode::TOKEN_NOT_ALLOWED);
    // A domain or token refusal needs no price.
    let s = PolicySettings::default();
    assert!(denied_before_pricing(&[x402_domains(&["api.example.com"])], &x402("api.example.com"), &s));
    assert!(denied_before_pricing(&[allowed_usdc()], &x402("api.example.com"), &s));
    assert!(!denied_before_pricing(&x402_pols(&["api.example.com"]), &x402("api.example.com"), &s));
}

#[test]
fn the_domain_check_alone_answers_for_each_hop() {
    let s = PolicySettings::default();
    let p = x402_pols(&["*.example.com"]);
    assert!(domain_denial(&p, &x402("pay.example.com"), &s).is_none());
    let r = domain_denial(&p, &x402("evil.com"), &s).expect("denied");
    assert_eq!(r.error_code, Some(ErrorCode::X402_DOMAIN_NOT_ALLOWED));
    assert!(r.message.contains("evil.com"), "{}", r.message);
    // Without any policy: the default deny names the missing policy.
    assert_eq!(domain_denial(&[], &x402("pay.example.com"), &s).and_then(|r| r.error_code), Some(ErrorCode::X402_DOMAIN_NOT_ALLOWED));
    // Off by setting: nothing to deny.
    let open = PolicySettings { default_deny_x402_domains: false, ..s };
    assert!(domain_denial(&[], &x402("pay.example.com"), &open).is_none());
}

#[test]
fn x402_allowed_domains_malformed_rules_name_the_field() {
    let t = PolicyType::X402AllowedDomains;
    assert_invalid(t, json!({"domains": []}), "rules.domains");
    assert_invalid(t, json!({"domains": ["ok.com", "https://x.com/path"]}), "rules.domains.1");
    assert_invalid(t, json!({"domains": ["a.*.com"]}), "rules.domains.0");
    assert_invalid(t, json!({"domains": [""]}), "rules.domains.0");
}

// ---------------------------------------------------------------------------------------------
// 13. LENDING_LTV_LIMIT
// ---------------------------------------------------------------------------------------------

fn lending(action: &str) -> Intent {
    call(POOL, None).with_action("aave", action).with_token(usdc()).with_value(0, 0.0)
}

fn lending_policies(extra: PolicyRecord) -> Vec<PolicyRecord> {
    vec![pol("assets", PolicyType::LendingAssetWhitelist, json!({"assets": [{"address": USDC, "symbol": "USDC"}]})), extra]
}

fn ltv_limit() -> PolicyRecord {
    pol("ltv", PolicyType::LendingLtvLimit, json!({"maxLtv": 0.8, "warningLtv": 0.7}))
}

fn borrow(ltv: Option<f64>) -> Intent {
    Intent { projected_ltv: ltv, ..lending("borrow") }
}

#[test]
fn lending_ltv_limit_allows_safe_borrows() {
    let d = run_with(&lending_policies(ltv_limit()), &borrow(Some(0.5)), &Usage::default(), &open_contracts());
    assert_allowed(&d, Tier::Instant);
}

#[test]
fn lending_ltv_limit_delays_near_and_denies_over_the_limit() {
    let s = open_contracts();
    let d = run_with(&lending_policies(ltv_limit()), &borrow(Some(0.75)), &Usage::default(), &s);
    assert_allowed(&d, Tier::Delay);
    assert_rule(&d, "warning_ltv");
    assert_denied(&run_with(&lending_policies(ltv_limit()), &borrow(Some(0.85)), &Usage::default(), &s), ErrorCode::POLICY_DENIED);
    assert_denied(&run_with(&lending_policies(ltv_limit()), &borrow(None), &Usage::default(), &s), ErrorCode::POLICY_DENIED);
    // Prefixed borrow actions count too.
    let prefixed = Intent { projected_ltv: Some(0.9), ..lending("kamino_borrow") };
    assert!(!run_with(&[ltv_limit()], &prefixed, &Usage::default(), &s).allowed);
}

#[test]
fn lending_ltv_limit_boundaries_are_inclusive() {
    let s = open_contracts();
    assert_eq!(run_with(&lending_policies(ltv_limit()), &borrow(Some(0.8)), &Usage::default(), &s).tier, Tier::Delay);
    assert!(run_with(&lending_policies(ltv_limit()), &borrow(Some(0.8)), &Usage::default(), &s).allowed);
    assert_eq!(run_with(&lending_policies(ltv_limit()), &borrow(Some(0.7)), &Usage::default(), &s).tier, Tier::Instant);
}

#[test]
fn lending_ltv_limit_malformed_rules_name_the_field() {
    let t = PolicyType::LendingLtvLimit;
    assert_invalid(t, json!({"maxLtv": 1.5, "warningLtv": 0.5}), "rules.maxLtv");
    assert_invalid(t, json!({"maxLtv": 0.5, "warningLtv": 0.6}), "rules.warningLtv");
    assert_invalid(t, json!({"maxLtv": 0.5}), "rules.warningLtv");
    assert_invalid(t, json!({"max_ltv": 0.5, "warningLtv": 0.4}), "rules.max_ltv");
}

// ---------------------------------------------------------------------------------------------
// 14. LENDING_ASSET_WHITELIST
// ---------------------------------------------------------------------------------------------

#[test]
fn lending_asset_whitelist_allows_listed_assets() {
    let d = run_with(&lending_policies(ltv_limit()), &lending("supply"), &Usage::default(), &open_contracts());
    assert_allowed(&d, Tier::Instant);
    assert_rule(&d, "non_spending_action");
}

#[test]
fn lending_asset_whitelist_is_required_and_denies_other_assets() {
    let s = open_contracts();
    assert_denied(&run_with(&[], &lending("supply"), &Usage::default(), &s), ErrorCode::POLICY_DENIED);
    let dai = lending("repay").with_token(TokenRef { address: Some(DAI.into()), ..TokenRef::default() });
    let d = run_with(&lending_policies(ltv_limit()), &dai, &Usage::default(), &s);
    assert_denied(&d, ErrorCode::POLICY_DENIED);
    assert_rule(&d, "asset_not_whitelisted");
}

#[test]
fn lending_asset_whitelist_boundary_action_names_and_case() {
    let s = open_contracts();
    let upper = vec![pol("assets", PolicyType::LendingAssetWhitelist, json!({"assets": [{"address": USDC.to_uppercase().replace("0X", "0x")}]}))];
    assert!(run_with(&upper, &lending("withdraw"), &Usage::default(), &s).allowed);
    // Only the four lending actions need the list.
    assert!(run_with(&[], &lending("claim_rewards"), &Usage::default(), &s).allowed);
}

#[test]
fn lending_asset_whitelist_malformed_rules_name_the_field() {
    let t = PolicyType::LendingAssetWhitelist;
    assert_invalid(t, json!({"assets": []}), "rules.assets");
    assert_invalid(t, json!({"assets": [{"symbol": "USDC"}]}), "rules.assets.0.address");
    assert_invalid(t, json!({"assets": [{"address": USDC, "decimals": 6}]}), "rules.assets.0.decimals");
}

// ---------------------------------------------------------------------------------------------
// 15-17. PERP_MAX_LEVERAGE, PERP_MAX_POSITION_USD, PERP_ALLOWED_MARKETS
// ---------------------------------------------------------------------------------------------

fn perp(action: &str, market: &str) -> Intent {
    Intent { market: Some(market.into()), ..base(TxType::ContractCall).with_contract(ROUTER, None).with_action("hyperliquid", action) }
}

fn open(leverage: Option<f64>, notional: Option<f64>) -> Intent {
    Intent { leverage, notional_usd: notional, ..perp("hl_open_position", "BTC") }
}

fn markets() -> PolicyRecord {
    pol("markets", PolicyType::PerpAllowedMarkets, json!({"markets": [{"market": "BTC", "name": "Bitcoin"}, {"market": "ETH"}]}))
}

fn perp_run(extra: &[PolicyRecord], it: &Intent) -> Decision {
    let mut policies = vec![markets()];
    policies.extend_from_slice(extra);
    run_with(&policies, it, &Usage::default(), &open_contracts())
}

fn leverage_limit() -> PolicyRecord {
    pol("lev", PolicyType::PerpMaxLeverage, json!({"maxLeverage": 10, "warningLeverage": 5}))
}

fn position_limit() -> PolicyRecord {
    pol("pos", PolicyType::PerpMaxPositionUsd, json!({"maxPositionUsd": 5000, "warningPositionUsd": 2000}))
}

#[test]
fn perp_max_leverage_allows_low_leverage() {
    assert_allowed(&perp_run(&[leverage_limit()], &open(Some(3.0), None)), Tier::Instant);
}

#[test]
fn perp_max_leverage_delays_and_denies() {
    let d = perp_run(&[leverage_limit()], &open(Some(6.0), None));
    assert_allowed(&d, Tier::Delay);
    assert_rule(&d, "warning_leverage");
    assert_denied(&perp_run(&[leverage_limit()], &open(Some(10.5), None)), ErrorCode::POLICY_DENIED);
    assert_denied(&perp_run(&[leverage_limit()], &open(None, None)), ErrorCode::POLICY_DENIED);
    // Closing a position is not limited by leverage.
    assert!(perp_run(&[leverage_limit()], &perp("hl_close_position", "BTC")).allowed);
}

#[test]
fn perp_max_leverage_boundaries() {
    assert_eq!(perp_run(&[leverage_limit()], &open(Some(5.0), None)).tier, Tier::Instant);
    let at_max = perp_run(&[leverage_limit()], &open(Some(10.0), None));
    assert!(at_max.allowed);
    assert_eq!(at_max.tier, Tier::Delay);
}

#[test]
fn perp_max_leverage_malformed_rules_name_the_field() {
    let t = PolicyType::PerpMaxLeverage;
    assert_invalid(t, json!({"maxLeverage": 0}), "rules.maxLeverage");
    assert_invalid(t, json!({"maxLeverage": 10, "warningLeverage": 20}), "rules.warningLeverage");
    assert_invalid(t, json!({"warningLeverage": 2}), "rules.maxLeverage");
}

#[test]
fn perp_max_position_usd_allows_small_positions() {
    assert_allowed(&perp_run(&[position_limit()], &open(None, Some(1000.0))), Tier::Instant);
}

#[test]
fn perp_max_position_usd_delays_and_denies() {
    assert_eq!(perp_run(&[position_limit()], &open(None, Some(3000.0))).tier, Tier::Delay);
    assert_denied(&perp_run(&[position_limit()], &open(None, Some(6000.0))), ErrorCode::POLICY_DENIED);
    let unknown = Intent { notional_usd: None, ..open(None, None) }.with_unpriced(5, PriceStatus::OracleDown);
    assert_denied(&perp_run(&[position_limit()], &unknown), ErrorCode::POLICY_DENIED);
    // Without a notional the request's USD value is the size.
    let d = perp_run(&[position_limit()], &open(None, None).with_value(1, 2500.0));
    assert!(d.reasons.iter().any(|r| r.rule == "warning_position_usd" && r.tier == Some(Tier::Delay)), "{d:#?}");
}

#[test]
fn perp_max_position_usd_boundaries() {
    assert_eq!(perp_run(&[position_limit()], &open(None, Some(2000.0))).tier, Tier::Instant);
    let at_max = perp_run(&[position_limit()], &open(None, Some(5000.0)));
    assert!(at_max.allowed);
    assert_eq!(at_max.tier, Tier::Delay);
    assert!(!perp_run(&[position_limit()], &open(None, Some(5000.01))).allowed);
}

#[test]
fn perp_max_position_usd_malformed_rules_name_the_field() {
    let t = PolicyType::PerpMaxPositionUsd;
    assert_invalid(t, json!({"maxPositionUsd": -1}), "rules.maxPositionUsd");
    assert_invalid(t, json!({"maxPositionUsd": 100, "warningPositionUsd": 0}), "rules.warningPositionUsd");
    assert_invalid(t, json!({"maxPositionUsd": "100"}), "rules.maxPositionUsd");
}

#[test]
fn perp_allowed_markets_allows_listed_markets() {
    assert!(perp_run(&[], &perp("hl_open_position", "ETH")).allowed);
    assert!(perp_run(&[], &perp("add_margin", "btc")).allowed, "markets compare case-insensitively");
}

#[test]
fn perp_allowed_markets_is_required_and_denies_other_markets() {
    let d = run_with(&[], &perp("hl_open_position", "BTC"), &Usage::default(), &open_contracts());
    assert_denied(&d, ErrorCode::POLICY_DENIED);
    assert_eq!(d.decided_by.unwrap().policy_type, Some(PolicyType::PerpAllowedMarkets));
    let d = perp_run(&[], &perp("hl_modify_position", "DOGE"));
    assert_denied(&d, ErrorCode::POLICY_DENIED);
    assert_rule(&d, "market_not_allowed");
}

#[test]
fn perp_allowed_markets_boundary_every_perp_action_suffix() {
    for action in ["open_position", "x_close_position", "drift_modify_position", "add_margin", "hl_withdraw_margin"] {
        assert!(!run_with(&[], &perp(action, "BTC"), &Usage::default(), &open_contracts()).allowed, "{action}");
    }
    assert!(run_with(&[], &perp("hl_transfer_usdc", "BTC"), &Usage::default(), &open_contracts()).allowed);
}

#[test]
fn perp_allowed_markets_malformed_rules_name_the_field() {
    let t = PolicyType::PerpAllowedMarkets;
    assert_invalid(t, json!({"markets": []}), "rules.markets");
    assert_invalid(t, json!({"markets": [{"market": ""}]}), "rules.markets.0.market");
    assert_invalid(t, json!({"markets": ["BTC"]}), "rules.markets.0");
}

// ---------------------------------------------------------------------------------------------
// 18. REPUTATION_THRESHOLD
// ---------------------------------------------------------------------------------------------

fn reputation(rules: Value) -> PolicyRecord {
    pol("rep", PolicyType::ReputationThreshold, rules)
}

fn scored(score: Option<f64>) -> Intent {
    Intent { reputation_score: score, ..transfer(1.0) }
}

#[test]
fn reputation_threshold_passes_reputable_counterparties() {
    let p = [reputation(json!({"min_score": 50, "check_counterparty": true}))];
    assert_allowed(&run(&p, &scored(Some(80.0))), Tier::Instant);
    // Without check_counterparty the policy is inert (as upstream).
    assert_allowed(&run(&[reputation(json!({"min_score": 50}))], &scored(None)), Tier::Instant);
}

#[test]
fn reputation_threshold_raises_the_tier_for_low_or_unrated_counterparties() {
    let p = [reputation(json!({"min_score": 50, "unrated_tier": "NOTIFY", "check_counterparty": true}))];
    let d = run(&p, &scored(Some(30.0)));
    assert_allowed(&d, Tier::Approval);
    assert_rule(&d, "below_threshold");
    let d = run(&p, &scored(None));
    assert_allowed(&d, Tier::Notify);
    assert_rule(&d, "unrated");
}

#[test]
fn reputation_threshold_boundary_min_score_is_enough() {
    let p = [reputation(json!({"min_score": 50, "below_threshold_tier": "DELAY", "check_counterparty": true}))];
    assert_eq!(run(&p, &scored(Some(50.0))).tier, Tier::Instant);
    assert_eq!(run(&p, &scored(Some(49.99))).tier, Tier::Delay);
}

#[test]
fn reputation_threshold_malformed_rules_name_the_field() {
    let t = PolicyType::ReputationThreshold;
    assert_invalid(t, json!({"min_score": 101}), "rules.min_score");
    assert_invalid(t, json!({"min_score": 50, "tag1": "x".repeat(33)}), "rules.tag1");
    assert_invalid(t, json!({"min_score": 50, "unrated_tier": "LOW"}), "rules.unrated_tier");
    assert_invalid(t, json!({"min_score": 50, "check_counterparty": 1}), "rules.check_counterparty");
    assert_invalid(t, json!({"below_threshold_tier": "DELAY"}), "rules.min_score");
}

// ---------------------------------------------------------------------------------------------
// 19. ERC8128_ALLOWED_DOMAINS
// ---------------------------------------------------------------------------------------------

fn http_sign(domain: &str) -> Intent {
    base(TxType::Sign).with_domain(domain)
}

fn erc8128(rules: Value) -> PolicyRecord {
    pol("erc8128", PolicyType::Erc8128AllowedDomains, rules)
}

#[test]
fn erc8128_allowed_domains_allows_listed_domains() {
    assert_allowed(&run(&[erc8128(json!({"domains": ["api.example.com"]}))], &http_sign("api.example.com")), Tier::Instant);
    // A plain message signature (no domain) is not an ERC-8128 request.
    assert!(run(&[], &base(TxType::Sign)).allowed);
}

#[test]
fn erc8128_allowed_domains_denies_by_default_and_other_domains() {
    assert_denied(&run(&[], &http_sign("api.example.com")), ErrorCode::ERC8128_DOMAIN_NOT_ALLOWED);
    let p = [erc8128(json!({"domains": ["*.example.com"]}))];
    assert_denied(&run(&p, &http_sign("example.org")), ErrorCode::ERC8128_DOMAIN_NOT_ALLOWED);
    let s = PolicySettings { default_deny_erc8128_domains: false, ..PolicySettings::default() };
    assert!(run_with(&[], &http_sign("example.org"), &Usage::default(), &s).allowed);
}

#[test]
fn erc8128_allowed_domains_boundary_rate_limit_rpm() {
    let p = [erc8128(json!({"domains": ["api.example.com"], "rate_limit_rpm": 10}))];
    let used = |n| Usage { domain_requests_last_minute: n, ..Usage::default() };
    let s = PolicySettings::default();
    assert!(run_with(&p, &http_sign("api.example.com"), &used(9), &s).allowed);
    assert_denied(&run_with(&p, &http_sign("api.example.com"), &used(10), &s), ErrorCode::ERC8128_RATE_LIMITED);
}

#[test]
fn erc8128_allowed_domains_has_a_real_schema() {
    let t = PolicyType::Erc8128AllowedDomains;
    assert_invalid(t, json!({}), "rules.domains");
    assert_invalid(t, json!({"domains": []}), "rules.domains");
    assert_invalid(t, json!({"domains": "api.example.com"}), "rules.domains");
    assert_invalid(t, json!({"domains": [42]}), "rules.domains.0");
    assert_invalid(t, json!({"domains": ["a.com"], "rate_limit_rpm": 0}), "rules.rate_limit_rpm");
    assert_invalid(t, json!({"domains": ["a.com"], "rate_limit_rpm": 2.5}), "rules.rate_limit_rpm");
    assert_invalid(t, json!({"domains": ["a.com"], "anything": true}), "rules.anything");
}

// ---------------------------------------------------------------------------------------------
// 20. VENUE_WHITELIST
// ---------------------------------------------------------------------------------------------

fn at_venue(venue: &str) -> Intent {
    Intent { venue: Some(venue.into()), ..base(TxType::Sign) }
}

fn venue_on() -> PolicySettings {
    PolicySettings { venue_whitelist_enabled: true, ..PolicySettings::default() }
}

fn venues() -> PolicyRecord {
    pol("venues", PolicyType::VenueWhitelist, json!({"venues": [{"id": "binance", "name": "Binance"}]}))
}

#[test]
fn venue_whitelist_allows_listed_venues() {
    assert!(run_with(&[venues()], &at_venue("binance"), &Usage::default(), &venue_on()).allowed);
}

#[test]
fn venue_whitelist_denies_other_venues_and_without_policy() {
    assert_denied(&run_with(&[venues()], &at_venue("ftx"), &Usage::default(), &venue_on()), ErrorCode::VENUE_NOT_ALLOWED);
    assert_denied(&run_with(&[], &at_venue("binance"), &Usage::default(), &venue_on()), ErrorCode::VENUE_NOT_ALLOWED);
}

#[test]
fn venue_whitelist_boundary_setting_off_and_case() {
    assert!(run(&[venues()], &at_venue("ftx")).allowed, "venue_whitelist_enabled is false by default");
    assert!(run_with(&[venues()], &at_venue("BINANCE"), &Usage::default(), &venue_on()).allowed);
}

#[test]
fn venue_whitelist_malformed_rules_name_the_field() {
    let t = PolicyType::VenueWhitelist;
    assert_invalid(t, json!({"venues": []}), "rules.venues");
    assert_invalid(t, json!({"venues": [{"name": "Binance"}]}), "rules.venues.0.id");
    assert_invalid(t, json!({"venues": null}), "rules.venues");
}

// ---------------------------------------------------------------------------------------------
// 21. ACTION_CATEGORY_LIMIT
// ---------------------------------------------------------------------------------------------

fn category_limit() -> PolicyRecord {
    pol(
        "cat",
        PolicyType::ActionCategoryLimit,
        json!({"category": "trading", "per_action_limit_usd": 1000, "daily_limit_usd": 5000, "tier_on_exceed": "APPROVAL"}),
    )
}

fn trade(notional: Option<f64>) -> Intent {
    Intent { action_category: Some("trading".into()), notional_usd: notional, ..base(TxType::Sign) }
}

fn traded(today: f64) -> Usage {
    Usage { category_usd_day: vec![("trading".into(), today)], ..Usage::default() }
}

#[test]
fn action_category_limit_allows_within_limits() {
    let d = run_with(&[category_limit()], &trade(Some(500.0)), &traded(100.0), &PolicySettings::default());
    assert_allowed(&d, Tier::Instant);
    // Other categories are not limited (and need no usage).
    assert!(run(&[category_limit()], &Intent { action_category: Some("lending".into()), ..trade(Some(1e9)) }).tier == Tier::Instant);
}

#[test]
fn action_category_limit_escalates_when_exceeded() {
    let s = PolicySettings::default();
    let d = run_with(&[category_limit()], &trade(Some(1500.0)), &traded(0.0), &s);
    assert_allowed(&d, Tier::Approval);
    assert_rule(&d, "per_action");
    let d = run_with(&[category_limit()], &trade(Some(500.0)), &traded(4600.0), &s);
    assert_rule(&d, "category_daily");
    // Unknown notional or missing usage count as exceeded.
    assert_eq!(run_with(&[category_limit()], &trade(None).with_unpriced(1, PriceStatus::NotListed), &traded(0.0), &s).tier, Tier::Approval);
    let d = run(&[category_limit()], &trade(Some(1.0)));
    assert_rule(&d, "usage_missing");
    // tier_on_exceed defaults to DELAY.
    let default_tier = pol("cat", PolicyType::ActionCategoryLimit, json!({"category": "trading", "per_action_limit_usd": 10}));
    assert_eq!(run(&[default_tier], &trade(Some(11.0))).tier, Tier::Delay);
}

#[test]
fn action_category_limit_boundaries_are_inclusive() {
    let s = PolicySettings::default();
    assert_eq!(run_with(&[category_limit()], &trade(Some(1000.0)), &traded(0.0), &s).tier, Tier::Instant);
    assert_eq!(run_with(&[category_limit()], &trade(Some(500.0)), &traded(4500.0), &s).tier, Tier::Instant);
    assert_eq!(run_with(&[category_limit()], &trade(Some(500.01)), &traded(4500.0), &s).tier, Tier::Approval);
}

#[test]
fn action_category_limit_malformed_rules_name_the_field() {
    let t = PolicyType::ActionCategoryLimit;
    assert_invalid(t, json!({"category": "trading"}), "rules");
    assert_invalid(t, json!({"category": "", "daily_limit_usd": 5}), "rules.category");
    assert_invalid(t, json!({"category": "trading", "daily_limit_usd": 5, "tier_on_exceed": "NEVER"}), "rules.tier_on_exceed");
    assert_invalid(t, json!({"category": "trading", "monthly_limit_usd": 0}), "rules.monthly_limit_usd");
    assert_invalid(t, json!({"daily_limit_usd": 5}), "rules.category");
}

// ---------------------------------------------------------------------------------------------
// Cross-cutting semantics
// ---------------------------------------------------------------------------------------------

/// Valid rules for all 21 types (also used by the property tests and the benchmark's shape).
fn sample_rules() -> Vec<(PolicyType, Value)> {
    vec![
        (PolicyType::SpendingLimit, json!({"instant_max_usd": 10, "notify_max_usd": 100, "delay_max_usd": 1000, "daily_limit_usd": 2000})),
        (PolicyType::Whitelist, json!({"allowed_addresses": [ALICE, ROUTER]})),
        (PolicyType::TimeRestriction, json!({"allowed_hours": {"start": 0, "end": 24}, "allowed_days": [0, 1, 2, 3, 4, 5, 6]})),
        (PolicyType::RateLimit, json!({"max_requests": 100, "window_seconds": 3600})),
        (PolicyType::AllowedTokens, json!({"tokens": [{"address": USDC, "assetId": USDC_ID, "chain": "ethereum"}]})),
        (PolicyType::ContractWhitelist, json!({"contracts": [{"address": ROUTER, "name": "Router", "chain": "ethereum"}]})),
        (PolicyType::MethodWhitelist, json!({"methods": [{"contractAddress": ROUTER, "selectors": [TRANSFER_SEL, APPROVE_SEL]}]})),
        (PolicyType::ApprovedSpenders, json!({"spenders": [{"address": ROUTER, "name": "Router", "maxAmount": "1000000000"}]})),
        (PolicyType::ApproveAmountLimit, json!({"maxAmount": "1000000000", "blockUnlimited": true})),
        (PolicyType::ApproveTierOverride, json!({"tier": "NOTIFY"})),
        (PolicyType::AllowedNetworks, json!({"networks": [{"network": NET, "name": "Sepolia"}]})),
        (PolicyType::X402AllowedDomains, json!({"domains": ["api.example.com", "*.x402.org"]})),
        (PolicyType::LendingLtvLimit, json!({"maxLtv": 0.8, "warningLtv": 0.7})),
        (PolicyType::LendingAssetWhitelist, json!({"assets": [{"address": USDC, "symbol": "USDC"}]})),
        (PolicyType::PerpMaxLeverage, json!({"maxLeverage": 10, "warningLeverage": 5})),
        (PolicyType::PerpMaxPositionUsd, json!({"maxPositionUsd": 10000, "warningPositionUsd": 5000})),
        (PolicyType::PerpAllowedMarkets, json!({"markets": [{"market": "BTC", "name": "Bitcoin"}]})),
        (
            PolicyType::ReputationThreshold,
            json!({"min_score": 40, "below_threshold_tier": "DELAY", "unrated_tier": "NOTIFY", "tag1": "trade", "check_counterparty": true}),
        ),
        (PolicyType::Erc8128AllowedDomains, json!({"domains": ["api.example.com"], "rate_limit_rpm": 60})),
        (PolicyType::VenueWhitelist, json!({"venues": [{"id": "binance", "name": "Binance"}]})),
        (
            PolicyType::ActionCategoryLimit,
            json!({"category": "trading", "daily_limit_usd": 5000, "monthly_limit_usd": 50000, "per_action_limit_usd": 1000, "tier_on_exceed": "DELAY"}),
        ),
    ]
}

#[test]
fn every_type_has_a_valid_sample_and_wire_names_round_trip() {
    let samples = sample_rules();
    assert_eq!(samples.len(), 21);
    assert_eq!(PolicyType::ALL.len(), 21);
    for (i, (t, rules)) in samples.iter().enumerate() {
        assert_eq!(*t, PolicyType::ALL[i]);
        validate_rules(*t, rules).unwrap_or_else(|e| panic!("{t}: {e}"));
        assert_eq!(PolicyType::parse(t.as_str()), Some(*t));
        assert_eq!(serde_json::to_value(t).unwrap(), json!(t.as_str()));
        // Rules must be an object for every type.
        assert_invalid(*t, json!("rules"), "rules");
    }
    assert_eq!(PolicyType::X402AllowedDomains.as_str(), "X402_ALLOWED_DOMAINS");
    assert_eq!(PolicyType::Erc8128AllowedDomains.as_str(), "ERC8128_ALLOWED_DOMAINS");
    for t in TxType::ALL {
        assert_eq!(serde_json::from_value::<TxType>(json!(t.as_str())).unwrap(), *t);
    }
    assert_eq!(TxType::X402Payment.as_str(), "X402_PAYMENT");
    assert!(Tier::Instant < Tier::Notify && Tier::Notify < Tier::Delay && Tier::Delay < Tier::Approval);
    assert_eq!(Tier::parse("DELAY"), Some(Tier::Delay));
    assert_eq!(Tier::parse("delay"), None);
}

#[test]
fn no_policies_still_means_default_deny_and_default_thresholds() {
    assert_denied(&run(&[], &token_transfer(1, 1.0)), ErrorCode::TOKEN_NOT_ALLOWED);
    assert_denied(&run(&[], &call(ROUTER, None)), ErrorCode::CONTRACT_CALL_DISABLED);
    assert_denied(&run(&[], &approve(ROUTER, 1)), ErrorCode::APPROVE_DISABLED);
    let tier = |usd| run(&[], &transfer(usd)).tier;
    assert_eq!(
        [tier(0.0), tier(10.0), tier(10.01), tier(100.0), tier(100.01), tier(500.0), tier(500.01)],
        [Tier::Instant, Tier::Instant, Tier::Notify, Tier::Notify, Tier::Delay, Tier::Delay, Tier::Approval]
    );
    let d = run(&[], &transfer(50.0));
    assert_rule(&d, "default_thresholds");
    assert_eq!(d.decided_by.unwrap().policy_id, None);
    let d = run(&[], &transfer(200.0));
    assert_eq!(d.delay_seconds, Some(900));
    assert_eq!(run(&[], &transfer(1000.0)).approval_timeout, Some(3600));
}

#[test]
fn unknown_usd_value_is_approval_unless_a_raw_or_token_limit_classifies_it() {
    let eth = |amount| base(TxType::Transfer).with_to(ALICE).with_unpriced(amount, PriceStatus::OracleDown);
    // 50 ETH with no price: no policy, the default thresholds, or a USD-only SPENDING_LIMIT
    // cannot classify it.
    let fifty = eth(50_000_000_000_000_000_000);
    for policies in [vec![], vec![usd_limit()]] {
        let d = run(&policies, &fifty);
        assert_allowed(&d, Tier::Approval);
        assert_rule(&d, "unpriced");
        assert_eq!(d.approval_reason.as_deref(), Some("unpriced"));
    }
    // Attributed to the SPENDING_LIMIT when one applies: its timeout, and its delay without an owner.
    let d = run(&[usd_limit()], &fifty);
    assert_eq!(d.decided_by.as_ref().and_then(|r| r.policy_id.as_deref()), Some("sl"));
    assert_eq!(d.approval_timeout, Some(7200));
    let d = evaluate(&[usd_limit()], &fifty, &Usage::default(), &PolicySettings::default(), NOW, false);
    assert!(d.allowed && d.downgraded);
    assert_eq!((d.tier, d.delay_seconds), (Tier::Delay, Some(600)));
    // A token that is not listed, without a token limit.
    let not_listed = token_transfer(5, 0.0).with_unpriced(5, PriceStatus::NotListed);
    let d = run(&[allowed_usdc()], &not_listed);
    assert_allowed(&d, Tier::Approval);
    assert_rule(&d, "unpriced");
    // Raw thresholds classify native value: their tier applies, at least NOTIFY.
    let raw = [pol("raw", PolicyType::SpendingLimit, json!({"instant_max": "100", "notify_max": "200", "delay_max": "300"}))];
    let down = |amount| run(&raw, &eth(amount)).tier;
    assert_eq!(down(50), Tier::Notify, "an outage never lowers the tier below NOTIFY");
    assert_eq!(down(250), Tier::Delay);
    assert_eq!(down(301), Tier::Approval);
    // A token limit classifies its token (and only its token).
    let token_limit = pol(
        "sl",
        PolicyType::SpendingLimit,
        json!({"instant_max_usd": 10, "token_limits": {USDC_ID: {"instant_max": "1", "notify_max": "10", "delay_max": "100"}}}),
    );
    let d = run(&[token_limit.clone(), allowed_usdc()], &token_transfer(2_000_000, 0.0).with_unpriced(2_000_000, PriceStatus::NotListed));
    assert_allowed(&d, Tier::Notify);
    assert_eq!(
        run(&[token_limit.clone(), allowed_usdc()], &token_transfer(50_000_000, 0.0).with_unpriced(50_000_000, PriceStatus::OracleDown)).tier,
        Tier::Delay
    );
    assert_eq!(run(&[token_limit], &eth(1)).tier, Tier::Approval, "the USDC limit does not classify ETH");
    // A zero-value request has nothing to price.
    assert_eq!(run(&[], &base(TxType::Sign).with_unpriced(0, PriceStatus::OracleDown)).tier, Tier::Instant);
    assert_eq!(run(&[], &eth(0)).tier, Tier::Instant);
    // "Priced" with a nonsensical value is treated as unknown.
    assert_eq!(run(&[], &transfer(f64::NAN)).tier, Tier::Approval);
    assert_eq!(run(&[], &transfer(-1.0)).tier, Tier::Approval);
}

#[test]
fn unpriced_batch_instructions_are_judged_one_by_one() {
    let sol = |t: TxType| Intent::new(W, Chain::Solana, "solana-devnet", t);
    let mint = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";
    let mint_id = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1/token:EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";
    let token = TokenRef { address: Some(mint.into()), asset_id: Some(mint_id.into()), symbol: None, decimals: Some(6) };
    let tokens = pol("tokens", PolicyType::AllowedTokens, json!({"tokens": [{"address": mint}]}));
    let limit = pol("sl", PolicyType::SpendingLimit, json!({"token_limits": {mint_id: {"instant_max": "1", "notify_max": "10", "delay_max": "100"}}}));
    let spl = sol(TxType::TokenTransfer).with_to(ALICE).with_token(token).with_unpriced(5_000_000, PriceStatus::NotListed);
    let lamports = |amount| sol(TxType::Transfer).with_to(ALICE).with_unpriced(amount, PriceStatus::OracleDown);
    // The token limit classifies the token instruction; a zero native total needs no price.
    let batch = sol(TxType::Batch).with_batch(vec![spl.clone(), lamports(0)]);
    assert_allowed(&run(&[tokens.clone(), limit.clone()], &batch), Tier::Notify);
    // Unpriced native value nobody classifies: APPROVAL.
    let batch = sol(TxType::Batch).with_batch(vec![spl.clone(), lamports(1)]);
    assert_eq!(run(&[tokens.clone(), limit.clone()], &batch).tier, Tier::Approval);
    // Without the token limit the token instruction is APPROVAL on its own.
    let batch = sol(TxType::Batch).with_batch(vec![spl, lamports(0)]);
    assert_eq!(run(&[tokens], &batch).tier, Tier::Approval);
}

#[test]
fn allowlist_denials_are_known_before_pricing() {
    let unpriced_token = |address: &str| {
        let t = TokenRef { address: Some(address.into()), asset_id: Some(format!("eip155:11155111/erc20:{address}")), symbol: None, decimals: Some(6) };
        base(TxType::TokenTransfer).with_to(ALICE).with_token(t).with_unpriced(5, PriceStatus::OracleDown)
    };
    let s = PolicySettings::default();
    // Default deny, and a token not on the list: no price needed.
    assert!(denied_before_pricing(&[], &unpriced_token(USDC), &s));
    assert!(denied_before_pricing(&[allowed_usdc()], &unpriced_token(DAI), &s));
    assert!(!denied_before_pricing(&[allowed_usdc()], &unpriced_token(USDC), &s));
    // Default deny of contract calls and approvals, WHITELIST of destinations.
    assert!(denied_before_pricing(&[], &call(ROUTER, None), &s));
    assert!(denied_before_pricing(&[], &approve(BOB, 1), &s));
    assert!(denied_before_pricing(&[whitelist(&[BOB])], &base(TxType::Transfer).with_to(ALICE).with_unpriced(1, PriceStatus::OracleDown), &s));
    assert!(!denied_before_pricing(&[], &base(TxType::Transfer).with_to(ALICE).with_unpriced(1, PriceStatus::OracleDown), &s));
    // A batch with one denied instruction.
    let batch = base(TxType::Batch).with_batch(vec![transfer(1.0), unpriced_token(DAI)]);
    assert!(denied_before_pricing(&[allowed_usdc()], &batch, &s));
    // Rate limits, time windows and spending limits need usage, the clock or prices: not screened.
    assert!(!denied_before_pricing(&[rate(1, 60), usd_limit()], &transfer(1.0), &s));
}

#[test]
fn approval_without_owner_is_downgraded_and_explained() {
    let d = evaluate(&[], &transfer(5000.0), &Usage::default(), &PolicySettings::default(), NOW, false);
    assert!(d.allowed && d.downgraded);
    assert_eq!(d.tier, Tier::Delay);
    assert_rule(&d, "owner_not_registered");
    assert!(d.decided_by.as_ref().unwrap().message.contains("no registered owner"));
    assert_eq!(d.delay_seconds, Some(900));
    assert_eq!(d.approval_timeout, None);
    assert_eq!(d.approval_reason.as_deref(), Some("default_thresholds"));
    let d = evaluate(&[], &transfer(5000.0), &Usage::default(), &PolicySettings::default(), NOW, true);
    assert!(!d.downgraded);
    assert_eq!(d.tier, Tier::Approval);
}

#[test]
fn nft_transfers_and_deployments_have_default_tiers() {
    let nft = base(TxType::NftTransfer).with_to(ALICE).with_contract(ROUTER, None).with_unpriced(1, PriceStatus::NotListed);
    let d = run(&[contracts(&[ROUTER])], &nft);
    assert_allowed(&d, Tier::Approval);
    assert_rule(&d, "nft_transfer_default");
    let s = PolicySettings { nft_transfer_default_tier: Tier::Notify, deploy_default_tier: Tier::Delay, ..PolicySettings::default() };
    assert_eq!(run_with(&[contracts(&[ROUTER])], &nft, &Usage::default(), &s).tier, Tier::Notify);
    let deploy = base(TxType::ContractDeploy).with_value(0, 0.0);
    assert_eq!(run(&[], &deploy).tier, Tier::Approval);
    assert_eq!(run_with(&[], &deploy, &Usage::default(), &s).tier, Tier::Delay);
}

#[test]
fn applicable_picks_the_most_specific_policy_per_type() {
    let p = |id: &str, wallet: Option<&str>, network: Option<&str>, priority: i64| PolicyRecord {
        wallet_id: wallet.map(str::to_string),
        network: network.map(str::to_string),
        priority,
        ..PolicyRecord::new(id, PolicyType::Whitelist, json!({"allowed_addresses": [ALICE]}))
    };
    let all = [
        p("global", None, None, 100),
        p("global-net", None, Some("eip155:11155111"), 0),
        p("wallet", Some(W), None, -5),
        p("wallet-net", Some(W), Some(NET), 0),
        p("other-wallet", Some("w2"), Some(NET), 1000),
        p("other-net", Some(W), Some("base-sepolia"), 1000),
        PolicyRecord { enabled: false, ..p("disabled", Some(W), Some(NET), 1000) },
    ];
    let ids = |ps: &[PolicyRecord]| applicable(ps, W, NET).iter().map(|p| p.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&all), ["wallet-net"]);
    assert_eq!(ids(&all[..3]), ["wallet"]);
    assert_eq!(ids(&all[..2]), ["global-net"], "CAIP-2 and canonical ids are the same network");
    assert_eq!(ids(&all[..1]), ["global"]);
    // Same scope: priority, then updated_at, then id.
    let tie = [p("b", None, None, 1), p("a", None, None, 1), p("c", None, None, 0)];
    assert_eq!(ids(&tie), ["a"]);
    let newer = [p("a", None, None, 1), PolicyRecord { updated_at: 9, ..p("b", None, None, 1) }];
    assert_eq!(ids(&newer), ["b"]);
    // One per type, in type order.
    let mixed = [allowed_usdc(), p("wl", None, None, 0), usd_limit()];
    let types: Vec<_> = applicable(&mixed, W, NET).iter().map(|p| p.policy_type).collect();
    assert_eq!(types, [PolicyType::SpendingLimit, PolicyType::Whitelist, PolicyType::AllowedTokens]);
}

#[test]
fn a_wallet_policy_overrides_the_global_one_of_its_type() {
    let global = whitelist(&[BOB]);
    let mine = PolicyRecord { id: "mine".into(), ..whitelist(&[ALICE]).for_wallet(W) };
    assert!(!run(std::slice::from_ref(&global), &transfer(1.0)).allowed);
    assert!(run(&[global, mine], &transfer(1.0)).allowed);
}

#[test]
fn corrupt_stored_rules_deny() {
    let broken = PolicyRecord::new("broken", PolicyType::Whitelist, json!({"allowed_addresses": "not a list"}));
    let d = run(&[broken], &transfer(1.0));
    assert_denied(&d, ErrorCode::POLICY_RULES_CORRUPT);
    assert!(d.decided_by.unwrap().message.contains("rules.allowed_addresses"));
    // A corrupt allowlist does not also add a "no policy" denial.
    let broken_tokens = PolicyRecord::new("broken", PolicyType::AllowedTokens, json!({"tokens": []}));
    let d = run(&[broken_tokens], &token_transfer(1, 1.0));
    assert_eq!(d.reasons.iter().filter(|r| r.denied).count(), 1);
}

#[test]
fn deny_wins_and_every_contribution_is_listed() {
    let p = [usd_limit(), whitelist(&[BOB]), rate(10, 60)];
    let d = run_with(&p, &transfer(5000.0), &done(60, 0), &PolicySettings::default());
    assert_denied(&d, ErrorCode::WHITELIST_DENIED);
    assert_eq!(d.tier, Tier::Approval, "the tier is still computed (informational)");
    assert!(d.reasons.iter().any(|r| r.rule == "per_tx" && r.tier == Some(Tier::Approval)));
    assert_eq!(d.denial_message(), Some(format!("Address {ALICE} not in whitelist").as_str()));
}

#[test]
fn batch_denies_as_a_whole_and_lists_the_violations() {
    let batch = base(TxType::Batch).with_batch(vec![transfer(1.0), token_transfer(5, 1.0), call(ROUTER, Some(TRANSFER_SEL))]);
    let d = run(&[], &batch);
    assert_denied(&d, ErrorCode::BATCH_POLICY_VIOLATION);
    let message = d.denial_message().unwrap();
    assert!(message.starts_with("Batch policy violation: 2 instruction(s) denied. [1] TOKEN_TRANSFER: Token transfer not allowed"), "{message}");
    assert!(message.contains("; [2] CONTRACT_CALL: Contract calls disabled"), "{message}");
    assert!(d.reasons.iter().any(|r| r.error_code == Some(ErrorCode::TOKEN_NOT_ALLOWED) && r.message.starts_with("[1] TOKEN_TRANSFER: ")));
    assert_denied(&run(&[], &base(TxType::Batch)), ErrorCode::BATCH_POLICY_VIOLATION);
    let nested = base(TxType::Batch).with_batch(vec![base(TxType::Batch)]);
    assert_denied(&run(&[], &nested), ErrorCode::BATCH_POLICY_VIOLATION);
}

#[test]
fn batch_tier_is_the_max_over_instructions_and_the_summed_value() {
    let two = base(TxType::Batch).with_batch(vec![transfer(8.0), transfer(8.0)]);
    let d = run(&[], &two);
    assert_allowed(&d, Tier::Notify);
    assert!(d.decided_by.unwrap().message.starts_with("batch total: $16.00"));
    let with_nft = base(TxType::Batch).with_batch(vec![transfer(1.0), base(TxType::NftTransfer).with_contract(ROUTER, None)]);
    assert_eq!(run(&[contracts(&[ROUTER])], &with_nft).tier, Tier::Approval);
    // The batch total charges the daily budget; the raw native sum includes reservations.
    let sl = [pol("sl", PolicyType::SpendingLimit, json!({"instant_max": "1500", "notify_max": "1500", "delay_max": "1500", "daily_limit_usd": 20}))];
    let d = run_with(&sl, &two, &Usage { spent_usd_day: 5.0, ..Usage::default() }, &PolicySettings::default());
    assert_eq!(d.approval_reason.as_deref(), Some("cumulative_daily"));
    assert_eq!(run(&sl, &two).tier, Tier::Approval, "2 x 1000 raw > delay_max 1500");
    // Request guards run once for the batch.
    let d = run_with(&[rate(1, 60)], &two, &done(60, 0), &PolicySettings::default());
    assert!(d.allowed);
}

#[test]
fn decisions_serialize_camel_case_with_string_codes_and_amounts() {
    let d = run(&[], &token_transfer(1, 1.0));
    let v = serde_json::to_value(&d).unwrap();
    assert_eq!(v["errorCode"], "TOKEN_NOT_ALLOWED");
    assert_eq!(v["decidedBy"]["policyType"], "ALLOWED_TOKENS");
    assert_eq!(v["tier"], "INSTANT");
    assert_eq!(serde_json::from_value::<Decision>(v).unwrap(), d);
    let it = token_transfer(u128::MAX, 1.5);
    let v = serde_json::to_value(&it).unwrap();
    assert_eq!(v["amount"], u128::MAX.to_string());
    assert_eq!(v["txType"], "TOKEN_TRANSFER");
    assert_eq!(v["token"]["assetId"], USDC_ID);
    assert_eq!(serde_json::from_value::<Intent>(v).unwrap(), it);
    let p = usd_limit().for_wallet(W);
    let v = serde_json::to_value(&p).unwrap();
    assert_eq!((v["type"].as_str(), v["walletId"].as_str()), (Some("SPENDING_LIMIT"), Some(W)));
}

#[test]
fn usage_needs_lists_windows_and_categories() {
    let needs = usage_needs(&[rate(5, 60), category_limit(), usd_limit()], W, NET);
    assert_eq!(needs.rate_windows, [60]);
    assert_eq!(needs.categories, ["trading"]);
    assert_eq!(usage_needs(&[], W, NET), UsageNeeds::default());
}

#[test]
fn dollar_amounts_in_messages() {
    use super::eval::Usd;
    assert_eq!(Usd(1234.5).to_string(), "$1234.50");
    assert_eq!(Usd(0.004).to_string(), "$0.00");
    assert_eq!(Usd(0.005).to_string(), "$0.01");
    assert_eq!(Usd(-2.5).to_string(), "-$2.50");
    assert_eq!(Usd(1e20).to_string(), "$100000000000000000000.00");
    assert_eq!(Usd(f64::INFINITY).to_string(), "$inf");
}

#[test]
fn settings_default_values() {
    let s = PolicySettings::default();
    assert_eq!((s.default_instant_max_usd, s.default_notify_max_usd, s.default_delay_max_usd), (10.0, 100.0, 500.0));
    assert_eq!((s.default_delay_seconds, s.default_approval_timeout), (900, 3600));
    assert!(s.default_deny_tokens && s.default_deny_contracts && s.default_deny_spenders);
    assert!(s.default_deny_x402_domains && s.default_deny_erc8128_domains && !s.venue_whitelist_enabled);
    assert_eq!(s.utc_offset_minutes, 0);
}

// ---------------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------------

mod props {
    use super::*;
    use proptest::prelude::*;

    const ADDRESSES: [&str; 4] = [ALICE, BOB, ROUTER, POOL];
    const DOMAINS: [&str; 3] = ["api.example.com", "*.example.com", "pay.x402.org"];

    fn pick<'a>(pool: &[&'a str], bits: u64) -> Vec<&'a str> {
        let chosen: Vec<&str> = pool.iter().enumerate().filter(|(i, _)| bits >> i & 1 == 1).map(|(_, a)| *a).collect();
        if chosen.is_empty() {
            vec![pool[(bits as usize) % pool.len()]]
        } else {
            chosen
        }
    }

    /// Valid rules of type `t`, varied by `k`.
    fn rules_for(t: PolicyType, k: u64) -> Value {
        let tier = ["INSTANT", "NOTIFY", "DELAY", "APPROVAL"][(k % 4) as usize];
        let small = (k % 50) as f64;
        match t {
            PolicyType::SpendingLimit => match k % 3 {
                0 => json!({"instant_max_usd": small, "notify_max_usd": small * 4.0, "delay_max_usd": small * 20.0, "delay_seconds": 60 + k % 600}),
                1 => {
                    json!({"instant_max": (k % 1000).to_string(), "notify_max": (k % 1000 * 3).to_string(), "delay_max": (k % 1000 * 9).to_string(), "daily_limit_usd": 1.0 + small})
                }
                _ => {
                    json!({"notify_max_usd": small, "monthly_limit_usd": 100.0 + small, "token_limits": {USDC_ID: {"instant_max": "0.5", "notify_max": "5", "delay_max": "50"}}})
                }
            },
            PolicyType::Whitelist => json!({"allowed_addresses": pick(&ADDRESSES, k)}),
            PolicyType::TimeRestriction => {
                let start = k % 24;
                let end = 1 + (k / 24) % 24;
                let end = if end == start { end % 24 + 1 } else { end };
                let days: Vec<u64> = (0..7).filter(|d| (k >> (d + 3)) & 1 == 1).collect();
                let days = if days.is_empty() { vec![k % 7] } else { days };
                json!({"allowed_hours": {"start": start, "end": end}, "allowed_days": days})
            }
            PolicyType::RateLimit => json!({"max_requests": 1 + k % 5, "window_seconds": ([60, 3600][(k % 2) as usize])}),
            PolicyType::AllowedTokens => json!({"tokens": pick(&[USDC, DAI], k).iter().map(|a| json!({"address": a})).collect::<Vec<_>>()}),
            PolicyType::ContractWhitelist => json!({"contracts": pick(&ADDRESSES, k).iter().map(|a| json!({"address": a})).collect::<Vec<_>>()}),
            PolicyType::MethodWhitelist => {
                json!({"methods": [{"contractAddress": ADDRESSES[(k % 4) as usize], "selectors": pick(&[TRANSFER_SEL, APPROVE_SEL], k)}]})
            }
            PolicyType::ApprovedSpenders => {
                json!({"spenders": pick(&ADDRESSES, k).iter().map(|a| json!({"address": a, "maxAmount": (k % 1_000_000 * 97).to_string()})).collect::<Vec<_>>()})
            }
            PolicyType::ApproveAmountLimit => json!({"maxAmount": (k % 1_000_000 * 131).to_string(), "blockUnlimited": k & 1 == 0}),
            PolicyType::ApproveTierOverride => json!({ "tier": tier }),
            PolicyType::AllowedNetworks => {
                json!({"networks": pick(&[NET, "base-sepolia", "ethereum-mainnet"], k).iter().map(|n| json!({"network": n})).collect::<Vec<_>>()})
            }
            PolicyType::X402AllowedDomains => json!({"domains": pick(&DOMAINS, k)}),
            PolicyType::LendingLtvLimit => json!({"maxLtv": 0.5 + small / 100.0, "warningLtv": 0.3 + small / 200.0}),
            PolicyType::LendingAssetWhitelist => json!({"assets": pick(&[USDC, DAI], k).iter().map(|a| json!({"address": a})).collect::<Vec<_>>()}),
            PolicyType::PerpMaxLeverage => json!({"maxLeverage": 2.0 + small, "warningLeverage": 1.0 + small / 2.0}),
            PolicyType::PerpMaxPositionUsd => json!({"maxPositionUsd": 100.0 + small * 100.0, "warningPositionUsd": 50.0 + small * 10.0}),
            PolicyType::PerpAllowedMarkets => json!({"markets": pick(&["BTC", "ETH", "SOL"], k).iter().map(|m| json!({"market": m})).collect::<Vec<_>>()}),
            PolicyType::ReputationThreshold => {
                json!({"min_score": small * 2.0, "below_threshold_tier": tier, "unrated_tier": (["NOTIFY", "DELAY"][(k % 2) as usize]), "check_counterparty": k & 3 != 0})
            }
            PolicyType::Erc8128AllowedDomains => json!({"domains": pick(&DOMAINS, k), "rate_limit_rpm": 1 + k % 10}),
            PolicyType::VenueWhitelist => json!({"venues": pick(&["binance", "okx"], k).iter().map(|v| json!({"id": v})).collect::<Vec<_>>()}),
            PolicyType::ActionCategoryLimit => {
                json!({"category": (["trading", "lending"][(k % 2) as usize]), "per_action_limit_usd": 10.0 + small * 10.0, "daily_limit_usd": 100.0 + small, "tier_on_exceed": tier})
            }
        }
    }

    fn arb_policy_of(types: Vec<PolicyType>) -> impl Strategy<Value = PolicyRecord> {
        (proptest::sample::select(types), any::<u64>(), 0u8..4, 0i64..5, any::<u32>()).prop_map(|(t, k, scope, priority, id)| {
            let mut p = PolicyRecord::new(format!("p{id}"), t, rules_for(t, k));
            if scope & 1 == 1 {
                p.wallet_id = Some(W.into());
            }
            if scope & 2 == 2 {
                p.network = Some(NET.into());
            }
            p.priority = priority;
            p
        })
    }

    fn arb_policy() -> impl Strategy<Value = PolicyRecord> {
        arb_policy_of(PolicyType::ALL.to_vec())
    }

    fn arb_opt_str(pool: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
        proptest::option::of(proptest::sample::select(pool).prop_map(str::to_string))
    }

    prop_compose! {
        fn arb_intent()(
            t in proptest::sample::select(vec![TxType::Transfer, TxType::TokenTransfer, TxType::ContractCall, TxType::Approve, TxType::Sign, TxType::X402Payment, TxType::NftTransfer, TxType::ContractDeploy]),
            to in arb_opt_str(&ADDRESSES),
            contract in arb_opt_str(&ADDRESSES),
            spender in arb_opt_str(&ADDRESSES),
            selector in arb_opt_str(&[TRANSFER_SEL, APPROVE_SEL]),
            token in proptest::option::of(proptest::sample::select(vec![USDC, DAI])),
            amount in prop_oneof![0u128..10_000, Just(u128::MAX)],
            price in prop_oneof![4 => (0.0f64..2.0).prop_map(Some), 1 => Just(None)],
            action in arb_opt_str(&["supply", "borrow", "hl_open_position", "close_position", "swap"]),
            market in arb_opt_str(&["BTC", "DOGE"]),
            venue in arb_opt_str(&["binance", "ftx"]),
            category in arb_opt_str(&["trading", "lending"]),
            domain in arb_opt_str(&["api.example.com", "a.example.com", "evil.com"]),
            figures in (proptest::option::of(0.0f64..20.0), proptest::option::of(0.0f64..1.2), proptest::option::of(0.0f64..10_000.0), proptest::option::of(0.0f64..100.0)),
        ) -> Intent {
            let mut it = base(t);
            it.to = to;
            it.contract = contract;
            it.spender = spender;
            it.selector = selector;
            it.token = token.map(|a| TokenRef { address: Some(a.into()), asset_id: (a == USDC).then(|| USDC_ID.into()), decimals: Some(6), symbol: None });
            it = match price {
                Some(p) => it.with_value(amount, amount as f64 * p),
                None => it.with_unpriced(amount, PriceStatus::OracleDown),
            };
            it.action_provider = action.as_ref().map(|_| "provider".into());
            it.action_name = action;
            it.market = market;
            it.venue = venue;
            it.action_category = category;
            it.domain = domain;
            (it.leverage, it.projected_ltv, it.notional_usd, it.reputation_score) = figures;
            it
        }
    }

    prop_compose! {
        fn arb_usage()(day in 0.0f64..3000.0, month in 0.0f64..30000.0, counts in (0u64..6, 0u64..6), cat in 0.0f64..200.0, reserved in 0u128..5000, domain in 0u64..12) -> Usage {
            Usage {
                spent_usd_day: day,
                spent_usd_month: month,
                reserved_raw: reserved,
                requests_in_window: vec![(60, counts.0), (3600, counts.1)],
                category_usd_day: vec![("trading".into(), cat), ("lending".into(), cat / 2.0)],
                category_usd_month: vec![("trading".into(), cat * 10.0)],
                domain_requests_last_minute: domain,
            }
        }
    }

    prop_compose! {
        fn arb_settings()(flags in any::<[bool; 6]>(), offset in -720i32..720) -> PolicySettings {
            PolicySettings {
                default_deny_tokens: flags[0],
                default_deny_contracts: flags[1],
                default_deny_spenders: flags[2],
                default_deny_x402_domains: flags[3],
                default_deny_erc8128_domains: flags[4],
                venue_whitelist_enabled: flags[5],
                utc_offset_minutes: offset,
                ..PolicySettings::default()
            }
        }
    }

    fn outcome(d: &Decision) -> (bool, Tier) {
        (d.allowed, d.tier)
    }

    /// Types whose policies only restrict: adding one can never lift a denial. (Allowlists,
    /// APPROVE_AMOUNT_LIMIT with `blockUnlimited: false` and SPENDING_LIMIT / APPROVE_TIER_OVERRIDE,
    /// which replace a default, are the deliberate exceptions.)
    const RESTRICTING: [PolicyType; 10] = [
        PolicyType::Whitelist,
        PolicyType::TimeRestriction,
        PolicyType::RateLimit,
        PolicyType::MethodWhitelist,
        PolicyType::AllowedNetworks,
        PolicyType::LendingLtvLimit,
        PolicyType::PerpMaxLeverage,
        PolicyType::PerpMaxPositionUsd,
        PolicyType::ReputationThreshold,
        PolicyType::ActionCategoryLimit,
    ];

    #[test]
    fn generated_rules_are_valid() {
        for t in PolicyType::ALL {
            for k in (0..2000u64).chain([u64::MAX, u64::MAX - 1, 1 << 40]) {
                let rules = rules_for(*t, k);
                assert!(validate_rules(*t, &rules).is_ok(), "{t} k={k}: {rules}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// The decision does not depend on the order of the policies, and one denying policy
        /// denies whatever else is present and wherever it sits.
        #[test]
        fn deny_wins_regardless_of_policy_order(
            policies in proptest::collection::vec(arb_policy(), 0..12),
            shuffled_seed in any::<u64>(),
            it in arb_intent(),
            usage in arb_usage(),
            settings in arb_settings(),
            owner in any::<bool>(),
        ) {
            let d = evaluate(&policies, &it, &usage, &settings, NOW, owner);
            let mut shuffled = policies.clone();
            shuffle(&mut shuffled, shuffled_seed);
            prop_assert_eq!(&evaluate(&shuffled, &it, &usage, &settings, NOW, owner), &d);

            // A wallet + network TIME_RESTRICTION that excludes today (local Tuesday or Wednesday).
            let mut deny = PolicyRecord::new("deny", PolicyType::TimeRestriction, json!({"allowed_hours": {"start": 0, "end": 24}, "allowed_days": [0, 1, 4, 5, 6]}))
                .for_wallet(W)
                .on_network(NET);
            deny.priority = i64::MAX;
            let mut with_deny = shuffled;
            let at = (shuffled_seed as usize) % (with_deny.len() + 1);
            with_deny.insert(at, deny);
            let denied = evaluate(&with_deny, &it, &usage, &settings, NOW, owner);
            prop_assert!(!denied.allowed);
            prop_assert!(denied.error_code.is_some());
            prop_assert!(denied.decided_by.as_ref().is_some_and(|r| r.denied));
        }

        /// Adding a policy of a type not yet present never lowers the tier; adding a restricting
        /// one never lifts a denial either.
        #[test]
        fn adding_a_policy_never_lowers_the_tier(
            policies in proptest::collection::vec(arb_policy(), 0..10),
            extra in arb_policy_of(PolicyType::ALL.iter().copied().filter(|t| !matches!(t, PolicyType::SpendingLimit | PolicyType::ApproveTierOverride)).collect()),
            it in arb_intent(),
            usage in arb_usage(),
            settings in arb_settings(),
            owner in any::<bool>(),
        ) {
            let base: Vec<PolicyRecord> = policies.into_iter().filter(|p| p.policy_type != extra.policy_type).collect();
            let before = evaluate(&base, &it, &usage, &settings, NOW, owner);
            let mut more = base.clone();
            more.push(extra.clone());
            let after = evaluate(&more, &it, &usage, &settings, NOW, owner);
            prop_assert!(after.tier >= before.tier, "{:?} lowered {:?} to {:?}", extra.policy_type, outcome(&before), outcome(&after));
            if RESTRICTING.contains(&extra.policy_type) && !before.allowed {
                prop_assert!(!after.allowed, "{:?} lifted a denial", extra.policy_type);
            }
        }

        /// A request the allowlists deny before pricing is denied whatever its price: skipping the
        /// oracle for it never changes a decision.
        #[test]
        fn denied_before_pricing_is_denied_at_any_price(
            policies in proptest::collection::vec(arb_policy(), 0..12),
            it in arb_intent(),
            unit_price in prop_oneof![(0.0f64..1e6).prop_map(Some), Just(None)],
            usage in arb_usage(),
            settings in arb_settings(),
            owner in any::<bool>(),
        ) {
            let priced = match unit_price {
                Some(p) => it.clone().with_value(it.amount, it.amount as f64 * p),
                None => it.clone().with_unpriced(it.amount, PriceStatus::NotListed),
            };
            if denied_before_pricing(&policies, &it, &settings) {
                prop_assert!(!evaluate(&policies, &priced, &usage, &settings, NOW, owner).allowed);
            }
        }

        /// For a fixed policy set a larger amount (at the same unit price) never gets a lower tier.
        #[test]
        fn tier_is_monotone_in_the_amount(
            policies in proptest::collection::vec(arb_policy(), 0..12),
            it in arb_intent(),
            a in 0u128..1_000_000,
            b in 0u128..1_000_000,
            unit_price in prop_oneof![3 => (0.0f64..1.0).prop_map(Some), 1 => Just(None)],
            usage in arb_usage(),
            settings in arb_settings(),
            owner in any::<bool>(),
        ) {
            let (lo, hi) = (a.min(b), a.max(b));
            let at = |amount: u128| {
                let it = match unit_price {
                    Some(p) => it.clone().with_value(amount, amount as f64 * p),
                    None => it.clone().with_unpriced(amount, PriceStatus::NotListed),
                };
                evaluate(&policies, &it, &usage, &settings, NOW, owner).tier
            };
            prop_assert!(at(lo) <= at(hi), "amount {} -> {:?}, {} -> {:?}", lo, at(lo), hi, at(hi));
        }

        /// Batches: order of instructions does not change whether the batch is allowed or its tier,
        /// and a batch is denied exactly when one of its instructions would be denied on its own
        /// for an instruction-level reason.
        #[test]
        fn batch_denial_follows_its_instructions(
            policies in proptest::collection::vec(arb_policy_of(PolicyType::ALL.iter().copied().filter(|t| !matches!(t, PolicyType::TimeRestriction | PolicyType::RateLimit | PolicyType::AllowedNetworks)).collect()), 0..10),
            instructions in proptest::collection::vec(arb_intent(), 1..4),
            usage in arb_usage(),
            settings in arb_settings(),
        ) {
            let batch = base(TxType::Batch).with_batch(instructions.clone());
            let d = evaluate(&policies, &batch, &usage, &settings, NOW, true);
            let any_denied = instructions.iter().any(|i| !evaluate(&policies, i, &usage, &settings, NOW, true).allowed);
            if any_denied {
                prop_assert!(!d.allowed);
            }
            if !d.allowed {
                prop_assert_eq!(d.error_code, Some(ErrorCode::BATCH_POLICY_VIOLATION));
            }
            let mut reversed = instructions;
            reversed.reverse();
            let r = evaluate(&policies, &base(TxType::Batch).with_batch(reversed), &usage, &settings, NOW, true);
            prop_assert_eq!(outcome(&r), outcome(&d));
        }
    }

    /// Deterministic Fisher-Yates from a seed (xorshift), so failures replay.
    fn shuffle<T>(items: &mut [T], mut seed: u64) {
        for i in (1..items.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            items.swap(i, (seed % (i as u64 + 1)) as usize);
        }
    }
}

#[test]
fn an_actions_tier_floor_only_ever_raises_the_tier() {
    let floored = |usd: f64, floor: Tier| Intent { min_tier: Some(floor), ..transfer(usd).with_action("lido_staking", "stake") };
    // $1 is INSTANT by value; the action's floor makes it DELAY, decided by the floor.
    let d = run(&[], &floored(1.0, Tier::Delay));
    assert_allowed(&d, Tier::Delay);
    assert_rule(&d, "action_tier_floor");
    // $200 is DELAY by value: a NOTIFY floor does not lower it.
    let d = run(&[], &floored(200.0, Tier::Notify));
    assert_eq!((d.allowed, d.tier), (true, Tier::Delay), "{d:#?}");
    assert_ne!(d.decided_by.as_ref().map(|r| r.rule.as_str()), Some("action_tier_floor"));
    // A floor never lets a denied request through.
    let d = run(&[whitelist(&[BOB])], &floored(1.0, Tier::Instant));
    assert_denied(&d, ErrorCode::WHITELIST_DENIED);
}
