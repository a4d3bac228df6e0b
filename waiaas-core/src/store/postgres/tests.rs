//! One suite for the store sub-traits PostgreSQL has so far (key/value, wallets, sessions), run
//! against SQLite and against a real PostgreSQL server (`waiaas_testnodes::postgres`: a
//! cluster of its own, no mock); plus what only PostgreSQL must show: the schema's versions
//! match SQLite's, concurrent starts migrate once, and two connections (two replicas) see
//! each other's writes at once.

use super::*;
use crate::store::sqlite::SqliteStore;
use waiaas_testnodes::postgres::Postgres;

fn wallet(id: &str, key: &str) -> WalletRecord {
    WalletRecord {
        id: id.into(),
        name: format!("w-{id}"),
        chain: Chain::Ethereum,
        environment: Environment::Testnet,
        network: "ethereum-sepolia".into(),
        public_key: key.into(),
        status: WalletStatus::Active,
        owner_address: None,
        owner_verified: false,
        monitor_incoming: false,
        created_at: 10,
        updated_at: 10,
        suspended_at: None,
        suspension_reason: None,
    }
}

fn session(id: &str, wallets: &[&str]) -> SessionRecord {
    SessionRecord {
        id: id.into(),
        token_hash: format!("hash-{id}"),
        expires_at: 1000,
        constraints: None,
        revoked_at: None,
        renewal_count: 0,
        max_renewals: 0,
        last_renewed_at: None,
        absolute_expires_at: 0,
        created_at: 10,
        source: "api".into(),
        token_issued_count: 1,
        wallet_ids: wallets.iter().map(|w| w.to_string()).collect(),
    }
}

/// The behaviour both backends must have.
async fn suite(s: &(impl KvStore + WalletStore + SessionStore)) {
    assert_eq!(s.schema_version().await.unwrap(), s.latest_schema_version());
    // Key/value with compare-and-set.
    assert_eq!(s.kv_get("k").await.unwrap(), None);
    assert!(s.kv_cas("k", None, "a", 1).await.unwrap());
    assert!(!s.kv_cas("k", None, "b", 1).await.unwrap(), "insert-if-absent fails when present");
    assert!(!s.kv_cas("k", Some("x"), "b", 1).await.unwrap());
    assert!(s.kv_cas("k", Some("a"), "b", 2).await.unwrap());
    s.kv_set("k", "c", 3).await.unwrap();
    assert_eq!(s.kv_get("k").await.unwrap().as_deref(), Some("c"));

    // Wallets.
    for (id, key) in [("w1", "0x01"), ("w2", "0x02"), ("w3", "0x03")] {
        s.insert_wallet(&wallet(id, key)).await.unwrap();
    }
    assert!(s.insert_wallet(&wallet("w4", "0x01")).await.is_err(), "public keys are unique");
    assert_eq!(s.get_wallet("w1").await.unwrap(), Some(wallet("w1", "0x01")));
    assert_eq!(s.get_wallet("nope").await.unwrap(), None);
    let ids = |v: Vec<WalletRecord>| v.into_iter().map(|w| w.id).collect::<Vec<_>>();
    assert_eq!(ids(s.list_wallets(None).await.unwrap()), ["w3", "w2", "w1"]);
    assert_eq!(ids(s.list_wallets(Some(&["w1".into(), "w3".into()])).await.unwrap()), ["w3", "w1"]);
    assert!(s.rename_wallet("w1", "renamed", 11).await.unwrap());
    assert!(s.set_monitor_incoming("w1", true, 12).await.unwrap());
    let w1 = s.get_wallet("w1").await.unwrap().unwrap();
    assert_eq!((w1.name.as_str(), w1.monitor_incoming, w1.updated_at), ("renamed", true, 12));
    assert!(s.transition_wallet("w2", WalletStatus::Active, WalletStatus::Suspended, Some("why"), 13).await.unwrap());
    assert!(!s.transition_wallet("w2", WalletStatus::Active, WalletStatus::Suspended, None, 14).await.unwrap(), "compare-and-set on the status");
    let w2 = s.get_wallet("w2").await.unwrap().unwrap();
    assert_eq!((w2.status, w2.suspended_at, w2.suspension_reason.as_deref()), (WalletStatus::Suspended, Some(13), Some("why")));

    // Sessions: the per-wallet limit, links, revocation, token swaps.
    assert_eq!(s.insert_session(&session("s1", &["w1"]), 2, 20).await.unwrap(), SessionInsert::Inserted);
    assert_eq!(s.insert_session(&session("s2", &["w1", "w3"]), 2, 20).await.unwrap(), SessionInsert::Inserted);
    assert_eq!(s.insert_session(&session("s3", &["w3", "w1"]), 2, 20).await.unwrap(), SessionInsert::LimitExceeded { wallet_id: "w1".into() });
    assert_eq!(s.get_session("s3").await.unwrap(), None, "a refused session is not stored");
    assert_eq!(s.get_session("s2").await.unwrap().unwrap().wallet_ids, ["w1", "w3"]);
    assert_eq!(s.list_sessions(Some("w3")).await.unwrap().len(), 1);
    assert_eq!(s.list_sessions(None).await.unwrap().len(), 2);
    assert!(s.link_wallet("s1", "w2", 21).await.unwrap());
    assert!(!s.link_wallet("s1", "w2", 21).await.unwrap(), "linked once");
    assert_eq!(s.get_session("s1").await.unwrap().unwrap().wallet_ids, ["w1", "w2"]);
    assert_eq!(s.unlink_wallet("s1", "w3").await.unwrap(), Unlink::NotLinked);
    assert_eq!(s.unlink_wallet("s1", "w2").await.unwrap(), Unlink::Removed);
    assert_eq!(s.unlink_wallet("s1", "w1").await.unwrap(), Unlink::LastWallet);
    assert!(s.swap_session_token("s1", "hash-s1", "hash-new", 2000, true, 22).await.unwrap());
    assert!(!s.swap_session_token("s1", "hash-s1", "hash-other", 2000, true, 22).await.unwrap(), "the old token cannot swap again");
    let s1 = s.get_session("s1").await.unwrap().unwrap();
    assert_eq!((s1.token_hash.as_str(), s1.renewal_count, s1.token_issued_count, s1.last_renewed_at), ("hash-new", 1, 2, Some(22)));
    assert_eq!(s.revoke_session("s1", 23).await.unwrap(), Some(true));
    assert_eq!(s.revoke_session("s1", 24).await.unwrap(), Some(false));
    assert_eq!(s.revoke_session("nope", 24).await.unwrap(), None);
    assert_eq!(s.get_session("s1").await.unwrap().unwrap().revoked_at, Some(23));
    // A revoked session no longer counts against the limit.
    assert_eq!(s.insert_session(&session("s4", &["w1"]), 2, 25).await.unwrap(), SessionInsert::Inserted);

    // Terminating a wallet revokes the sessions it was the only wallet of; purge needs TERMINATED.
    assert!(!s.purge_wallet("w3").await.unwrap());
    assert_eq!(s.insert_session(&session("s5", &["w3"]), 5, 26).await.unwrap(), SessionInsert::Inserted);
    assert!(s.transition_wallet("w3", WalletStatus::Active, WalletStatus::Terminated, None, 27).await.unwrap());
    assert_eq!(s.get_session("s5").await.unwrap().unwrap().revoked_at, Some(27));
    assert_eq!(s.get_session("s2").await.unwrap().unwrap().revoked_at, None, "s2 still has w1");
    assert!(s.purge_wallet("w3").await.unwrap());
    assert_eq!(s.get_wallet("w3").await.unwrap(), None);
    assert_eq!(s.get_session("s2").await.unwrap().unwrap().wallet_ids, ["w1"]);

    // Expiry and the kill switch's revoke-all.
    assert_eq!(s.delete_expired_sessions(5000).await.unwrap(), 2, "s2 and s4 expired at 1000");
    assert_eq!(s.insert_session(&session("s6", &["w1"]), 5, 30).await.unwrap(), SessionInsert::Inserted);
    assert_eq!(s.revoke_all_sessions(31).await.unwrap(), 1);
    assert!(s.list_sessions(None).await.unwrap().is_empty());
}

#[tokio::test]
async fn sqlite_passes_the_shared_store_suite() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("waiaas.db")).unwrap();
    suite(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_passes_the_shared_store_suite_and_replicas_see_each_other_at_once() {
    let pg = tokio::task::block_in_place(Postgres::start);
    let url = tokio::task::block_in_place(|| pg.create_database("waiaas_suite"));
    // Two daemons starting together on one empty database: the schema is migrated once.
    let (a, b) = tokio::join!(PgStore::connect(&url, 4), PgStore::connect(&url, 4));
    let (a, b) = (a.unwrap(), b.unwrap());
    let versions = tokio::task::block_in_place(|| pg.psql("waiaas_suite", "SELECT COUNT(*), MAX(version) FROM schema_version"));
    assert_eq!(versions, format!("{LATEST_SCHEMA_VERSION}|{LATEST_SCHEMA_VERSION}"));
    suite(&a).await;
    // What one replica writes, the other reads on its next call (no cache).
    assert!(b.get_session("s6").await.unwrap().unwrap().revoked_at.is_some());
    assert_eq!(b.insert_session(&session("s7", &["w1"]), 5, 40).await.unwrap(), SessionInsert::Inserted);
    assert_eq!(a.revoke_session("s7", 41).await.unwrap(), Some(true));
    assert_eq!(b.get_session("s7").await.unwrap().unwrap().revoked_at, Some(41));
    // A session limit holds across replicas: 8 inserts racing on two stores, limit 3.
    let url2 = url.clone();
    let racers = (0..8).map(|i| {
        let url = url2.clone();
        tokio::spawn(async move {
            let s = PgStore::connect(&url, 1).await.unwrap();
            s.insert_session(&session(&format!("r{i}"), &["w2"]), 3, 50).await.unwrap()
        })
    });
    let outcomes = futures_join(racers).await;
    assert_eq!(outcomes.iter().filter(|o| **o == SessionInsert::Inserted).count(), 3, "{outcomes:?}");
    drop((a, b));
}

async fn futures_join<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = vec![];
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[test]
fn the_schema_has_sqlites_versions() {
    assert_eq!(MIGRATIONS.len(), crate::store::sqlite::MIGRATIONS.len());
    for (pg, lite) in MIGRATIONS.iter().zip(crate::store::sqlite::MIGRATIONS) {
        assert_eq!(pg.0, lite.0);
    }
}

#[tokio::test]
async fn a_url_that_requires_tls_is_refused_not_downgraded() {
    let e = PgStore::connect("postgres://u@127.0.0.1:1/db?sslmode=require", 1).await.err().unwrap();
    assert!(e.message.contains("TLS"), "{}", e.message);
    let e = PgStore::connect("not a url", 1).await.err().unwrap();
    assert_eq!(e.code, ErrorCode::ACTION_VALIDATION_FAILED, "{e:?}");
}
