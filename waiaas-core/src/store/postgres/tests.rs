//! One suite for the store sub-traits (key/value, wallets, sessions; transactions, the policy
//! decision, the audit log), run against SQLite and against a real PostgreSQL server
//! (`waiaas_testnodes::postgres`: a cluster of its own, no mock); plus what only PostgreSQL must
//! show: the schema's versions match SQLite's, concurrent starts migrate once, two connections
//! (two replicas) see each other's writes at once, the copy from SQLite, TLS, and how replicas
//! hold transactions, nonces and the lead.

use super::*;
use crate::store::sqlite::SqliteStore;
use crate::store::test_support::Fixed;
use crate::store::tx::{TxPatch, TxRecord, TxStatus, TxType};
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

fn pending(id: &str, wallet: &str, usd: f64, key: Option<&str>) -> TxRecord {
    TxRecord {
        id: id.into(),
        wallet_id: wallet.into(),
        chain: "ethereum".into(),
        network: "ethereum-sepolia".into(),
        tx_type: TxType::Transfer,
        status: TxStatus::Pending,
        amount: Some("100".into()),
        amount_usd: Some(usd),
        request: "{}".into(),
        idempotency_key: key.map(str::to_string),
        created_at: 100,
        updated_at: 100,
        ..Default::default()
    }
}

/// Allow at INSTANT while the day's spend plus this row stays within `budget` USD, else deny.
fn within(budget: f64) -> DecideFn {
    Box::new(Fixed(move |row: &TxRecord, u: UsageRow| {
        let usd = row.amount_usd.unwrap_or_default();
        Ok(if u.spent_usd_day + usd <= budget {
            (TxStatus::Executing, TxPatch { tier: Some("INSTANT".into()), reserved_usd: Some(usd), decision: Some("{}".into()), ..Default::default() })
        } else {
            (
                TxStatus::Cancelled,
                TxPatch {
                    error: Some("over budget".into()),
                    error_code: Some("SPENDING_LIMIT_EXCEEDED".into()),
                    decision: Some("{}".into()),
                    ..Default::default()
                },
            )
        })
    }))
}

/// Transactions, the decision, policies and the audit log, on both backends. Needs wallet
/// `w1` (from [`suite`]).
async fn tx_suite(s: &(impl TxStore + PolicyStore + AuditStore)) {
    let now = 200;
    // Idempotency: the second insert with the same key answers the first row.
    assert_eq!(s.insert_tx(&pending("t1", "w1", 10.0, Some("k1"))).await.unwrap(), None);
    let again = s.insert_tx(&pending("t1b", "w1", 99.0, Some("k1"))).await.unwrap().expect("the first row");
    assert_eq!((again.id.as_str(), again.amount_usd), ("t1", Some(10.0)));
    assert_eq!(s.get_tx("t1b").await.unwrap(), None);
    for (id, usd) in [("t2", 10.0), ("t3", 15.0)] {
        s.insert_tx(&pending(id, "w1", usd, None)).await.unwrap();
    }

    // The decision: a panic writes nothing; a decision counts once; the next one sees it.
    let boom: DecideFn = Box::new(Fixed(|_: &TxRecord, _| panic!("killed inside the decision")));
    assert!(s.decide_tx("t1", now, boom).await.is_err());
    assert_eq!(s.get_tx("t1").await.unwrap().unwrap().status, TxStatus::Pending);
    assert_eq!(s.decide_tx("t1", now, within(20.0)).await.unwrap(), Some(TxStatus::Executing));
    assert_eq!(s.decide_tx("t1", now, within(20.0)).await.unwrap(), None, "no longer PENDING");
    assert_eq!(s.decide_tx("t2", now, within(20.0)).await.unwrap(), Some(TxStatus::Executing));
    assert_eq!(s.decide_tx("t3", now, within(20.0)).await.unwrap(), Some(TxStatus::Cancelled), "$35 > $20");
    let u = s.usage("w1", "ethereum-sepolia", None, &[60, 3600], now).await.unwrap();
    assert_eq!((u.spent_usd_day, u.reserved_raw, u.requests_in_window), (20.0, 200, vec![(60, 0), (3600, 2)]));

    // Status changes: legal ones with their patch and nonce commit, illegal ones refused.
    assert!(s.transition_tx("t1", &[TxStatus::Pending, TxStatus::Queued], TxStatus::Cancelled, &TxPatch::default(), now).await.is_ok());
    assert!(s.transition_tx("t1", &[TxStatus::Confirmed], TxStatus::Pending, &TxPatch::default(), now).await.is_err(), "illegal");
    let sent = TxPatch { nonce: Some(7), tx_hash: Some("0xabc".into()), commit_nonce: true, ..Default::default() };
    assert!(s.transition_tx("t1", &[TxStatus::Executing], TxStatus::Submitted, &sent, now + 1).await.unwrap());
    assert!(!s.transition_tx("t1", &[TxStatus::Executing], TxStatus::Submitted, &sent, now + 1).await.unwrap(), "compare-and-set");
    assert_eq!(s.next_nonce("w1", "ethereum-sepolia").await.unwrap(), Some(8));
    let t1 = s.get_tx("t1").await.unwrap().unwrap();
    assert_eq!((t1.status, t1.nonce, t1.tx_hash.as_deref(), t1.updated_at), (TxStatus::Submitted, Some(7), Some("0xabc"), now + 1));
    // A release: FAILED without moving funds gives the budget back.
    let release = TxPatch { release_reservation: true, signed_tx: Some(vec![1, 2]), ..Default::default() };
    assert!(s.transition_tx("t2", &[TxStatus::Executing], TxStatus::Failed, &release, now + 2).await.unwrap());
    assert_eq!(s.usage("w1", "ethereum-sepolia", None, &[], now).await.unwrap().spent_usd_day, 10.0);
    assert_eq!(s.get_tx("t2").await.unwrap().unwrap().signed_tx, Some(vec![1, 2]), "bytes round-trip");
    // Patches: one row, and all-or-nothing over several.
    assert!(s.patch_tx("t1", TxStatus::Submitted, &TxPatch { metadata: Some("{\"m\":1}".into()), ..Default::default() }, now + 3).await.unwrap());
    assert!(!s.patch_tx("t1", TxStatus::Executing, &TxPatch::default(), now + 3).await.unwrap());
    let gone = s.patch_txs(TxStatus::Submitted, &[("t1".into(), TxPatch::default()), ("t2".into(), TxPatch::default())], now + 4).await.unwrap();
    assert_eq!(gone, ["t2"]);
    assert_eq!(s.get_tx("t1").await.unwrap().unwrap().updated_at, now + 3, "nothing written when one is gone");
    // Lists.
    let ids = |v: Vec<TxRecord>| v.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(ids(s.txs_in_status(&[TxStatus::Submitted, TxStatus::Failed]).await.unwrap()), ["t1", "t2"]);
    assert_eq!(ids(s.list_txs(&["w1".into()], None, None, 10).await.unwrap()), ["t3", "t2", "t1"]);
    assert_eq!(ids(s.list_txs(&["w1".into()], Some(&[TxStatus::Cancelled]), None, 10).await.unwrap()), ["t3"]);
    assert_eq!(ids(s.list_txs(&["w1".into()], None, Some("t3"), 1).await.unwrap()), ["t2"]);
    assert_eq!(s.count_txs_since("w1", 100).await.unwrap(), 3);
    let counts: Vec<(String, i64)> = s.tx_counts_since(100).await.unwrap().into_iter().map(|(st, n, _)| (st, n)).collect();
    assert_eq!(counts, [("CANCELLED".to_string(), 1), ("FAILED".into(), 1), ("SUBMITTED".into(), 1)]);
    assert!(s.tx_counts_since(now + 1_000_000).await.unwrap().is_empty());

    // The audit log holds each change, written with it.
    let (entries, total) = s.query_audit(&AuditQuery { tx_id: Some("t1".into()), limit: 10, include_total: true, ..Default::default() }).await.unwrap();
    assert_eq!(entries.iter().map(|e| e.event_type.as_str()).collect::<Vec<_>>(), ["TX_SUBMITTED", "TX_REQUESTED"]);
    assert_eq!(total, Some(2));
    let denied = s.query_audit(&AuditQuery { event_type: Some("POLICY_DENIED".into()), limit: 10, ..Default::default() }).await.unwrap().0;
    assert_eq!(denied.len(), 1);
    let all = s.audit_after(0, 100).await.unwrap();
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(s.audit_after(all[1].id, 1).await.unwrap()[0].id, all[2].id);

    // Policies: global and the wallet's, by priority.
    let policy = |id: &str, wallet: Option<&str>, priority: i64| PolicyRow {
        id: id.into(),
        wallet_id: wallet.map(str::to_string),
        policy_type: "SPENDING_LIMIT".into(),
        rules: serde_json::json!({"instant_max_usd": 1}),
        priority,
        enabled: true,
        network: None,
        created_at: 1,
        updated_at: 1,
    };
    s.insert_policy(&policy("p1", None, 1)).await.unwrap();
    s.insert_policy(&policy("p2", Some("w1"), 5)).await.unwrap();
    let listed: Vec<String> = s.list_policies(Some("w1")).await.unwrap().into_iter().map(|p| p.id).collect();
    assert_eq!(listed, ["p2", "p1"]);
    let mut p2 = s.get_policy("p2").await.unwrap().unwrap();
    p2.enabled = false;
    assert!(s.update_policy(&p2).await.unwrap());
    assert!(!s.get_policy("p2").await.unwrap().unwrap().enabled);
    assert!(s.delete_policy("p2").await.unwrap());
    assert!(!s.delete_policy("p2").await.unwrap());
}

fn incoming(id: &str, hash: &str, log_index: i64, wallet: &str, block: i64, at: i64) -> IncomingRecord {
    IncomingRecord {
        id: id.into(),
        tx_hash: hash.into(),
        log_index,
        wallet_id: wallet.into(),
        from_address: "0xfrom".into(),
        amount: "1000".into(),
        token_address: (log_index >= 0).then(|| "0xtoken".to_string()),
        chain: "ethereum".into(),
        network: "ethereum-sepolia".into(),
        status: "DETECTED".into(),
        block_number: block,
        detected_at: at,
        confirmed_at: None,
        is_suspicious: false,
    }
}

async fn incoming_suite(s: &(impl IncomingStore + AuditStore)) {
    let batch = [incoming("i1", "0xa", -1, "w1", 10, 100), incoming("i2", "0xa", 3, "w1", 10, 100), incoming("i3", "0xb", -1, "w2", 12, 101)];
    assert_eq!(s.insert_incoming(&batch, &[]).await.unwrap(), ["i1", "i2", "i3"]);
    // The same transfers seen again (a rescan after a restart, under new ids): nothing new.
    let again: Vec<_> = batch.iter().map(|r| IncomingRecord { id: format!("{}-again", r.id), ..r.clone() }).collect();
    assert!(s.insert_incoming(&again, &[]).await.unwrap().is_empty());
    assert_eq!(s.insert_incoming(&[incoming("i4", "0xc", -1, "w1", 13, 102), again[0].clone()], &[]).await.unwrap(), ["i4"]);
    // Depth reached up to block 12: three become CONFIRMED, block 13 stays DETECTED.
    assert_eq!(s.confirm_incoming("ethereum-sepolia", 12, 200).await.unwrap(), 3);
    assert_eq!(s.confirm_incoming("ethereum-sepolia", 12, 201).await.unwrap(), 0);
    let q = |status: Option<&str>, wallets: Option<Vec<String>>, after: Option<(i64, String)>, limit: i64| IncomingQuery {
        wallet_ids: wallets,
        status: status.map(str::to_string),
        after,
        limit,
        ..Default::default()
    };
    let all = s.query_incoming(&q(None, None, None, 10)).await.unwrap();
    assert_eq!(all.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["i4", "i3", "i2", "i1"], "newest first");
    assert_eq!((all[0].status.as_str(), all[0].confirmed_at), ("DETECTED", None));
    assert_eq!((all[1].status.as_str(), all[1].confirmed_at), ("CONFIRMED", Some(200)));
    assert_eq!(all[3], IncomingRecord { status: "CONFIRMED".into(), confirmed_at: Some(200), ..batch[0].clone() });
    let w1 = s.query_incoming(&q(Some("CONFIRMED"), Some(vec!["w1".into()]), None, 1)).await.unwrap();
    assert_eq!(w1.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["i2"]);
    let next = s.query_incoming(&q(Some("CONFIRMED"), Some(vec!["w1".into()]), Some((100, "i2".into())), 1)).await.unwrap();
    assert_eq!(next.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["i1"], "the page after (100, i2)");
    assert!(s.query_incoming(&q(None, Some(vec![]), None, 10)).await.unwrap().is_empty(), "no wallets, no rows");
    let token = IncomingQuery { token: Some("0xtoken".into()), limit: 10, ..Default::default() };
    assert_eq!(s.query_incoming(&token).await.unwrap().iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["i2"]);
    // Offset pages and the count of every match.
    let second = IncomingQuery { offset: 1, limit: 2, ..Default::default() };
    let (page, total) = s.page_incoming(&second).await.unwrap();
    assert_eq!((page.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), total), (vec!["i3", "i2"], 4), "the count sets the page aside");
    assert_eq!(s.page_incoming(&q(Some("CONFIRMED"), Some(vec!["w1".into()]), None, 1)).await.unwrap().1, 2);
    assert_eq!(s.page_incoming(&IncomingQuery { suspicious: Some(true), limit: 10, ..Default::default() }).await.unwrap(), (vec![], 0));
    assert_eq!(s.page_incoming(&IncomingQuery { suspicious: Some(false), ..Default::default() }).await.unwrap().1, 4);
    // Retention: what was detected before 101 goes (i1, i2 at 100), the rest stays.
    assert_eq!(s.purge_incoming(101).await.unwrap(), 2);
    let left = s.query_incoming(&IncomingQuery { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(left.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["i4", "i3"]);
    assert_eq!(s.purge_incoming(101).await.unwrap(), 0);
    // A record and its announcement are written together: only new records' events, and of
    // those sharing a `once` key the first.
    let ev = |record: &str, kind: &str, once: Option<&str>| IncomingEvent {
        record_id: record.into(),
        entry: AuditEntry { event_type: kind.into(), actor: "system".into(), details: Some(record.into()), severity: "info".into(), ..Default::default() },
        once: once.map(str::to_string),
    };
    let before = s.audit_after(0, 10_000).await.unwrap().len();
    let rows = [incoming("i4-again", "0xc", -1, "w1", 13, 102), incoming("i5", "0xd", -1, "w1", 14, 103), incoming("i6", "0xe", -1, "w1", 14, 103)];
    let events = [
        ev("i4-again", "TX_INCOMING", Some("w1")),
        ev("i5", "TX_INCOMING", Some("w1")),
        ev("i6", "TX_INCOMING", Some("w1")),
        ev("i6", "TX_INCOMING_SUSPICIOUS", None),
    ];
    assert_eq!(s.insert_incoming(&rows, &events).await.unwrap(), ["i5", "i6"]);
    let written: Vec<(String, Option<String>)> =
        s.audit_after(0, 10_000).await.unwrap()[before..].iter().map(|e| (e.event_type.clone(), e.details.clone())).collect();
    assert_eq!(written, [("TX_INCOMING".to_string(), Some("i5".to_string())), ("TX_INCOMING_SUSPICIOUS".to_string(), Some("i6".to_string()))]);
}

#[tokio::test]
async fn sqlite_passes_the_shared_store_suite() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("waiaas.db")).unwrap();
    suite(&s).await;
    tx_suite(&s).await;
    incoming_suite(&s).await;
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
    tx_suite(&a).await;
    incoming_suite(&a).await;
    // Decisions of one wallet on two replicas see each other's reservations: 12 × $10 against
    // a $50 budget, decided concurrently through both stores, allow exactly 5.
    for i in 0..12 {
        a.insert_tx(&TxRecord { created_at: 300, ..pending(&format!("b{i}"), "w2", 10.0, None) }).await.unwrap();
    }
    let (a, b) = (std::sync::Arc::new(a), std::sync::Arc::new(b));
    let racers: Vec<_> = (0..12)
        .map(|i| {
            let s = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { s.decide_tx(&format!("b{i}"), 300, within(50.0)).await.unwrap() })
        })
        .collect();
    let decided = futures_join(racers.into_iter()).await;
    assert_eq!(decided.iter().filter(|d| **d == Some(TxStatus::Executing)).count(), 5, "{decided:?}");
    assert_eq!(a.usage("w2", "ethereum-sepolia", None, &[], 300).await.unwrap().spent_usd_day, 50.0);
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
}

async fn futures_join<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = vec![];
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbox_reading_the_audit_log_by_id_never_skips_an_entry() {
    let pg = tokio::task::block_in_place(Postgres::start);
    let url = tokio::task::block_in_place(|| pg.create_database("waiaas_audit"));
    let s = std::sync::Arc::new(PgStore::connect(&url, 8).await.unwrap());
    // 8 writers append 40 entries each while a reader follows the log by id, as the outbox does.
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let s = s.clone();
            tokio::spawn(async move {
                for i in 0..40 {
                    let e = AuditEntry { timestamp: i, event_type: format!("E{w}"), actor: "t".into(), severity: "info".into(), ..Default::default() };
                    s.append_audit(&e).await.unwrap();
                }
            })
        })
        .collect();
    let (mut cursor, mut seen) = (0i64, 0usize);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while seen < 320 {
        assert!(tokio::time::Instant::now() < deadline, "the reader saw {seen} of 320");
        for e in s.audit_after(cursor, 7).await.unwrap() {
            assert!(e.id > cursor);
            cursor = e.id;
            seen += 1;
        }
    }
    futures_join(writers.into_iter()).await;
    assert!(s.audit_after(cursor, 10).await.unwrap().is_empty(), "nothing left behind the cursor");
    let total = tokio::task::block_in_place(|| pg.psql("waiaas_audit", "SELECT COUNT(*) FROM audit_log"));
    assert_eq!(total, "320");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_store_is_copied_into_postgres_row_for_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("waiaas.db");
    let lite = SqliteStore::open(&path).unwrap();
    suite(&lite).await;
    tx_suite(&lite).await;
    lite.insert_token(&TokenRow {
        id: "tk".into(),
        network: "ethereum-sepolia".into(),
        address: "0xt".into(),
        symbol: "T".into(),
        name: "T".into(),
        decimals: 6,
        created_at: 1,
    })
    .await
    .unwrap();
    drop(lite);
    let pg = tokio::task::block_in_place(Postgres::start);
    let url = tokio::task::block_in_place(|| pg.create_database("waiaas_copy"));
    let report = copy_from_sqlite(&path, &url, &PgOptions { max_connections: 2, ca_file: None }).await.unwrap();
    let lite = SqliteStore::open(&path).unwrap();
    let pgs = PgStore::connect(&url, 2).await.unwrap();
    for (table, n) in &report.tables {
        let in_pg = tokio::task::block_in_place(|| pg.psql("waiaas_copy", &format!("SELECT COUNT(*) FROM {table}")));
        assert_eq!(in_pg, n.to_string(), "{table}");
    }
    assert!(report.tables.iter().any(|(t, n)| t == "transactions" && *n == 3), "{report:?}");
    // The same rows, read through each store.
    assert_eq!(pgs.list_wallets(None).await.unwrap(), lite.list_wallets(None).await.unwrap());
    for id in ["t1", "t2", "t3"] {
        assert_eq!(pgs.get_tx(id).await.unwrap(), lite.get_tx(id).await.unwrap(), "{id}");
    }
    for id in ["s1", "s2", "s4", "s5", "s6"] {
        assert_eq!(pgs.get_session(id).await.unwrap(), lite.get_session(id).await.unwrap(), "{id}");
    }
    assert_eq!(pgs.audit_after(0, 1000).await.unwrap(), lite.audit_after(0, 1000).await.unwrap());
    assert_eq!(pgs.list_policies(Some("w1")).await.unwrap(), lite.list_policies(Some("w1")).await.unwrap());
    assert_eq!(pgs.list_tokens("ethereum-sepolia").await.unwrap(), lite.list_tokens("ethereum-sepolia").await.unwrap());
    assert_eq!(pgs.next_nonce("w1", "ethereum-sepolia").await.unwrap(), Some(8));
    // New audit ids continue after the copied ones.
    let last = lite.audit_after(0, 1000).await.unwrap().last().unwrap().id;
    pgs.append_audit(&AuditEntry { event_type: "X".into(), actor: "t".into(), severity: "info".into(), ..Default::default() }).await.unwrap();
    assert_eq!(pgs.audit_after(last, 10).await.unwrap()[0].id, last + 1);
    // A database with rows is never copied into.
    let e = copy_from_sqlite(&path, &url, &PgOptions { max_connections: 2, ca_file: None }).await.err().unwrap();
    assert_eq!(e.code, ErrorCode::DATABASE_IN_USE, "{e:?}");
}

#[test]
fn the_schema_has_sqlites_versions() {
    assert_eq!(MIGRATIONS.len(), crate::store::sqlite::MIGRATIONS.len());
    for (pg, lite) in MIGRATIONS.iter().zip(crate::store::sqlite::MIGRATIONS) {
        assert_eq!(pg.0, lite.0);
    }
}

/// Whether the store's connections are encrypted (PostgreSQL's own view of the session).
async fn encrypted(s: &PgStore) -> bool {
    s.client().await.unwrap().row("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).await.unwrap().get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_postgres_is_verified_and_never_downgraded() {
    let pg = tokio::task::block_in_place(Postgres::start_tls);
    let url = tokio::task::block_in_place(|| pg.create_database("waiaas_tls"));
    let ca = pg.ca_file.clone().unwrap();
    let with_ca = PgOptions { max_connections: 2, ca_file: Some(ca.clone()) };
    // sslmode=require with the CA that signed the server: encrypted, and the store works.
    let s = PgStore::connect_with(&format!("{url}?sslmode=require"), &with_ca).await.unwrap();
    assert!(encrypted(&s).await);
    s.kv_set("k", "v", 1).await.unwrap();
    assert_eq!(s.kv_get("k").await.unwrap().as_deref(), Some("v"));
    // The daemon's replica store, its lock connection too, over TLS.
    drop(s);
    let s = PgStore::open_replica(&format!("{url}?sslmode=require"), &with_ca).await.unwrap();
    assert!(encrypted(&s).await);
    let lock: bool = s.lock_conn().await.unwrap().query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).await.unwrap().get(0);
    assert!(lock, "the lock connection is encrypted");
    drop(s);
    // Without sslmode=require: plaintext.
    assert!(!encrypted(&PgStore::connect(&url, 1).await.unwrap()).await);
    // A server certificate the roots do not vouch for: refused (the system's roots do not
    // know the throwaway CA).
    let e = PgStore::connect(&format!("{url}?sslmode=require"), 1).await.err().unwrap();
    assert!(format!("{e:?}").to_lowercase().contains("certificate"), "{e:?}");
    // A server without TLS: refused, not downgraded.
    let plain = tokio::task::block_in_place(Postgres::start);
    let plain_url = tokio::task::block_in_place(|| plain.create_database("waiaas_plain"));
    assert!(PgStore::connect_with(&format!("{plain_url}?sslmode=require"), &with_ca).await.is_err());
    // Bad input: clear errors.
    let e = PgStore::connect("not a url", 1).await.err().unwrap();
    assert_eq!(e.code, ErrorCode::ACTION_VALIDATION_FAILED, "{e:?}");
    let e = PgStore::connect_with(&format!("{url}?sslmode=require"), &PgOptions { max_connections: 1, ca_file: Some(ca.with_extension("nope")) })
        .await
        .err()
        .unwrap();
    assert!(e.message.contains("postgres_ca_file"), "{}", e.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_hold_transactions_nonces_and_the_lead_one_at_a_time_and_a_dead_one_lets_go() {
    let pg = tokio::task::block_in_place(Postgres::start);
    let url = tokio::task::block_in_place(|| pg.create_database("waiaas_replicas"));
    let opts = PgOptions { max_connections: 3, ca_file: None };
    let a = PgStore::open_replica(&url, &opts).await.unwrap();
    let b = PgStore::open_replica(&url, &opts).await.unwrap();
    assert!(a.shared() && b.shared());

    // A transaction is held by one replica at a time; given back, the other can take it.
    assert!(a.claim_tx("t1").await.unwrap());
    assert!(!b.claim_tx("t1").await.unwrap(), "held by a");
    assert!(b.claim_tx("t2").await.unwrap(), "another transaction is free");
    a.release_tx("t1").await.unwrap();
    assert!(b.claim_tx("t1").await.unwrap());
    assert!(!a.claim_tx("t2").await.unwrap());

    // The lead: one replica; the other takes it when the leader is gone.
    assert!(a.lead().await.unwrap());
    assert!(a.lead().await.unwrap(), "kept");
    assert!(!b.lead().await.unwrap());

    // Nonces of (wallet, network): one holder at a time, the other waits for it; a replica
    // trusts what it remembers only if nobody else held the lock since.
    let first = a.lock_nonces("w1", "ethereum-sepolia").await.unwrap();
    assert!(!first.trusted, "never held before");
    let other_network = b.lock_nonces("w1", "polygon-amoy").await.unwrap();
    drop(other_network);
    let waiting = {
        let b = b.clone();
        tokio::spawn(async move { b.lock_nonces("w1", "ethereum-sepolia").await.map(|l| l.trusted) })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "b waits while a holds the lock");
    drop(first);
    assert!(!tokio::time::timeout(std::time::Duration::from_secs(5), waiting).await.unwrap().unwrap().unwrap(), "a held it last");
    assert!(b.lock_nonces("w1", "ethereum-sepolia").await.unwrap().trusted, "b held it last");
    assert!(!a.lock_nonces("w1", "ethereum-sepolia").await.unwrap().trusted);

    // A replica that dies (its connections closed) gives back its holds and the lead at once.
    let c = PgStore::open_replica(&url, &opts).await.unwrap();
    drop(a);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while !c.lead().await.unwrap() {
        assert!(tokio::time::Instant::now() < deadline, "the lead was not given back");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(!b.lead().await.unwrap());
    assert!(!c.claim_tx("t1").await.unwrap(), "b, alive, still holds t1");
}
