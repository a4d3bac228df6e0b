//! Arbitrary bytes into the EVM decoder of `POST /v1/transactions/sign`: it must never
//! panic, and whatever it accepts must describe itself and sign without panicking.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use waiaas_core::chain::evm::EvmAdapter;
use waiaas_core::chain::rpc::RpcClient;
use waiaas_core::chain::ChainAdapter;
use waiaas_core::keystore::SecretKey;
use waiaas_core::network::{Chain, Network};

fn adapter() -> &'static EvmAdapter {
    static ADAPTER: OnceLock<EvmAdapter> = OnceLock::new();
    // Decoding is pure: the RPC client is never used.
    ADAPTER.get_or_init(|| {
        EvmAdapter::new(Network::parse("ethereum-sepolia").expect("network"), RpcClient::new(vec![]), None)
    })
}

fuzz_target!(|data: &[u8]| {
    let adapter = adapter();
    if let Ok(decoded) = adapter.decode_external(data) {
        assert!((1..=2).contains(&decoded.operations.len()), "a call and at most its token meaning");
        let key = SecretKey::from_bytes(Chain::Ethereum, &[0x11; 32]).expect("key");
        let signed = adapter.sign_external(data, &key).expect("a decodable transaction signs");
        assert!(signed.hash.starts_with("0x") && signed.hash.len() == 66);
    }
});
