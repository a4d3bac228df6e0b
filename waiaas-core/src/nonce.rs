//! The per-(wallet, network) nonce state the engine keeps and the pipeline drives: the one
//! owner that hands out nonces, the turns to be decided and to be built ahead of it, and the fresh
//! transactions waiting for it. Plain data (no engine, no pipeline), so the engine can hold
//! it without depending on the pipeline.

use crate::chain::UnsignedTx;
use crate::services::signer::SigningPermit;

/// The nonce owner of one (wallet, network): its lock is held from nonce assignment to the
/// end of the broadcast. `next` is the nonce after the last fresh nonce this process
/// broadcast under it; it is forgotten on every other outcome (a refused, stale or
/// unconfirmed broadcast, a failure, a rebuild that kept its own nonce, a restart), and the
/// next nonce is then worked out again from the chain and the store (the pipeline's `assign_nonce`).
/// While it is known nothing else can have used a nonce at or past it: every nonce this
/// process hands out goes through this lock, and every held one was below it when it was
/// worked out.
#[derive(Debug, Default)]
pub(crate) struct NonceOwner {
    pub(crate) next: Option<u64>,
}

/// How many transactions of one (wallet, network) are decided (policy and reservation) at
/// once. Decisions of one wallet go through the store's one writer anyway; with group commit
/// more of them at once share commits (1,000 concurrent sends of one wallet decided in
/// 2.2–2.7 s with 64 against 3.5–4.9 s with 16 on the load bench, same build and machine).
/// Sends beyond it wait their turn in order.
const DECIDE_AHEAD: usize = 64;

/// How many transactions of one (wallet, network) are built and simulated at once. Their
/// nonces, signatures and broadcasts go through the nonce owner anyway (in batches of
/// whatever waits at its lock); more work ahead of them only crowds the node. Deciding and
/// building take separate turns, so the first sends are built (and broadcast) while later
/// ones are still being decided, instead of every send being decided before any is built
/// (both once waited in one line, and the decisions of all 1,000 came first).
const BUILD_AHEAD: usize = 16;

/// A fresh transaction (built and simulated, nothing signed) waiting for the nonce owner.
/// Whoever takes the owner's lock next takes every waiting one and handles them as one
/// batch: consecutive nonces, one key decryption, one store write, broadcasts in nonce order.
#[derive(Debug)]
pub(crate) struct Queued {
    pub(crate) id: String,
    pub(crate) tier: Option<String>,
    pub(crate) unsigned: UnsignedTx,
    pub(crate) permit: SigningPermit,
    /// How the batch left it; dropped unanswered (an internal error) means [`Handled::Again`].
    pub(crate) done: tokio::sync::oneshot::Sender<Handled>,
}

/// How a batch left a [`Queued`] transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handled {
    /// Its bytes are stored and the node took them: it is to be marked SUBMITTED.
    Broadcast,
    /// Nothing more to do here (FAILED, ended meanwhile, or left to the background check).
    Done,
    /// Not handled by the batch: run it again on its own.
    Again,
}

/// The pipeline's per-(wallet, network) state: the nonce owner, the turns to be decided
/// and to be built ahead of it ([`DECIDE_AHEAD`], [`BUILD_AHEAD`]), and the fresh transactions waiting for it.
#[derive(Debug)]
pub(crate) struct NonceSlot {
    pub(crate) owner: tokio::sync::Mutex<NonceOwner>,
    pub(crate) deciding: tokio::sync::Semaphore,
    pub(crate) building: tokio::sync::Semaphore,
    waiting: std::sync::Mutex<Vec<Queued>>,
}

impl NonceSlot {
    /// Wait for the owner with `q` (before taking the owner's lock).
    pub(crate) fn queue(&self, q: Queued) {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner()).push(q);
    }

    /// Every transaction waiting so far, in the order they came (under the owner's lock).
    pub(crate) fn take_waiting(&self) -> Vec<Queued> {
        std::mem::take(&mut *self.waiting.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Default for NonceSlot {
    fn default() -> Self {
        NonceSlot {
            owner: Default::default(),
            deciding: tokio::sync::Semaphore::new(DECIDE_AHEAD),
            building: tokio::sync::Semaphore::new(BUILD_AHEAD),
            waiting: Default::default(),
        }
    }
}
