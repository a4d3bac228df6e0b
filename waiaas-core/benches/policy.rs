#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a benchmark: a broken setup should stop it")]
//! `evaluate` with 1, 10 and all 21 policy types applying to a USDC transfer on Sepolia
//! that passes every policy (families that do not concern a token transfer return at once).
//!
//! `cargo bench -p waiaas-core --bench policy`

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};
use std::hint::black_box;
use waiaas_core::network::Chain;
use waiaas_core::policy::{evaluate, validate_rules, Intent, PolicyRecord, PolicySettings, PolicyType, TokenRef, TxType, Usage};

const WALLET: &str = "0192f6a0-0000-7000-8000-000000000001";
const NET: &str = "ethereum-sepolia";
const ALICE: &str = "0x1111111111111111111111111111111111111111";
const ROUTER: &str = "0x7a250d5630b4cf539739df2c5dacb4c659f2488d";
const USDC: &str = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48";
const USDC_ID: &str = "eip155:11155111/erc20:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48";
/// Tuesday 2023-11-14 22:13:20 UTC.
const NOW: i64 = 1_700_000_000;

/// One valid rule object per type, in `PolicyType::ALL` order.
fn rules(t: PolicyType) -> Value {
    match t {
        PolicyType::SpendingLimit => json!({"instant_max_usd": 10, "notify_max_usd": 100, "delay_max_usd": 1000,
            "daily_limit_usd": 2000, "monthly_limit_usd": 20000,
            "token_limits": {USDC_ID: {"instant_max": "10", "notify_max": "100", "delay_max": "1000"}}}),
        PolicyType::Whitelist => json!({"allowed_addresses": [ROUTER, "0x3333333333333333333333333333333333333333", ALICE]}),
        PolicyType::TimeRestriction => json!({"allowed_hours": {"start": 6, "end": 24}, "allowed_days": [1, 2, 3, 4, 5]}),
        PolicyType::RateLimit => json!({"max_requests": 100, "window_seconds": 3600}),
        PolicyType::AllowedTokens => json!({"tokens": [{"address": "0x6b175474e89094c44da98b954eedeac495271d0f", "symbol": "DAI"},
            {"address": USDC, "symbol": "USDC", "assetId": USDC_ID}]}),
        PolicyType::ContractWhitelist => json!({"contracts": [{"address": ROUTER, "name": "Router"}]}),
        PolicyType::MethodWhitelist => json!({"methods": [{"contractAddress": ROUTER, "selectors": ["0xa9059cbb", "0x095ea7b3"]}]}),
        PolicyType::ApprovedSpenders => json!({"spenders": [{"address": ROUTER, "maxAmount": "1000000000"}]}),
        PolicyType::ApproveAmountLimit => json!({"maxAmount": "1000000000", "blockUnlimited": true}),
        PolicyType::ApproveTierOverride => json!({"tier": "NOTIFY"}),
        PolicyType::AllowedNetworks => json!({"networks": [{"network": "ethereum-mainnet"}, {"network": NET}]}),
        PolicyType::X402AllowedDomains => json!({"domains": ["api.example.com", "*.x402.org"]}),
        PolicyType::LendingLtvLimit => json!({"maxLtv": 0.8, "warningLtv": 0.7}),
        PolicyType::LendingAssetWhitelist => json!({"assets": [{"address": USDC, "symbol": "USDC"}]}),
        PolicyType::PerpMaxLeverage => json!({"maxLeverage": 10, "warningLeverage": 5}),
        PolicyType::PerpMaxPositionUsd => json!({"maxPositionUsd": 10000, "warningPositionUsd": 5000}),
        PolicyType::PerpAllowedMarkets => json!({"markets": [{"market": "BTC"}, {"market": "ETH"}]}),
        PolicyType::ReputationThreshold => json!({"min_score": 40, "below_threshold_tier": "DELAY", "check_counterparty": true}),
        PolicyType::Erc8128AllowedDomains => json!({"domains": ["api.example.com"], "rate_limit_rpm": 60}),
        PolicyType::VenueWhitelist => json!({"venues": [{"id": "binance"}]}),
        PolicyType::ActionCategoryLimit => json!({"category": "trading", "daily_limit_usd": 5000, "per_action_limit_usd": 1000}),
    }
}

/// `n` policies of distinct types (ALLOWED_TOKENS first, so even one policy lets the transfer
/// through), half of them scoped to the wallet (so resolution has work to do).
fn policies(n: usize) -> Vec<PolicyRecord> {
    let tokens_first = std::iter::once(&PolicyType::AllowedTokens).chain(PolicyType::ALL.iter().filter(|t| **t != PolicyType::AllowedTokens));
    tokens_first
        .take(n)
        .enumerate()
        .map(|(i, t)| {
            let rules = rules(*t);
            validate_rules(*t, &rules).expect("bench rules are valid");
            let p = PolicyRecord::new(format!("policy-{i}"), *t, rules);
            if i % 2 == 0 {
                p.for_wallet(WALLET)
            } else {
                p
            }
        })
        .collect()
}

fn bench_evaluate(c: &mut Criterion) {
    let intent = Intent::new(WALLET, Chain::Ethereum, NET, TxType::TokenTransfer)
        .with_to(ALICE)
        .with_token(TokenRef { address: Some(USDC.into()), asset_id: Some(USDC_ID.into()), symbol: Some("USDC".into()), decimals: Some(6) })
        .with_value(25_000_000, 25.0);
    let intent = Intent { reputation_score: Some(90.0), ..intent };
    let usage = Usage {
        spent_usd_day: 120.0,
        spent_usd_month: 900.0,
        requests_in_window: vec![(3600, 12)],
        category_usd_day: vec![("trading".into(), 0.0)],
        ..Usage::default()
    };
    let settings = PolicySettings::default();
    for n in [1, 10, PolicyType::COUNT] {
        let set = policies(n);
        let d = evaluate(&set, &intent, &usage, &settings, NOW, true);
        assert!(d.allowed, "the benchmark request passes all {n} policies: {d:#?}");
        c.bench_function(&format!("evaluate/{n}_policies"), |b| b.iter(|| evaluate(black_box(&set), black_box(&intent), &usage, &settings, NOW, true)));
    }
}

criterion_group!(benches, bench_evaluate);
criterion_main!(benches);
