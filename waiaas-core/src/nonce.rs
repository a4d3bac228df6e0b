//! The per-(wallet, network) nonce state the engine keeps and the pipeline drives: the one
//! owner that hands out nonces, and the turns to be decided or built ahead of it. A leaf
//! module (plain data), so the engine can hold it without depending on the pipeline.

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

/// How many transactions of one (wallet, network) are decided (policy and reservation) or
/// built and simulated at once. Their nonces, signatures and broadcasts are one at a time
/// anyway (the nonce owner); more work ahead of them only crowds the store's writer and the
/// node. Sends beyond it wait their turn in order.
const PREPARE_AHEAD: usize = 16;

/// The pipeline's per-(wallet, network) state: the nonce owner, and the turns to be decided
/// or built ahead of it ([`PREPARE_AHEAD`]).
#[derive(Debug)]
pub(crate) struct NonceSlot {
    pub(crate) owner: tokio::sync::Mutex<NonceOwner>,
    pub(crate) ahead: tokio::sync::Semaphore,
}

impl Default for NonceSlot {
    fn default() -> Self {
        NonceSlot { owner: Default::default(), ahead: tokio::sync::Semaphore::new(PREPARE_AHEAD) }
    }
}
