//! The chain adapters of the engine, one per network, made on first use from the configured
//! RPC endpoints (or by the factory an embedder gave, e.g. the scripted adapter of the
//! tests).
//!
//! [`Chains`] is the service: the adapters made so far, the factory, the `[rpc]` endpoints,
//! the EVM fee cap and the metrics the RPC clients count under.

use crate::chain::ChainAdapter;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::network::Network;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// Builds the chain adapter of a network: the seam under the pipeline (`EngineBuilder::adapters`).
pub type AdapterFactory = Arc<dyn Fn(Network) -> Arc<dyn ChainAdapter> + Send + Sync>;

/// The chain adapters service.
pub struct Chains {
    /// Chain adapters by network id.
    adapters: Mutex<HashMap<String, Arc<dyn ChainAdapter>>>,
    /// Builds the chain adapter of a network (default: from the configured RPC endpoints).
    factory: Option<AdapterFactory>,
    /// `[rpc]` endpoints by key.
    rpc: BTreeMap<String, String>,
    /// `[evm]` fee cap, in wei.
    max_fee_cap_wei: Option<u128>,
    metrics: Arc<Metrics>,
    /// Turns at a network's node for the pipeline's confirmation checks, by network id
    /// ([`STATUS_CHECKS_AT_ONCE`]).
    status_turns: Mutex<HashMap<String, Arc<tokio::sync::Semaphore>>>,
}

/// How many confirmation checks (receipt lookups) of sent transactions go to one network's
/// node at once. A thousand sends in flight each wait for their receipt; unbounded, their
/// lookups crowd the node and the daemon while later sends of the same wallet are still
/// being broadcast. Each check holds its turn for one lookup only (not while it waits to
/// look again).
pub const STATUS_CHECKS_AT_ONCE: usize = 4;

impl Chains {
    pub fn new(config: &Config, factory: Option<AdapterFactory>, metrics: Arc<Metrics>) -> Chains {
        Chains {
            adapters: Mutex::default(),
            factory,
            rpc: config.rpc.clone(),
            max_fee_cap_wei: config.evm.max_fee_cap_wei(),
            metrics,
            status_turns: Mutex::default(),
        }
    }

    /// A turn for one confirmation check at `network`'s node ([`STATUS_CHECKS_AT_ONCE`]).
    /// (`None` only if the turns were closed, which they never are.)
    pub async fn status_turn(&self, network: Network) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let turns = {
            let mut map = self.status_turns.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(network.id().to_string()).or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(STATUS_CHECKS_AT_ONCE))).clone()
        };
        turns.acquire_owned().await.ok()
    }

    /// The adapter of a network (created on first use).
    pub fn adapter(&self, network: Network) -> Arc<dyn ChainAdapter> {
        let mut map = self.adapters.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(network.id().to_string())
            .or_insert_with(|| {
                if let Some(factory) = &self.factory {
                    return factory(network);
                }
                let configured = self.rpc.get(network.info().rpc_key).map(String::as_str);
                let rpc = crate::chain::rpc::RpcClient::new(network.rpc_urls(configured))
                    .with_metrics(crate::metrics::RpcMetrics { metrics: self.metrics.clone(), network: network.id().to_string() });
                crate::chain::registry::adapter_on(network, rpc, self.max_fee_cap_wei)
            })
            .clone()
    }
}
