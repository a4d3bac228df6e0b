//! A chain adapter whose answers a test scripts (feature `test-utils`): the pipeline's state
//! machine, retries, delays and recovery run against it in milliseconds, without a node.
//!
//! By default every call succeeds: balances are large, a broadcast lands, and a landed
//! transaction is confirmed at the first status check. Queue other outcomes with the `push_*`
//! methods; each queued outcome answers one call, in order, then the default resumes.

use super::{ChainAdapter, ChainError, ChainResult, DecodedTx, FeeEstimate, SignedTx, Simulation, TokenInfo, TxKind, TxStatus, UnsignedTx};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::SecretKey;
use crate::network::{Chain, Network};
use async_trait::async_trait;
use sha2::Digest;
use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

/// What the scripted chain knows and what it will answer next.
#[derive(Default)]
struct Script {
    balance: u128,
    builds: VecDeque<ChainError>,
    simulations: VecDeque<ChainResult<Simulation>>,
    /// Failing broadcasts: the error, and whether the transaction reached the chain anyway.
    broadcasts: VecDeque<(ChainError, bool)>,
    statuses: VecDeque<ChainResult<TxStatus>>,
    /// Hashes of the transactions that reached the chain, in order.
    landed: Vec<String>,
    landed_set: HashSet<String>,
    broadcast_calls: usize,
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
    /// The next `simulate` answers `r`.
    pub fn push_simulation(&self, r: ChainResult<Simulation>) {
        self.with(|s| s.simulations.push_back(r));
    }
    /// The next `broadcast` fails with `e` (nothing reaches the chain).
    pub fn push_broadcast_error(&self, e: ChainError) {
        self.with(|s| s.broadcasts.push_back((e, false)));
    }
    /// The next `broadcast` reaches the chain but its answer is lost: the caller gets `e`.
    pub fn push_broadcast_lost_answer(&self, e: ChainError) {
        self.with(|s| s.broadcasts.push_back((e, true)));
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
    async fn next_nonce(&self, _address: &str) -> ChainResult<Option<u64>> {
        Ok(match self.network.chain() {
            Chain::Ethereum => Some(self.with(|s| s.landed.len() as u64)),
            Chain::Solana => None,
        })
    }
    async fn build(&self, _from: &str, kind: &TxKind, nonce: Option<u64>) -> ChainResult<UnsignedTx> {
        if let Some(e) = self.with(|s| s.builds.pop_front()) {
            return Err(e);
        }
        let body = serde_json::to_vec(&(kind, nonce)).map_err(|e| ChainError::permanent(ErrorCode::INTERNAL_ERROR, e.to_string()))?;
        let fee = FeeEstimate { estimated_fee: 21_000 * 1_000_000_000, gas_limit: Some(21_000), ..Default::default() };
        Ok(UnsignedTx { chain: self.network.chain(), network: self.network.id().to_string(), bytes: body, nonce, fee, last_valid_block_height: None })
    }
    async fn simulate(&self, _from: &str, _tx: &UnsignedTx) -> ChainResult<Simulation> {
        self.with(|s| s.simulations.pop_front()).unwrap_or(Ok(Simulation { success: true, ..Default::default() }))
    }
    fn sign(&self, tx: &UnsignedTx, _key: &SecretKey) -> Result<SignedTx> {
        let hash = format!("0x{}", hex::encode(sha2::Sha256::digest(&tx.bytes)));
        Ok(SignedTx { raw: tx.bytes.clone(), hash })
    }
    async fn broadcast(&self, tx: &SignedTx) -> ChainResult<String> {
        self.with(|s| {
            s.broadcast_calls += 1;
            let failure = s.broadcasts.pop_front();
            if failure.as_ref().is_none_or(|(_, lands)| *lands) && s.landed_set.insert(tx.hash.clone()) {
                s.landed.push(tx.hash.clone());
            }
            match failure {
                Some((e, _)) => Err(e),
                None => Ok(tx.hash.clone()),
            }
        })
    }
    async fn status(&self, hash: &str) -> ChainResult<TxStatus> {
        self.with(|s| match s.statuses.pop_front() {
            Some(r) => r,
            None if s.landed_set.contains(hash) => Ok(TxStatus::Confirmed { block: 1 }),
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
