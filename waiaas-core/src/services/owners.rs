//! The wallet owner: registration (master), verification, and the proofs of every owner
//! action. Every owner action is a signed message checked by
//! [`crate::auth::owner::check_proof`] and bound to a single-use nonce from
//! [`Owners::nonce_for`]. The owner's decisions on transactions waiting for approval use
//! these proofs (`approvals`).
//!
//! Owner states (derived): NONE (no owner), GRACE (registered by the operator, not yet
//! proven), LOCKED (the owner proved control with a signature; only then is the owner fixed).
//!
//! [`Owners`] is the service: the owner columns and used nonces of the store, the key/value
//! row of the nonce key, the wallets service, the audit log and the clock. The domain owner
//! messages must name is the caller's (`Engine::owner_domain`), given with each proof.

use crate::auth::owner::{check_proof, normalize_owner_address, OwnerAction, OwnerProof};
use crate::clock::Clock;
use crate::error::{wallet_not_found, Error, ErrorCode, Result};
use crate::services::audit::Audit;
use crate::services::wallets::Wallets;
use crate::store::{KvStore, OwnerStore, WalletRecord};
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// `GET /v1/nonce`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NonceResponse {
    pub nonce: String,
    pub expires_at: i64,
}

const KV_NONCE_KEY: &str = "owner_nonce_key";

/// The key nonces are minted under (random, kept in the store so every replica and a
/// restarted daemon accept them).
type NonceKey = zeroize::Zeroizing<[u8; 32]>;

/// What a nonce is bound to: an owner address, normalised so that either spelling of an
/// EVM address binds the same nonce (lower-case hex; Solana base58 as is).
pub fn nonce_binding(address: &str) -> Result<String> {
    let a = address.trim();
    if let Ok(evm) = a.parse::<alloy_primitives::Address>() {
        return Ok(format!("0x{}", hex::encode(evm.as_slice())));
    }
    match bs58::decode(a).into_vec() {
        Ok(b) if b.len() == 32 => Ok(a.to_string()),
        _ => Err(Error::validation("address", "must be an owner address (0x-prefixed 20-byte EVM or base58 32-byte Solana)")),
    }
}

fn nonce_mac(key: &[u8; 32], head: &[u8], binding: Option<&str>) -> [u8; 16] {
    use hmac::Mac;
    let mut m = crate::mac::hmac_sha256(key);
    m.update(b"waiaas-owner-nonce\0");
    m.update(head);
    m.update(&[binding.is_some() as u8]);
    m.update(binding.unwrap_or_default().as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&m.finalize().into_bytes()[..16]);
    out
}

/// A nonce: 32 bytes, 64 hex digits like upstream's: expiry (8 bytes, big endian), 8
/// random bytes, and a 16-byte MAC over both and the bound address (if any).
fn mint_nonce(key: &[u8; 32], expires_at: i64, binding: Option<&str>) -> String {
    let mut b = [0u8; 32];
    b[..8].copy_from_slice(&(expires_at as u64).to_be_bytes());
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b[8..16]);
    let tag = nonce_mac(key, &b[..16], binding);
    b[16..].copy_from_slice(&tag);
    hex::encode(b)
}

/// The canonical (lower-case) nonce and its expiry, when `nonce` was minted here, is
/// unexpired, and is unbound or bound to `binding`.
fn check_nonce(key: &[u8; 32], nonce: &str, binding: &str, now: i64) -> Option<(String, i64)> {
    use subtle::ConstantTimeEq;
    let b: [u8; 32] = hex::decode(nonce.trim()).ok()?.try_into().ok()?;
    let expires_at = u64::from_be_bytes(b[..8].try_into().ok()?) as i64;
    if expires_at <= now {
        return None;
    }
    let unbound = nonce_mac(key, &b[..16], None).as_slice().ct_eq(&b[16..]);
    let bound = nonce_mac(key, &b[..16], Some(binding)).as_slice().ct_eq(&b[16..]);
    bool::from(unbound | bound).then(|| (hex::encode(b), expires_at))
}

/// The owners service.
pub struct Owners {
    store: Arc<dyn OwnerStore>,
    kv: Arc<dyn KvStore>,
    wallets: Arc<Wallets>,
    audit: Arc<Audit>,
    clock: Arc<dyn Clock>,
    /// `security.nonce_ttl_sec`.
    nonce_ttl: i64,
    /// `security.owner_message_max_ttl_sec`.
    message_max_ttl: i64,
}

impl Owners {
    /// The service, with the nonce key made now if missing (issuing a nonce never writes the store).
    #[allow(clippy::too_many_arguments)] // the parts of one service
    pub async fn open(
        store: Arc<dyn OwnerStore>,
        kv: Arc<dyn KvStore>,
        wallets: Arc<Wallets>,
        audit: Arc<Audit>,
        clock: Arc<dyn Clock>,
        nonce_ttl: i64,
        message_max_ttl: i64,
    ) -> Result<Owners> {
        let owners = Owners { store, kv, wallets, audit, clock, nonce_ttl, message_max_ttl };
        owners.nonce_key().await?;
        Ok(owners)
    }

    /// A nonce, bound to `address` when given (`GET /v1/nonce?address=<owner>`: only that
    /// owner's signature can use it).
    ///
    /// Issuing stores nothing: the nonce carries its expiry and a MAC under a key of this
    /// daemon, and the store records a nonce only when an owner's valid signature uses it
    /// (until it expires, so a replay fails). There is no pool of issued nonces, so no
    /// client, from however many addresses, can fill one and keep an owner from getting a
    /// nonce (upstream's nonces were never checked; this daemon's first version stored them
    /// up to a global cap, which a flood from 127.0.0.2, .3, ... could fill). Used nonces
    /// are bounded by owners' own signed actions.
    pub async fn nonce_for(&self, address: Option<&str>) -> Result<NonceResponse> {
        let binding = address.filter(|a| !a.trim().is_empty()).map(nonce_binding).transpose()?;
        let key = self.nonce_key().await?;
        let expires_at = self.clock.now() + self.nonce_ttl;
        Ok(NonceResponse { nonce: mint_nonce(&key, expires_at, binding.as_deref()), expires_at })
    }

    /// The nonce key, created on first use (the engine does that when it opens).
    async fn nonce_key(&self) -> Result<NonceKey> {
        let parse = |raw: &str| -> Result<NonceKey> {
            let b: [u8; 32] = hex::decode(raw).ok().and_then(|b| b.try_into().ok()).ok_or_else(|| Error::internal("stored owner nonce key is corrupt"))?;
            Ok(zeroize::Zeroizing::new(b))
        };
        let store = &self.kv;
        if let Some(raw) = store.kv_get(KV_NONCE_KEY).await? {
            return parse(&raw);
        }
        let mut fresh = zeroize::Zeroizing::new([0u8; 32]);
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, fresh.as_mut());
        let raw = zeroize::Zeroizing::new(hex::encode(fresh.as_ref()));
        if store.kv_cas(KV_NONCE_KEY, None, &raw, self.clock.now()).await? {
            return Ok(fresh);
        }
        parse(&store.kv_get(KV_NONCE_KEY).await?.ok_or_else(|| Error::internal("owner nonce key vanished"))?)
    }

    /// Check an owner's proof for `action` against `owner` of a wallet on `chain`, then use
    /// its nonce: minted here, unexpired, unbound or bound to this owner, and not used before
    /// (a replay fails here with INVALID_NONCE). `domain` is the one the message must name.
    pub(crate) async fn accept_proof(&self, domain: &str, w: &WalletRecord, proof: &OwnerProof, action: &OwnerAction) -> Result<String> {
        let owner = w.owner_address.clone().ok_or_else(|| Error::new(ErrorCode::OWNER_NOT_CONNECTED, format!("Wallet '{}' has no owner", w.id)))?;
        let now = self.clock.now();
        let result = check_proof(w.chain, &owner, proof, domain, action, now, self.message_max_ttl);
        let nonce = match result {
            Ok(n) => n,
            Err(e) => {
                self.audit
                    .record(
                        "OWNER_AUTH_FAILED",
                        &proof.address,
                        Some(&w.id),
                        None,
                        Some(json!({"action": action.request_id(), "reason": e.message})),
                        "warning",
                        None,
                    )
                    .await;
                return Err(e);
            }
        };
        let key = self.nonce_key().await?;
        let fresh = check_nonce(&key, &nonce, &nonce_binding(&owner)?, now);
        let used = match fresh {
            Some((canonical, expires_at)) => self.store.use_owner_nonce(&canonical, expires_at, now).await?,
            None => false,
        };
        if !used {
            self.audit
                .record(
                    "OWNER_AUTH_FAILED",
                    &owner,
                    Some(&w.id),
                    None,
                    Some(json!({"action": action.request_id(), "reason": "nonce unknown, used or expired"})),
                    "warning",
                    None,
                )
                .await;
            return Err(Error::new(ErrorCode::INVALID_NONCE, "The message's nonce is unknown, already used or expired: get a new one from GET /v1/nonce"));
        }
        Ok(owner)
    }

    /// `PUT /v1/wallets/{id}/owner` (master): register or replace the owner while NONE/GRACE.
    pub async fn set_owner(&self, wallet_id: &str, owner_address: &str) -> Result<crate::api::types::WalletOwnerResponse> {
        let w = self.wallets.find(wallet_id).await?.ok_or_else(|| wallet_not_found(wallet_id))?;
        let addr = normalize_owner_address(w.chain, owner_address.trim())?;
        if w.owner_verified {
            return Err(Error::new(ErrorCode::OWNER_ALREADY_CONNECTED, "The owner is verified (LOCKED) and cannot be changed"));
        }
        if !self.store.set_owner(wallet_id, Some(&addr), self.clock.now()).await? {
            return Err(Error::new(ErrorCode::OWNER_ALREADY_CONNECTED, "The owner was verified concurrently and cannot be changed"));
        }
        self.audit.record("OWNER_REGISTERED", "master", Some(wallet_id), None, Some(json!({"ownerAddress": addr})), "info", None).await;
        let w = self.wallets.find(wallet_id).await?.ok_or_else(|| wallet_not_found(wallet_id))?;
        Ok(crate::api::types::WalletOwnerResponse {
            owner_state: crate::services::wallets::owner_state(&w).to_string(),
            id: w.id,
            name: w.name,
            chain: w.chain,
            network: w.network,
            environment: w.environment,
            public_key: w.public_key,
            status: w.status,
            owner_address: w.owner_address,
            owner_verified: w.owner_verified,
            approval_method: None,
            wallet_type: None,
            warning: None,
            updated_at: w.updated_at,
        })
    }

    /// `POST /v1/wallets/{id}/owner/verify` (owner): GRACE → LOCKED.
    pub async fn verify_owner(&self, domain: &str, wallet_id: &str, proof: &OwnerProof) -> Result<crate::api::types::OwnerVerifyResponse> {
        let w = self.wallets.find(wallet_id).await?.ok_or_else(|| wallet_not_found(wallet_id))?;
        let owner = self.accept_proof(domain, &w, proof, &OwnerAction::Verify(w.id.clone())).await?;
        self.mark_verified(&w.id, &owner, None).await?;
        Ok(crate::api::types::OwnerVerifyResponse { owner_state: "LOCKED".into(), owner_address: owner, owner_verified: true })
    }

    /// GRACE → LOCKED for `owner` of wallet `wallet_id` (audited when it changed; `details`
    /// say through which action). Returns whether it changed.
    pub(crate) async fn mark_verified(&self, wallet_id: &str, owner: &str, details: Option<Value>) -> Result<bool> {
        let changed = self.store.mark_owner_verified(wallet_id, owner, self.clock.now()).await?;
        if changed {
            self.audit.record("OWNER_VERIFIED", owner, Some(wallet_id), None, details, "info", None).await;
        }
        Ok(changed)
    }

    /// The owner(s) registered with `address` (either chain's spelling), for owner actions
    /// that are not about one wallet (the kill switch).
    pub(crate) async fn wallets_owned_by(&self, address: &str) -> Result<Vec<WalletRecord>> {
        let addr = address.trim();
        Ok(self
            .wallets
            .all()
            .await?
            .into_iter()
            .filter(|w| w.owner_address.is_some() && normalize_owner_address(w.chain, addr).ok() == w.owner_address)
            .collect())
    }

    /// Accept an owner's proof for a daemon-wide action: the signer must own some wallet.
    pub(crate) async fn accept_any_owner(&self, domain: &str, proof: &OwnerProof, action: &OwnerAction) -> Result<String> {
        let owned = self.wallets_owned_by(&proof.address).await?;
        let Some(w) = owned.first() else {
            return Err(Error::new(ErrorCode::INVALID_SIGNATURE, "X-Owner-Address is not the owner of any wallet"));
        };
        self.accept_proof(domain, w, proof, action).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_carry_expiry_and_binding_under_the_key() {
        let key = [7u8; 32];
        let owner = "0x52908400098527886E0F7030069857D2E4169EE7";
        let b = nonce_binding(owner).unwrap();
        assert_eq!(b, nonce_binding(&owner.to_lowercase()).unwrap(), "either spelling binds the same nonce");
        let unbound = mint_nonce(&key, 1000, None);
        let bound = mint_nonce(&key, 1000, Some(&b));
        assert_eq!((unbound.len(), bound.len()), (64, 64), "upstream's 64 hex digits");
        assert_eq!(check_nonce(&key, &unbound, &b, 999), Some((unbound.clone(), 1000)));
        assert_eq!(check_nonce(&key, &bound, &b, 999).map(|n| n.1), Some(1000));
        // Upper case is the same nonce (stored canonically, so a replay cannot change case).
        assert_eq!(check_nonce(&key, &bound.to_uppercase(), &b, 999).unwrap().0, bound);
        let other = nonce_binding("0x000000000000000000000000000000000000dEaD").unwrap();
        assert_eq!(check_nonce(&key, &bound, &other, 999), None, "bound to another owner");
        assert_eq!(check_nonce(&key, &bound, &b, 1000), None, "expired");
        assert_eq!(check_nonce(&[8u8; 32], &bound, &b, 999), None, "another daemon's key");
        // A forged expiry breaks the MAC.
        let mut raw = hex::decode(&bound).unwrap();
        raw[7] ^= 1;
        assert_eq!(check_nonce(&key, &hex::encode(raw), &b, 999), None);
        assert_eq!(check_nonce(&key, "not-hex", &b, 0), None);
        assert_eq!(nonce_binding("nope").unwrap_err().code, ErrorCode::ACTION_VALIDATION_FAILED);
    }
}
