#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a benchmark: a broken setup should stop it")]
//! Decision + reservation against SQLite: one `decide_tx` (read policies and usage windows,
//! evaluate, write the reservation) in one IMMEDIATE transaction, on a wallet that already
//! has a history of 0, 1,000 and 10,000 decided transactions within the usage windows (the
//! measured row is deleted after each iteration, so the history stays at its size).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::time::{Duration, Instant};
use waiaas_core::network::{Chain, Environment};
use waiaas_core::policy::{self, PolicyRecord, PolicySettings, PolicyType};
use waiaas_core::store::prelude::*;
use waiaas_core::store::sqlite::SqliteStore;
use waiaas_core::store::{WalletRecord, WalletStatus};
use waiaas_core::tx::{TxRecord, TxStatus};

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("bench.db")).unwrap();
    let now = waiaas_core::now();
    rt.block_on(async {
        store
            .insert_wallet(&WalletRecord {
                id: "w".into(),
                name: "w".into(),
                chain: Chain::Ethereum,
                environment: Environment::Testnet,
                network: "ethereum-sepolia".into(),
                public_key: "0x0000000000000000000000000000000000000001".into(),
                status: WalletStatus::Active,
                owner_address: None,
                owner_verified: false,
                monitor_incoming: false,
                created_at: now,
                updated_at: now,
                suspended_at: None,
                suspension_reason: None,
            })
            .await
            .unwrap();
        for (i, (ty, rules)) in [
            (PolicyType::SpendingLimit, serde_json::json!({"instant_max_usd": 10, "notify_max_usd": 100, "delay_max_usd": 1000, "daily_limit_usd": 1e9})),
            (PolicyType::RateLimit, serde_json::json!({"max_requests": 1000000, "window_seconds": 3600})),
            (PolicyType::Whitelist, serde_json::json!({"allowed_addresses": ["0x0000000000000000000000000000000000000002"]})),
        ]
        .into_iter()
        .enumerate()
        {
            let mut p = PolicyRecord::new(format!("p{i}"), ty, rules).for_wallet("w");
            p.created_at = now;
            store.insert_policy(&waiaas_core::policies::policy_row(&p)).await.unwrap();
        }
    });
    let intent = policy::Intent::new("w", Chain::Ethereum, "ethereum-sepolia", policy::TxType::Transfer)
        .with_to("0x0000000000000000000000000000000000000002")
        .with_value(1000, 1.0);
    let settings = PolicySettings::default();
    let db = rusqlite::Connection::open(dir.path().join("bench.db")).unwrap();
    let insert_history = |from: usize, to: usize| {
        let mut st = db
            .prepare(
                "INSERT INTO transactions (id, wallet_id, chain, network, type, status, tier, amount, to_address, request, amount_usd, created_at, updated_at)
                 VALUES (?1, 'w', 'ethereum', 'ethereum-sepolia', 'TRANSFER', 'CONFIRMED', 'INSTANT', '1000', '0x0000000000000000000000000000000000000002', '{}', 1.0, ?2, ?2)",
            )
            .unwrap();
        for i in from..to {
            st.execute(rusqlite::params![format!("h{i:08}"), now - (i as i64 % 80_000)]).unwrap();
        }
    };
    let mut group = c.benchmark_group("decide_and_reserve (SQLite, 3 policies)");
    group.sample_size(30).measurement_time(Duration::from_secs(5));
    let mut have = 0;
    let mut n = 0u64;
    for history in [0usize, 1_000, 10_000] {
        insert_history(have, history);
        have = history;
        group.bench_with_input(BenchmarkId::new("history", history), &history, |b, _| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    n += 1;
                    let id = format!("t{n:012}");
                    let rec = TxRecord {
                        id: id.clone(),
                        wallet_id: "w".into(),
                        chain: "ethereum".into(),
                        network: "ethereum-sepolia".into(),
                        tx_type: waiaas_core::tx::TxType::Transfer,
                        status: waiaas_core::tx::TxStatus::Pending,
                        amount: Some("1000".into()),
                        request: "{}".into(),
                        created_at: now,
                        updated_at: now,
                        ..Default::default()
                    };
                    let (intent, settings) = (intent.clone(), settings.clone());
                    rt.block_on(store.insert_tx(&rec)).unwrap();
                    let t0 = Instant::now();
                    let st = rt.block_on(store.decide_tx(&id, now, Box::new(BenchGate { intent, settings, now, policies: vec![] }))).unwrap();
                    spent += t0.elapsed();
                    assert_eq!(st, Some(TxStatus::Executing));
                    db.execute("DELETE FROM audit_log WHERE tx_id = ?1", [&id]).unwrap();
                    db.execute("DELETE FROM transactions WHERE id = ?1", [&id]).unwrap();
                }
                spent
            })
        });
    }
    group.finish();
}

/// The policy gate's two steps, as `services::policies` runs them (parse the policies once,
/// name the windows, evaluate with the usage the store read).
struct BenchGate {
    intent: policy::Intent,
    settings: policy::PolicySettings,
    now: i64,
    policies: Vec<policy::PolicyRecord>,
}

impl waiaas_core::store::Decide for BenchGate {
    fn windows(&mut self, r: &TxRecord, rows: &[waiaas_core::store::PolicyRow]) -> waiaas_core::Result<Vec<u64>> {
        self.policies = waiaas_core::policies::policy_records(rows.to_vec())?;
        Ok(policy::usage_needs(&self.policies, &r.wallet_id, &r.network).rate_windows)
    }

    fn decide(self: Box<Self>, _r: &TxRecord, usage: waiaas_core::store::UsageRow) -> waiaas_core::Result<(TxStatus, waiaas_core::tx::TxPatch)> {
        let d = policy::evaluate(&self.policies, &self.intent, &waiaas_core::policies::usage_of(usage), &self.settings, self.now, false);
        Ok((
            if d.allowed { TxStatus::Executing } else { TxStatus::Cancelled },
            waiaas_core::tx::TxPatch { tier: Some(d.tier.as_str().into()), amount_usd: Some(1.0), ..Default::default() },
        ))
    }
}

criterion_group!(reserve, benches);
criterion_main!(reserve);
