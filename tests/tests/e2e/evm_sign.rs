//! Signing without sending, over HTTP: an external EIP-1559 transaction signed by the daemon
//! is accepted by a real node; personal_sign recovers to the wallet; calldata encoding.

use alloy_consensus::{SignableTransaction, TxEip1559};
use alloy_primitives::{Address, Bytes, TxKind, U256};
use serde_json::{json, Value};
use waiaas_e2e::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_transactions_and_messages_are_signed_by_the_wallet_key() {
    let node = tokio::task::block_in_place(|| waiaas_testnodes::anvil::Anvil::start(11155111));
    let d = Daemon::start(Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url).env("WAIAAS_PRICES_ETH", "2000"));
    let api = Api::new(&d.base);
    let (_, addr, token) = api.evm_wallet("signer").await;
    tokio::task::block_in_place(|| node.fund(&addr, 10u128.pow(20)));

    // personal_sign recovers to the wallet address.
    let r = api.call("POST", "/v1/transactions/sign-message", &token, Some(json!({"message": "hello agent"}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["signType"], "personal");
    let sig = hex::decode(r.body["signature"].as_str().unwrap().trim_start_matches("0x")).unwrap();
    let signature = k256::ecdsa::Signature::from_slice(&sig[..64]).unwrap();
    let recid = k256::ecdsa::RecoveryId::from_byte(sig[64] - 27).unwrap();
    let digest = alloy_primitives::eip191_hash_message(b"hello agent");
    let vk = k256::ecdsa::VerifyingKey::recover_from_prehash(digest.as_slice(), &signature, recid).unwrap();
    assert_eq!(waiaas_core::keystore::evm_address_of(&vk), addr);

    // An external unsigned EIP-1559 transfer: decoded, signed, and the node accepts it.
    let to: Address = waiaas_testnodes::anvil::DEV_ACCOUNTS[2].parse().unwrap();
    let tx = TxEip1559 {
        chain_id: 11155111,
        nonce: 0,
        gas_limit: 21_000,
        max_fee_per_gas: 20_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(to),
        value: U256::from(777u64),
        access_list: Default::default(),
        input: Bytes::new(),
    };
    let mut unsigned = vec![];
    tx.encode_for_signing(&mut unsigned);
    let r = api.call("POST", "/v1/transactions/sign", &token, Some(json!({"transaction": format!("0x{}", hex::encode(&unsigned))}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["operations"][0]["type"], "TRANSFER");
    assert_eq!(r.body["operations"][0]["amount"], "777");
    assert_eq!(r.body["policyResult"]["tier"], "INSTANT", "777 wei is far below the $10 INSTANT threshold");
    let before = tokio::task::block_in_place(|| node.rpc("eth_getBalance", json!([to.to_string(), "latest"])));
    let hash = tokio::task::block_in_place(|| node.rpc("eth_sendRawTransaction", json!([r.body["signedTransaction"]])));
    assert_eq!(hash, r.body["txHash"]);
    let receipt = tokio::task::block_in_place(|| node.receipt(hash.as_str().unwrap()));
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(receipt["from"].as_str().unwrap().to_lowercase(), addr.to_lowercase());
    let after = tokio::task::block_in_place(|| node.rpc("eth_getBalance", json!([to.to_string(), "latest"])));
    let v = |x: &Value| u128::from_str_radix(x.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert_eq!(v(&after) - v(&before), 777);
    // The signing is recorded as SIGNED.
    let t = api.call("GET", &format!("/v1/transactions/{}", r.body["id"].as_str().unwrap()), &token, None).await;
    assert_eq!(t.body["status"], "SIGNED");

    // Garbage and wrong-chain transactions are refused with a clear code.
    let r = api.call("POST", "/v1/transactions/sign", &token, Some(json!({"transaction": "0xdeadbeef"}))).await;
    assert_eq!((r.status, r.code()), (400, "INVALID_TRANSACTION"));
    let mut other = tx.clone();
    other.chain_id = 1;
    let mut raw = vec![];
    other.encode_for_signing(&mut raw);
    let r = api.call("POST", "/v1/transactions/sign", &token, Some(json!({"transaction": format!("0x{}", hex::encode(&raw))}))).await;
    assert_eq!((r.status, r.code()), (400, "CHAIN_ID_MISMATCH"));

    // Sign-only passes the same policy gate as a send: a call to a contract nobody
    // allowlisted is denied (default deny), and a value that needs DELAY cannot be signed
    // at once (a signature cannot wait); neither is signed, both are recorded CANCELLED.
    // (nonce 1: the transfer above used nonce 0; sign-only refuses any other than the next.)
    let mut call = tx.clone();
    call.nonce = 1;
    call.value = U256::ZERO;
    call.input = Bytes::from(vec![0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1]);
    let mut raw = vec![];
    call.encode_for_signing(&mut raw);
    let r = api.call("POST", "/v1/transactions/sign", &token, Some(json!({"transaction": format!("0x{}", hex::encode(&raw))}))).await;
    assert_eq!((r.status, r.code()), (403, "CONTRACT_CALL_DISABLED"), "{:?}", r.body);
    assert!(r.body.get("signedTransaction").is_none());
    let mut big = tx.clone();
    big.nonce = 1;
    big.value = U256::from(100_000_000_000_000_000u128); // 0.1 ETH = $200: DELAY by default thresholds
    let mut raw = vec![];
    big.encode_for_signing(&mut raw);
    let r = api.call("POST", "/v1/transactions/sign", &token, Some(json!({"transaction": format!("0x{}", hex::encode(&raw))}))).await;
    assert_eq!((r.status, r.code()), (403, "POLICY_DENIED"), "{:?}", r.body);
    assert_eq!(r.body["details"]["tier"], "DELAY");
    let listed = api.call("GET", "/v1/transactions?limit=2", &token, None).await;
    let items = listed.body["items"].as_array().unwrap();
    assert!(items.iter().all(|t| t["status"] == "CANCELLED" && t["txHash"].is_null()), "{items:?}");

    // Calldata encoding.
    let abi = json!([{"type": "function", "name": "transfer", "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}], "outputs": [{"type": "bool"}], "stateMutability": "nonpayable"}]);
    let r =
        api.call("POST", "/v1/utils/encode-calldata", &token, Some(json!({"abi": abi, "functionName": "transfer", "args": [to.to_string(), "1000"]}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["selector"], "0xa9059cbb");
    assert_eq!(r.body["calldata"].as_str().unwrap().len(), 2 + 8 + 128);
    drop(d);
    tokio::task::block_in_place(move || drop(node));
}
