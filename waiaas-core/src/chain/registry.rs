//! One adapter per network, created on first use from the configured RPC endpoints.

use super::rpc::RpcClient;
use super::ChainAdapter;
use crate::network::{Chain, Network};
use std::sync::Arc;

/// Build the adapter for `network` talking to `urls` (several = failover).
pub fn make_adapter(network: Network, urls: Vec<String>, evm_fee_cap_wei: Option<u128>) -> Arc<dyn ChainAdapter> {
    adapter_on(network, RpcClient::new(urls), evm_fee_cap_wei)
}

/// The adapter for `network` on an RPC client built by the caller (e.g. one that counts its calls).
pub fn adapter_on(network: Network, rpc: RpcClient, evm_fee_cap_wei: Option<u128>) -> Arc<dyn ChainAdapter> {
    let rpc = rpc.for_network(network.id());
    match network.chain() {
        Chain::Ethereum => Arc::new(super::evm::EvmAdapter::new(network, rpc, evm_fee_cap_wei)),
        Chain::Solana => Arc::new(super::solana::SolanaAdapter::new(network, rpc)),
    }
}
