//! After wallets are created, no plaintext key bytes appear anywhere in the data dir.

use aes_gcm::aead::{Aead, KeyInit};
use base64::Engine as _;
use serde_json::{json, Value};
use waiaas_e2e::*;

/// Decrypt a keystore file independently of the core (which opens keys only for a policy
/// decision): upstream's `KeystoreFileV1` is Argon2id(password, salt) -> AES-256-GCM.
fn decrypt_keystore_file(path: &std::path::Path, password: &str) -> Vec<u8> {
    let f: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let c = &f["crypto"];
    let h = |v: &Value| hex::decode(v.as_str().unwrap()).unwrap();
    let n = |v: &Value| v.as_u64().unwrap() as u32;
    let k = &c["kdfparams"];
    let params = argon2::Params::new(n(&k["memoryCost"]), n(&k["timeCost"]), n(&k["parallelism"]), Some(32)).unwrap();
    let mut key = [0u8; 32];
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params).hash_password_into(password.as_bytes(), &h(&k["salt"]), &mut key).unwrap();
    let mut data = h(&c["ciphertext"]);
    data.extend(h(&c["authTag"]));
    aes_gcm::Aes256Gcm::new_from_slice(&key).unwrap().decrypt(aes_gcm::Nonce::from_slice(&h(&c["cipherparams"]["iv"])), data.as_slice()).unwrap()
}

fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn no_plaintext_key_bytes_anywhere_in_the_data_dir() {
    let mut d = Daemon::start(Options::default());
    let api = Api::new(&d.base);
    let mut ids = vec![];
    for (i, chain) in ["solana", "ethereum", "solana", "ethereum"].iter().enumerate() {
        let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": format!("w{i}"), "chain": chain}))).await;
        assert_eq!(w.status, 201);
        ids.push(w.body["id"].as_str().unwrap().to_string());
    }
    let dir = d.dir.clone();
    let _tmp = d.take_tmp();
    d.stop(); // flush the WAL into the database too
    let mut secrets: Vec<(String, Vec<u8>)> = vec![];
    for id in &ids {
        let bytes = decrypt_keystore_file(&dir.join("keystore").join(format!("{id}.json")), PASSWORD);
        // The 32 secret bytes (the ed25519 seed, or the secp256k1 scalar) in every encoding.
        let seed = bytes[..32].to_vec();
        secrets.push((format!("{id} raw"), seed.clone()));
        secrets.push((format!("{id} hex"), hex::encode(&seed).into_bytes()));
        secrets.push((format!("{id} HEX"), hex::encode_upper(&seed).into_bytes()));
        secrets.push((format!("{id} base58"), bs58::encode(&seed).into_string().into_bytes()));
        secrets.push((format!("{id} base64"), base64::engine::general_purpose::STANDARD.encode(&seed).into_bytes()));
        if bytes.len() == 64 {
            secrets.push((format!("{id} keypair base58"), bs58::encode(&bytes).into_string().into_bytes()));
        }
    }
    let mut files = vec![];
    walk(&dir, &mut files);
    assert!(files.len() >= 6, "{files:?}");
    let mut scanned = 0;
    for f in &files {
        let content = std::fs::read(f).unwrap();
        for (what, needle) in &secrets {
            assert!(!contains(&content, needle), "{what} found in {}", f.display());
        }
        scanned += content.len();
    }
    assert!(scanned > 4096);
    // And the key files really are the upstream format.
    for id in &ids {
        let f: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("keystore").join(format!("{id}.json"))).unwrap()).unwrap();
        assert_eq!(f["version"], 1);
        assert_eq!(f["crypto"]["kdf"], "argon2id");
        assert_eq!(f["crypto"]["cipher"], "aes-256-gcm");
        assert_eq!(f["metadata"]["name"], id.as_str());
    }
}
