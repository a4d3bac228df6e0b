#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a benchmark: a broken setup should stop it")]
//! Auth hot paths: master password check (HMAC fast path vs Argon2), session token
//! verification, and a full `authenticate` (JWT + store check on SQLite).

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;
use waiaas_core::auth::master::{hash_password, MasterAuth};
use waiaas_core::config::Config;
use waiaas_core::sessions::CreateSession;
use waiaas_core::wallets::CreateWallet;
use waiaas_core::Engine;

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let phc = hash_password("bench-password").unwrap();
    let auth = MasterAuth::new(phc.clone(), "bench-password", u32::MAX, Duration::from_secs(1));
    c.bench_function("master_verify_accepted (HMAC, constant time)", |b| b.iter(|| rt.block_on(auth.verify("bench-password", "127.0.0.1")).unwrap()));
    let mut slow = c.benchmark_group("argon2");
    slow.sample_size(10);
    slow.bench_function("master_verify_argon2 (what upstream pays per request)", |b| {
        b.iter(|| assert!(waiaas_core::auth::master::verify_hash(&phc, "bench-password").unwrap()))
    });
    slow.finish();

    let dir = tempfile::tempdir().unwrap();
    let (engine, token, wallet_id) = rt.block_on(async {
        let e = Engine::open(dir.path(), Config::default(), "bench-password").await.unwrap();
        let w = e.create_wallet(CreateWallet { name: "b".into(), create_session: Some(false), ..Default::default() }).await.unwrap();
        let s = e.create_session(CreateSession { wallet_id: Some(w.wallet.id.clone()), ..Default::default() }).await.unwrap();
        (e, s.token, w.wallet.id)
    });
    c.bench_function("session_authenticate (JWT + SQLite store check)", |b| b.iter(|| rt.block_on(engine.authenticate(&token)).unwrap()));
    c.bench_function("session_get_wallet (authenticate + wallet read)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let ctx = engine.authenticate(&token).await.unwrap();
                engine.get_wallet(&waiaas_core::Caller::Session(&ctx), &wallet_id).await.unwrap()
            })
        })
    });
}

criterion_group!(auth, benches);
criterion_main!(auth);
