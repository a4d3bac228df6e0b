//! A chain adapter whose answers a test scripts (feature `test-utils`): the pipeline's state
//! machine, retries, delays and recovery run against it in milliseconds, without a node.
//!
//! By default every call succeeds: balances are large, a broadcast lands, and a landed
//! transaction is confirmed at the first status check. Queue other outcomes with the `push_*`
//! methods; each queued outcome answers one call, in order, then the default resumes.
//!
//! EVM nonces are modelled like a node does, per sender: a transaction whose nonce the
//! sender already used on chain is refused (`nonce too low`, stale) unless it is the very
//! transaction that used it (an idempotent re-broadcast); one with a nonce past the next is
//! held as pending until the gap is filled; `next_nonce` is the sender's count of landed
//! transactions. [`ScriptedAdapter::push_broadcast_hang`] stands for a process killed while
//! its bytes were on the way to the node: that broadcast never answers and nothing lands.

use super::{ChainAdapter, ChainError, ChainResult, DecodedTx, FeeEstimate, SignedTx, Simulation, TokenInfo, TxKind, TxStatus, UnsignedTx};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::SecretKey;
use crate::network::{Chain, Network};
use async_trait::async_trait;
use sha2::Digest;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Mutex;

/// What the scripted chain's bytes are: the sender, the transaction and its nonce.
type Body = (String, TxKind, Option<u64>);

/// A queued broadcast outcome.
enum Broadcast {
    /// Fails with the error; `true` when the transaction reached the chain anyway.
    Fail(ChainError, bool),
    /// Never answers (the caller was killed meanwhile); `true` when the bytes reached the
    /// chain first.
    Hang(bool),
}

/// What the scripted chain knows and what it will answer next.
#[derive(Default)]
struct Script {
    balance: u128,
    builds: VecDeque<ChainError>,
    nonces: VecDeque<ChainError>,
    simulations: VecDeque<ChainResult<Simulation>>,
    broadcasts: VecDeque<Broadcast>,
    statuses: VecDeque<ChainResult<TxStatus>>,
    /// Hashes of the transactions that reached the chain, in order.
    landed: Vec<String>,
    landed_set: HashSet<String>,
    /// EVM: per sender, the hash that used each nonce (contiguous from 0).
    used: HashMap<String, Vec<String>>,
    /// EVM: per sender, transactions waiting for a nonce gap to fill (nonce -> hash).
    held: HashMap<String, BTreeMap<u64, String>>,
    broadcast_calls: usize,
    build_calls: usize,
}

impl Script {
    /// The transaction reaches the chain (EVM: uses its nonce, then releases held ones).
    fn land(&mut self, hash: &str, body: Option<&Body>) -> ChainResult<()> {
        if self.landed_set.contains(hash) {
            return Ok(());
        }
        if let Some((from, _, Some(nonce))) = body {
            let next = self.used.get(from).map_or(0, Vec::len) as u64;
            if *nonce < next {
                return Err(ChainError::stale(format!("nonce too low: next nonce {next}, tx nonce {nonce}")));
            }
            if *nonce > next {
                self.held.entry(from.clone()).or_default().insert(*nonce, hash.to_string());
                return Ok(());
            }
            self.used.entry(from.clone()).or_default().push(hash.to_string());
            self.record(hash);
            loop {
                let next = self.used.get(from).map_or(0, Vec::len) as u64;
                let Some(h) = self.held.get_mut(from).and_then(|held| held.remove(&next)) else { break };
                self.used.entry(from.clone()).or_default().push(h.clone());
                self.record(&h);
            }
            return Ok(());
        }
        self.record(hash);
        Ok(())
    }

    fn record(&mut self, hash: &str) {
        if self.landed_set.insert(hash.to_string()) {
            self.landed.push(hash.to_string());
        }
    }

    fn is_held(&self, hash: &str) -> bool {
        self.held.values().any(|h| h.values().any(|x| x == hash))
    }
}

/// A scripted chain for one network.
pub struct ScriptedAdapter {
    network: Network,
    script: Mutex<Script>,
}

impl ScriptedAdapter {
    pub fn new(network: Network) -> ScriptedAdapter {
        ScriptedAdapter { network, script: Mutex::new(Script { balance: 1_000_000_000_000_000_000_000, ..Default::default() }) }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Script) -> T) -> T {
        f(&mut self.script.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The next `build` fails with `e`.
    pub fn push_build_error(&self, e: ChainError) {
        self.with(|s| s.builds.push_back(e));
    }
    /// The next `next_nonce` fails with `e`.
    pub fn push_nonce_error(&self, e: ChainError) {
        self.with(|s| s.nonces.push_back(e));
    }
    /// The next `simulate` answers `r`.
    pub fn push_simulation(&self, r: ChainResult<Simulation>) {
        self.with(|s| s.simulations.push_back(r));
    }
    /// The next `broadcast` fails with `e` (nothing reaches the chain).
    pub fn push_broadcast_error(&self, e: ChainError) {
        self.with(|s| s.broadcasts.push_back(Broadcast::Fail(e, false)));
    }
    /// The next `broadcast` reaches the chain but its answer is lost: the caller gets `e`.
    pub fn push_broadcast_lost_answer(&self, e: ChainError) {
        self.with(|s| s.broadcasts.push_back(Broadcast::Fail(e, true)));
    }
    /// The next `broadcast` never answers and nothing reaches the chain: the process that
    /// called it was killed before its bytes left.
    pub fn push_broadcast_hang(&self) {
        self.with(|s| s.broadcasts.push_back(Broadcast::Hang(false)));
    }
    /// The next `broadcast` reaches the chain, then never answers: the process that called
    /// it was killed before it heard back.
    pub fn push_broadcast_hang_after_landing(&self) {
        self.with(|s| s.broadcasts.push_back(Broadcast::Hang(true)));
    }
    /// Someone else (the same key used outside the daemon) sends a transaction from `from`
    /// that uses its next nonce; returns that nonce.
    pub fn use_next_nonce_elsewhere(&self, from: &str) -> u64 {
        self.with(|s| {
            let next = s.used.get(from).map_or(0, Vec::len) as u64;
            let hash = format!("0xforeign{from}{next}");
            let body: Body = (from.to_string(), TxKind::Transfer { to: String::new(), amount: 0, memo: None }, Some(next));
            let _ = s.land(&hash, Some(&body));
            next
        })
    }
    /// EVM: the hashes that used each nonce of `from`, in nonce order.
    pub fn nonces_used(&self, from: &str) -> Vec<String> {
        self.with(|s| s.used.get(from).cloned().unwrap_or_default())
    }
    /// The next `status` answers `r` (whatever the hash).
    pub fn push_status(&self, r: ChainResult<TxStatus>) {
        self.with(|s| s.statuses.push_back(r));
    }
    /// Hashes of the transactions that reached the chain, in order.
    pub fn landed(&self) -> Vec<String> {
        self.with(|s| s.landed.clone())
    }
    /// How many times `broadcast` was called (landed or not).
    pub fn broadcast_calls(&self) -> usize {
        self.with(|s| s.broadcast_calls)
    }
    /// How many times `build` was called (failed or not).
    pub fn build_calls(&self) -> usize {
        self.with(|s| s.build_calls)
    }
}

#[async_trait]
impl ChainAdapter for ScriptedAdapter {
    fn network(&self) -> Network {
        self.network
    }
    async fn balance(&self, _address: &str) -> ChainResult<u128> {
        Ok(self.with(|s| s.balance))
    }
    async fn token_balance(&self, _owner: &str, _token: &str) -> ChainResult<u128> {
        Ok(self.with(|s| s.balance))
    }
    async fn token_info(&self, token: &str) -> ChainResult<TokenInfo> {
        Ok(TokenInfo { address: token.to_string(), decimals: 6, symbol: Some("TKN".into()), program_id: None })
    }
    async fn next_nonce(&self, address: &str) -> ChainResult<Option<u64>> {
        if let Some(e) = self.with(|s| s.nonces.pop_front()) {
            return Err(e);
        }
        Ok(match self.network.chain() {
            Chain::Ethereum => Some(self.with(|s| s.used.get(address).map_or(0, Vec::len) as u64)),
            Chain::Solana => None,
        })
    }
    async fn build(&self, from: &str, kind: &TxKind, nonce: Option<u64>) -> ChainResult<UnsignedTx> {
        if let Some(e) = self.with(|s| {
            s.build_calls += 1;
            s.builds.pop_front()
        }) {
            return Err(e);
        }
        let body: Body = (from.to_string(), kind.clone(), nonce);
        let body = serde_json::to_vec(&body).map_err(|e| ChainError::permanent(ErrorCode::INTERNAL_ERROR, e.to_string()))?;
        let fee = FeeEstimate { estimated_fee: 21_000 * 1_000_000_000, gas_limit: Some(21_000), ..Default::default() };
        Ok(UnsignedTx {
            chain: self.network.chain(),
            network: self.network.id().to_string(),
            bytes: body,
            nonce,
            fee,
            last_valid_block_height: None,
            dry_run_passed: false,
        })
    }
    fn with_nonce(&self, tx: &UnsignedTx, nonce: u64) -> Option<UnsignedTx> {
        let (from, kind, _): Body = serde_json::from_slice(&tx.bytes).ok()?;
        let bytes = serde_json::to_vec(&(from, kind, Some(nonce))).ok()?;
        Some(UnsignedTx { bytes, nonce: Some(nonce), ..tx.clone() })
    }
    async fn simulate(&self, _from: &str, _tx: &UnsignedTx) -> ChainResult<Simulation> {
        self.with(|s| s.simulations.pop_front()).unwrap_or(Ok(Simulation { success: true, ..Default::default() }))
    }
    fn sign(&self, tx: &UnsignedTx, _key: &SecretKey) -> Result<SignedTx> {
        let hash = format!("0x{}", hex::encode(sha2::Sha256::digest(&tx.bytes)));
        Ok(SignedTx { raw: tx.bytes.clone(), hash })
    }
    async fn broadcast(&self, tx: &SignedTx) -> ChainResult<String> {
        let body: Option<Body> = serde_json::from_slice(&tx.raw).ok();
        let outcome = self.with(|s| {
            s.broadcast_calls += 1;
            match s.broadcasts.pop_front() {
                Some(Broadcast::Hang(lands)) => {
                    if lands {
                        let _ = s.land(&tx.hash, body.as_ref());
                    }
                    None
                }
                Some(Broadcast::Fail(e, lands)) => {
                    if lands {
                        let _ = s.land(&tx.hash, body.as_ref());
                    }
                    Some(Err(e))
                }
                None => Some(s.land(&tx.hash, body.as_ref()).map(|()| tx.hash.clone())),
            }
        });
        match outcome {
            Some(r) => r,
            None => std::future::pending().await,
        }
    }
    async fn status(&self, hash: &str) -> ChainResult<TxStatus> {
        self.with(|s| match s.statuses.pop_front() {
            Some(r) => r,
            None if s.landed_set.contains(hash) => Ok(TxStatus::Confirmed { block: 1 }),
            None if s.is_held(hash) => Ok(TxStatus::Pending),
            None => Ok(TxStatus::NotFound),
        })
    }
    async fn still_valid(&self, _tx: &UnsignedTx) -> ChainResult<bool> {
        Ok(true)
    }
    fn decode_external(&self, _raw: &[u8]) -> Result<DecodedTx> {
        Err(Error::new(ErrorCode::INVALID_TRANSACTION, "the scripted chain decodes no external transactions"))
    }
    fn sign_external(&self, _raw: &[u8], _key: &SecretKey) -> Result<SignedTx> {
        Err(Error::new(ErrorCode::INVALID_TRANSACTION, "the scripted chain signs no external transactions"))
    }
}
