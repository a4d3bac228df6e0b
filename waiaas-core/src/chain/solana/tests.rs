//! Unit tests that need no node: instruction building, the wire format, decoding,
//! signing and error classification. The real-validator tests are in
//! `waiaas-core/tests/solana_validator.rs`.

use super::build::{self, Token};
use super::errors::{rpc_failure, tx_failure};
use super::*;
use crate::chain::rpc::RpcError;
use crate::chain::AccountMetaReq;
use crate::keys::{derive_public_key, generate_secret};
use ed25519_dalek::Verifier as _;
use proptest::prelude::*;
use serde_json::json;
use solana_hash::Hash;
use solana_instruction::{AccountMeta, Instruction};
use solana_message::{v0, MessageHeader};
use solana_system_interface::instruction::SystemInstruction;
use std::str::FromStr;

fn adapter() -> SolanaAdapter {
    SolanaAdapter::new(Network::parse("solana-devnet").unwrap(), RpcClient::new(vec![]))
}

fn wallet() -> (SecretKey, Pubkey) {
    let key = generate_secret(Chain::Solana);
    let pk = Pubkey::from_str(&derive_public_key(Chain::Solana, &key).unwrap()).unwrap();
    (key, pk)
}

/// Wire bytes of an unsigned legacy transaction.
fn unsigned(ixs: &[Instruction], payer: &Pubkey) -> Vec<u8> {
    let message = VersionedMessage::Legacy(Message::new_with_blockhash(ixs, Some(payer), &Hash::new_from_array([7; 32])));
    let n = usize::from(message.header().num_required_signatures);
    wire::serialize(&VersionedTransaction { signatures: vec![Signature::default(); n], message }).unwrap()
}

fn unsigned_tx(bytes: Vec<u8>) -> UnsignedTx {
    UnsignedTx {
        chain: Chain::Solana,
        network: "solana-devnet".into(),
        bytes,
        nonce: None,
        fee: FeeEstimate::default(),
        last_valid_block_height: Some(100),
        dry_run_passed: false,
    }
}

fn spl(decimals: u8) -> Token {
    Token { mint: Pubkey::new_unique(), program: SPL_TOKEN_PROGRAM_ID, decimals }
}

fn verify(pk: &Pubkey, message: &[u8], signature: &[u8]) -> bool {
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&pk.to_bytes()).unwrap();
    let sig = ed25519_dalek::Signature::from_slice(signature).unwrap();
    vk.verify(message, &sig).is_ok()
}

// ---------------------------------------------------------------- building

#[test]
fn transfer_with_memo_is_a_system_transfer_then_a_memo() {
    let (from, to) = (Pubkey::new_unique(), Pubkey::new_unique());
    let ixs = build::transfer(&from, &to, 42, Some("invoice 7"));
    assert_eq!(ixs.len(), 2);
    assert_eq!(ixs[0], solana_system_interface::instruction::transfer(&from, &to, 42));
    assert_eq!(ixs[1].program_id, MEMO_PROGRAM_ID);
    assert_eq!(ixs[1].data, b"invoice 7");
    assert_eq!(ixs[1].accounts, vec![AccountMeta::new_readonly(from, true)]);
    assert_eq!(build::transfer(&from, &to, 1, None).len(), 1);
}

#[test]
fn token_transfer_targets_the_mint_program_and_creates_the_ata_first() {
    let (from, to) = (Pubkey::new_unique(), Pubkey::new_unique());
    for program in [SPL_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID] {
        let token = Token { program, ..spl(6) };
        let ixs = build::token_transfer(&token, &from, &to, 1_500_000, true, None).unwrap();
        assert_eq!(ixs.len(), 2);
        assert_eq!(ixs[0].program_id, ATA_PROGRAM_ID);
        assert_eq!(ixs[0].data, vec![1], "idempotent create");
        assert_eq!(ixs[0].accounts[1].pubkey, token.ata(&to));
        assert_eq!(ixs[0].accounts[5].pubkey, program);
        let t = &ixs[1];
        assert_eq!(t.program_id, program);
        let keys: Vec<Pubkey> = t.accounts.iter().map(|a| a.pubkey).collect();
        assert_eq!(keys, vec![token.ata(&from), token.mint, token.ata(&to), from]);
        let mut data = vec![12];
        data.extend_from_slice(&1_500_000u64.to_le_bytes());
        data.push(6);
        assert_eq!(t.data, data);
    }
    // The ATA depends on the program: the same owner and mint give different accounts.
    let mint = spl(0);
    assert_ne!(mint.ata(&to), Token { program: TOKEN_2022_PROGRAM_ID, ..mint }.ata(&to));
    let ixs = build::token_transfer(&mint, &from, &to, 1, false, Some("m")).unwrap();
    assert_eq!(ixs.iter().map(|i| i.program_id).collect::<Vec<_>>(), vec![SPL_TOKEN_PROGRAM_ID, MEMO_PROGRAM_ID]);
}

#[test]
fn approve_is_approve_checked_on_the_owner_ata() {
    let (owner, spender) = (Pubkey::new_unique(), Pubkey::new_unique());
    let token = Token { program: TOKEN_2022_PROGRAM_ID, ..spl(9) };
    let ix = build::approve(&token, &owner, &spender, 77).unwrap();
    assert_eq!(ix.program_id, TOKEN_2022_PROGRAM_ID);
    assert_eq!(ix.data[0], 13);
    assert_eq!(ix.accounts.iter().map(|a| a.pubkey).collect::<Vec<_>>(), vec![token.ata(&owner), token.mint, spender, owner]);
    assert!(ix.accounts[3].is_signer);
}

#[test]
fn contract_call_maps_accounts_and_refuses_other_signers_and_value() {
    let from = Pubkey::new_unique();
    let program = Pubkey::new_unique();
    let other = Pubkey::new_unique();
    let acct = |pk: &Pubkey, s, w| AccountMetaReq { pubkey: pk.to_string(), is_signer: s, is_writable: w };
    let ix = build::contract_call(&from, &program.to_string(), &[1, 2, 3], 0, &[acct(&from, true, true), acct(&other, false, false)]).unwrap();
    assert_eq!(ix.program_id, program);
    assert_eq!(ix.data, vec![1, 2, 3]);
    assert_eq!(ix.accounts, vec![AccountMeta::new(from, true), AccountMeta::new_readonly(other, false)]);

    let e = build::contract_call(&from, &program.to_string(), &[], 0, &[acct(&other, true, false)]).unwrap_err();
    assert_eq!(e.error.code, ErrorCode::ACTION_VALIDATION_FAILED);
    assert!(e.error.message.contains("accounts.0.isSigner"), "{}", e.error.message);
    assert_eq!(build::contract_call(&from, &program.to_string(), &[], 1, &[]).unwrap_err().error.code, ErrorCode::ACTION_VALIDATION_FAILED);
    let e = build::contract_call(&from, "not-base58!", &[], 0, &[]).unwrap_err();
    assert_eq!((e.class, e.error.code), (ErrorClass::Permanent, ErrorCode::INVALID_ADDRESS));
}

#[test]
fn amounts_must_fit_u64() {
    assert_eq!(build::amount_u64("amount", u128::from(u64::MAX)).unwrap(), u64::MAX);
    assert_eq!(build::amount_u64("amount", u128::from(u64::MAX) + 1).unwrap_err().error.code, ErrorCode::ACTION_VALIDATION_FAILED);
}

#[test]
fn token_2022_size_query_asks_for_immutable_owner() {
    let mint = Pubkey::new_unique();
    let ix = build::token_2022_ata_size_query(&mint);
    assert_eq!((ix.program_id, ix.data.as_slice()), (TOKEN_2022_PROGRAM_ID, &[21u8, 7, 0][..]));
    assert_eq!(ix.accounts, vec![AccountMeta::new_readonly(mint, false)]);
}

// ---------------------------------------------------------------- wire + signing

#[test]
fn sign_fills_the_fee_payer_slot_with_a_valid_signature() {
    let (key, me) = wallet();
    let bytes = unsigned(&build::transfer(&me, &Pubkey::new_unique(), 5, None), &me);
    let signed = adapter().sign(&unsigned_tx(bytes.clone()), &key).unwrap();
    let tx = wire::parse(&signed.raw).unwrap();
    let sig = tx.signatures[0];
    assert_eq!(signed.hash, sig.to_string());
    assert!(verify(&me, &wire::message_bytes(&tx.message).unwrap(), sig.as_ref()));
    // The message is untouched: same bytes after the signature section.
    assert_eq!(signed.raw[65..], bytes[65..]);
    // The legacy Transaction type agrees that it is fully and correctly signed.
    let legacy: solana_transaction::Transaction = bincode::deserialize(&signed.raw).unwrap();
    legacy.verify().unwrap();
}

#[test]
fn sign_refuses_foreign_keys_and_transactions_needing_other_signers() {
    let (key, me) = wallet();
    let (_, payer) = wallet();
    let foreign = unsigned(&build::transfer(&payer, &me, 5, None), &payer);
    assert_eq!(adapter().sign(&unsigned_tx(foreign), &key).unwrap_err().code, ErrorCode::WALLET_NOT_SIGNER);

    let (_, cosigner) = wallet();
    let two = unsigned(&[Instruction::new_with_bytes(Pubkey::new_unique(), &[], vec![AccountMeta::new(cosigner, true)])], &me);
    assert_eq!(adapter().sign(&unsigned_tx(two), &key).unwrap_err().code, ErrorCode::INVALID_TRANSACTION);

    let evm = generate_secret(Chain::Ethereum);
    let mine = unsigned(&build::transfer(&me, &payer, 5, None), &me);
    assert_eq!(adapter().sign(&unsigned_tx(mine), &evm).unwrap_err().code, ErrorCode::WALLET_NOT_SIGNER);
}

#[test]
fn sign_external_fills_each_signers_slot_in_turn() {
    let (payer_key, payer) = wallet();
    let (co_key, cosigner) = wallet();
    let ix = Instruction::new_with_bytes(Pubkey::new_unique(), &[9], vec![AccountMeta::new(cosigner, true)]);
    let raw = unsigned(&[ix], &payer);
    let a = adapter();

    // The co-signer first: the transaction id is not known until the fee payer signs.
    let partial = a.sign_external(&raw, &co_key).unwrap();
    assert_eq!(partial.hash, "");
    let full = a.sign_external(&partial.raw, &payer_key).unwrap();
    let tx = wire::parse(&full.raw).unwrap();
    assert_eq!(full.hash, tx.signatures[0].to_string());
    let legacy: solana_transaction::Transaction = bincode::deserialize(&full.raw).unwrap();
    legacy.verify().unwrap();

    let (stranger, _) = wallet();
    assert_eq!(a.sign_external(&raw, &stranger).unwrap_err().code, ErrorCode::WALLET_NOT_SIGNER);
}

#[test]
fn parse_rejects_malformed_input() {
    let (_, me) = wallet();
    let raw = unsigned(&build::transfer(&me, &Pubkey::new_unique(), 5, None), &me);
    let a = adapter();
    assert!(a.decode_external(&raw).is_ok());
    let code = |bytes: &[u8]| a.decode_external(bytes).unwrap_err().code;
    let mut trailing = raw.clone();
    trailing.push(0);
    assert_eq!(code(&trailing), ErrorCode::INVALID_TRANSACTION);
    assert_eq!(code(&raw[..raw.len() - 1]), ErrorCode::INVALID_TRANSACTION);
    assert_eq!(code(&[]), ErrorCode::INVALID_TRANSACTION);
    assert_eq!(code(&vec![0u8; PACKET_DATA_SIZE + 1]), ErrorCode::INVALID_TRANSACTION);
    // Two signatures for a message that needs one.
    let mut extra_sig = vec![2];
    extra_sig.extend_from_slice(&[0; 64]);
    extra_sig.extend_from_slice(&raw[1..]);
    assert_eq!(code(&extra_sig), ErrorCode::INVALID_TRANSACTION);
    // Instruction pointing past the account keys.
    let mut tx = wire::parse(&raw).unwrap();
    if let VersionedMessage::Legacy(m) = &mut tx.message {
        m.instructions[0].accounts[1] = 200;
    }
    assert_eq!(code(&bincode::serialize(&tx).unwrap()), ErrorCode::INVALID_TRANSACTION);
    // A non-canonical short_vec (1 encoded in two bytes).
    let mut alias = vec![0x81, 0x00];
    alias.extend_from_slice(&raw[1..]);
    assert_eq!(code(&alias), ErrorCode::INVALID_TRANSACTION);
}

// ---------------------------------------------------------------- decoding

/// (type, to, amount, token, method) of an operation.
type OpView<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>, Option<&'a str>);

#[test]
fn decode_reports_each_instruction() {
    let (_, me) = wallet();
    let (bob, spender) = (Pubkey::new_unique(), Pubkey::new_unique());
    let token = spl(6);
    let t22 = Token { program: TOKEN_2022_PROGRAM_ID, ..spl(2) };
    let program = Pubkey::new_unique();
    let mut ixs = build::transfer(&me, &bob, 1_000, Some("hi"));
    ixs.extend(build::token_transfer(&token, &me, &bob, 250, true, None).unwrap());
    ixs.extend(build::token_transfer(&t22, &me, &bob, 3, false, None).unwrap());
    ixs.push(build::approve(&token, &me, &spender, 9).unwrap());
    ixs.push(Instruction::new_with_bytes(program, &[1, 2], vec![AccountMeta::new(me, true)]));
    ixs.push(solana_system_interface::instruction::create_account(&me, &Pubkey::new_unique(), 500, 0, &program));
    ixs.push(Instruction::new_with_bytes(COMPUTE_BUDGET_PROGRAM_ID, &[2, 0, 0, 1, 0], vec![]));
    // create_account makes the new account a second signer.
    let d = adapter().decode_external(&unsigned(&ixs, &me)).unwrap();
    assert_eq!(d.fee_payer.as_deref(), Some(me.to_string().as_str()));
    assert_eq!(d.native_value, 1_500, "transfer + account creation");
    let ops: Vec<OpView> =
        d.operations.iter().map(|o| (o.op_type.as_str(), o.to.as_deref(), o.amount.as_deref(), o.token.as_deref(), o.method.as_deref())).collect();
    let (bob_s, mint_s, t22_mint_s) = (bob.to_string(), token.mint.to_string(), t22.mint.to_string());
    let t22_ata = t22.ata(&bob).to_string();
    assert_eq!(ops[0], ("TRANSFER", Some(bob_s.as_str()), Some("1000"), None, Some("transfer")));
    assert_eq!(ops[1], ("CONTRACT_CALL", None, None, None, Some("memo")));
    assert_eq!(ops[2], ("CONTRACT_CALL", None, None, None, Some("createIdempotent")));
    // The ATA program checks the created account's owner, so the recipient is named.
    assert_eq!(ops[3], ("TOKEN_TRANSFER", Some(bob_s.as_str()), Some("250"), Some(mint_s.as_str()), Some("transferChecked")));
    // No creation in this transaction: the destination token account is all we know.
    assert_eq!(ops[4], ("TOKEN_TRANSFER", Some(t22_ata.as_str()), Some("3"), Some(t22_mint_s.as_str()), Some("transferChecked")));
    assert_eq!(ops[5], ("APPROVE", Some(spender.to_string().as_str()), Some("9"), Some(mint_s.as_str()), Some("approveChecked")));
    assert_eq!(ops[6], ("CONTRACT_CALL", None, None, None, None));
    assert_eq!(d.operations[6].program_id, Some(program.to_string()));
    assert_eq!(ops[7].0, "CONTRACT_CALL");
    assert_eq!(ops[7].4, Some("createAccount"));
    assert_eq!(ops[8], ("CONTRACT_CALL", None, None, None, Some("setComputeUnitLimit")));
    assert_eq!(d.operations[4].program_id, Some(TOKEN_2022_PROGRAM_ID.to_string()));
}

#[test]
fn decode_handles_plain_token_transfer_without_mint() {
    let (_, me) = wallet();
    let (src, dst) = (Pubkey::new_unique(), Pubkey::new_unique());
    let ix = spl_token_interface::instruction::transfer(&SPL_TOKEN_PROGRAM_ID, &src, &dst, &me, &[], 12).unwrap();
    let d = adapter().decode_external(&unsigned(&[ix], &me)).unwrap();
    assert_eq!(d.operations[0].op_type, "TOKEN_TRANSFER");
    assert_eq!(d.operations[0].to, Some(dst.to_string()));
    assert_eq!(d.operations[0].token, None);
    assert_eq!(d.native_value, 0);
}

#[test]
fn authority_changes_closes_assigns_and_burns_are_classified() {
    use solana_system_interface::instruction as sys;
    use spl_token_interface::instruction as tok;
    let (_, me) = wallet();
    let (account, mint, attacker, program) = (Pubkey::new_unique(), Pubkey::new_unique(), Pubkey::new_unique(), Pubkey::new_unique());
    let nonce = Pubkey::new_unique();
    let ixs = vec![
        tok::set_authority(&SPL_TOKEN_PROGRAM_ID, &account, Some(&attacker), tok::AuthorityType::AccountOwner, &me, &[]).unwrap(),
        Instruction {
            program_id: TOKEN_2022_PROGRAM_ID,
            ..tok::set_authority(&SPL_TOKEN_PROGRAM_ID, &mint, None, tok::AuthorityType::MintTokens, &me, &[]).unwrap()
        },
        tok::close_account(&SPL_TOKEN_PROGRAM_ID, &account, &attacker, &me, &[]).unwrap(),
        sys::assign(&me, &program),
        tok::burn_checked(&SPL_TOKEN_PROGRAM_ID, &account, &mint, &me, &[], 5, 6).unwrap(),
        tok::approve(&SPL_TOKEN_PROGRAM_ID, &account, &attacker, &me, &[], 7).unwrap(),
        sys::authorize_nonce_account(&nonce, &me, &attacker),
        sys::withdraw_nonce_account(&nonce, &me, &attacker, 99),
        Instruction::new_with_bytes(TOKEN_2022_PROGRAM_ID, &[26, 1], vec![AccountMeta::new(account, false)]),
    ];
    let d = adapter().decode_external(&unsigned(&ixs, &me)).unwrap();
    let ops: Vec<OpView> =
        d.operations.iter().map(|o| (o.op_type.as_str(), o.to.as_deref(), o.amount.as_deref(), o.token.as_deref(), o.method.as_deref())).collect();
    let (account_s, mint_s, attacker_s, program_s) = (account.to_string(), mint.to_string(), attacker.to_string(), program.to_string());
    assert_eq!(ops[0], ("APPROVE", Some(attacker_s.as_str()), None, None, Some("setAuthority")));
    assert_eq!(ops[1], ("APPROVE", Some(mint_s.as_str()), None, None, Some("setAuthority")), "authority removed: the mint itself");
    assert_eq!(ops[2], ("APPROVE", Some(attacker_s.as_str()), None, None, Some("closeAccount")));
    assert_eq!(ops[3], ("APPROVE", Some(program_s.as_str()), None, None, Some("assign")));
    assert_eq!(ops[4], ("TOKEN_TRANSFER", Some(mint_s.as_str()), Some("5"), Some(mint_s.as_str()), Some("burnChecked")));
    assert_eq!(ops[5], ("APPROVE", Some(attacker_s.as_str()), Some("7"), None, Some("approve")));
    assert_eq!(ops[6], ("APPROVE", Some(attacker_s.as_str()), None, None, Some("authorizeNonceAccount")));
    assert_eq!(ops[7], ("TRANSFER", Some(attacker_s.as_str()), Some("99"), None, Some("withdrawNonceAccount")));
    assert_eq!(ops[8], ("APPROVE", Some(account_s.as_str()), None, None, Some("extension26")));
    assert_eq!(d.native_value, 99);
    // A CONTRACT_CALL send of the same instruction is classified the same way.
    let accounts: Vec<AccountMetaReq> =
        ixs[2].accounts.iter().map(|a| AccountMetaReq { pubkey: a.pubkey.to_string(), is_signer: a.is_signer, is_writable: a.is_writable }).collect();
    let op = describe_instruction(&SPL_TOKEN_PROGRAM_ID.to_string(), &ixs[2].data, &accounts).unwrap();
    assert_eq!(op, d.operations[2]);
    let op = describe_instruction(&MEMO_PROGRAM_ID.to_string(), b"hi", &[]).unwrap();
    assert_eq!((op.op_type.as_str(), op.method.as_deref()), ("CONTRACT_CALL", Some("memo")));
}

#[test]
fn durable_nonce_transactions_are_refused_and_fees_are_counted() {
    use solana_system_interface::instruction as sys;
    let (key, me) = wallet();
    let (nonce, bob) = (Pubkey::new_unique(), Pubkey::new_unique());
    let a = adapter();
    let durable = unsigned(&[sys::advance_nonce_account(&nonce, &me), sys::transfer(&me, &bob, 1)], &me);
    let e = a.decode_external(&durable).unwrap_err();
    assert_eq!(e.code, ErrorCode::INVALID_TRANSACTION);
    assert!(e.message.contains("durable-nonce"), "{}", e.message);
    assert_eq!(a.sign_external(&durable, &key).unwrap_err().code, ErrorCode::INVALID_TRANSACTION);
    // Elsewhere than first it does not make the transaction durable.
    let later = unsigned(&[sys::transfer(&me, &bob, 1), sys::advance_nonce_account(&nonce, &me)], &me);
    assert_eq!(a.decode_external(&later).unwrap().operations[1].method.as_deref(), Some("advanceNonceAccount"));

    // One signature, no compute budget: the base fee.
    let plain = a.decode_external(&unsigned(&[sys::transfer(&me, &bob, 1)], &me)).unwrap();
    assert_eq!(plain.max_fee, u128::from(LAMPORTS_PER_SIGNATURE));
    // A priority fee: price (micro-lamports per unit) × limit, rounded up.
    let budget = |tag: u8, v: &[u8]| Instruction::new_with_bytes(COMPUTE_BUDGET_PROGRAM_ID, &[&[tag][..], v].concat(), vec![]);
    let priced = [budget(2, &300_000u32.to_le_bytes()), budget(3, &2_000_001u64.to_le_bytes()), sys::transfer(&me, &bob, 1)];
    let d = a.decode_external(&unsigned(&priced, &me)).unwrap();
    assert_eq!(d.max_fee, 5_000 + 600_001);
    // Without a limit: 200k units per other instruction; never more than 1.4M units.
    let d = a.decode_external(&unsigned(&[budget(3, &1_000_000u64.to_le_bytes()), sys::transfer(&me, &bob, 1)], &me)).unwrap();
    assert_eq!(d.max_fee, 5_000 + 200_000);
    let huge = [budget(2, &u32::MAX.to_le_bytes()), budget(3, &u64::MAX.to_le_bytes())];
    let d = a.decode_external(&unsigned(&huge, &me)).unwrap();
    assert_eq!(d.max_fee, 5_000 + (u128::from(u64::MAX) * 1_400_000).div_ceil(1_000_000));
}

#[test]
fn decode_rejects_what_it_cannot_explain() {
    let (_, me) = wallet();
    let a = adapter();
    let code = |ix: Instruction| a.decode_external(&unsigned(&[ix], &me)).unwrap_err().code;
    // System instruction data the system program would refuse.
    assert_eq!(
        code(Instruction::new_with_bytes(solana_system_interface::program::ID, &[2, 0], vec![AccountMeta::new(me, true)])),
        ErrorCode::INVALID_TRANSACTION
    );
    // Token transfer missing its amount bytes.
    assert_eq!(code(Instruction::new_with_bytes(SPL_TOKEN_PROGRAM_ID, &[12, 1, 2], vec![AccountMeta::new(me, true)])), ErrorCode::INVALID_TRANSACTION);
    // Token batch.
    assert_eq!(code(Instruction::new_with_bytes(TOKEN_2022_PROGRAM_ID, &[255, 0], vec![AccountMeta::new(me, true)])), ErrorCode::INVALID_TRANSACTION);
    // A transfer whose destination account is missing.
    let data = bincode::serialize(&SystemInstruction::Transfer { lamports: 1 }).unwrap();
    assert_eq!(
        code(Instruction::new_with_bytes(solana_system_interface::program::ID, &data, vec![AccountMeta::new(me, true)])),
        ErrorCode::INVALID_TRANSACTION
    );
}

/// A v0 transaction whose instruction 0 uses `accounts` (index 2 = first lookup-table account).
fn v0_tx(payer: Pubkey, program: Pubkey, data: Vec<u8>, accounts: Vec<u8>) -> Vec<u8> {
    let message = v0::Message {
        header: MessageHeader { num_required_signatures: 1, num_readonly_signed_accounts: 0, num_readonly_unsigned_accounts: 1 },
        account_keys: vec![payer, program],
        recent_blockhash: Hash::new_from_array([1; 32]),
        instructions: vec![solana_message::compiled_instruction::CompiledInstruction { program_id_index: 1, accounts, data }],
        address_table_lookups: vec![v0::MessageAddressTableLookup { account_key: Pubkey::new_unique(), writable_indexes: vec![0], readonly_indexes: vec![] }],
    };
    wire::serialize(&VersionedTransaction { signatures: vec![Signature::default()], message: VersionedMessage::V0(message) }).unwrap()
}

#[test]
fn v0_lookup_accounts_are_fine_for_program_calls_but_not_for_transfers() {
    let (key, me) = wallet();
    let a = adapter();
    let call = v0_tx(me, Pubkey::new_unique(), vec![1], vec![0, 2]);
    assert_eq!(a.decode_external(&call).unwrap().operations[0].op_type, "CONTRACT_CALL");
    let signed = a.sign_external(&call, &key).unwrap();
    let tx = wire::parse(&signed.raw).unwrap();
    assert!(verify(&me, &wire::message_bytes(&tx.message).unwrap(), tx.signatures[0].as_ref()));

    let data = bincode::serialize(&SystemInstruction::Transfer { lamports: 5 }).unwrap();
    let transfer = v0_tx(me, solana_system_interface::program::ID, data, vec![0, 2]);
    let e = a.decode_external(&transfer).unwrap_err();
    assert_eq!(e.code, ErrorCode::INVALID_TRANSACTION);
    assert!(e.message.contains("lookup table"), "{}", e.message);
    assert_eq!(a.sign_external(&transfer, &key).unwrap_err().code, ErrorCode::INVALID_TRANSACTION);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decode_never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = adapter().decode_external(&bytes);
    }

    #[test]
    fn decode_never_panics_on_mutated_transactions(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        let me = Pubkey::new_from_array([3; 32]);
        let token = Token { mint: Pubkey::new_from_array([4; 32]), program: TOKEN_2022_PROGRAM_ID, decimals: 6 };
        let mut ixs = build::transfer(&me, &Pubkey::new_from_array([5; 32]), 9, Some("memo"));
        ixs.extend(build::token_transfer(&token, &me, &Pubkey::new_from_array([6; 32]), 9, true, None).unwrap());
        let mut raw = unsigned(&ixs, &me);
        for (pos, byte) in flips {
            let i = pos % raw.len();
            raw[i] ^= byte;
        }
        let _ = adapter().decode_external(&raw);
    }
}

// ---------------------------------------------------------------- errors

#[test]
fn transaction_errors_are_classified() {
    let system = solana_system_interface::program::ID;
    let other = Pubkey::new_unique();
    let programs = [system, SPL_TOKEN_PROGRAM_ID, other];
    let f = |err: serde_json::Value, landed| tx_failure(&err, &programs, landed);

    let stale = f(json!("BlockhashNotFound"), false);
    assert_eq!(stale.class, ErrorClass::Stale);
    assert!(f(json!("AlreadyProcessed"), false).already_processed());
    assert_eq!(f(json!("InsufficientFundsForFee"), false).code, ErrorCode::INSUFFICIENT_FOR_FEE);
    assert_eq!(f(json!("AccountNotFound"), false).code, ErrorCode::INSUFFICIENT_FOR_FEE);
    assert_eq!(f(json!({"InsufficientFundsForRent": {"account_index": 1}}), false).code, ErrorCode::INSUFFICIENT_BALANCE);
    assert_eq!(f(json!("AccountInUse"), false).class, ErrorClass::Transient);

    let lamports = f(json!({"InstructionError": [0, {"Custom": 1}]}), false);
    assert_eq!((lamports.code, lamports.class), (ErrorCode::INSUFFICIENT_BALANCE, ErrorClass::Permanent));
    assert!(lamports.text.contains("System Program") && lamports.text.contains("enough SOL"), "{}", lamports.text);

    let tokens = f(json!({"InstructionError": [1, {"Custom": 1}]}), false);
    assert_eq!(tokens.code, ErrorCode::INSUFFICIENT_TOKEN_BALANCE);
    assert!(tokens.text.contains("SPL Token") && tokens.text.contains("Insufficient funds"), "{}", tokens.text);
    let mismatch = f(json!({"InstructionError": [1, {"Custom": 18}]}), false);
    assert_eq!(mismatch.code, ErrorCode::SIMULATION_FAILED);
    assert!(mismatch.text.contains("decimals"), "{}", mismatch.text);

    let custom = f(json!({"InstructionError": [2, {"Custom": 6000}]}), false);
    assert_eq!(custom.code, ErrorCode::SIMULATION_FAILED);
    assert!(custom.text.contains(&other.to_string()) && custom.text.contains("0x1770"), "{}", custom.text);
    assert_eq!(f(json!({"InstructionError": [2, {"Custom": 6000}]}), true).code, ErrorCode::TRANSACTION_REVERTED);
    let named = f(json!({"InstructionError": [0, "InvalidAccountData"]}), true);
    assert_eq!(named.code, ErrorCode::TRANSACTION_REVERTED);
    assert!(named.text.contains("InvalidAccountData"));
    assert_eq!(f(json!({"InstructionError": [0, "InsufficientFunds"]}), false).code, ErrorCode::INSUFFICIENT_BALANCE);
    // Index out of range or malformed: still classified, never a panic.
    assert_eq!(f(json!({"InstructionError": [99, {"Custom": 1}]}), false).code, ErrorCode::SIMULATION_FAILED);
    assert_eq!(f(json!({"InstructionError": "x"}), false).code, ErrorCode::SIMULATION_FAILED);
}

#[test]
fn rpc_errors_are_classified() {
    let e = |code, message: &str, data: Option<serde_json::Value>| RpcError { code, message: message.into(), data };
    let preflight = rpc_failure(
        "sendTransaction",
        &e(
            -32002,
            "Transaction simulation failed: Error processing Instruction 0: custom program error: 0x1",
            Some(json!({
                "err": {"InstructionError": [0, {"Custom": 1}]},
                "logs": ["Program TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA invoke [1]", "Program log: Error: insufficient funds"],
            })),
        ),
        &[SPL_TOKEN_PROGRAM_ID],
    );
    assert_eq!((preflight.code, preflight.class), (ErrorCode::INSUFFICIENT_TOKEN_BALANCE, ErrorClass::Permanent));
    assert!(preflight.text.contains("Program log: Error: insufficient funds"), "{}", preflight.text);

    let stale =
        rpc_failure("sendTransaction", &e(-32002, "Transaction simulation failed: Blockhash not found", Some(json!({"err": "BlockhashNotFound"}))), &[]);
    assert_eq!(stale.class, ErrorClass::Stale);
    assert_eq!(rpc_failure("sendTransaction", &e(-32002, "Transaction simulation failed: Blockhash not found", None), &[]).class, ErrorClass::Stale);
    assert!(rpc_failure("sendTransaction", &e(-32002, "x", Some(json!({"err": "AlreadyProcessed"}))), &[]).already_processed());
    assert!(rpc_failure("sendTransaction", &e(-32002, "This transaction has already been processed", None), &[]).already_processed());
    assert_eq!(rpc_failure("sendTransaction", &e(-32003, "Transaction signature verification failure", None), &[]).code, ErrorCode::INVALID_TRANSACTION);
    let unhealthy = rpc_failure("sendTransaction", &e(-32005, "Node is unhealthy", None), &[]);
    assert_eq!((unhealthy.code, unhealthy.class), (ErrorCode::CHAIN_ERROR, ErrorClass::Transient));
}

#[tokio::test]
async fn no_endpoint_is_an_error_not_a_panic() {
    let e = adapter().balance(&Pubkey::new_unique().to_string()).await.unwrap_err();
    assert_eq!(e.error.code, ErrorCode::ADAPTER_NOT_AVAILABLE);
    let e = adapter().balance("nope").await.unwrap_err();
    assert_eq!(e.error.code, ErrorCode::INVALID_ADDRESS);
    assert_eq!(adapter().status("abc").await.unwrap_err().error.code, ErrorCode::INVALID_TRANSACTION);
}

// ---------------------------------------------------------------- messages

#[test]
fn personal_messages_are_ed25519_signatures_in_base58() {
    let (key, me) = wallet();
    let sig = sign_message(&key, &MessageKind::Personal(b"hello agent".to_vec())).unwrap();
    let bytes = bs58::decode(&sig).into_vec().unwrap();
    assert!(verify(&me, b"hello agent", &bytes));
    assert!(!verify(&me, b"hello agenT", &bytes));
    let e = sign_message(&key, &MessageKind::TypedData(json!({}))).unwrap_err();
    assert_eq!(e.code, ErrorCode::SIGNING_SCHEME_UNSUPPORTED);
}

#[test]
fn rfc8032_test_vector_1() {
    let seed = hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").unwrap();
    let key = SecretKey::from_bytes(Chain::Solana, &seed).unwrap();
    let pk = bs58::decode(derive_public_key(Chain::Solana, &key).unwrap()).into_vec().unwrap();
    assert_eq!(hex::encode(pk), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    let sig = bs58::decode(sign_message(&key, &MessageKind::Personal(vec![])).unwrap()).into_vec().unwrap();
    assert_eq!(
        hex::encode(sig),
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
         5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    );
}

// ---------------------------------------------------------------- x402 `exact`

/// The instruction layout the `@x402/svm` 2.27.0 facilitator verifies (`verifyStaticPath`),
/// read back from the wire bytes, and a wallet signature that leaves the facilitator's slot
/// empty.
#[test]
fn x402_exact_is_the_facilitators_layout_and_the_wallet_signs_only_its_slot() {
    let (key, from) = wallet();
    let (pay_to, fee_payer) = (Pubkey::new_unique(), Pubkey::new_unique());
    let blockhash = Hash::new_from_array([3; 32]);
    for program in [SPL_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID] {
        let token = Token { program, ..spl(6) };
        let memo = b"00112233445566778899aabbccddeeff";
        let raw = build::x402_exact(&token, &from, &pay_to, &fee_payer, 1_234_567, memo, &blockhash).unwrap();
        let tx = wire::parse(&raw).unwrap();

        // A v0 message without lookup tables; fee payer first, then the wallet; slots zero.
        let VersionedMessage::V0(m) = &tx.message else { panic!("expected a v0 message") };
        assert!(m.address_table_lookups.is_empty());
        assert_eq!(m.recent_blockhash, blockhash);
        assert_eq!(m.header.num_required_signatures, 2);
        assert_eq!(&m.account_keys[..2], &[fee_payer, from]);
        assert_eq!(tx.signatures, vec![Signature::default(); 2]);
        // The fee payer is writable (it pays), the wallet a read-only signer.
        assert_eq!(m.header.num_readonly_signed_accounts, 1);

        let ixs: Vec<(Pubkey, Vec<Pubkey>, Vec<u8>)> = m
            .instructions
            .iter()
            .map(|ix| {
                let keys = ix.accounts.iter().map(|i| m.account_keys[usize::from(*i)]).collect();
                (m.account_keys[usize::from(ix.program_id_index)], keys, ix.data.clone())
            })
            .collect();
        assert_eq!(ixs.len(), 4);
        // 0: setComputeUnitLimit(20000): discriminator 2, u32 LE.
        assert_eq!(ixs[0], (COMPUTE_BUDGET_PROGRAM_ID, vec![], [&[2u8][..], &20_000u32.to_le_bytes()].concat()));
        // 1: setComputeUnitPrice(1 micro-lamport): discriminator 3, u64 LE.
        assert_eq!(ixs[1], (COMPUTE_BUDGET_PROGRAM_ID, vec![], [&[3u8][..], &1u64.to_le_bytes()].concat()));
        // 2: transferChecked (12) of the mint's program: source ATA, mint, destination ATA, authority.
        let (p, accounts, data) = &ixs[2];
        assert_eq!(*p, program);
        assert_eq!(accounts, &vec![token.ata(&from), token.mint, token.ata(&pay_to), from]);
        assert_eq!(data, &[&[12u8][..], &1_234_567u64.to_le_bytes(), &[6]].concat());
        assert_eq!(
            token.ata(&pay_to),
            spl_associated_token_account_interface::address::get_associated_token_address_with_program_id(&pay_to, &token.mint, &program)
        );
        // 3: the memo, without accounts.
        assert_eq!(ixs[3], (MEMO_PROGRAM_ID, vec![], memo.to_vec()));

        // Our own decoder explains it (sign_external decodes before signing).
        let decoded = adapter().decode_external(&raw).unwrap();
        assert_eq!(decoded.fee_payer, Some(fee_payer.to_string()));
        assert_eq!(decoded.native_value, 0);
        let transfer = &decoded.operations[2];
        assert_eq!((transfer.op_type.as_str(), transfer.amount.as_deref()), ("TOKEN_TRANSFER", Some("1234567")));
        assert_eq!(transfer.token, Some(token.mint.to_string()));

        // The wallet signs its slot (1) only; the facilitator's (0) stays zero, so there is no
        // transaction id yet.
        let signed = adapter().sign_external(&raw, &key).unwrap();
        assert_eq!(signed.hash, "");
        let stx = wire::parse(&signed.raw).unwrap();
        assert_eq!(stx.signatures[0], Signature::default());
        assert!(verify(&from, &wire::message_bytes(&stx.message).unwrap(), stx.signatures[1].as_ref()));
        assert_eq!(stx.message, tx.message, "signing does not touch the message");
        // The fee payer's key is not the wallet's: it cannot be signed by a stranger either.
        let (stranger, _) = wallet();
        assert_eq!(adapter().sign_external(&raw, &stranger).unwrap_err().code, ErrorCode::WALLET_NOT_SIGNER);
    }
}

#[tokio::test]
async fn x402_transfer_refuses_bad_input_before_any_rpc() {
    let a = adapter();
    let (from, other) = (Pubkey::new_unique().to_string(), Pubkey::new_unique().to_string());
    let e = a.x402_transfer(&from, &other, &other, 1, &from).await.unwrap_err();
    assert!(e.error.message.contains("fee payer"), "{}", e.error.message);
    let e = a.x402_transfer(&from, "not-base58!", &other, 1, &other).await.unwrap_err();
    assert_eq!(e.error.code, ErrorCode::INVALID_ADDRESS);
    let e = a.x402_transfer(&from, &other, &other, u128::from(u64::MAX) + 1, &other).await.unwrap_err();
    assert_eq!(e.error.code, ErrorCode::ACTION_VALIDATION_FAILED);
}

/// A payment transaction the reference client (`@x402/svm` 2.27.0 `ExactSvmScheme`) built in
/// `tests/x402/selftest_svm.mjs` (captured with `X402_CAPTURE_SVM`): wallet
/// `57vzji7h…` pays 10000 of the 6-decimals SPL mint `6RdQdtpw…` to `8zbiRcWu…`, fee payer
/// `6PW8zzXN…`. Ours, built from the same values, has the same header, signer order and
/// instructions (the non-signer accounts may be listed in another order: the facilitator
/// resolves indices, it does not compare bytes).
const REFERENCE_CLIENT_TX: &str = "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAADCeEtNzK4Vs+mj53Yw/mW0UbJdrPxTmnMAFW//NJ/cZP1o4gdrEcLr7/MVVNIYvQSs5eT42g//MYTXEYg0D8DgAIBBAhQDiimnNinO5kH4I6029FTjTLt972jCCAnZRIKxwQPXD01SRDzLl5wTKUnwNDopzoFr/4DzsiEff5RQdETnB1ueA94PjAUf1G8V2ZzfEFx2sGKBIVs/8y7d01UHKqqdPR8du+T0gg6sxBkZrbHb7YnHz+dPmggoN8IGOolC1TvKFCZikgVhkqhmVC4qEs0IlN6JTXVTdAWLQVeUCr+Oov+AwZGb+UhFzL/7K26csOb57yM5bvF9xJrLEObOkAAAAAFSlNamSkhBk0k6HFg2jh8fDW13bySu4HkH6hAQQVEjQbd9uHXZaGT2cvhRs7reawctIXtX1s3kTqM9YV+/wCpFAVF62Lu5XktmbtAYUuDfs0DsiigBHnzKbIe7BOmdmwEBQAFAiBOAAAFAAkDAQAAAAAAAAAHBAIEAwEKDBAnAAAAAAAABgYAIDI4ZDM2MzUxYWM4NjllYmFmNGJlOTFjZDcyM2ZjYWRmAA==";

#[test]
fn x402_exact_matches_what_the_reference_client_builds() {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD.decode(REFERENCE_CLIENT_TX).unwrap();
    let theirs = wire::parse(&raw).expect("our parser takes the reference client's transaction");
    let key = |s: &str| Pubkey::from_str(s).unwrap();
    let (fee_payer, from, pay_to) = (
        key("6PW8zzXNbxfgCiapT6hxfY8aTipLEQH3S1TEtC33jwMD"),
        key("57vzji7hJhmRVnto9R9TByPFYAJaB14BJKLfi6tGJfg9"),
        key("8zbiRcWu5Uc5vurqjr7mNeJB3oGYkCtMRVMmP3fqA5c7"),
    );
    let token = Token { mint: key("6RdQdtpw2Ez6QDGgZN3hSp3u8c76tncJCywucQPk39kZ"), program: SPL_TOKEN_PROGRAM_ID, decimals: 6 };
    // The fee payer's slot is empty, the wallet's signed.
    assert_eq!(theirs.signatures[0], Signature::default());
    assert!(verify(&from, &wire::message_bytes(&theirs.message).unwrap(), theirs.signatures[1].as_ref()));

    let resolved = |m: &VersionedMessage| -> Vec<(Pubkey, Vec<Pubkey>, Vec<u8>)> {
        let keys = m.static_account_keys();
        m.instructions()
            .iter()
            .map(|ix| (keys[usize::from(ix.program_id_index)], ix.accounts.iter().map(|i| keys[usize::from(*i)]).collect(), ix.data.clone()))
            .collect()
    };
    let memo = resolved(&theirs.message)[3].2.clone();
    let ours = wire::parse(&build::x402_exact(&token, &from, &pay_to, &fee_payer, 10_000, &memo, theirs.message.recent_blockhash()).unwrap()).unwrap();
    assert_eq!(ours.message.header(), theirs.message.header());
    assert_eq!(&ours.message.static_account_keys()[..2], &theirs.message.static_account_keys()[..2]);
    assert!(matches!((&ours.message, &theirs.message), (VersionedMessage::V0(_), VersionedMessage::V0(_))));
    assert_eq!(resolved(&ours.message), resolved(&theirs.message));
    let writable = |m: &VersionedMessage| -> std::collections::BTreeSet<Pubkey> {
        let (h, keys) = (m.header(), m.static_account_keys());
        let signers = usize::from(h.num_required_signatures);
        let writable = |i: usize| {
            if i < signers {
                i < signers - usize::from(h.num_readonly_signed_accounts)
            } else {
                i < keys.len() - usize::from(h.num_readonly_unsigned_accounts)
            }
        };
        keys.iter().enumerate().filter(|(i, _)| writable(*i)).map(|(_, k)| *k).collect()
    };
    assert_eq!(writable(&ours.message), writable(&theirs.message));
}
