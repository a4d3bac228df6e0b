use super::*;
use crate::network::{Chain, Environment};
use crate::store::test_support::Fixed;
use crate::store::tx::{TxPatch, TxRecord, TxStatus};
use crate::store::DecideFn;

fn schema_of(c: &Connection) -> Vec<String> {
    let mut st = c.prepare("SELECT type || ' ' || name || ' ' || COALESCE(sql,'') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name").unwrap();
    st.query_map([], |r| r.get(0)).unwrap().collect::<rusqlite::Result<Vec<String>>>().unwrap()
}

#[test]
fn migrations_from_empty_and_from_every_previous_version_agree() {
    let dir = tempfile::tempdir().unwrap();
    let mut fresh = Connection::open(dir.path().join("fresh.db")).unwrap();
    assert_eq!(migrate(&mut fresh, LATEST_SCHEMA_VERSION).unwrap(), LATEST_SCHEMA_VERSION);
    let want = schema_of(&fresh);
    for start in 0..LATEST_SCHEMA_VERSION {
        let mut c = Connection::open(dir.path().join(format!("from-{start}.db"))).unwrap();
        assert_eq!(migrate(&mut c, start).unwrap(), start);
        // Data written at the old version survives the upgrade.
        if start >= 1 {
            c.execute("INSERT INTO key_value_store (key, value, updated_at) VALUES ('k', 'v', 1)", []).unwrap();
        }
        assert_eq!(migrate(&mut c, LATEST_SCHEMA_VERSION).unwrap(), LATEST_SCHEMA_VERSION);
        assert_eq!(schema_of(&c), want, "upgrade from v{start}");
        if start >= 1 {
            let v: String = c.query_row("SELECT value FROM key_value_store WHERE key='k'", [], |r| r.get(0)).unwrap();
            assert_eq!(v, "v");
        }
        // Migrating again is a no-op.
        assert_eq!(migrate(&mut c, LATEST_SCHEMA_VERSION).unwrap(), LATEST_SCHEMA_VERSION);
    }
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Connection::open(dir.path().join("db")).unwrap();
    migrate(&mut c, LATEST_SCHEMA_VERSION).unwrap();
    c.execute("INSERT INTO schema_version VALUES (?1, 0, 'future')", [LATEST_SCHEMA_VERSION + 1]).unwrap();
    assert_eq!(migrate(&mut c, LATEST_SCHEMA_VERSION).unwrap_err().code, crate::error::ErrorCode::SCHEMA_INCOMPATIBLE);
}

pub(crate) fn wallet(id: &str) -> WalletRecord {
    WalletRecord {
        id: id.into(),
        name: format!("w-{id}"),
        chain: Chain::Solana,
        environment: Environment::Testnet,
        network: "solana-devnet".into(),
        public_key: format!("pk-{id}"),
        status: WalletStatus::Active,
        owner_address: None,
        owner_verified: false,
        monitor_incoming: false,
        created_at: 1,
        updated_at: 1,
        suspended_at: None,
        suspension_reason: None,
    }
}

fn session(id: &str, wallets: &[&str]) -> SessionRecord {
    SessionRecord {
        id: id.into(),
        token_hash: format!("h-{id}"),
        expires_at: 0,
        constraints: None,
        revoked_at: None,
        renewal_count: 0,
        max_renewals: 0,
        last_renewed_at: None,
        absolute_expires_at: 0,
        created_at: 1,
        source: "api".into(),
        token_issued_count: 1,
        wallet_ids: wallets.iter().map(|s| s.to_string()).collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_session_inserts_never_exceed_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).unwrap();
    store.insert_wallet(&wallet("a")).await.unwrap();
    let mut tasks = vec![];
    for i in 0..40 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move { s.insert_session(&session(&format!("s{i:02}"), &["a"]), 5, 10).await.unwrap() }));
    }
    let mut inserted = 0;
    for t in tasks {
        if t.await.unwrap() == SessionInsert::Inserted {
            inserted += 1;
        }
    }
    assert_eq!(inserted, 5);
    assert_eq!(store.list_sessions(Some("a")).await.unwrap().len(), 5);
}

#[tokio::test]
async fn wallet_transitions_are_compare_and_swap_and_terminate_revokes_sole_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).unwrap();
    store.insert_wallet(&wallet("a")).await.unwrap();
    store.insert_wallet(&wallet("b")).await.unwrap();
    store.insert_session(&session("only-a", &["a"]), 5, 1).await.unwrap();
    store.insert_session(&session("a-and-b", &["a", "b"]), 5, 1).await.unwrap();

    assert!(!store.transition_wallet("a", WalletStatus::Suspended, WalletStatus::Active, None, 2).await.unwrap());
    assert!(store.transition_wallet("a", WalletStatus::Active, WalletStatus::Suspended, Some("MANUAL"), 2).await.unwrap());
    let w = store.get_wallet("a").await.unwrap().unwrap();
    assert_eq!((w.status, w.suspended_at, w.suspension_reason.as_deref()), (WalletStatus::Suspended, Some(2), Some("MANUAL")));
    assert!(!store.purge_wallet("a").await.unwrap(), "only terminated wallets purge");
    assert!(store.transition_wallet("a", WalletStatus::Suspended, WalletStatus::Terminated, None, 3).await.unwrap());
    assert_eq!(store.get_session("only-a").await.unwrap().unwrap().revoked_at, Some(3));
    assert_eq!(store.get_session("a-and-b").await.unwrap().unwrap().revoked_at, None);
    assert!(store.purge_wallet("a").await.unwrap());
    assert!(store.get_wallet("a").await.unwrap().is_none());
    assert_eq!(store.get_session("a-and-b").await.unwrap().unwrap().wallet_ids, vec!["b".to_string()]);
}

#[tokio::test]
async fn token_swap_is_compare_and_swap() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).unwrap();
    store.insert_wallet(&wallet("a")).await.unwrap();
    store.insert_session(&session("s", &["a"]), 5, 1).await.unwrap();
    assert!(store.swap_session_token("s", "h-s", "h2", 100, true, 5).await.unwrap());
    assert!(!store.swap_session_token("s", "h-s", "h3", 100, true, 6).await.unwrap(), "stale hash loses");
    let s = store.get_session("s").await.unwrap().unwrap();
    assert_eq!((s.token_hash.as_str(), s.renewal_count, s.token_issued_count, s.expires_at), ("h2", 1, 2, 100));
    assert_eq!(store.revoke_session("s", 7).await.unwrap(), Some(true));
    assert_eq!(store.revoke_session("s", 8).await.unwrap(), Some(false));
    assert_eq!(store.revoke_session("nope", 8).await.unwrap(), None);
    assert!(!store.swap_session_token("s", "h2", "h4", 100, false, 9).await.unwrap(), "revoked sessions never get tokens");
}

#[tokio::test]
async fn kv_compare_and_swap() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).unwrap();
    assert!(store.kv_cas("k", None, "1", 1).await.unwrap());
    assert!(!store.kv_cas("k", None, "2", 1).await.unwrap());
    assert!(!store.kv_cas("k", Some("0"), "2", 1).await.unwrap());
    assert!(store.kv_cas("k", Some("1"), "2", 1).await.unwrap());
    assert_eq!(store.kv_get("k").await.unwrap().as_deref(), Some("2"));
}

fn pending_tx(id: &str, wallet: &str, usd: f64) -> TxRecord {
    TxRecord {
        id: id.into(),
        wallet_id: wallet.into(),
        chain: "solana".into(),
        network: "solana-devnet".into(),
        tx_type: crate::store::tx::TxType::Transfer,
        status: TxStatus::Pending,
        amount: Some("100".into()),
        amount_usd: Some(usd),
        request: "{}".into(),
        created_at: crate::now(),
        updated_at: crate::now(),
        ..Default::default()
    }
}

fn allow(tier: &str) -> DecideFn {
    let tier = tier.to_string();
    Box::new(Fixed(move |row: &TxRecord, _u| Ok((TxStatus::Executing, TxPatch { tier: Some(tier), reserved_usd: row.amount_usd, ..Default::default() }))))
}

#[tokio::test]
async fn a_crash_inside_the_decision_leaves_no_reservation_and_a_decision_counts_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).unwrap();
    store.insert_wallet(&wallet("a")).await.unwrap();
    store.insert_tx(&pending_tx("t1", "a", 10.0)).await.unwrap();
    store.insert_tx(&pending_tx("t2", "a", 20.0)).await.unwrap();
    let now = crate::now();

    // The decision "crashes" half way (panics inside the store transaction): nothing is written.
    let boom: DecideFn = Box::new(Fixed(|_: &TxRecord, _| panic!("killed between decision and send")));
    assert!(store.decide_tx("t1", now, boom).await.is_err());
    let t1 = store.get_tx("t1").await.unwrap().unwrap();
    assert_eq!((t1.status.as_str(), t1.tier.as_deref(), t1.reserved_usd), ("PENDING", None, None));
    let u = store.usage("a", "solana-devnet", None, &[60], now).await.unwrap();
    assert_eq!((u.spent_usd_day, u.requests_in_window.clone()), (0.0, vec![(60, 0)]), "no leaked reservation");

    // The real decision: the reservation is the row itself, written with the status change.
    assert_eq!(store.decide_tx("t1", now, allow("INSTANT")).await.unwrap(), Some(TxStatus::Executing));
    // A second decision of the same row is refused: it is no longer PENDING (no double count).
    assert_eq!(store.decide_tx("t1", now, allow("INSTANT")).await.unwrap(), None);
    // Another transaction's decision sees exactly one reservation of $10, not its own amount.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let s2 = seen.clone();
    let probe: DecideFn = Box::new(Fixed(move |_: &TxRecord, u: crate::store::UsageRow| {
        *s2.lock().unwrap() = Some((u.spent_usd_day, u.reserved_raw));
        Ok((TxStatus::Executing, TxPatch { tier: Some("INSTANT".into()), ..Default::default() }))
    }));
    store.decide_tx("t2", now, probe).await.unwrap();
    assert_eq!(*seen.lock().unwrap(), Some((10.0, 100)));
    // Ending without moving funds releases it.
    store.transition_tx("t1", &[TxStatus::Executing], TxStatus::Failed, &TxPatch { release_reservation: true, ..Default::default() }, now).await.unwrap();
    let u = store.usage("a", "solana-devnet", None, &[], now).await.unwrap();
    assert_eq!(u.spent_usd_day, 20.0, "only t2 counts now");
}

#[tokio::test]
async fn usage_windows_count_each_row_by_its_age_and_skip_what_never_moved_funds() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).unwrap();
    store.insert_wallet(&wallet("a")).await.unwrap();
    let now = 10_000_000;
    for (id, age, usd, status, tier) in [
        ("30s", 30, 1.0, TxStatus::Confirmed, Some("INSTANT")),
        ("2h", 7_200, 2.0, TxStatus::Submitted, Some("NOTIFY")),
        ("2d", 172_800, 4.0, TxStatus::Confirmed, Some("INSTANT")),
        ("40d", 3_456_000, 8.0, TxStatus::Confirmed, Some("INSTANT")),
        ("failed", 30, 16.0, TxStatus::Failed, Some("INSTANT")),
        ("cancelled", 30, 32.0, TxStatus::Cancelled, Some("DELAY")),
        ("undecided", 30, 64.0, TxStatus::Pending, None),
    ] {
        let t = TxRecord { status, tier: tier.map(str::to_string), created_at: now - age, updated_at: now - age, ..pending_tx(id, "a", usd) };
        store.insert_tx(&t).await.unwrap();
    }
    let u = store.usage("a", "solana-devnet", None, &[60, 10_800, 90 * 86_400], now).await.unwrap();
    assert_eq!(u.spent_usd_day, 3.0, "30s + 2h");
    assert_eq!(u.spent_usd_month, 7.0, "30s + 2h + 2d");
    assert_eq!(u.requests_in_window, vec![(60, 1), (10_800, 2), (90 * 86_400, 4)]);
    let other = store.usage("b", "solana-devnet", None, &[60], now).await.unwrap();
    assert_eq!((other.spent_usd_month, other.requests_in_window), (0.0, vec![(60, 0)]), "another wallet's rows never count");
}

#[tokio::test]
async fn illegal_transitions_are_refused_not_applied() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).unwrap();
    store.insert_wallet(&wallet("a")).await.unwrap();
    store.insert_tx(&pending_tx("t", "a", 1.0)).await.unwrap();
    let e = store.transition_tx("t", &[TxStatus::Pending], TxStatus::Confirmed, &TxPatch::default(), 1).await.unwrap_err();
    assert_eq!(e.code, crate::error::ErrorCode::INVALID_STATE_TRANSITION);
    assert_eq!(store.get_tx("t").await.unwrap().unwrap().status, TxStatus::Pending);
    // A legal transition from the wrong current state is a no-op CAS.
    assert!(!store.transition_tx("t", &[TxStatus::Queued], TxStatus::Executing, &TxPatch::default(), 1).await.unwrap());
}

#[tokio::test]
async fn every_transition_of_the_table_is_applied_with_its_audit_row_and_every_other_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).unwrap();
    store.insert_wallet(&wallet("a")).await.unwrap();
    let (mut legal, mut illegal) = (0, 0);
    for (i, from) in TxStatus::ALL.iter().enumerate() {
        for (j, to) in TxStatus::ALL.iter().enumerate() {
            let id = format!("t-{i}-{j}");
            let mut row = pending_tx(&id, "a", 1.0);
            row.status = *from;
            store.insert_tx(&row).await.unwrap();
            let audit_before = store.query_audit(&AuditQuery { tx_id: Some(id.clone()), limit: 10, ..Default::default() }).await.unwrap().0.len();
            let r = store.transition_tx(&id, &[*from], *to, &TxPatch::default(), 1).await;
            let after = store.get_tx(&id).await.unwrap().unwrap();
            let audit = store.query_audit(&AuditQuery { tx_id: Some(id.clone()), limit: 10, ..Default::default() }).await.unwrap().0;
            if from.can_go_to(*to) {
                assert!(r.unwrap(), "{from:?} -> {to:?} applies");
                assert_eq!(after.status, *to);
                assert_eq!(audit.len(), audit_before + 1, "{from:?} -> {to:?} is audited once");
                let details: serde_json::Value = serde_json::from_str(audit[0].details.as_deref().unwrap()).unwrap();
                assert_eq!((details["from"].as_str(), details["to"].as_str()), (Some(from.as_str()), Some(to.as_str())));
                legal += 1;
            } else {
                let e = r.unwrap_err();
                assert_eq!(e.code, crate::error::ErrorCode::INVALID_STATE_TRANSITION, "{from:?} -> {to:?}");
                assert_eq!(after.status, *from, "{from:?} -> {to:?} changed nothing");
                assert_eq!(audit.len(), audit_before, "{from:?} -> {to:?} wrote no audit row");
                illegal += 1;
            }
        }
    }
    assert_eq!(legal + illegal, TxStatus::ALL.len() * TxStatus::ALL.len());
    assert_eq!(legal, 18);
}

#[tokio::test]
async fn used_owner_nonces_are_single_use_until_they_expire() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).unwrap();
    assert!(store.use_owner_nonce("n1", 100, 10).await.unwrap());
    assert!(!store.use_owner_nonce("n1", 100, 11).await.unwrap(), "single use");
    assert!(store.use_owner_nonce("n2", 20, 10).await.unwrap());
    // Expired records are purged (the nonce itself is refused as expired before this).
    assert!(store.use_owner_nonce("n3", 100, 21).await.unwrap());
    assert!(store.use_owner_nonce("n2", 200, 21).await.unwrap());
    assert!(!store.use_owner_nonce("n1", 100, 21).await.unwrap(), "still recorded until it expires");
}

#[tokio::test]
async fn a_stored_status_or_type_this_build_does_not_know_is_an_error_not_a_guess() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).unwrap();
    store.insert_wallet(&wallet("a")).await.unwrap();
    store.insert_tx(&pending_tx("t", "a", 1.0)).await.unwrap();
    // The schema's CHECK keeps such values out; a newer build's rows (or a hand edit) get past it.
    let c = Connection::open(dir.path().join("db")).unwrap();
    c.execute_batch("PRAGMA ignore_check_constraints = ON").unwrap();
    c.execute("UPDATE transactions SET status = 'REFUNDED' WHERE id = 't'", []).unwrap();
    let e = store.get_tx("t").await.unwrap_err();
    assert!(e.message.contains("unknown transaction status 'REFUNDED'"), "{}", e.message);
    c.execute("UPDATE transactions SET status = 'PENDING', type = 'SWAP' WHERE id = 't'", []).unwrap();
    let e = store.get_tx("t").await.unwrap_err();
    assert!(e.message.contains("unknown transaction type 'SWAP'"), "{}", e.message);
}

/// The in-memory session view (what sessionAuth reads on every request) never lags a write:
/// after every kind of session write, a warmed view answers what a fresh store reads from disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_view_reflects_every_write_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let store = SqliteStore::open(&path).unwrap();
    let disk = |id: &'static str| {
        let path = path.clone();
        async move { SqliteStore::open(&path).unwrap().get_session(id).await.unwrap() }
    };
    for w in ["a", "b", "c"] {
        store.insert_wallet(&wallet(w)).await.unwrap();
    }
    store.insert_session(&session("s", &["a"]), 5, 1).await.unwrap();
    store.insert_session(&session("t", &["c"]), 5, 1).await.unwrap();
    store.insert_session(&session("e", &["b"]), 5, 1).await.unwrap();
    type Write = Box<dyn Fn(SqliteStore) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>>;
    let writes: Vec<(&str, &'static str, Write)> = vec![
        ("link", "s", Box::new(|s| Box::pin(async move { assert!(s.link_wallet("s", "b", 2).await.unwrap()) }))),
        (
            "unlink",
            "s",
            Box::new(|s| {
                Box::pin(async move {
                    s.unlink_wallet("s", "b").await.unwrap();
                })
            }),
        ),
        ("swap", "s", Box::new(|s| Box::pin(async move { assert!(s.swap_session_token("s", "h-s", "h2", 100, true, 3).await.unwrap()) }))),
        (
            "terminate",
            "t",
            Box::new(|s| Box::pin(async move { assert!(s.transition_wallet("c", WalletStatus::Active, WalletStatus::Terminated, None, 4).await.unwrap()) })),
        ),
        ("revoke", "s", Box::new(|s| Box::pin(async move { assert_eq!(s.revoke_session("s", 5).await.unwrap(), Some(true)) }))),
        ("revoke all", "e", Box::new(|s| Box::pin(async move { assert_eq!(s.revoke_all_sessions(6).await.unwrap(), 1) }))),
    ];
    for (what, id, write) in writes {
        let before = store.get_session(id).await.unwrap();
        assert_eq!(before, disk(id).await, "{what}: warmed view");
        write(store.clone()).await;
        let after = store.get_session(id).await.unwrap();
        assert_ne!(after, before, "{what} changed nothing");
        assert_eq!(after, disk(id).await, "{what}: the view lags the write");
    }
    // Deleted sessions disappear from the view too.
    store.insert_session(&SessionRecord { expires_at: 10, ..session("x", &["a"]) }, 5, 1).await.unwrap();
    assert!(store.get_session("x").await.unwrap().is_some());
    assert_eq!(store.delete_expired_sessions(11).await.unwrap(), 1);
    assert_eq!(store.get_session("x").await.unwrap(), None);
}

/// Reads racing a revoke: once the revoke returned, no read sees the session live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_read_after_a_revoke_returns_sees_the_session_live() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).unwrap();
    store.insert_wallet(&wallet("a")).await.unwrap();
    for round in 0..20 {
        let id = format!("r{round}");
        store.insert_session(&session(&id, &["a"]), 50, 1).await.unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let (store, id, stop) = (store.clone(), id.clone(), stop.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::SeqCst) {
                        store.get_session(&id).await.unwrap();
                    }
                })
            })
            .collect();
        tokio::task::yield_now().await;
        assert_eq!(store.revoke_session(&id, 2).await.unwrap(), Some(true));
        for _ in 0..50 {
            assert_eq!(store.get_session(&id).await.unwrap().unwrap().revoked_at, Some(2), "round {round}");
        }
        stop.store(true, Ordering::SeqCst);
        for r in readers {
            r.await.unwrap();
        }
    }
}

/// Group commit ([`Writer`]): writes that queue while the writer is busy share one store
/// transaction, and each is still all or nothing: one that fails or panics leaves nothing,
/// the others are all kept, every caller gets its own outcome only after the commit, and
/// the store closes with its queue committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_sharing_a_commit_are_each_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let store = SqliteStore::open(&path).unwrap();
    let put = |tx: &rusqlite::Transaction, k: &str| tx.execute("INSERT INTO key_value_store (key, value, updated_at) VALUES (?1, 'v', 1)", [k]).map(|_| ());
    // The writer is busy with this one while the others queue behind it, so they are taken
    // as one group.
    let (started, wait_started) = std::sync::mpsc::channel();
    let busy = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .write(move |tx| {
                    put(tx, "busy")?;
                    started.send(()).unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(300));
                    Ok(())
                })
                .await
        })
    };
    tokio::task::spawn_blocking(move || wait_started.recv().unwrap()).await.unwrap();
    let mut writes = vec![];
    for i in 0..100 {
        let store = store.clone();
        writes.push(tokio::spawn(async move {
            store
                .write(move |tx| {
                    put(tx, &format!("k{i}"))?;
                    put(tx, &format!("k{i}-second"))?;
                    match i % 10 {
                        3 => Err(Error::internal("refused after writing")),
                        7 => put(tx, "busy").map(|()| i).map_err(Error::from), // UNIQUE: fails after two rows were written
                        #[allow(clippy::panic)]
                        9 if i == 99 => panic!("a write that panics"),
                        _ => Ok(i),
                    }
                })
                .await
        }));
        // Let them queue in order.
        tokio::task::yield_now().await;
    }
    // Nothing is visible before the group's commit.
    let seen: i64 = store.read(|c| Ok(c.query_row("SELECT count(*) FROM key_value_store", [], |r| r.get(0))?)).await.unwrap();
    assert_eq!(seen, 0, "nothing of the busy write or the queued ones is visible before they commit");
    busy.await.unwrap().unwrap();
    let mut kept = vec![];
    for (i, w) in writes.into_iter().enumerate() {
        let out = w.await.unwrap();
        match i % 10 {
            3 | 7 => assert!(out.is_err(), "write {i} must fail"),
            9 if i == 99 => assert!(out.unwrap_err().message.contains("panicked"), "write {i}"),
            _ => {
                assert_eq!(out.unwrap(), i);
                kept.push(format!("k{i}"));
                kept.push(format!("k{i}-second"));
            }
        }
    }
    drop(store);
    // Reopened: exactly the successful writes, both rows of each, none of the failed ones.
    let c = Connection::open(&path).unwrap();
    let mut st = c.prepare("SELECT key FROM key_value_store WHERE key != 'busy' ORDER BY key").unwrap();
    let mut keys: Vec<String> = st.query_map([], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap();
    kept.sort();
    keys.sort();
    assert_eq!(keys, kept);
    assert_eq!(c.query_row("SELECT count(*) FROM key_value_store WHERE key = 'busy'", [], |r| r.get::<_, i64>(0)).unwrap(), 1);
}
