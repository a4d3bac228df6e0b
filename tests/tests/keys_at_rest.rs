//! After wallets are created, no plaintext key bytes appear anywhere in the data dir.

use base64::Engine as _;
use serde_json::json;
use waiaas_core::keystore::Keystore;
use waiaas_e2e::*;

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
    let ks = Keystore::new(dir.join("keystore")).unwrap();
    let mut secrets: Vec<(String, Vec<u8>)> = vec![];
    for id in &ids {
        let bytes = ks.with_secret(id, PASSWORD.as_bytes(), |s| Ok(s.bytes().to_vec())).unwrap();
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
        let f: serde_json::Value = serde_json::from_slice(&std::fs::read(ks.path(id)).unwrap()).unwrap();
        assert_eq!(f["version"], 1);
        assert_eq!(f["crypto"]["kdf"], "argon2id");
        assert_eq!(f["crypto"]["cipher"], "aes-256-gcm");
        assert_eq!(f["metadata"]["name"], id.as_str());
    }
}
