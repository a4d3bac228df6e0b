#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test: a failed setup fails it")]
//! The Solana adapter against a real `solana-test-validator` (one per test binary, shared
//! by the tests; see `waiaas_testnodes::solana`). The adapter poses as `solana-devnet`.
//! Balances are always read back from the node.

use serde_json::{json, Value};
use solana_hash::Hash;
use solana_instruction::Instruction;
use solana_message::{Message, VersionedMessage};
use solana_pubkey::Pubkey;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction::Signature;
use spl_associated_token_account_interface::address::get_associated_token_address_with_program_id as ata;
use std::str::FromStr;
use std::time::{Duration, Instant};
use waiaas_core::chain::rpc::RpcClient;
use waiaas_core::chain::solana::{SolanaAdapter, MEMO_PROGRAM_ID, SPL_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID};
use waiaas_core::chain::{AccountMetaReq, ChainAdapter, ErrorClass, SignedTx, TokenInfo, TxKind, TxStatus, UnsignedTx};
use waiaas_core::keystore::{derive_public_key, generate_secret, SecretKey};
use waiaas_core::network::{Chain, Network};
use waiaas_core::ErrorCode;
use waiaas_testnodes::solana::Validator;

const SOL: u64 = 1_000_000_000;

/// The shared validator (started on a blocking thread: the harness uses blocking HTTP).
async fn node() -> &'static Validator {
    tokio::task::spawn_blocking(waiaas_testnodes::solana::shared).await.expect("validator")
}

fn adapter_for(urls: Vec<String>) -> SolanaAdapter {
    SolanaAdapter::new(Network::parse("solana-devnet").unwrap(), RpcClient::new(urls))
}

async fn adapter() -> SolanaAdapter {
    adapter_for(vec![node().await.url.clone()])
}

struct Wallet {
    key: SecretKey,
    address: String,
    pubkey: Pubkey,
}

fn wallet() -> Wallet {
    let key = generate_secret(Chain::Solana);
    let address = derive_public_key(Chain::Solana, &key).unwrap();
    let pubkey = Pubkey::from_str(&address).unwrap();
    Wallet { key, address, pubkey }
}

/// A fresh wallet holding `lamports` from the faucet.
async fn funded(lamports: u64) -> Wallet {
    let w = wallet();
    let (node, address) = (node().await, w.address.clone());
    tokio::task::spawn_blocking(move || node.airdrop(&address, lamports)).await.unwrap();
    w
}

async fn wait_confirmed(a: &SolanaAdapter, signature: &str) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match a.status(signature).await.unwrap() {
            TxStatus::Confirmed { block } => return block,
            TxStatus::Failed { reason } => panic!("{signature} failed: {reason}"),
            s => assert!(Instant::now() < deadline, "{signature} still {s:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Build, simulate (must succeed), sign, broadcast and wait: the pipeline's path.
async fn send(a: &SolanaAdapter, w: &Wallet, kind: &TxKind) -> (UnsignedTx, SignedTx) {
    let tx = a.build(&w.address, kind, None).await.unwrap();
    let sim = a.simulate(&w.address, &tx).await.unwrap();
    assert!(sim.success, "simulation failed: {:?}\n{}", sim.error, sim.logs.join("\n"));
    assert!(sim.units_consumed.unwrap() > 0);
    let signed = a.sign(&tx, &w.key).unwrap();
    assert_eq!(a.broadcast(&signed).await.unwrap(), signed.hash);
    wait_confirmed(a, &signed.hash).await;
    (tx, signed)
}

fn token(mint: &Pubkey, decimals: u8) -> TokenInfo {
    TokenInfo { address: mint.to_string(), decimals, symbol: None, program_id: None }
}

async fn read(a: &SolanaAdapter, method: &str, params: Value) -> Value {
    a.rpc().read(method, params).await.unwrap()
}

/// Test-only: a transaction that needs a second signer (the new mint), signed by both
/// through `sign_external`, which fills one slot at a time.
async fn send_with_cosigner(a: &SolanaAdapter, payer: &Wallet, cosigner: &SecretKey, ixs: &[Instruction]) {
    let v = read(a, "getLatestBlockhash", json!([{"commitment": "confirmed"}])).await;
    let blockhash = Hash::from_str(v["value"]["blockhash"].as_str().unwrap()).unwrap();
    let message = VersionedMessage::Legacy(Message::new_with_blockhash(ixs, Some(&payer.pubkey), &blockhash));
    let raw = bincode::serialize(&VersionedTransaction { signatures: vec![Signature::default(); 2], message }).unwrap();
    let half = a.sign_external(&raw, cosigner).unwrap();
    let signed = a.sign_external(&half.raw, &payer.key).unwrap();
    a.broadcast(&signed).await.unwrap();
    wait_confirmed(a, &signed.hash).await;
}

/// Create a mint owned by `program` (decimals 6, authority `payer`) and mint `amount` to
/// `payer`'s associated token account.
async fn create_mint(a: &SolanaAdapter, payer: &Wallet, program: Pubkey, amount: u64) -> Pubkey {
    const MINT_LEN: u64 = 82;
    let mint_key = generate_secret(Chain::Solana);
    let mint = Pubkey::from_str(&derive_public_key(Chain::Solana, &mint_key).unwrap()).unwrap();
    let rent = read(a, "getMinimumBalanceForRentExemption", json!([MINT_LEN])).await.as_u64().unwrap();
    // The SPL Token builders insist on the SPL Token id; Token-2022 shares these layouts.
    let retarget = |mut ix: Instruction| {
        ix.program_id = program;
        ix
    };
    let me = payer.pubkey;
    let ixs = [
        solana_system_interface::instruction::create_account(&me, &mint, rent, MINT_LEN, &program),
        retarget(spl_token_interface::instruction::initialize_mint2(&SPL_TOKEN_PROGRAM_ID, &mint, &me, None, 6).unwrap()),
        spl_associated_token_account_interface::instruction::create_associated_token_account_idempotent(&me, &me, &mint, &program),
        retarget(spl_token_interface::instruction::mint_to(&SPL_TOKEN_PROGRAM_ID, &mint, &ata(&me, &mint, &program), &me, &[], amount).unwrap()),
    ];
    send_with_cosigner(a, payer, &mint_key, &ixs).await;
    mint
}

async fn rent_for(a: &SolanaAdapter, size: u64) -> u64 {
    read(a, "getMinimumBalanceForRentExemption", json!([size])).await.as_u64().unwrap()
}

#[tokio::test]
async fn transfer_lands_with_exact_amounts_and_a_valid_signature() {
    let a = adapter().await;
    let alice = funded(2 * SOL).await;
    let bob = wallet();
    let amount = 12_345_678u64;
    let before = a.balance(&alice.address).await.unwrap();
    assert_eq!(before, u128::from(2 * SOL));
    assert_eq!(a.balance(&bob.address).await.unwrap(), 0);

    let kind = TxKind::Transfer { to: bob.address.clone(), amount: amount.into(), memo: Some("rent for May".into()) };
    let (tx, signed) = send(&a, &alice, &kind).await;
    assert!(tx.fee.estimated_fee >= 5000, "{:?}", tx.fee);
    assert!(tx.last_valid_block_height.is_some());
    assert!(a.still_valid(&tx).await.unwrap());

    assert_eq!(a.balance(&bob.address).await.unwrap(), u128::from(amount));
    assert_eq!(a.balance(&alice.address).await.unwrap(), before - u128::from(amount) - tx.fee.estimated_fee);

    // The broadcast bytes carry a valid ed25519 signature by the wallet over the message.
    let legacy: solana_transaction::Transaction = bincode::deserialize(&signed.raw).unwrap();
    assert_eq!(legacy.message.account_keys[0], alice.pubkey);
    legacy.verify().unwrap();
    assert_eq!(legacy.signatures[0].to_string(), signed.hash);
    // And the decoder reads back what was built.
    let decoded = a.decode_external(&tx.bytes).unwrap();
    assert_eq!(decoded.native_value, u128::from(amount));
    assert_eq!(decoded.operations[0].to.as_deref(), Some(bob.address.as_str()));
    assert_eq!(decoded.operations[1].method.as_deref(), Some("memo"));
}

#[tokio::test]
async fn token_transfers_create_the_recipient_account_for_spl_and_token_2022() {
    let a = adapter().await;
    let alice = funded(2 * SOL).await;
    for (program, account_len) in [(SPL_TOKEN_PROGRAM_ID, 165), (TOKEN_2022_PROGRAM_ID, 170)] {
        let mint = create_mint(&a, &alice, program, 1_000_000).await;
        let info = a.token_info(&mint.to_string()).await.unwrap();
        assert_eq!((info.decimals, info.program_id.clone()), (6, Some(program.to_string())));
        assert_eq!(a.token_balance(&alice.address, &mint.to_string()).await.unwrap(), 1_000_000);

        let bob = wallet();
        assert_eq!(a.token_balance(&bob.address, &mint.to_string()).await.unwrap(), 0);
        let send_tokens = |amount: u128| TxKind::TokenTransfer { to: bob.address.clone(), amount, token: token(&mint, 6), memo: None };
        let (tx, _) = send(&a, &alice, &send_tokens(250_000)).await;
        // The recipient's ATA was created in the same transaction, its rent reported.
        assert_eq!(tx.fee.ata_rent, Some(rent_for(&a, account_len).await), "{program}");
        let bob_ata = ata(&bob.pubkey, &mint, &program);
        let owner = read(&a, "getAccountInfo", json!([bob_ata.to_string(), {"encoding": "base64", "commitment": "confirmed"}])).await;
        assert_eq!(owner["value"]["owner"], program.to_string());
        assert_eq!(a.token_balance(&bob.address, &mint.to_string()).await.unwrap(), 250_000);
        assert_eq!(a.token_balance(&alice.address, &mint.to_string()).await.unwrap(), 750_000);

        // Second transfer: the account exists, nothing to create.
        let (tx, _) = send(&a, &alice, &send_tokens(1)).await;
        assert_eq!(tx.fee.ata_rent, None);
        assert_eq!(a.token_balance(&bob.address, &mint.to_string()).await.unwrap(), 250_001);
    }
}

#[tokio::test]
async fn approve_sets_the_delegate() {
    let a = adapter().await;
    let alice = funded(SOL).await;
    for program in [SPL_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID] {
        let mint = create_mint(&a, &alice, program, 500).await;
        let spender = wallet();
        let kind = TxKind::Approve { spender: spender.address.clone(), amount: 123, token: token(&mint, 6) };
        send(&a, &alice, &kind).await;
        let account =
            read(&a, "getAccountInfo", json!([ata(&alice.pubkey, &mint, &program).to_string(), {"encoding": "jsonParsed", "commitment": "confirmed"}])).await;
        let info = &account["value"]["data"]["parsed"]["info"];
        assert_eq!(info["delegate"], spender.address, "{account}");
        assert_eq!(info["delegatedAmount"]["amount"], "123");
    }
}

#[tokio::test]
async fn a_batch_lands_in_one_transaction_or_not_at_all() {
    let a = adapter().await;
    let alice = funded(SOL).await;
    let (bob, carol) = (wallet(), wallet());
    let transfer = |to: &Wallet, amount: u64| TxKind::Transfer { to: to.address.clone(), amount: amount.into(), memo: None };
    let before = a.balance(&alice.address).await.unwrap();
    let batch = TxKind::Batch { instructions: vec![transfer(&bob, 1_000_000), transfer(&carol, 2_000_000)] };
    let (tx, signed) = send(&a, &alice, &batch).await;
    assert_eq!(a.decode_external(&signed.raw).unwrap().operations.len(), 2);
    assert_eq!(a.balance(&bob.address).await.unwrap(), 1_000_000);
    assert_eq!(a.balance(&carol.address).await.unwrap(), 2_000_000);
    assert_eq!(a.balance(&alice.address).await.unwrap(), before - 3_000_000 - tx.fee.estimated_fee);

    // The second item cannot be paid: the whole batch fails, the first item included.
    let doomed = TxKind::Batch { instructions: vec![transfer(&bob, 1_000_000), transfer(&carol, 10 * SOL)] };
    let tx = a.build(&alice.address, &doomed, None).await.unwrap();
    let sim = a.simulate(&alice.address, &tx).await.unwrap();
    assert!(!sim.success);
    assert!(sim.error.as_deref().unwrap().contains("instruction 1"), "{sim:?}");
    let err = a.broadcast(&a.sign(&tx, &alice.key).unwrap()).await.unwrap_err();
    assert_eq!((err.class, err.error.code), (ErrorClass::Permanent, ErrorCode::INSUFFICIENT_BALANCE), "{}", err.error);
    assert_eq!(a.balance(&bob.address).await.unwrap(), 1_000_000);
}

#[tokio::test]
async fn failing_program_calls_fail_simulation_and_are_not_sent() {
    let a = adapter().await;
    let alice = funded(SOL).await;
    let bob = wallet();
    let mint = create_mint(&a, &alice, SPL_TOKEN_PROGRAM_ID, 100).await;

    // More tokens than owned: the token program refuses.
    let kind = TxKind::TokenTransfer { to: bob.address.clone(), amount: 101, token: token(&mint, 6), memo: None };
    let tx = a.build(&alice.address, &kind, None).await.unwrap();
    let sim = a.simulate(&alice.address, &tx).await.unwrap();
    assert!(!sim.success);
    let error = sim.error.unwrap();
    assert!(error.contains("SPL Token") && error.contains("Insufficient funds"), "{error}");
    assert!(sim.logs.iter().any(|l| l.contains("insufficient funds")), "{:?}", sim.logs);
    // Were it sent anyway, preflight would refuse it, classified; nothing reaches the chain.
    let signed = a.sign(&tx, &alice.key).unwrap();
    let err = a.broadcast(&signed).await.unwrap_err();
    assert_eq!((err.class, err.error.code), (ErrorClass::Permanent, ErrorCode::INSUFFICIENT_TOKEN_BALANCE));
    assert_eq!(a.status(&signed.hash).await.unwrap(), TxStatus::NotFound);
    assert_eq!(a.token_balance(&bob.address, &mint.to_string()).await.unwrap(), 0);

    // A raw program call: the Memo program accepts UTF-8 and rejects anything else.
    let memo_call = |data: &[u8]| TxKind::ContractCall {
        to: MEMO_PROGRAM_ID.to_string(),
        calldata: data.to_vec(),
        value: 0,
        accounts: vec![AccountMetaReq { pubkey: alice.address.clone(), is_signer: true, is_writable: false }],
    };
    send(&a, &alice, &memo_call(b"paid by an agent")).await;
    let tx = a.build(&alice.address, &memo_call(&[0xff, 0xfe]), None).await.unwrap();
    let sim = a.simulate(&alice.address, &tx).await.unwrap();
    assert!(!sim.success);
    assert!(sim.error.as_deref().unwrap().contains("instruction 0 (Memo)"), "{sim:?}");
}

#[tokio::test]
async fn rebroadcasting_the_same_bytes_is_harmless() {
    let a = adapter().await;
    let alice = funded(SOL).await;
    let bob = wallet();
    let kind = TxKind::Transfer { to: bob.address.clone(), amount: 5_000_000, memo: None };
    let (_, signed) = send(&a, &alice, &kind).await;
    assert_eq!(a.broadcast(&signed).await.unwrap(), signed.hash);
    assert_eq!(a.broadcast(&signed).await.unwrap(), signed.hash);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(a.balance(&bob.address).await.unwrap(), 5_000_000);
}

#[tokio::test]
async fn an_unknown_blockhash_is_stale() {
    let a = adapter().await;
    let alice = funded(SOL).await;
    let kind = TxKind::Transfer { to: wallet().address, amount: 1_000_000, memo: None };
    let mut tx = a.build(&alice.address, &kind, None).await.unwrap();
    let mut parsed: VersionedTransaction = bincode::deserialize(&tx.bytes).unwrap();
    if let VersionedMessage::Legacy(m) = &mut parsed.message {
        m.recent_blockhash = Hash::new_from_array([9; 32]);
    }
    tx.bytes = bincode::serialize(&parsed).unwrap();
    assert!(!a.still_valid(&tx).await.unwrap());
    assert_eq!(a.simulate(&alice.address, &tx).await.unwrap_err().class, ErrorClass::Stale);
    let err = a.broadcast(&a.sign(&tx, &alice.key).unwrap()).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Stale, "{}", err.error);
}

#[tokio::test]
async fn a_dead_first_endpoint_fails_over() {
    let node = node().await;
    let a = adapter_for(vec!["http://127.0.0.1:1".into(), node.url.clone()]);
    let alice = funded(SOL).await;
    assert_eq!(a.balance(&alice.address).await.unwrap(), u128::from(SOL));
    let bob = wallet();
    send(&a, &alice, &TxKind::Transfer { to: bob.address.clone(), amount: 3_000_000, memo: None }).await;
    assert_eq!(a.balance(&bob.address).await.unwrap(), 3_000_000);
}
