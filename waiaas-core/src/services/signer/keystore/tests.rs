use super::*;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/upstream");

fn vectors_readme() -> serde_json::Value {
    serde_json::from_slice(&fs::read(format!("{VECTORS}/README.json")).unwrap()).unwrap()
}

/// Copy an upstream keystore file into a fresh keystore dir under its wallet id.
fn upstream_keystore(file: &str) -> (tempfile::TempDir, Keystore, String, String) {
    let readme = vectors_readme();
    let id = readme[file]["walletId"].as_str().unwrap().to_string();
    let pk = readme[file]["publicKey"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let ks = Keystore::new(dir.path().join("keystore")).unwrap();
    fs::copy(format!("{VECTORS}/{file}"), ks.path(&id)).unwrap();
    (dir, ks, id, pk)
}

#[test]
fn upstream_keystore_files_open_and_yield_their_addresses() {
    let password = vectors_readme()["password"].as_str().unwrap().to_string();
    for file in ["keystore-solana.json", "keystore-evm.json"] {
        let (_d, ks, id, pk) = upstream_keystore(file);
        assert_eq!(ks.verify(&id, password.as_bytes()).unwrap(), pk, "{file}");
        // The decrypted key itself derives the published address.
        let chain = ks.read(&id).unwrap().chain().unwrap();
        let derived = ks.with_secret(&SigningPermit::for_test(&id), password.as_bytes(), |s| derive_public_key(chain, s)).unwrap();
        assert_eq!(derived, pk);
    }
}

#[test]
fn wrong_password_is_invalid_master_password() {
    let (_d, ks, id, _) = upstream_keystore("keystore-evm.json");
    let e = ks.verify(&id, b"not-the-password").unwrap_err();
    assert_eq!(e.code, ErrorCode::INVALID_MASTER_PASSWORD);
}

#[test]
fn round_trip_both_chains_with_mode_0600() {
    let dir = tempfile::tempdir().unwrap();
    let ks = Keystore::new(dir.path().join("keystore")).unwrap();
    for (id, chain, net) in [("w-sol", Chain::Solana, "solana-devnet"), ("w-evm", Chain::Ethereum, "ethereum-sepolia")] {
        let pk = ks.create(id, chain, net, b"pw-123456").unwrap();
        let file = ks.read(id).unwrap();
        assert_eq!(file.public_key, pk);
        assert_eq!(file.curve, chain.curve());
        assert_eq!(file.crypto.kdfparams.memory_cost, 65536);
        assert_eq!(ks.verify(id, b"pw-123456").unwrap(), pk);
        let mode = fs::metadata(ks.path(id)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A second create for the same id never overwrites a key.
        assert!(ks.create(id, chain, net, b"pw-123456").is_err());
    }
    let mode = fs::metadata(ks.dir()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    assert_eq!(ks.wallet_ids().unwrap(), vec!["w-evm".to_string(), "w-sol".to_string()]);
}

#[test]
fn address_derivation_matches_published_vectors() {
    // Anvil / Hardhat dev account #0 and the web3.js docs account.
    for (key, addr) in [
        ("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
        ("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318", "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"),
    ] {
        let sk = SecretKey::from_bytes(Chain::Ethereum, &hex::decode(key).unwrap()).unwrap();
        assert_eq!(derive_public_key(Chain::Ethereum, &sk).unwrap(), addr);
    }
    // RFC 8032 §7.1 TEST 1 and TEST 2: secret seed -> public key.
    for (seed, pubkey) in [
        ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"),
        ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"),
    ] {
        let sk = SecretKey::from_bytes(Chain::Solana, &hex::decode(seed).unwrap()).unwrap();
        let b58 = derive_public_key(Chain::Solana, &sk).unwrap();
        assert_eq!(bs58::decode(&b58).into_vec().unwrap(), hex::decode(pubkey).unwrap());
    }
    // Solana's System Program id is the all-zero key: base58 of 32 zero bytes.
    assert_eq!(bs58::encode([0u8; 32]).into_string(), "11111111111111111111111111111111");
}

#[test]
fn rekey_stages_then_commits_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let ks = Keystore::new(dir.path().join("keystore")).unwrap();
    let pk = ks.create("a", Chain::Solana, "solana-devnet", b"old-password").unwrap();
    assert_eq!(ks.stage_rekey(b"old-password", b"new-password").unwrap(), 1);
    // Before commit the old file still opens with the old password.
    assert_eq!(ks.verify("a", b"old-password").unwrap(), pk);
    // A crash before the store committed the new hash: recovery with the old password discards.
    ks.recover_rekey(b"old-password").unwrap();
    assert_eq!(ks.verify("a", b"old-password").unwrap(), pk);
    assert!(!ks.next_path("a").exists());
    // Stage again; a crash after the store committed: recovery with the new password finishes.
    ks.stage_rekey(b"old-password", b"new-password").unwrap();
    ks.recover_rekey(b"new-password").unwrap();
    assert_eq!(ks.verify("a", b"new-password").unwrap(), pk);
    assert_eq!(ks.verify("a", b"old-password").unwrap_err().code, ErrorCode::INVALID_MASTER_PASSWORD);
}

#[test]
fn cached_kek_never_opens_a_key_for_a_wrong_password() {
    let dir = tempfile::tempdir().unwrap();
    let ks = Keystore::new(dir.path().join("keystore")).unwrap();
    ks.create("w", Chain::Ethereum, "ethereum-sepolia", b"right-password").unwrap();
    // A keystore of another process (nothing cached).
    let ks = Keystore::new(dir.path().join("keystore")).unwrap();
    let pk = ks.read("w").unwrap().public_key;
    let t = std::time::Instant::now();
    assert_eq!(ks.with_secret(&SigningPermit::for_test("w"), b"right-password", |s| derive_public_key(Chain::Ethereum, s)).unwrap(), pk);
    let first = t.elapsed();
    let t = std::time::Instant::now();
    for _ in 0..10 {
        ks.with_secret(&SigningPermit::for_test("w"), b"right-password", |_| Ok(())).unwrap();
    }
    assert!(t.elapsed() < first, "cached KEK: 10 openings cost less than one Argon2 run");
    assert_eq!(ks.with_secret(&SigningPermit::for_test("w"), b"wrong-password", |_| Ok(())).unwrap_err().code, ErrorCode::INVALID_MASTER_PASSWORD);
    assert_eq!(ks.with_secret(&SigningPermit::for_test("w"), b"right-password", |s| derive_public_key(Chain::Ethereum, s)).unwrap(), pk);
}

#[test]
fn the_kek_derived_to_create_a_key_is_cached_for_its_first_signature() {
    let dir = tempfile::tempdir().unwrap();
    let ks = Keystore::new(dir.path().join("keystore")).unwrap();
    ks.create("w", Chain::Ethereum, "ethereum-sepolia", b"pw").unwrap();
    let open = |ks: &Keystore| {
        let t = std::time::Instant::now();
        ks.with_secret(&SigningPermit::for_test("w"), b"pw", |_| Ok(())).unwrap();
        t.elapsed()
    };
    let cold = open(&Keystore::new(dir.path().join("keystore")).unwrap());
    let after_create = open(&ks);
    assert!(after_create * 20 < cold, "first opening after create {after_create:?}, with an Argon2 run {cold:?}");
}
