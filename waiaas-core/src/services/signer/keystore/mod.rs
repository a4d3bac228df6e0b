//! Encrypted key files, one per wallet, in the upstream `KeystoreFileV1` format.
//!
//! `<data>/keystore/<walletId>.json`: Argon2id (m=64 MiB, t=3, p=4, 32 bytes) of the
//! master password with a per-file salt gives an AES-256-GCM key; the plaintext is the
//! 64-byte ed25519 keypair (Solana) or the 32-byte secp256k1 key (EVM). Files are written
//! atomically (temp file, fsync, rename) with mode 0600, so a file written by the
//! upstream daemon opens here and the other way round.
//!
//! Plaintext key bytes only exist inside [`Keystore::with_secret`] (the signing step) and
//! [`Keystore::rekey`], always in zeroizing buffers.

//!
//! The keystore lives inside the signer ([`super`]): the one function that decrypts a key,
//! [`Keystore::with_secret`], is visible to the signer alone and takes its [`SigningPermit`].

pub use crate::keys::{derive_public_key, evm_address_of, generate_secret, SecretKey};

use super::SigningPermit;
use crate::datadir::write_atomic;
use crate::error::{Error, ErrorCode, Result};
use crate::network::Chain;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Argon2id parameters of the keystore KDF (fixed by the upstream format).
pub const KDF_MEMORY_KIB: u32 = 65536;
pub const KDF_TIME: u32 = 3;
pub const KDF_PARALLELISM: u32 = 4;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KdfParams {
    pub salt: String,
    pub memory_cost: u32,
    pub time_cost: u32,
    pub parallelism: u32,
    pub hash_length: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CipherParams {
    pub iv: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CryptoSection {
    pub cipher: String,
    pub cipherparams: CipherParams,
    pub ciphertext: String,
    pub auth_tag: String,
    pub kdf: String,
    pub kdfparams: KdfParams,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeystoreMetadata {
    pub name: String,
    pub created_at: String,
    pub last_unlocked_at: Option<String>,
}

/// The upstream `KeystoreFileV1` JSON document.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeystoreFile {
    pub version: u32,
    pub id: String,
    pub chain: String,
    pub network: String,
    #[serde(default = "default_curve")]
    pub curve: String,
    pub public_key: String,
    pub crypto: CryptoSection,
    pub metadata: KeystoreMetadata,
}

fn default_curve() -> String {
    "ed25519".into()
}

impl KeystoreFile {
    pub fn chain(&self) -> Result<Chain> {
        self.chain.parse()
    }
}

fn corrupt(what: &str) -> Error {
    Error::internal(format!("keystore file is corrupt: {what}"))
}

/// Argon2id(password, salt) -> 32-byte AES key (also keys encrypted backups, see the `backup` module).
pub(crate) fn kdf(password: &[u8], salt: &[u8], p: &KdfParams) -> Result<Zeroizing<[u8; 32]>> {
    if p.hash_length != 32 {
        return Err(corrupt("hashLength must be 32"));
    }
    let params = argon2::Params::new(p.memory_cost, p.time_cost, p.parallelism, Some(32)).map_err(|e| corrupt(&format!("kdf params: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = Zeroizing::new([0u8; 32]);
    argon.hash_password_into(password, salt, key.as_mut()).map_err(|e| Error::internal(format!("argon2: {e}")))?;
    Ok(key)
}

/// Encrypt `secret` under `password` into the `crypto` section of a keystore file; the KEK
/// it derived is remembered in `cache` (the first signature then needs no Argon2 run).
fn encrypt(secret: &[u8], password: &[u8], cache: &KekCache) -> Result<CryptoSection> {
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    rand::rngs::OsRng.fill_bytes(&mut iv);
    let kdfparams = KdfParams { salt: hex::encode(salt), memory_cost: KDF_MEMORY_KIB, time_cost: KDF_TIME, parallelism: KDF_PARALLELISM, hash_length: 32 };
    let key = kdf(password, &salt, &kdfparams)?;
    cache.remember(password, &salt, &kdfparams, key.clone());
    let cipher = Aes256Gcm::new_from_slice(key.as_ref()).map_err(|_| Error::internal("aes key"))?;
    let mut out = cipher.encrypt(Nonce::from_slice(&iv), secret).map_err(|_| Error::internal("aes-gcm encryption failed"))?;
    let tag = out.split_off(out.len() - 16);
    Ok(CryptoSection {
        cipher: "aes-256-gcm".into(),
        cipherparams: CipherParams { iv: hex::encode(iv) },
        ciphertext: hex::encode(&out),
        auth_tag: hex::encode(tag),
        kdf: "argon2id".into(),
        kdfparams,
    })
}

/// Argon2 outputs already computed, by file salt, each tagged with an HMAC of the password
/// that produced it (under a random per-process key): a signature then costs one AES-GCM
/// decryption instead of a 64 MiB Argon2 run. Holding these is equivalent to holding the
/// master password, which the daemon does anyway to sign; plaintext keys are never cached.
#[derive(Clone, Default)]
pub struct KekCache {
    inner: std::sync::Arc<std::sync::Mutex<KekInner>>,
}

impl std::fmt::Debug for KekCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KekCache(<redacted>)")
    }
}

#[derive(Default)]
struct KekInner {
    mac_key: Option<Zeroizing<[u8; 32]>>,
    entries: std::collections::HashMap<String, ([u8; 32], Zeroizing<[u8; 32]>)>,
}

impl KekCache {
    fn tag(inner: &mut KekInner, password: &[u8]) -> [u8; 32] {
        use hmac::Mac;
        let key = inner.mac_key.get_or_insert_with(|| {
            let mut k = Zeroizing::new([0u8; 32]);
            rand::rngs::OsRng.fill_bytes(k.as_mut());
            k
        });
        let mut m = crate::mac::hmac_sha256(key.as_ref());
        m.update(password);
        m.finalize().into_bytes().into()
    }

    fn id(salt: &[u8], p: &KdfParams) -> String {
        format!("{}:{}:{}:{}", hex::encode(salt), p.memory_cost, p.time_cost, p.parallelism)
    }

    /// The KEK for `salt` under `password`, derived (and remembered) when not cached.
    fn get(&self, password: &[u8], salt: &[u8], p: &KdfParams) -> Result<Zeroizing<[u8; 32]>> {
        use subtle::ConstantTimeEq;
        let id = Self::id(salt, p);
        {
            let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            let tag = Self::tag(&mut inner, password);
            if let Some((t, kek)) = inner.entries.get(&id) {
                if bool::from(t.ct_eq(&tag)) {
                    return Ok(kek.clone());
                }
            }
        }
        let kek = kdf(password, salt, p)?;
        self.remember(password, salt, p, kek.clone());
        Ok(kek)
    }

    fn remember(&self, password: &[u8], salt: &[u8], p: &KdfParams, kek: Zeroizing<[u8; 32]>) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let tag = Self::tag(&mut inner, password);
        inner.entries.insert(Self::id(salt, p), (tag, kek));
    }

    /// Remember a KEK only after it proved right (a wrong password must not be cached).
    fn forget(&self, salt: &[u8]) {
        let prefix = hex::encode(salt);
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).entries.retain(|k, _| !k.starts_with(&prefix));
    }
}

/// Decrypt the `crypto` section (through the KEK cache when given); a wrong password is
/// `INVALID_MASTER_PASSWORD`.
fn decrypt_with(c: &CryptoSection, password: &[u8], cache: Option<&KekCache>) -> Result<Zeroizing<Vec<u8>>> {
    if c.cipher != "aes-256-gcm" || c.kdf != "argon2id" {
        return Err(corrupt("unsupported cipher or kdf"));
    }
    let salt = hex::decode(&c.kdfparams.salt).map_err(|_| corrupt("salt"))?;
    let iv = hex::decode(&c.cipherparams.iv).map_err(|_| corrupt("iv"))?;
    if iv.len() != 12 {
        return Err(corrupt("iv must be 12 bytes"));
    }
    let mut data = hex::decode(&c.ciphertext).map_err(|_| corrupt("ciphertext"))?;
    data.extend(hex::decode(&c.auth_tag).map_err(|_| corrupt("authTag"))?);
    if c.kdfparams.hash_length != 32 {
        return Err(corrupt("hashLength must be 32"));
    }
    let key = match cache {
        Some(cache) => cache.get(password, &salt, &c.kdfparams)?,
        None => kdf(password, &salt, &c.kdfparams)?,
    };
    let cipher = Aes256Gcm::new_from_slice(key.as_ref()).map_err(|_| Error::internal("aes key"))?;
    cipher.decrypt(Nonce::from_slice(&iv), data.as_slice()).map(Zeroizing::new).map_err(|_| {
        if let Some(cache) = cache {
            cache.forget(&salt);
        }
        Error::new(ErrorCode::INVALID_MASTER_PASSWORD, "Invalid master password")
    })
}

/// The keystore directory of a data dir.
#[derive(Debug, Clone)]
pub struct Keystore {
    dir: PathBuf,
    keks: KekCache,
}

impl Keystore {
    pub fn new(dir: impl Into<PathBuf>) -> Result<Keystore> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
        Ok(Keystore { dir, keks: KekCache::default() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self, wallet_id: &str) -> PathBuf {
        self.dir.join(format!("{wallet_id}.json"))
    }

    fn next_path(&self, wallet_id: &str) -> PathBuf {
        self.dir.join(format!("{wallet_id}.json.next"))
    }

    /// Generate a new key for `chain`, write its encrypted file, and return the public key
    /// (base58 for Solana, EIP-55 address for EVM). The plaintext is zeroized on return.
    pub fn create(&self, wallet_id: &str, chain: Chain, network: &str, password: &[u8]) -> Result<String> {
        let secret = generate_secret(chain);
        self.import(wallet_id, chain, network, &secret, password)
    }

    /// Encrypt an existing secret (used by `create` and by tests with known vectors).
    pub fn import(&self, wallet_id: &str, chain: Chain, network: &str, secret: &SecretKey, password: &[u8]) -> Result<String> {
        let public_key = derive_public_key(chain, secret)?;
        let file = KeystoreFile {
            version: 1,
            id: uuid::Uuid::new_v4().to_string(),
            chain: chain.as_str().into(),
            network: network.into(),
            curve: chain.curve().into(),
            public_key: public_key.clone(),
            crypto: encrypt(secret.bytes(), password, &self.keks)?,
            metadata: KeystoreMetadata { name: wallet_id.into(), created_at: crate::clock::iso_now(), last_unlocked_at: None },
        };
        let path = self.path(wallet_id);
        if path.exists() {
            return Err(Error::internal(format!("keystore file for {wallet_id} already exists")));
        }
        write_atomic(&path, &serde_json::to_vec_pretty(&file).map_err(Error::internal_from)?)?;
        Ok(public_key)
    }

    pub fn read(&self, wallet_id: &str) -> Result<KeystoreFile> {
        read_file(&self.path(wallet_id))
    }

    /// Decrypt the permitted wallet's key, check it matches the file's public key, and hand
    /// it to `f`. The plaintext is zeroized when `f` returns. This is the only way to a key,
    /// and it needs a [`SigningPermit`], which only the policy gate creates
    /// (see [`super`]).
    pub(super) fn with_secret<T>(&self, permit: &SigningPermit, password: &[u8], f: impl FnOnce(&SecretKey) -> Result<T>) -> Result<T> {
        let file = self.read(permit.wallet_id())?;
        let secret = open_file_with(&file, password, Some(&self.keks))?;
        f(&secret)
    }

    /// Check that `password` opens the wallet's key; returns its public key (the key itself
    /// never leaves this function).
    pub fn verify(&self, wallet_id: &str, password: &[u8]) -> Result<String> {
        let file = self.read(wallet_id)?;
        open_file_with(&file, password, Some(&self.keks))?;
        Ok(file.public_key)
    }

    /// Wallet ids that have a key file.
    pub fn wallet_ids(&self) -> Result<Vec<String>> {
        let mut ids = vec![];
        for e in fs::read_dir(&self.dir)? {
            let name = e?.file_name().to_string_lossy().to_string();
            if let Some(id) = name.strip_suffix(".json") {
                if !id.starts_with('.') {
                    ids.push(id.to_string());
                }
            }
        }
        ids.sort();
        Ok(ids)
    }

    pub fn delete(&self, wallet_id: &str) -> Result<()> {
        for p in [self.path(wallet_id), self.next_path(wallet_id)] {
            match fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Re-encrypt every key under a new password, in two phases so that at every moment
    /// each wallet has a file that opens with whichever password the store holds:
    /// 1. [`Keystore::stage_rekey`] writes `<id>.json.next` files under the new password
    ///    (the old files stay untouched);
    /// 2. after the new password hash is committed, [`Keystore::commit_rekey`] renames them
    ///    over the old files. [`Keystore::recover_rekey`] finishes or discards a half-done
    ///    change at start-up.
    pub fn stage_rekey(&self, old: &[u8], new: &[u8]) -> Result<usize> {
        let ids = self.wallet_ids()?;
        for id in &ids {
            let mut file = self.read(id)?;
            let secret = open_file(&file, old)?;
            file.crypto = encrypt(secret.bytes(), new, &self.keks)?;
            write_atomic(&self.next_path(id), &serde_json::to_vec_pretty(&file).map_err(Error::internal_from)?)?;
        }
        Ok(ids.len())
    }

    /// Phase 2 of a password change: replace every file by its staged `.next` version.
    pub fn commit_rekey(&self) -> Result<usize> {
        let mut n = 0;
        for id in self.staged_ids()? {
            fs::rename(self.next_path(&id), self.path(&id))?;
            n += 1;
        }
        if let Ok(d) = fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(n)
    }

    /// Drop staged files (a password change that did not commit).
    pub fn abort_rekey(&self) -> Result<()> {
        for id in self.staged_ids()? {
            fs::remove_file(self.next_path(&id))?;
        }
        Ok(())
    }

    /// At start-up, with the password the store accepts: staged files that open with it
    /// belong to a committed change and replace the old files; others are discarded.
    pub fn recover_rekey(&self, password: &[u8]) -> Result<()> {
        for id in self.staged_ids()? {
            let staged = read_file(&self.next_path(&id))?;
            if open_file(&staged, password).is_ok() {
                fs::rename(self.next_path(&id), self.path(&id))?;
            } else {
                fs::remove_file(self.next_path(&id))?;
            }
        }
        Ok(())
    }

    fn staged_ids(&self) -> Result<Vec<String>> {
        let mut ids = vec![];
        for e in fs::read_dir(&self.dir)? {
            let name = e?.file_name().to_string_lossy().to_string();
            if let Some(id) = name.strip_suffix(".json.next") {
                ids.push(id.to_string());
            }
        }
        Ok(ids)
    }
}

fn read_file(path: &Path) -> Result<KeystoreFile> {
    let bytes = fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::new(ErrorCode::WALLET_NOT_FOUND, "keystore file not found")
        } else {
            e.into()
        }
    })?;
    let file: KeystoreFile = serde_json::from_slice(&bytes).map_err(|e| corrupt(&e.to_string()))?;
    if file.version != 1 {
        return Err(corrupt("unsupported version"));
    }
    Ok(file)
}

/// Decrypt a file and check the key matches its public key.
fn open_file(file: &KeystoreFile, password: &[u8]) -> Result<SecretKey> {
    open_file_with(file, password, None)
}

fn open_file_with(file: &KeystoreFile, password: &[u8], cache: Option<&KekCache>) -> Result<SecretKey> {
    let chain = file.chain()?;
    let plain = decrypt_with(&file.crypto, password, cache)?;
    let secret = SecretKey::from_bytes(chain, &plain)?;
    if derive_public_key(chain, &secret)? != file.public_key {
        return Err(corrupt("key does not match publicKey"));
    }
    Ok(secret)
}

#[cfg(test)]
mod tests;
