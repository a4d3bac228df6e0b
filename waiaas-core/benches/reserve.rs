#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a benchmark: a broken setup should stop it")]
//! Decision + reservation, on SQLite and on PostgreSQL (a real server started by the test
//! harness, `waiaas_testnodes::postgres`): one `decide_tx` (read policies and usage windows,
//! evaluate, write the reservation) in one store transaction, on a wallet that already has a
//! history of 0, 1,000 and 10,000 decided transactions within the usage windows (the measured
//! row is deleted after each iteration, so the history stays at its size). PostgreSQL runs on
//! the same machine, over TCP on loopback.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::sync::Arc;
use std::time::{Duration, Instant};
use waiaas_core::network::{Chain, Environment};
use waiaas_core::policy::{self, PolicyRecord, PolicySettings, PolicyType};
use waiaas_core::store::postgres::PgStore;
use waiaas_core::store::sqlite::SqliteStore;
use waiaas_core::store::{Store, WalletRecord, WalletStatus};
use waiaas_core::tx::{TxRecord, TxStatus};

/// Raw SQL on the benchmarked database, for what the store API does not offer (bulk history,
/// deleting the measured row).
trait Raw {
    fn exec(&self, sql: &str);
}

struct Lite(rusqlite::Connection);
impl Raw for Lite {
    fn exec(&self, sql: &str) {
        self.0.execute_batch(sql).unwrap();
    }
}

struct Pg(tokio::runtime::Handle, tokio_postgres::Client);
impl Raw for Pg {
    fn exec(&self, sql: &str) {
        self.0.block_on(self.1.batch_execute(sql)).unwrap();
    }
}

fn history_sql(from: usize, to: usize, now: i64) -> String {
    let rows: Vec<String> = (from..to)
        .map(|i| {
            let at = now - (i as i64 % 80_000);
            format!("('h{i:08}', 'w', 'ethereum', 'ethereum-sepolia', 'TRANSFER', 'CONFIRMED', 'INSTANT', '1000', '0x0000000000000000000000000000000000000002', '{{}}', 1.0, {at}, {at})")
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "INSERT INTO transactions (id, wallet_id, chain, network, type, status, tier, amount, to_address, request, amount_usd, created_at, updated_at) VALUES {}",
        rows.join(", ")
    )
}

fn bench_store(c: &mut Criterion, rt: &tokio::runtime::Runtime, name: &str, store: Arc<dyn Store>, raw: &dyn Raw) {
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
    let mut group = c.benchmark_group(format!("decide_and_reserve ({name}, 3 policies)"));
    group.sample_size(30).measurement_time(Duration::from_secs(5));
    let mut have = 0;
    let mut n = 0u64;
    for history in [0usize, 1_000, 10_000] {
        for chunk in (have..history).step_by(1000) {
            let sql = history_sql(chunk, (chunk + 1000).min(history), now);
            if !sql.is_empty() {
                raw.exec(&sql);
            }
        }
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
                    raw.exec(&format!("DELETE FROM audit_log WHERE tx_id = '{id}'; DELETE FROM transactions WHERE id = '{id}'"));
                }
                spent
            })
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");
    let lite: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    bench_store(c, &rt, "SQLite", lite, &Lite(rusqlite::Connection::open(&path).unwrap()));
    let pg = waiaas_testnodes::postgres::Postgres::start();
    let url = pg.create_database("bench");
    let store: Arc<dyn Store> = Arc::new(rt.block_on(PgStore::connect(&url, 4)).unwrap());
    let (client, connection) = rt.block_on(tokio_postgres::connect(&url, tokio_postgres::NoTls)).unwrap();
    rt.spawn(connection);
    bench_store(c, &rt, "PostgreSQL", store, &Pg(rt.handle().clone(), client));
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
