//! EVM adapter (alloy): EIP-1559 transactions, ERC-20, simulation, signing, decoding.
//!
//! [`EvmAdapter`] implements [`ChainAdapter`] for one EVM [`Network`] over raw JSON-RPC
//! through [`RpcClient`] (endpoint failover lives there). The free functions
//! [`sign_message`] (EIP-191 / EIP-712) and [`encode_calldata`] (JSON ABI) serve
//! `POST /v1/transactions/sign-message` and `POST /v1/utils/encode-calldata`.
//!
//! # Building
//! Every transaction the adapter builds is an EIP-1559 (type 2) transaction with the
//! network table's chain id (EIP-155 replay protection):
//! - `TRANSFER`: `to` + `value` (EVM transfers carry no memo; a memo is ignored),
//! - `TOKEN_TRANSFER` / `APPROVE`: ERC-20 `transfer(to, amount)` / `approve(spender, amount)`
//!   to the token contract, no value,
//! - `CONTRACT_CALL`: `to` + `calldata` + `value` (Solana `accounts` are refused),
//! - `BATCH`: refused with `BATCH_NOT_SUPPORTED` (an EOA cannot batch).
//!
//! The nonce is the caller's (the pipeline owns nonces; `None` asks the node for the
//! `pending` count). The gas limit is `eth_estimateGas` + 20 %. Fees: the next block's base
//! fee (`eth_feeHistory`) and `eth_maxPriorityFeePerGas`, `maxFeePerGas = 2 × base + tip`.
//! With a cap (`max_fee_cap_wei`) the max fee is clamped to the cap when `base + tip` still
//! fits, and the build fails permanently when it does not (the network is too expensive).
//!
//! **Reverts during build are not errors**: when `eth_estimateGas` reverts, the transaction
//! is built with [`FALLBACK_GAS_LIMIT`] and [`ChainAdapter::simulate`] reports the revert
//! (`success: false`, `error` = the decoded reason), so a dry run shows the reason and the
//! fee, and the pipeline fails the transaction at its simulation step before signing.
//!
//! `UnsignedTx.bytes` is the EIP-2718 signing payload, `0x02 || rlp(unsigned fields)`:
//! exactly what an external client sends to `POST /v1/transactions/sign`, so one strict
//! decoder (see the `tx` module) serves [`ChainAdapter::sign`], [`ChainAdapter::simulate`],
//! [`ChainAdapter::decode_external`] and [`ChainAdapter::sign_external`].
//!
//! # Error classification
//! | node says | class | code |
//! |---|---|---|
//! | `insufficient funds…` | permanent | `INSUFFICIENT_BALANCE` when the balance does not cover the value, `INSUFFICIENT_FOR_FEE` when it covers the value but not `value + gas × maxFeePerGas` (checked against the balance during build and simulate) |
//! | `execution reverted` (code 3) | permanent | `SIMULATION_FAILED` before broadcast, `TRANSACTION_REVERTED` after; reason decoded from `Error(string)`, `Panic(uint256)` or the message |
//! | `nonce too low`, `replacement transaction underpriced`, `transaction underpriced`, `max fee per gas less than block base fee` | stale | `CHAIN_ERROR` (rebuild) |
//! | `already known` on broadcast | success | the same bytes are already pooled |
//! | `nonce too low` on broadcast of bytes the node already has (mined) | success | idempotent re-broadcast |
//! | `invalid sender`, `intrinsic gas too low`, `exceeds block gas limit`, … | permanent | `INVALID_TRANSACTION` |
//! | transport errors, HTTP 429/5xx (after [`RpcClient`] failover), unknown messages | transient | `CHAIN_ERROR` |
//!
//! # External transactions
//! [`ChainAdapter::decode_external`] accepts unsigned EIP-1559, EIP-2930 and EIP-155 legacy
//! transactions for this network's chain id and reports one operation:
//! - no data and a value: `TRANSFER {to, amount}`;
//! - exactly `transfer(address,uint256)` / `approve(address,uint256)` calldata, no value:
//!   `TOKEN_TRANSFER` / `APPROVE {to (recipient / spender), amount, token}`;
//! - any other call with a token meaning (trailing bytes, value, `transferFrom`,
//!   `increaseAllowance`, `setApprovalForAll`, `permit`, NFT transfers; table in the `calls`
//!   module): the `CONTRACT_CALL` followed by its `TOKEN_TRANSFER` / `APPROVE`;
//! - no `to`: `CONTRACT_DEPLOY`;
//! - anything else (including no data and no value, which runs the receive/fallback code):
//!   `CONTRACT_CALL {to, amount?, method: 0x selector (when the data has 4 bytes)}`.
//!
//! [`describe_call`] applies the same classifier to a `CONTRACT_CALL` send.
//!
//! `native_value` is the value in wei, `max_fee` is `gas × maxFeePerGas` (`gas × gasPrice`
//! for legacy and EIP-2930), `nonce` the transaction's nonce. Decoding never panics (fuzzed: `fuzz/fuzz_targets/evm_decode.rs`).

mod abi;
mod calls;
mod classify;
pub mod heads;
mod incoming;
mod message;
mod tx;
pub mod typed;

pub use abi::encode_calldata;
pub use message::sign_message;
pub(crate) use message::typed_data_hash;

/// What a call of `to` with `value` wei and `calldata` does, as the operations the policy
/// engine judges (see the `calls` module): the same classifier as for sign-only transactions.
pub fn describe_call(to: &str, value: u128, calldata: &[u8]) -> Result<Vec<super::Operation>> {
    Ok(calls::call_operations(parse_address("to", to)?, U256::from(value), calldata))
}

use self::abi::IERC20;
use self::classify::{node_error, to_chain_error, NodeError};
use super::rpc::RpcClient;
use super::{ChainAdapter, ChainError, ChainResult, DecodedTx, FeeEstimate, SignedTx, Simulation, TokenInfo, TxKind, TxStatus, UnsignedTx};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::SecretKey;
use crate::network::{Chain, Network};
use alloy_consensus::{SignableTransaction, Transaction, TxEip1559, TypedTransaction};
use alloy_primitives::{Address, Bytes, TxKind as CallKind, B256, U256};
use alloy_sol_types::SolCall;
use async_trait::async_trait;
use serde_json::{json, Value};

/// Gas limit of a transaction whose `eth_estimateGas` reverted (it fails simulation anyway).
pub const FALLBACK_GAS_LIMIT: u64 = 1_000_000;

/// How long the node's fees are reused for the next transactions. A burst of sends asks the
/// node once instead of twice per transaction; `maxFeePerGas` is twice the base fee plus the
/// tip, so fees a second old stay valid through several blocks of rising base fees.
const FEES_FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(1);

/// Balances read for the funds check before a build, and when: a balance under
/// [`FEES_FRESH_FOR`] old that covers a transaction is reused (a burst of sends reads it once);
/// one that does not cover it is read again. The node checks the funds again at the
/// broadcast, so a balance spent meanwhile only moves the refusal there.
type SeenBalances = std::sync::Arc<std::sync::Mutex<std::collections::HashMap<Address, (std::time::Instant, U256)>>>;

/// The last `(maxFeePerGas, maxPriorityFeePerGas)` read from the node, and when.
type SeenFees = std::sync::Arc<std::sync::Mutex<Option<(std::time::Instant, (u128, u128))>>>;

/// [`ChainAdapter`] for one EVM network.
#[derive(Clone)]
pub struct EvmAdapter {
    network: Network,
    rpc: RpcClient,
    max_fee_cap_wei: Option<u128>,
    /// The last fees read from the node, and when ([`FEES_FRESH_FOR`]).
    fees_seen: SeenFees,
    balances_seen: SeenBalances,
}

/// Outcome of `eth_estimateGas`.
enum Estimate {
    Gas(u64),
    Reverted(String),
    InsufficientFunds,
}

impl EvmAdapter {
    /// An adapter for `network` (an EVM network of the network table) over `rpc`.
    /// `max_fee_cap_wei` caps `maxFeePerGas`; `None` takes the node's fees as they come.
    pub fn new(network: Network, rpc: RpcClient, max_fee_cap_wei: Option<u128>) -> EvmAdapter {
        EvmAdapter { network, rpc, max_fee_cap_wei, fees_seen: Default::default(), balances_seen: Default::default() }
    }

    /// The EIP-155 chain id of the network.
    fn chain_id(&self) -> Result<u64> {
        self.network.info().chain_id.ok_or_else(|| Error::new(ErrorCode::CHAIN_NOT_SUPPORTED, format!("{} is not an EVM network", self.network.id())))
    }

    /// Gas estimate + 20 %, or why there is none.
    async fn estimate_gas(&self, request: &Value) -> ChainResult<Estimate> {
        match self.rpc.call("eth_estimateGas", json!([request])).await? {
            Ok(v) => {
                let gas = to_u64(quantity(&v, "eth_estimateGas")?, "gas estimate")?;
                Ok(Estimate::Gas(gas.saturating_add(gas / 5)))
            }
            Err(e) => match node_error(&e) {
                NodeError::Reverted(reason) => Ok(Estimate::Reverted(reason)),
                NodeError::InsufficientFunds => Ok(Estimate::InsufficientFunds),
                _ => Err(to_chain_error("eth_estimateGas", &e, ErrorCode::SIMULATION_FAILED)),
            },
        }
    }

    /// `(maxFeePerGas, maxPriorityFeePerGas)` from the node, within the cap; the same for
    /// [`FEES_FRESH_FOR`] after they were read.
    async fn fees(&self) -> ChainResult<(u128, u128)> {
        let seen = *self.fees_seen.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, fees)) = seen.filter(|(at, _)| at.elapsed() < FEES_FRESH_FOR) {
            return Ok(fees);
        }
        let fees = self.fees_from_node().await?;
        *self.fees_seen.lock().unwrap_or_else(|e| e.into_inner()) = Some((std::time::Instant::now(), fees));
        Ok(fees)
    }

    async fn fees_from_node(&self) -> ChainResult<(u128, u128)> {
        let (history, tip) =
            tokio::try_join!(self.rpc.read("eth_feeHistory", json!(["0x1", "latest", []])), self.rpc.read("eth_maxPriorityFeePerGas", json!([])),)?;
        // The last base fee of the history is the next block's.
        let base = history
            .get("baseFeePerGas")
            .and_then(Value::as_array)
            .and_then(|fees| fees.last())
            .ok_or_else(|| ChainError::transient(format!("eth_feeHistory: no baseFeePerGas in {history}")))?;
        let base = to_u128(quantity(base, "baseFeePerGas")?, "base fee")?;
        let tip = to_u128(quantity(&tip, "eth_maxPriorityFeePerGas")?, "priority fee")?;
        cap_fees(base, tip, self.max_fee_cap_wei)
    }

    /// Native balance in wei.
    async fn balance_wei(&self, address: Address) -> ChainResult<U256> {
        quantity(&self.rpc.read("eth_getBalance", json!([address, "latest"])).await?, "eth_getBalance")
    }

    /// The error for a sender the node says cannot pay `value` + `fee`, reading its balance
    /// to tell which part is short.
    async fn funds_error(&self, from: Address, value: U256, fee: U256, detail: &str) -> ChainError {
        match self.balance_wei(from).await {
            Ok(balance) => check_funds(balance, value, fee).unwrap_or_else(|| ChainError::permanent(ErrorCode::INSUFFICIENT_BALANCE, detail.to_string())),
            Err(e) => e,
        }
    }

    /// `eth_call` of an ERC-20 view; a revert or empty answer means `token` is not an ERC-20.
    async fn erc20_call(&self, token: Address, data: Vec<u8>, what: &str) -> ChainResult<Vec<u8>> {
        let not_a_token = || ChainError::permanent(ErrorCode::TOKEN_NOT_FOUND, format!("{token} does not answer ERC-20 {what}"));
        let request = json!([{"to": token, "data": format!("0x{}", hex::encode(data))}, "latest"]);
        match self.rpc.call("eth_call", request).await? {
            Ok(v) => match bytes_of(&v) {
                Some(bytes) if !bytes.is_empty() => Ok(bytes),
                _ => Err(not_a_token()),
            },
            Err(e) if matches!(node_error(&e), NodeError::Reverted(_)) => Err(not_a_token()),
            Err(e) => Err(to_chain_error("eth_call", &e, ErrorCode::SIMULATION_FAILED)),
        }
    }

    async fn erc20_read<C: SolCall>(&self, token: Address, call: C) -> ChainResult<C::Return> {
        let raw = self.erc20_call(token, call.abi_encode(), C::SIGNATURE).await?;
        C::abi_decode_returns(&raw).map_err(|_| ChainError::permanent(ErrorCode::TOKEN_NOT_FOUND, format!("{token}: malformed {} answer", C::SIGNATURE)))
    }

    /// Whether the node knows the transaction `hash` (pooled or mined).
    async fn tx_known(&self, hash: &str) -> ChainResult<bool> {
        Ok(!self.rpc.read("eth_getTransactionByHash", json!([hash])).await?.is_null())
    }
}

#[async_trait]
impl ChainAdapter for EvmAdapter {
    fn network(&self) -> Network {
        self.network
    }

    async fn balance(&self, address: &str) -> ChainResult<u128> {
        to_u128(self.balance_wei(parse_address("address", address)?).await?, "balance")
    }

    async fn token_balance(&self, owner: &str, token: &str) -> ChainResult<u128> {
        let owner = parse_address("owner", owner)?;
        let token = parse_address("token", token)?;
        to_u128(self.erc20_read(token, IERC20::balanceOfCall { owner }).await?, "token balance")
    }

    async fn token_info(&self, token: &str) -> ChainResult<TokenInfo> {
        let address = parse_address("token", token)?;
        let (decimals, symbol) = tokio::join!(
            self.erc20_read(address, IERC20::decimalsCall {}),
            self.erc20_call(address, IERC20::symbolCall {}.abi_encode(), IERC20::symbolCall::SIGNATURE),
        );
        Ok(TokenInfo { address: address.to_checksum(None), decimals: decimals?, symbol: symbol.ok().and_then(|raw| decode_symbol(&raw)), program_id: None })
    }

    async fn next_nonce(&self, address: &str) -> ChainResult<Option<u64>> {
        let address = parse_address("address", address)?;
        let v = self.rpc.read("eth_getTransactionCount", json!([address, "pending"])).await?;
        Ok(Some(to_u64(quantity(&v, "eth_getTransactionCount")?, "nonce")?))
    }

    async fn build(&self, from: &str, kind: &TxKind, nonce: Option<u64>) -> ChainResult<UnsignedTx> {
        let chain_id = self.chain_id().map_err(permanent)?;
        let from_addr = parse_address("from", from)?;
        let (to, value, input) = match kind {
            TxKind::Transfer { to, amount, .. } => (parse_address("to", to)?, U256::from(*amount), Vec::new()),
            TxKind::TokenTransfer { to, amount, token, .. } => {
                let call = IERC20::transferCall { to: parse_address("to", to)?, amount: U256::from(*amount) };
                (parse_address("token.address", &token.address)?, U256::ZERO, call.abi_encode())
            }
            TxKind::Approve { spender, amount, token } => {
                let call = IERC20::approveCall { spender: parse_address("spender", spender)?, amount: U256::from(*amount) };
                (parse_address("token.address", &token.address)?, U256::ZERO, call.abi_encode())
            }
            TxKind::ContractCall { to, calldata, value, accounts } => {
                if !accounts.is_empty() {
                    return Err(permanent(Error::validation("accounts", "instruction accounts are Solana-only")));
                }
                (parse_address("to", to)?, U256::from(*value), calldata.clone())
            }
            TxKind::Batch { .. } => {
                return Err(ChainError::permanent(ErrorCode::BATCH_NOT_SUPPORTED, "BATCH is not supported on EVM networks (an EOA cannot batch calls)"))
            }
        };
        let nonce = match nonce {
            Some(n) => n,
            None => self.next_nonce(from).await?.unwrap_or(0),
        };
        let mut tx = TxEip1559 {
            chain_id,
            nonce,
            to: CallKind::Call(to),
            value,
            input: Bytes::from(input),
            gas_limit: 0,
            max_fee_per_gas: 0,
            max_priority_fee_per_gas: 0,
            access_list: Default::default(),
        };
        let request = call_request(from_addr, &tx.clone().into(), false);
        let seen = self.balances_seen.lock().unwrap_or_else(|e| e.into_inner()).get(&from_addr).copied();
        let seen = seen.filter(|(at, _)| at.elapsed() < FEES_FRESH_FOR).map(|(_, b)| b);
        let (estimate, (max_fee, tip), read) = match seen {
            Some(_) => tokio::try_join!(self.estimate_gas(&request), self.fees()).map(|(e, f)| (e, f, None))?,
            None => tokio::try_join!(self.estimate_gas(&request), self.fees(), self.balance_wei(from_addr)).map(|(e, f, b)| (e, f, Some(b)))?,
        };
        tx.max_fee_per_gas = max_fee;
        tx.max_priority_fee_per_gas = tip;
        tx.gas_limit = match estimate {
            Estimate::Gas(gas) => gas,
            Estimate::Reverted(_) | Estimate::InsufficientFunds => FALLBACK_GAS_LIMIT,
        };
        let fee = U256::from(tx.gas_limit) * U256::from(max_fee);
        let balance = match (read, seen.filter(|b| check_funds(*b, value, fee).is_none())) {
            (None, Some(covering)) => covering,
            // Read with the estimate, or remembered but short (read it again): remembered now.
            (read, _) => {
                let b = match read {
                    Some(b) => b,
                    None => self.balance_wei(from_addr).await?,
                };
                self.balances_seen.lock().unwrap_or_else(|e| e.into_inner()).insert(from_addr, (std::time::Instant::now(), b));
                b
            }
        };
        let dry_run_passed = matches!(estimate, Estimate::Gas(_));
        match estimate {
            Estimate::Gas(_) => {
                if let Some(err) = check_funds(balance, value, fee) {
                    return Err(err);
                }
            }
            Estimate::Reverted(reason) => {
                tracing::debug!(network = %self.network, %reason, "eth_estimateGas reverted; simulation will report it");
            }
            Estimate::InsufficientFunds => {
                return Err(check_funds(balance, value, fee)
                    .unwrap_or_else(|| ChainError::permanent(ErrorCode::INSUFFICIENT_BALANCE, format!("{from_addr} cannot pay this transaction"))))
            }
        }
        Ok(UnsignedTx {
            chain: Chain::Ethereum,
            network: self.network.id().to_string(),
            bytes: tx.encoded_for_signing(),
            nonce: Some(nonce),
            fee: FeeEstimate {
                estimated_fee: u128::try_from(fee).unwrap_or(u128::MAX),
                gas_limit: Some(tx.gas_limit),
                max_fee_per_gas: Some(max_fee),
                max_priority_fee_per_gas: Some(tip),
                ata_rent: None,
            },
            last_valid_block_height: None,
            dry_run_passed,
        })
    }

    fn with_nonce(&self, unsigned: &UnsignedTx, nonce: u64) -> Option<UnsignedTx> {
        if unsigned.chain != Chain::Ethereum || unsigned.network != self.network.id() {
            return None;
        }
        let bytes = match tx::decode_unsigned(&unsigned.bytes, self.chain_id().ok()?).ok()? {
            TypedTransaction::Eip1559(mut t) => {
                t.nonce = nonce;
                t.encoded_for_signing()
            }
            _ => return None,
        };
        Some(UnsignedTx { bytes, nonce: Some(nonce), ..unsigned.clone() })
    }

    async fn read_call(&self, to: &str, data: &[u8]) -> ChainResult<Vec<u8>> {
        let to = parse_address("to", to)?;
        let request = json!([{"to": to, "data": format!("0x{}", hex::encode(data))}, "latest"]);
        match self.rpc.call("eth_call", request).await? {
            Ok(v) => {
                bytes_of(&v).ok_or_else(|| ChainError::permanent(ErrorCode::ACTION_RESOLVE_FAILED, format!("eth_call to {to}: the node's answer is not hex")))
            }
            Err(e) => match node_error(&e) {
                NodeError::Reverted(reason) => Err(ChainError::permanent(ErrorCode::ACTION_RESOLVE_FAILED, format!("eth_call to {to} reverted: {reason}"))),
                _ => Err(to_chain_error("eth_call", &e, ErrorCode::ACTION_RESOLVE_FAILED)),
            },
        }
    }

    async fn simulate(&self, from: &str, unsigned: &UnsignedTx) -> ChainResult<Simulation> {
        let from = parse_address("from", from)?;
        let tx = self.chain_id().and_then(|id| tx::decode_unsigned(&unsigned.bytes, id)).map_err(permanent)?;
        let request = call_request(from, &tx, true);
        match self.rpc.call("eth_call", json!([request, "latest"])).await? {
            Ok(_) => Ok(Simulation { success: true, error: None, logs: vec![], units_consumed: None }),
            Err(e) => match node_error(&e) {
                NodeError::Reverted(reason) => Ok(Simulation { success: false, error: Some(reason), logs: vec![], units_consumed: None }),
                NodeError::InsufficientFunds => {
                    let fee = U256::from(tx.gas_limit()) * U256::from(tx.max_fee_per_gas());
                    Err(self.funds_error(from, tx.value(), fee, &e.message).await)
                }
                _ => Err(to_chain_error("eth_call", &e, ErrorCode::SIMULATION_FAILED)),
            },
        }
    }

    fn sign(&self, unsigned: &UnsignedTx, key: &SecretKey) -> Result<SignedTx> {
        if unsigned.chain != Chain::Ethereum || unsigned.network != self.network.id() {
            return Err(Error::new(
                ErrorCode::INVALID_TRANSACTION,
                format!("transaction built for {} {}, not {}", unsigned.chain, unsigned.network, self.network.id()),
            ));
        }
        tx::sign(tx::decode_unsigned(&unsigned.bytes, self.chain_id()?)?, key)
    }

    async fn broadcast(&self, signed: &SignedTx) -> ChainResult<String> {
        let raw = format!("0x{}", hex::encode(&signed.raw));
        match self.rpc.call("eth_sendRawTransaction", json!([raw])).await? {
            Ok(_) => Ok(signed.hash.clone()),
            Err(e) => match node_error(&e) {
                NodeError::AlreadyKnown => Ok(signed.hash.clone()),
                // The nonce is used: by these very bytes (already mined) or by another transaction.
                NodeError::Stale if self.tx_known(&signed.hash).await? => Ok(signed.hash.clone()),
                _ => Err(to_chain_error("eth_sendRawTransaction", &e, ErrorCode::TRANSACTION_REVERTED)),
            },
        }
    }

    async fn status(&self, hash: &str) -> ChainResult<TxStatus> {
        let hash: B256 = hash.parse().map_err(|_| ChainError::permanent(ErrorCode::INVALID_TRANSACTION, format!("'{hash}' is not an EVM transaction hash")))?;
        let receipt = self.rpc.read("eth_getTransactionReceipt", json!([hash])).await?;
        if receipt.is_null() {
            let known = self.tx_known(&format!("{hash:#x}")).await?;
            return Ok(if known { TxStatus::Pending } else { TxStatus::NotFound });
        }
        match receipt.get("status").and_then(Value::as_str) {
            Some("0x0") => Ok(TxStatus::Failed { reason: "reverted".to_string() }),
            _ => {
                let block = receipt.get("blockNumber").filter(|b| !b.is_null());
                match block {
                    Some(b) => Ok(TxStatus::Confirmed { block: to_u64(quantity(b, "blockNumber")?, "block number")? }),
                    None => Ok(TxStatus::Pending),
                }
            }
        }
    }

    async fn still_valid(&self, _tx: &UnsignedTx) -> ChainResult<bool> {
        Ok(true)
    }

    async fn head_block(&self) -> ChainResult<u64> {
        self.head().await
    }

    async fn incoming(&self, addresses: &[String], from: u64, to: u64) -> ChainResult<Vec<super::IncomingTransfer>> {
        self.scan_incoming(addresses, from, to).await
    }

    fn decode_external(&self, raw: &[u8]) -> Result<DecodedTx> {
        tx::describe(&tx::decode_unsigned(raw, self.chain_id()?)?)
    }

    fn sign_external(&self, raw: &[u8], key: &SecretKey) -> Result<SignedTx> {
        tx::sign(tx::decode_unsigned(raw, self.chain_id()?)?, key)
    }
}

fn permanent(error: Error) -> ChainError {
    ChainError { class: super::ErrorClass::Permanent, error }
}

/// A 0x address; mixed case must be a valid EIP-55 checksum.
fn parse_address(field: &str, s: &str) -> ChainResult<Address> {
    let s = s.trim();
    let hex_part = s.strip_prefix("0x").unwrap_or(s);
    let mixed = hex_part.chars().any(|c| c.is_ascii_lowercase()) && hex_part.chars().any(|c| c.is_ascii_uppercase());
    let parsed = if mixed { Address::parse_checksummed(s, None).ok() } else { s.parse().ok() };
    parsed
        .filter(|_| s.starts_with("0x"))
        .ok_or_else(|| ChainError::permanent(ErrorCode::INVALID_ADDRESS, format!("{field}: '{s}' is not a valid EVM address")))
}

/// The JSON call object of `eth_call` / `eth_estimateGas` for `tx` sent by `from`; with
/// `execution` also its gas limit and fees (so the node checks the sender can pay).
fn call_request(from: Address, tx: &TypedTransaction, execution: bool) -> Value {
    let mut request = json!({
        "from": from,
        "value": format!("{:#x}", tx.value()),
        "data": format!("0x{}", hex::encode(tx.input())),
    });
    if let Some(to) = tx.to() {
        request["to"] = json!(to);
    }
    if execution {
        request["gas"] = json!(format!("{:#x}", tx.gas_limit()));
        match tx.max_priority_fee_per_gas() {
            Some(tip) => {
                request["maxFeePerGas"] = json!(format!("{:#x}", tx.max_fee_per_gas()));
                request["maxPriorityFeePerGas"] = json!(format!("{tip:#x}"));
            }
            None => request["gasPrice"] = json!(format!("{:#x}", tx.max_fee_per_gas())),
        }
    }
    request
}

/// `(maxFeePerGas, maxPriorityFeePerGas)` for a base fee and tip: `2 × base + tip`, clamped
/// to `cap`; an error when even `base + tip` exceeds the cap.
fn cap_fees(base: u128, tip: u128, cap: Option<u128>) -> ChainResult<(u128, u128)> {
    let max_fee = base.saturating_mul(2).saturating_add(tip);
    let Some(cap) = cap else { return Ok((max_fee, tip)) };
    let needed = base.saturating_add(tip);
    if needed > cap {
        return Err(ChainError::permanent(
            ErrorCode::CHAIN_ERROR,
            format!("network fee {needed} wei/gas (base {base} + tip {tip}) exceeds the configured cap of {cap} wei/gas"),
        ));
    }
    Ok((max_fee.min(cap), tip))
}

/// `None` when `balance` covers `value + fee`; else which part the sender cannot pay.
fn check_funds(balance: U256, value: U256, fee: U256) -> Option<ChainError> {
    if balance < value {
        Some(ChainError::permanent(ErrorCode::INSUFFICIENT_BALANCE, format!("insufficient balance: have {balance} wei, sending {value} wei")))
    } else if balance < value.saturating_add(fee) {
        Some(ChainError::permanent(
            ErrorCode::INSUFFICIENT_FOR_FEE,
            format!("insufficient balance for the fee: have {balance} wei, need {value} + up to {fee} wei of gas"),
        ))
    } else {
        None
    }
}

/// A JSON-RPC quantity (`"0x…"`).
fn quantity(v: &Value, what: &str) -> ChainResult<U256> {
    v.as_str()
        .and_then(|s| s.strip_prefix("0x"))
        .filter(|digits| !digits.is_empty())
        .and_then(|digits| U256::from_str_radix(digits, 16).ok())
        .ok_or_else(|| ChainError::transient(format!("{what}: malformed quantity {v}")))
}

fn to_u64(v: U256, what: &str) -> ChainResult<u64> {
    u64::try_from(v).map_err(|_| ChainError::transient(format!("{what} {v} does not fit in 64 bits")))
}

fn to_u128(v: U256, what: &str) -> ChainResult<u128> {
    u128::try_from(v).map_err(|_| ChainError::permanent(ErrorCode::CHAIN_ERROR, format!("{what} {v} exceeds 2^128")))
}

/// 0x hex data.
fn bytes_of(v: &Value) -> Option<Vec<u8>> {
    hex::decode(v.as_str()?.strip_prefix("0x")?).ok()
}

/// An ERC-20 `symbol()` answer: an ABI string, or a NUL-padded `bytes32` (old tokens such as MKR).
fn decode_symbol(raw: &[u8]) -> Option<String> {
    let text = match IERC20::symbolCall::abi_decode_returns(raw) {
        Ok(s) => s,
        Err(_) if raw.len() == 32 => String::from_utf8(raw.iter().copied().take_while(|b| *b != 0).collect()).ok()?,
        Err(_) => return None,
    };
    let text = text.trim().to_string();
    (!text.is_empty() && !text.chars().any(char::is_control)).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::ErrorClass;

    fn adapter() -> EvmAdapter {
        EvmAdapter::new(Network::parse("ethereum-sepolia").unwrap(), RpcClient::new(vec![]), None)
    }

    #[test]
    fn fees_respect_the_cap() {
        assert_eq!(cap_fees(10, 2, None).unwrap(), (22, 2));
        assert_eq!(cap_fees(10, 2, Some(100)).unwrap(), (22, 2));
        assert_eq!(cap_fees(10, 2, Some(15)).unwrap(), (15, 2));
        let e = cap_fees(10, 2, Some(11)).unwrap_err();
        assert_eq!((e.class, e.error.code), (ErrorClass::Permanent, ErrorCode::CHAIN_ERROR));
        assert!(e.error.message.contains("exceeds the configured cap"));
    }

    #[test]
    fn funds_are_short_of_value_or_of_fee() {
        let u = U256::from;
        assert!(check_funds(u(100), u(60), u(40)).is_none());
        assert_eq!(check_funds(u(100), u(101), u(0)).unwrap().error.code, ErrorCode::INSUFFICIENT_BALANCE);
        assert_eq!(check_funds(u(100), u(90), u(11)).unwrap().error.code, ErrorCode::INSUFFICIENT_FOR_FEE);
    }

    #[test]
    fn addresses_must_be_0x_hex_with_a_valid_checksum_when_mixed_case() {
        assert!(parse_address("to", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266").is_ok());
        assert!(parse_address("to", "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266").is_ok());
        assert!(parse_address("to", "0xF39FD6E51AAD88F6F4CE6AB8827279CFFFB92266").is_ok());
        for bad in ["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92267", "f39fd6e51aad88f6f4ce6ab8827279cfffb92266", "0x1234", ""] {
            let e = parse_address("to", bad).unwrap_err();
            assert_eq!(e.error.code, ErrorCode::INVALID_ADDRESS, "{bad}");
        }
    }

    #[test]
    fn quantities_and_symbols() {
        assert_eq!(quantity(&json!("0x1a"), "x").unwrap(), U256::from(26));
        for bad in [json!("0x"), json!("12"), json!(12), json!("0xzz")] {
            assert_eq!(quantity(&bad, "x").unwrap_err().class, ErrorClass::Transient);
        }
        let mut mkr = [0u8; 32];
        mkr[..3].copy_from_slice(b"MKR");
        assert_eq!(decode_symbol(&mkr).as_deref(), Some("MKR"));
        assert_eq!(decode_symbol(&IERC20::symbolCall::abi_encode_returns(&"USDC".to_string())).as_deref(), Some("USDC"));
        assert_eq!(decode_symbol(&[1, 2]), None);
    }

    /// The pipeline builds and simulates before the nonce owner hands out the nonce, then
    /// puts the nonce in: the same transaction (to, value, data, gas, fees), only the nonce differs.
    #[test]
    fn with_nonce_changes_the_nonce_and_nothing_else() {
        let a = adapter();
        let tx = TxEip1559 {
            chain_id: 11155111,
            nonce: 0,
            to: CallKind::Call(Address::repeat_byte(7)),
            value: U256::from(5),
            input: Bytes::from(vec![1, 2]),
            gas_limit: 21_000,
            max_fee_per_gas: 30,
            max_priority_fee_per_gas: 2,
            access_list: Default::default(),
        };
        let fee = FeeEstimate { estimated_fee: 630_000, gas_limit: Some(21_000), max_fee_per_gas: Some(30), max_priority_fee_per_gas: Some(2), ata_rent: None };
        let unsigned = UnsignedTx {
            chain: Chain::Ethereum,
            network: "ethereum-sepolia".into(),
            bytes: tx.encoded_for_signing(),
            nonce: Some(0),
            fee,
            last_valid_block_height: None,
            dry_run_passed: false,
        };
        let moved = a.with_nonce(&unsigned, 42).unwrap();
        assert_eq!(moved.nonce, Some(42));
        assert_eq!(moved.fee, unsigned.fee);
        assert_eq!(moved.bytes, TxEip1559 { nonce: 42, ..tx }.encoded_for_signing());
        assert!(a.with_nonce(&UnsignedTx { network: "base-sepolia".into(), ..unsigned }, 1).is_none(), "another network's transaction");
    }

    #[tokio::test]
    async fn batch_is_refused_and_the_network_must_match_to_sign() {
        let a = adapter();
        let from = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
        let e = a.build(from, &TxKind::Batch { instructions: vec![] }, Some(0)).await.unwrap_err();
        assert_eq!((e.class, e.error.code), (ErrorClass::Permanent, ErrorCode::BATCH_NOT_SUPPORTED));
        let e = a.build("nope", &TxKind::Transfer { to: from.into(), amount: 1, memo: None }, Some(0)).await.unwrap_err();
        assert_eq!(e.error.code, ErrorCode::INVALID_ADDRESS);
        let unsigned = UnsignedTx {
            chain: Chain::Ethereum,
            network: "base-sepolia".into(),
            bytes: vec![],
            nonce: None,
            fee: FeeEstimate::default(),
            last_valid_block_height: None,
            dry_run_passed: false,
        };
        let key = SecretKey::from_bytes(Chain::Ethereum, &[1u8; 32]).unwrap();
        assert_eq!(a.sign(&unsigned, &key).unwrap_err().code, ErrorCode::INVALID_TRANSACTION);
        assert_eq!(a.decode_external(&[0xc0]).unwrap_err().code, ErrorCode::INVALID_TRANSACTION);
    }
}
