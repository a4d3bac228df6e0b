//! Chain adapters: the only code that talks to a blockchain.
//!
//! The pipeline hands an adapter a resolved [`TxKind`]; the adapter builds an unsigned
//! transaction (opaque bytes the same adapter understands, so the pipeline can persist
//! them), simulates it, signs it with a key the signing gate lends it for the duration of
//! one call, broadcasts the signed bytes and reports confirmation. Errors carry a
//! [`ErrorClass`]: permanent (fail the transaction), transient (retry, fail over) or stale
//! (rebuild: expired blockhash, nonce too low).

pub mod evm;
pub mod registry;
pub mod rpc;
#[cfg(any(test, feature = "test-utils"))]
pub mod scripted;
pub mod solana;

use crate::error::{Error, ErrorCode, Result};
use crate::keys::SecretKey;
use crate::network::{Chain, Network};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// How an RPC or chain failure should be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorClass {
    Permanent,
    Transient,
    Stale,
}

/// A chain failure: an error plus its class.
#[derive(Debug, Clone)]
pub struct ChainError {
    pub class: ErrorClass,
    pub error: Error,
}

impl ChainError {
    pub fn permanent(code: ErrorCode, msg: impl Into<String>) -> Self {
        ChainError { class: ErrorClass::Permanent, error: Error::new(code, msg) }
    }
    pub fn transient(msg: impl Into<String>) -> Self {
        ChainError { class: ErrorClass::Transient, error: Error::new(ErrorCode::CHAIN_ERROR, msg) }
    }
    pub fn stale(msg: impl Into<String>) -> Self {
        ChainError { class: ErrorClass::Stale, error: Error::new(ErrorCode::CHAIN_ERROR, msg) }
    }
}

impl From<ChainError> for Error {
    fn from(e: ChainError) -> Self {
        e.error
    }
}

pub type ChainResult<T> = std::result::Result<T, ChainError>;

/// A token as a transaction needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    /// ERC-20 contract address or SPL mint.
    pub address: String,
    pub decimals: u8,
    pub symbol: Option<String>,
    /// Solana: the token program owning the mint (SPL Token or Token-2022); the adapter
    /// looks it up when `None`.
    pub program_id: Option<String>,
}

/// A Solana instruction account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountMetaReq {
    pub pubkey: String,
    pub is_signer: bool,
    pub is_writable: bool,
}

/// What to do, resolved to smallest units and validated addresses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TxKind {
    /// Native transfer.
    Transfer {
        to: String,
        #[serde(with = "crate::amount::u128_str")]
        amount: u128,
        memo: Option<String>,
    },
    /// ERC-20 `transfer`, or SPL/Token-2022 `transfer_checked` (creating the recipient's
    /// associated token account when missing).
    TokenTransfer {
        to: String,
        #[serde(with = "crate::amount::u128_str")]
        amount: u128,
        token: TokenInfo,
        memo: Option<String>,
    },
    /// EVM: `to` + `calldata` + `value`. Solana: `program_id` + `instruction_data` + `accounts`.
    ContractCall {
        to: String,
        calldata: Vec<u8>,
        #[serde(with = "crate::amount::u128_str")]
        value: u128,
        accounts: Vec<AccountMetaReq>,
    },
    /// ERC-20 `approve` or SPL `approve_checked`.
    Approve {
        spender: String,
        #[serde(with = "crate::amount::u128_str")]
        amount: u128,
        token: TokenInfo,
    },
    /// Several of the above in one transaction (Solana).
    Batch { instructions: Vec<TxKind> },
}

/// Fee estimate in the native asset's smallest unit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeeEstimate {
    pub estimated_fee: u128,
    pub gas_limit: Option<u64>,
    pub max_fee_per_gas: Option<u128>,
    pub max_priority_fee_per_gas: Option<u128>,
    /// Solana: rent for associated token accounts this transaction creates.
    pub ata_rent: Option<u64>,
}

/// An unsigned transaction: opaque to everyone but the adapter that built it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnsignedTx {
    pub chain: Chain,
    pub network: String,
    pub bytes: Vec<u8>,
    /// EVM nonce used.
    pub nonce: Option<u64>,
    pub fee: FeeEstimate,
    /// Solana: block height after which the blockhash is expired.
    pub last_valid_block_height: Option<u64>,
    /// The node already ran this transaction's call while it was built (EVM: `eth_estimateGas`
    /// succeeded for the same sender, target, value and data, and the balance covers value
    /// and fee), so the pipeline's dry run would only repeat it. Never stored: a transaction
    /// read back from the store is simulated again.
    #[serde(skip)]
    pub dry_run_passed: bool,
}

/// Signed bytes ready to broadcast, and the hash (EVM) or signature (Solana) they will have.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedTx {
    pub raw: Vec<u8>,
    pub hash: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Simulation {
    pub success: bool,
    pub error: Option<String>,
    pub logs: Vec<String>,
    pub units_consumed: Option<u64>,
}

/// Where a broadcast transaction is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TxStatus {
    /// Unknown to the node (never seen, or dropped).
    NotFound,
    /// Seen, not yet confirmed.
    Pending,
    Confirmed {
        block: u64,
    },
    /// Landed and reverted / failed on chain.
    Failed {
        reason: String,
    },
}

/// One operation found in an external transaction (`POST /v1/transactions/sign`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TxOperation))]
pub struct Operation {
    #[serde(rename = "type")]
    pub op_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

/// A decoded external transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecodedTx {
    pub operations: Vec<Operation>,
    /// The signer the transaction expects (EVM `from` is implicit; Solana fee payer).
    pub fee_payer: Option<String>,
    /// Total native value moved.
    pub native_value: u128,
    /// The most the network fee can burn, in the native smallest unit (EVM `gas ×
    /// maxFeePerGas` or `gas × gasPrice`; Solana signature fees plus the priority fee of its
    /// compute-budget instructions). Paid by `fee_payer` (EVM: the signer).
    #[serde(default)]
    pub max_fee: u128,
    /// EVM: the nonce the transaction uses. Solana: `None`.
    #[serde(default)]
    pub nonce: Option<u64>,
}

/// A transfer into one of the watched addresses, as a block scan found it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingTransfer {
    pub tx_hash: String,
    /// The transfer's place in its transaction: EVM, the token transfer's log index (-1 for
    /// a native transfer); Solana, the instruction's position (outer and inner, in order).
    pub log_index: i64,
    /// The watched address it went to, as the caller gave it.
    pub to: String,
    pub from: String,
    /// Smallest units.
    pub amount: u128,
    /// The token contract; `None` for the native coin.
    pub token: Option<String>,
    pub block: u64,
}

/// One chain family on one network.
#[async_trait]
pub trait ChainAdapter: Send + Sync + 'static {
    fn network(&self) -> Network;

    /// Native balance in smallest units.
    async fn balance(&self, address: &str) -> ChainResult<u128>;
    /// Token balance in the token's smallest units (0 when the account does not exist).
    async fn token_balance(&self, owner: &str, token: &str) -> ChainResult<u128>;
    /// Decimals (and Solana token program) of a token, read from the chain.
    async fn token_info(&self, token: &str) -> ChainResult<TokenInfo>;

    /// EVM: the next nonce the node expects (`pending`). Solana: `None`.
    async fn next_nonce(&self, address: &str) -> ChainResult<Option<u64>>;
    /// Build an unsigned transaction from `from`; `nonce` is assigned by the nonce owner (EVM).
    async fn build(&self, from: &str, kind: &TxKind, nonce: Option<u64>) -> ChainResult<UnsignedTx>;
    /// The same unsigned transaction with EVM nonce `nonce` instead of its own, so that it
    /// can be built and simulated (fees, gas, dry run: nothing there depends on the nonce)
    /// before the nonce owner hands out the nonce. `None` when the adapter cannot: the
    /// caller builds it again with the nonce.
    fn with_nonce(&self, _tx: &UnsignedTx, _nonce: u64) -> Option<UnsignedTx> {
        None
    }
    /// Dry-run; a failing simulation is `Ok(Simulation { success: false, .. })`.
    async fn simulate(&self, from: &str, tx: &UnsignedTx) -> ChainResult<Simulation>;
    /// Sign (pure; the key is lent by the signing gate for this call only).
    fn sign(&self, tx: &UnsignedTx, key: &SecretKey) -> Result<SignedTx>;
    /// Broadcast signed bytes; returns the hash/signature. Re-broadcasting the same bytes
    /// is harmless (same nonce / same signature).
    async fn broadcast(&self, tx: &SignedTx) -> ChainResult<String>;
    async fn status(&self, hash: &str) -> ChainResult<TxStatus>;
    /// The latest block (slot) number, for the incoming monitor.
    async fn head_block(&self) -> ChainResult<u64> {
        Err(ChainError::permanent(ErrorCode::ADAPTER_NOT_AVAILABLE, format!("incoming monitoring is not built for {} yet", self.network().id())))
    }
    /// The transfers into `addresses` in blocks `from..=to` (native and token), for the
    /// incoming monitor.
    async fn incoming(&self, _addresses: &[String], _from: u64, _to: u64) -> ChainResult<Vec<IncomingTransfer>> {
        Err(ChainError::permanent(ErrorCode::ADAPTER_NOT_AVAILABLE, format!("incoming monitoring is not built for {} yet", self.network().id())))
    }
    /// EVM: `eth_call` of `data` to contract `to` at the latest block (a view the action
    /// providers read: pool reserves, quotes, account data); a revert is a permanent
    /// `ACTION_RESOLVE_FAILED` naming the reason.
    async fn read_call(&self, _to: &str, _data: &[u8]) -> ChainResult<Vec<u8>> {
        Err(ChainError::permanent(ErrorCode::ADAPTER_NOT_AVAILABLE, format!("contract reads are not built for {}", self.network().id())))
    }
    /// Solana: whether a blockhash-bound transaction can still land (false once expired).
    async fn still_valid(&self, tx: &UnsignedTx) -> ChainResult<bool>;

    /// Decode an external unsigned transaction (hex for EVM, base64 for Solana, already
    /// decoded to bytes); anything that cannot be fully decoded is an error.
    fn decode_external(&self, raw: &[u8]) -> Result<DecodedTx>;
    /// Sign an external transaction for `signer`; refuses one that `signer` cannot sign.
    fn sign_external(&self, raw: &[u8], key: &SecretKey) -> Result<SignedTx>;

    /// x402 `exact` on Solana: the unsigned wire transaction (every signature slot empty) paying
    /// `amount` of `mint` from `from`'s associated token account to `pay_to`'s, with the
    /// facilitator `fee_payer` as fee payer, a recent blockhash, the mint's real decimals and
    /// token program (SPL Token or Token-2022, read from the mint account's owner).
    ///
    /// The caller signs it with [`sign_external`](ChainAdapter::sign_external) (which fills
    /// only the wallet's slot) and sends `base64(SignedTx::raw)` as the payload's
    /// `transaction`; the facilitator adds the fee payer's signature and submits it. Chains
    /// without this scheme (EVM pays x402 with an EIP-3009 authorization) answer
    /// `X402_UNSUPPORTED_SCHEME`.
    async fn x402_transfer(&self, _from: &str, _pay_to: &str, _mint: &str, _amount: u128, _fee_payer: &str) -> ChainResult<Vec<u8>> {
        Err(ChainError::permanent(
            ErrorCode::X402_UNSUPPORTED_SCHEME,
            format!("{} does not pay x402 with a fee-payer transaction (that is the Solana `exact` scheme)", self.network().id()),
        ))
    }
}

/// How a message is to be signed (`POST /v1/transactions/sign-message`).
#[derive(Debug, Clone, PartialEq)]
pub enum MessageKind {
    /// EIP-191 personal_sign (EVM) or raw ed25519 over the bytes (Solana).
    Personal(Vec<u8>),
    /// EIP-712 typed data JSON `{domain, types, primaryType, message}` (EVM only).
    TypedData(serde_json::Value),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chains_without_a_fee_payer_scheme_refuse_x402_transfers() {
        let evm = evm::EvmAdapter::new(Network::parse("ethereum-sepolia").unwrap(), rpc::RpcClient::new(vec![]), None);
        let a = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
        let e = evm.x402_transfer(a, a, a, 1, a).await.unwrap_err();
        assert_eq!((e.class, e.error.code), (ErrorClass::Permanent, ErrorCode::X402_UNSUPPORTED_SCHEME));
        assert!(e.error.message.contains("ethereum-sepolia"), "{}", e.error.message);
    }

    #[test]
    fn tx_kinds_round_trip_through_json_with_full_u128_amounts() {
        let token = TokenInfo { address: "0xabc".into(), decimals: 6, symbol: Some("T".into()), program_id: None };
        let kinds = vec![
            TxKind::Transfer { to: "a".into(), amount: u128::MAX, memo: None },
            TxKind::TokenTransfer { to: "b".into(), amount: 1 << 100, token: token.clone(), memo: Some("m".into()) },
            TxKind::ContractCall { to: "c".into(), calldata: vec![1, 2], value: 5, accounts: vec![] },
            TxKind::Approve { spender: "d".into(), amount: 7, token },
        ];
        let batch = TxKind::Batch { instructions: kinds.clone() };
        for k in kinds.into_iter().chain([batch]) {
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(serde_json::from_str::<TxKind>(&json).unwrap(), k, "{json}");
        }
    }
}
