//! `[evm] max_fee_per_gas_gwei` reaches the EVM adapter: on anvil (base fee about 1 gwei plus a
//! 1 gwei tip) a cap of 1 gwei fails the send before signing, naming the fee and the cap; a cap
//! of 50 gwei lets it through with `maxFeePerGas` at most the cap.

use serde_json::json;
use std::time::Duration;
use waiaas_e2e::evm::Node;
use waiaas_e2e::*;

async fn send_with_cap(node: &Node, cap_gwei: &str) -> (Api, Auth, serde_json::Value) {
    let d = Daemon::start(
        Options::default()
            .env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url())
            .env("WAIAAS_PRICES_ETH", "2000")
            .env("WAIAAS_EVM_MAX_FEE_PER_GAS_GWEI", cap_gwei),
    );
    let api = Api::new(&d.base);
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "capped", "chain": "ethereum"}))).await;
    assert_eq!(w.status, 201, "{:?}", w.body);
    node.fund(w.body["publicKey"].as_str().unwrap(), 10u128.pow(18));
    let agent = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    let s = api
        .call("POST", "/v1/transactions/send", &agent, Some(json!({"type": "TRANSFER", "to": waiaas_testnodes::anvil::DEV_ACCOUNTS[3], "amount": "1000"})))
        .await;
    assert_eq!(s.status, 201, "{:?}", s.body);
    let tx = api.wait_tx(&agent, s.body["id"].as_str().unwrap(), IN_FLIGHT, Duration::from_secs(60)).await;
    // Keep the daemon alive until the transaction settled.
    drop(d);
    (api, agent, tx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_fee_cap_refuses_a_network_above_it_and_bounds_the_fee_below_it() {
    let node = Node::start(11155111);
    let (_, _, tx) = send_with_cap(&node, "1").await;
    assert_eq!(tx["status"], "FAILED", "{tx}");
    let error = tx["error"].as_str().unwrap_or_default();
    assert!(error.contains("exceeds the configured cap of 1000000000 wei/gas"), "{error}");
    assert!(tx["txHash"].is_null(), "nothing was signed: {tx}");

    let (_, _, tx) = send_with_cap(&node, "50").await;
    assert_eq!(tx["status"], "CONFIRMED", "{tx}");
    let mined = node.rpc("eth_getTransactionByHash", json!([tx["txHash"]]));
    let max_fee = u128::from_str_radix(mined["maxFeePerGas"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert!(max_fee <= 50_000_000_000, "maxFeePerGas {max_fee} within the 50 gwei cap");
}
