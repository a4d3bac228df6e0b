#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test: a failed setup fails it")]
//! Encrypted backups in upstream's `.waiaas-backup` format: the upstream vector restores
//! here, ours round-trip and parse with upstream's header layout, and every failure
//! leaves nothing behind.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Instant;
use waiaas_core::backup::{inspect_backup, list_backups_in, restore_backup, BackupMetadata};
use waiaas_core::config::Config;
use waiaas_core::policies::CreatePolicy;
use waiaas_core::sessions::CreateSession;
use waiaas_core::wallets::CreateWallet;
use waiaas_core::{Caller, Engine, ErrorCode};

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/upstream");

fn readme() -> Value {
    serde_json::from_slice(&std::fs::read(format!("{VECTORS}/README.json")).unwrap()).unwrap()
}

fn vector() -> PathBuf {
    PathBuf::from(format!("{VECTORS}/backup-v1.waiaas-backup"))
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    v.sort();
    v
}

/// A wallet's signature verifies against its public key (EIP-191 for EVM, ed25519 for Solana).
async fn assert_signs(e: &Engine, id: &str, chain: &str, public_key: &str) {
    let msg = b"restored from backup".to_vec();
    // Keys are only reachable through an agent's gated request: sign-message of a session.
    let s = e.create_session(waiaas_core::sessions::CreateSession { wallet_id: Some(id.into()), ..Default::default() }).await.unwrap();
    let ctx = e.authenticate(&s.token).await.unwrap();
    let req = waiaas_core::transactions::SignMessage { message: Some(String::from_utf8(msg.clone()).unwrap()), ..Default::default() };
    let sig = e.sign_message(&ctx, req).await.unwrap().signature;
    if chain == "ethereum" {
        let raw = hex::decode(sig.trim_start_matches("0x")).unwrap();
        let signature = k256::ecdsa::Signature::from_slice(&raw[..64]).unwrap();
        let recid = k256::ecdsa::RecoveryId::from_byte(raw[64] - 27).unwrap();
        let digest = alloy_primitives::eip191_hash_message(&msg);
        let vk = k256::ecdsa::VerifyingKey::recover_from_prehash(digest.as_slice(), &signature, recid).unwrap();
        assert_eq!(waiaas_core::keystore::evm_address_of(&vk), public_key);
    } else {
        use ed25519_dalek::Verifier;
        let pk: [u8; 32] = bs58::decode(public_key).into_vec().unwrap().try_into().unwrap();
        let sig: [u8; 64] = bs58::decode(&sig).into_vec().unwrap().try_into().unwrap();
        ed25519_dalek::VerifyingKey::from_bytes(&pk).unwrap().verify(&msg, &ed25519_dalek::Signature::from_bytes(&sig)).unwrap();
    }
}

#[tokio::test]
async fn the_upstream_vector_restores_with_both_wallets_and_their_keys_sign() {
    let rm = readme();
    let pw = rm["password"].as_str().unwrap();
    let root = tempfile::tempdir().unwrap();
    let target = root.path().join("restored");

    let t = Instant::now();
    let (v, p, tg) = (vector(), pw.to_string(), target.clone());
    let report = tokio::task::spawn_blocking(move || restore_backup(&v, &p, &tg, false)).await.unwrap().unwrap();
    eprintln!("timing: restore of the upstream vector took {:?}", t.elapsed());

    assert_eq!(report.source, "upstream");
    assert_eq!(report.daemon_version, "2.15.0");
    assert_eq!(report.database_path, "data/waiaas.db");
    let import = report.upstream_import.as_ref().unwrap();
    assert_eq!(import.wallets, 2);
    assert_eq!(import.audit_entries, 2);
    assert_eq!(report.files.len(), 4, "{:?}", report.files);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(names_in(root.path()), vec!["restored"], "no staging dir is left behind");
    let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    for f in ["keystore/01a218ec-2778-7212-8f7c-c3e5eaaa4876.json", "config.toml", "data/waiaas.db"] {
        assert_eq!(std::fs::metadata(target.join(f)).unwrap().permissions().mode() & 0o777, 0o600, "{f}");
    }
    // The restored config.toml is upstream's and loads here.
    Config::load(&target.join("config.toml"), &[]).unwrap();

    let e = Engine::open(&target, Config::default(), pw).await.unwrap();
    let listed = e.list_wallets(&Caller::Master).await.unwrap().items;
    assert_eq!(listed.len(), 2);
    for (file, network) in [("keystore-solana.json", "solana-devnet"), ("keystore-evm.json", "ethereum-sepolia")] {
        let want = &rm[file];
        let w = listed.iter().find(|w| w.id == want["walletId"].as_str().unwrap()).expect("wallet restored");
        assert_eq!(w.public_key, want["publicKey"].as_str().unwrap());
        assert_eq!(w.network, network, "the default network comes from the key file");
        assert_eq!(serde_json::to_value(w.status).unwrap(), "ACTIVE");
        let rw = report.wallets.iter().find(|r| r.id == w.id).unwrap();
        assert!(rw.has_key_file);
        let t = Instant::now();
        assert_signs(&e, &w.id, want["chain"].as_str().unwrap(), &w.public_key).await;
        eprintln!("timing: first signature with restored {} key {:?}", want["chain"], t.elapsed());
    }
    // The upstream master password hash came along: a wrong password is refused.
    drop(e);
    let err = Engine::open(&target, Config::default(), "not-the-password").await.err().unwrap();
    assert_eq!(err.code, ErrorCode::INVALID_MASTER_PASSWORD);
}

#[tokio::test]
async fn the_upstream_vector_inspects_without_and_with_the_password() {
    let rm = readme();
    let pw = rm["password"].as_str().unwrap().to_string();
    let t = Instant::now();
    let i = inspect_backup(&vector(), None).unwrap();
    eprintln!("timing: inspect without password (header, metadata, checksum of 653 KB) {:?}", t.elapsed());
    assert_eq!(i.format_version, 1);
    assert_eq!(i.metadata_length, 518);
    assert_eq!(i.file_count, 4);
    assert_eq!(i.checksum_valid, Some(true));
    assert!(i.entries.is_none());
    assert_eq!(i.metadata.kdf, "argon2id");
    assert_eq!((i.metadata.kdf_params.memory_cost, i.metadata.kdf_params.time_cost, i.metadata.kdf_params.parallelism), (65536, 3, 4));
    assert_eq!(i.metadata.contents.database.name, "waiaas.db");
    assert_eq!(i.metadata.contents.keystore_files.len(), 2);

    let t = Instant::now();
    let with = tokio::task::spawn_blocking(move || inspect_backup(&vector(), Some(&pw))).await.unwrap().unwrap();
    eprintln!("timing: inspect with password (+ one Argon2id run and AES-GCM of 653 KB) {:?}", t.elapsed());
    let names: Vec<&str> = with.entries.as_ref().unwrap().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["waiaas.db", "config.toml", "keystore/01a218ec-2778-7212-8f7c-c3e5eaaa4876.json", "keystore/01a218ec-2813-7eb7-83d6-a19858b07acc.json"]);
    assert_eq!(with.entries.as_ref().unwrap()[0].size, i.metadata.contents.database.size);

    let err = inspect_backup(&vector(), Some("wrong-password")).unwrap_err();
    assert_eq!(err.code, ErrorCode::INVALID_MASTER_PASSWORD);

    // The list reads upstream files too.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(vector(), dir.path().join("backup-20261126-173419961.waiaas-backup")).unwrap();
    std::fs::write(dir.path().join("junk.waiaas-backup"), b"not a backup").unwrap();
    let list = list_backups_in(dir.path()).unwrap();
    assert_eq!(list.len(), 1, "unreadable files are skipped");
    assert_eq!(list[0].created_at, "2026-11-26T17:34:19.961Z");
    assert_eq!(list[0].file_count, 4);
}

const PW: &str = "backup-test-password";

fn wallet(name: &str, chain: &str) -> CreateWallet {
    CreateWallet { name: name.into(), chain: Some(chain.into()), create_session: Some(false), ..Default::default() }
}

struct Source {
    _dir: tempfile::TempDir,
    engine: Engine,
    token: String,
    backup: PathBuf,
}

/// An engine with two wallets, a session and a policy, and one backup of it.
async fn source() -> Source {
    let dir = tempfile::tempdir().unwrap();
    waiaas_core::datadir::init_layout(dir.path()).unwrap();
    let e = Engine::open(dir.path(), Config::default(), PW).await.unwrap();
    let sol = e.create_wallet(wallet("sol", "solana")).await.unwrap().wallet;
    let evm = e.create_wallet(wallet("evm", "ethereum")).await.unwrap().wallet;
    let s = e.create_session(CreateSession { wallet_ids: Some(vec![evm.id.clone(), sol.id.clone()]), ..Default::default() }).await.unwrap();
    e.create_policy(CreatePolicy {
        wallet_id: Some(evm.id.clone()),
        policy_type: "SPENDING_LIMIT".into(),
        rules: json!({"instant_max_usd": 1, "notify_max_usd": 2, "delay_max_usd": 100, "delay_seconds": 600}),
        priority: None,
        enabled: None,
        network: None,
    })
    .await
    .unwrap();
    let t = Instant::now();
    let info = e.create_backup().await.unwrap();
    eprintln!("timing: create_backup ({} bytes, {} files) took {:?}", info.size, info.file_count, t.elapsed());
    Source { _dir: dir, engine: e, token: s.token, backup: PathBuf::from(info.path) }
}

#[tokio::test]
async fn our_backup_has_upstreams_layout_and_round_trips() {
    let src = source().await;
    let e = &src.engine;

    // Listed, named like upstream's, mode 0600.
    let list = e.list_backups().await.unwrap();
    assert_eq!(list.len(), 1);
    let info = &list[0];
    assert_eq!(PathBuf::from(&info.path), src.backup);
    assert!(info.filename.starts_with("backup-") && info.filename.ends_with(".waiaas-backup"), "{}", info.filename);
    assert_eq!(info.filename.len(), "backup-20261126-173419961.waiaas-backup".len());
    assert_eq!(info.file_count, 4, "database, config.toml, two key files");
    assert_eq!(info.schema_version, e.health().await.schema_version);
    assert_eq!(std::fs::metadata(&src.backup).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(&src.backup).unwrap().len(), info.size);
    let body = e.backup_list().await.unwrap();
    assert_eq!((body.total, body.retention_count), (1, 7));
    assert_eq!(
        serde_json::to_value(&body.backups[0]).unwrap().as_object().unwrap().keys().cloned().collect::<Vec<_>>(),
        ["created_at", "daemon_version", "file_count", "filename", "path", "schema_version", "size"]
    );
    // Nothing else is left in the backups dir (the plaintext snapshot is gone).
    assert_eq!(names_in(&e.backups_dir()), vec![info.filename.clone()]);

    // Parse it the way upstream's readArchiveHeader / readArchiveMetadata do.
    let bytes = std::fs::read(&src.backup).unwrap();
    assert_eq!(&bytes[0..8], b"WAIAAS\x00\x01");
    assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]), 1);
    assert_eq!(u16::from_le_bytes([bytes[10], bytes[11]]), 0);
    let meta_len = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let meta: Value = serde_json::from_slice(&bytes[60..60 + meta_len]).unwrap();
    let keys: Vec<&String> = meta.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["checksum", "contents", "created_at", "daemon_version", "kdf", "kdf_params", "schema_version"]);
    assert_eq!(meta["kdf"], "argon2id");
    assert_eq!(meta["kdf_params"], json!({"memory_cost": 65536, "time_cost": 3, "parallelism": 4, "hash_length": 32}));
    assert_eq!(meta["contents"]["database"]["name"], "waiaas.db");
    assert_eq!(meta["contents"]["config"]["name"], "config.toml");
    assert_eq!(meta["contents"]["keystore_files"].as_array().unwrap().len(), 2);
    let ciphertext = &bytes[60 + meta_len..];
    assert_eq!(meta["checksum"], format!("sha256:{}", hex::encode(Sha256::digest(ciphertext))));
    let typed: BackupMetadata = serde_json::from_value(meta.clone()).unwrap();
    let db_size = typed.contents.database.size as usize;
    let plain_len: usize = 2
        + 9
        + 8
        + db_size
        + typed.contents.config.as_ref().map(|c| 2 + 11 + 8 + c.size as usize).unwrap()
        + typed.contents.keystore_files.iter().map(|k| 2 + 9 + k.name.len() + 8 + k.size as usize).sum::<usize>();
    assert_eq!(ciphertext.len(), plain_len, "GCM ciphertext is as long as the entries; the tag lives in the header");

    // Restore into a new dir and open it.
    let root = tempfile::tempdir().unwrap();
    let target = root.path().join("copy");
    let t = Instant::now();
    let (b, tg) = (src.backup.clone(), target.clone());
    let report = tokio::task::spawn_blocking(move || restore_backup(&b, PW, &tg, false)).await.unwrap().unwrap();
    eprintln!("timing: restore_backup of our backup took {:?}", t.elapsed());
    assert_eq!(report.source, "waiaas");
    assert!(report.upstream_import.is_none());
    // The one session of the backup is revoked by the restore, and the operator is told.
    assert_eq!(report.sessions_revoked, 1);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(report.warnings[0].contains("every session was revoked"), "{:?}", report.warnings);
    assert_eq!(names_in(root.path()), vec!["copy"]);
    assert_eq!(names_in(&target), ["backups", "config.toml", "data", "keystore", "logs"]);

    let t = Instant::now();
    let r = Engine::open(&target, Config::default(), PW).await.unwrap();
    eprintln!("timing: Engine::open of the restored dir took {:?}", t.elapsed());
    let before = e.list_wallets(&Caller::Master).await.unwrap().items;
    let after = r.list_wallets(&Caller::Master).await.unwrap().items;
    assert_eq!(before, after);
    // The session came along revoked (listed no more): the agent's token works on the source,
    // not on the restored data dir (a restore never revives a session).
    let (s1, s2) = (e.list_sessions(None, None, None).await.unwrap(), r.list_sessions(None, None, None).await.unwrap());
    assert_eq!((s1.total, s2.total), (1, 0));
    assert!(e.authenticate(&src.token).await.is_ok());
    assert!(r.authenticate(&src.token).await.is_err());
    let (p1, p2) = (e.list_policies(&Caller::Master, None, None, None).await.unwrap(), r.list_policies(&Caller::Master, None, None, None).await.unwrap());
    assert_eq!(p1.data, p2.data);
    assert_eq!(p2.total, 1);
    // The audit log came along (all but the BACKUP_CREATED entry, written after the snapshot).
    let q = waiaas_core::store::AuditQuery { limit: 1000, ..Default::default() };
    let (a1, _) = e.store().query_audit(&q).await.unwrap();
    let (a2, _) = r.store().query_audit(&q).await.unwrap();
    assert_eq!(a1[0].event_type, "BACKUP_CREATED");
    assert_eq!(a1[1..], a2[..]);
    // The restored keys sign (last: signing opens sessions and writes audit rows of its own).
    for w in &after {
        assert_signs(&r, &w.id, if w.chain.as_str() == "ethereum" { "ethereum" } else { "solana" }, &w.public_key).await;
    }

    // A backup of the restored dir works too, and the wrong password never opens it.
    drop(r);
    assert_eq!(Engine::open(&target, Config::default(), "wrong-password").await.err().unwrap().code, ErrorCode::INVALID_MASTER_PASSWORD);
}

#[tokio::test]
async fn bad_archives_and_targets_fail_cleanly_leaving_nothing() {
    let src = source().await;
    let good = std::fs::read(&src.backup).unwrap();
    let meta_len = u32::from_le_bytes(good[12..16].try_into().unwrap()) as usize;
    let root = tempfile::tempdir().unwrap();
    let target = root.path().join("target");

    let write = |name: &str, bytes: &[u8]| {
        let p = root.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let restore = |p: &Path, pw: &str| restore_backup(p, pw, &target, false);
    let untouched = |what: &str| {
        assert!(!target.exists(), "{what}: no target dir");
        assert!(names_in(root.path()).iter().all(|n| n.ends_with(".bin")), "{what}: no staging dir left: {:?}", names_in(root.path()));
    };

    // Wrong password: the Argon2 key does not open the payload.
    let t = Instant::now();
    let err = restore(&src.backup, "wrong-password").unwrap_err();
    eprintln!("timing: a refused wrong password took {:?}", t.elapsed());
    assert_eq!(err.code, ErrorCode::INVALID_MASTER_PASSWORD);
    untouched("wrong password");

    // One flipped ciphertext byte: caught by the checksum, before any Argon2 run.
    let mut bad = good.clone();
    let last = bad.len() - 10;
    bad[last] ^= 1;
    let p = write("flipped.bin", &bad);
    let t = Instant::now();
    assert_eq!(restore(&p, PW).unwrap_err().code, ErrorCode::BACKUP_CORRUPTED);
    assert!(t.elapsed().as_millis() < 2000);
    untouched("flipped payload byte");

    // A flipped byte in the tag (or salt, nonce): GCM refuses it.
    let mut bad = good.clone();
    bad[50] ^= 0x80;
    let p = write("tag.bin", &bad);
    assert_eq!(restore(&p, PW).unwrap_err().code, ErrorCode::INVALID_MASTER_PASSWORD);
    untouched("flipped tag byte");

    // A checksum edited to match a tampered payload still fails GCM.
    let mut bad = good.clone();
    let n = bad.len() - 1;
    bad[n] ^= 1;
    let sum = format!("sha256:{}", hex::encode(Sha256::digest(&bad[60 + meta_len..])));
    let meta = String::from_utf8(bad[60..60 + meta_len].to_vec()).unwrap();
    let old_sum = serde_json::from_str::<Value>(&meta).unwrap()["checksum"].as_str().unwrap().to_string();
    let meta = meta.replace(&old_sum, &sum);
    assert_eq!(meta.len(), meta_len);
    bad[60..60 + meta_len].copy_from_slice(meta.as_bytes());
    let p = write("resummed.bin", &bad);
    assert_eq!(restore(&p, PW).unwrap_err().code, ErrorCode::INVALID_MASTER_PASSWORD);
    untouched("payload and checksum both changed");

    // Truncations.
    for (name, cut, code) in [
        ("short.bin", 30, ErrorCode::INVALID_BACKUP_FORMAT),
        ("midmeta.bin", 60 + meta_len / 2, ErrorCode::INVALID_BACKUP_FORMAT),
        ("nopayload.bin", 60 + meta_len, ErrorCode::BACKUP_CORRUPTED),
        ("cut.bin", good.len() - 100, ErrorCode::BACKUP_CORRUPTED),
    ] {
        let p = write(name, &good[..cut]);
        assert_eq!(restore(&p, PW).unwrap_err().code, code, "{name}");
        untouched(name);
    }
    // Not a backup, another version, no file.
    let mut bad = good.clone();
    bad[0] = b'X';
    assert_eq!(restore(&write("magic.bin", &bad), PW).unwrap_err().code, ErrorCode::INVALID_BACKUP_FORMAT);
    let mut bad = good.clone();
    bad[8] = 2;
    assert_eq!(restore(&write("version.bin", &bad), PW).unwrap_err().code, ErrorCode::UNSUPPORTED_BACKUP_VERSION);
    assert_eq!(restore(&root.path().join("missing.bin"), PW).unwrap_err().code, ErrorCode::BACKUP_NOT_FOUND);
    untouched("bad headers");

    // A non-empty target is refused without force and left as it was.
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("precious.txt"), b"keep me").unwrap();
    let err = restore_backup(&src.backup, PW, &target, false).unwrap_err();
    assert_eq!(err.code, ErrorCode::VALIDATION_FAILED);
    assert_eq!(names_in(&target), ["precious.txt"]);

    // ... and refused even with force while a daemon (or an embedded engine) holds it.
    let lock = waiaas_core::datadir::DataDirLock::acquire(&target).unwrap();
    assert_eq!(restore_backup(&src.backup, PW, &target, true).unwrap_err().code, ErrorCode::SYSTEM_LOCKED);
    drop(lock);

    // With force, the old contents are kept aside.
    let report = restore_backup(&src.backup, PW, &target, true).unwrap();
    let prev = PathBuf::from(report.previous_dir.unwrap());
    assert_eq!(std::fs::read(prev.join("precious.txt")).unwrap(), b"keep me");
    assert!(target.join("data/waiaas.db").is_file());
    Engine::open(&target, Config::default(), PW).await.unwrap();
}

#[tokio::test]
async fn an_existing_empty_or_bare_dir_is_a_valid_target() {
    let src = source().await;
    let root = tempfile::tempdir().unwrap();
    // Empty.
    let empty = root.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let r = restore_backup(&src.backup, PW, &empty, false).unwrap();
    assert!(r.previous_dir.is_none());
    assert_eq!(r.wallets.len(), 2);
    // Only empty subdirs and a stale lock file.
    let bare = root.path().join("bare");
    for sub in ["keystore", "data", "logs", "backups"] {
        std::fs::create_dir_all(bare.join(sub)).unwrap();
    }
    std::fs::write(bare.join("daemon.lock"), b"").unwrap();
    let r = restore_backup(&src.backup, PW, &bare, false).unwrap();
    assert!(r.previous_dir.is_none());
    assert_eq!(names_in(root.path()), ["bare", "empty"], "the bare dir's leftovers are removed, nothing else remains");
    let e = Engine::open(&bare, Config::default(), PW).await.unwrap();
    assert_eq!(e.list_wallets(&Caller::Master).await.unwrap().items.len(), 2);
}
