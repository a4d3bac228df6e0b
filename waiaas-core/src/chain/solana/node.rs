//! Typed Solana JSON-RPC calls over [`RpcClient`](crate::chain::rpc::RpcClient) (which
//! fails over between endpoints). Reads use `confirmed` commitment; a malformed answer is
//! transient (another endpoint may do better).

use super::build::{self, Token};
use super::errors::{rpc_failure, tx_failure, TxFailure};
use super::{is_token_program, wire, SolanaAdapter, SPL_TOKEN_PROGRAM_ID};
use crate::chain::{ChainError, ChainResult, ErrorClass, TxStatus};
use crate::error::ErrorCode;
use base64::Engine as _;
use serde_json::{json, Value};
use solana_hash::Hash;
use solana_message::{Message, VersionedMessage};
use solana_pubkey::Pubkey;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction::Signature;
use std::str::FromStr;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Size of an SPL Token account, and of a Token-2022 account with only `ImmutableOwner`.
const SPL_TOKEN_ACCOUNT_LEN: u64 = 165;
const TOKEN_2022_ATA_MIN_LEN: u64 = 170;

/// Layout of a mint (identical in both token programs for the base state).
const MINT_LEN: usize = 82;
const MINT_DECIMALS_OFFSET: usize = 44;
const MINT_INITIALIZED_OFFSET: usize = 45;
/// Offset of the `amount` (u64 LE) of a token account.
const TOKEN_ACCOUNT_AMOUNT_OFFSET: usize = 64;

/// An account as `getAccountInfo` returns it.
pub(crate) struct Account {
    pub owner: Pubkey,
    pub data: Vec<u8>,
}

impl Account {
    /// The `amount` of a token account (`None` when the data is too short to be one).
    pub fn token_amount(&self) -> Option<u64> {
        self.data.get(TOKEN_ACCOUNT_AMOUNT_OFFSET..TOKEN_ACCOUNT_AMOUNT_OFFSET + 8).and_then(|b| <[u8; 8]>::try_from(b).ok()).map(u64::from_le_bytes)
    }
}

fn malformed(method: &str, what: &str) -> ChainError {
    ChainError::transient(format!("{method}: unexpected response (missing {what})"))
}

fn u64_at(v: &Value, pointer: &str, method: &str) -> ChainResult<u64> {
    v.pointer(pointer).and_then(Value::as_u64).ok_or_else(|| malformed(method, pointer))
}

fn str_at<'a>(v: &'a Value, pointer: &str, method: &str) -> ChainResult<&'a str> {
    v.pointer(pointer).and_then(Value::as_str).ok_or_else(|| malformed(method, pointer))
}

fn base64_at(v: &Value, pointer: &str, method: &str) -> ChainResult<Vec<u8>> {
    B64.decode(str_at(v, pointer, method)?).map_err(|_| malformed(method, pointer))
}

pub(crate) fn encode(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

impl SolanaAdapter {
    pub(crate) async fn lamports(&self, address: &Pubkey) -> ChainResult<u64> {
        let v = self.rpc.read("getBalance", json!([address.to_string(), {"commitment": "confirmed"}])).await?;
        u64_at(&v, "/value", "getBalance")
    }

    /// The account, or `None` when it does not exist.
    pub(crate) async fn account(&self, address: &Pubkey) -> ChainResult<Option<Account>> {
        const M: &str = "getAccountInfo";
        let v = self.rpc.read(M, json!([address.to_string(), {"encoding": "base64", "commitment": "confirmed"}])).await?;
        let Some(value) = v.get("value").filter(|x| !x.is_null()) else { return Ok(None) };
        let owner = Pubkey::from_str(str_at(value, "/owner", M)?).map_err(|_| malformed(M, "owner"))?;
        Ok(Some(Account { owner, data: base64_at(value, "/data/0", M)? }))
    }

    /// Mint decimals and program, read from the mint account.
    pub(crate) async fn mint(&self, mint: &Pubkey) -> ChainResult<Token> {
        let not_a_mint = |why: &str| ChainError::permanent(ErrorCode::TOKEN_NOT_FOUND, format!("{mint} {why}"));
        let account = self.account(mint).await?.ok_or_else(|| not_a_mint("does not exist"))?;
        if !is_token_program(&account.owner) {
            return Err(not_a_mint("is not owned by SPL Token or Token-2022"));
        }
        if account.data.len() < MINT_LEN || account.data.get(MINT_INITIALIZED_OFFSET) != Some(&1) {
            return Err(not_a_mint("is not an initialized mint"));
        }
        let decimals = account.data.get(MINT_DECIMALS_OFFSET).copied().ok_or_else(|| not_a_mint("is not a mint"))?;
        Ok(Token { mint: *mint, program: account.owner, decimals })
    }

    /// Sum of the owner's token accounts for `mint` (0 when there are none).
    pub(crate) async fn token_amount(&self, owner: &Pubkey, mint: &Pubkey) -> ChainResult<u128> {
        const M: &str = "getTokenAccountsByOwner";
        let params = json!([owner.to_string(), {"mint": mint.to_string()}, {"encoding": "base64", "commitment": "confirmed"}]);
        let v = match self.rpc.call(M, params).await? {
            Ok(v) => v,
            // "Invalid param: could not find mint"
            Err(e) if e.code == -32602 => return Err(ChainError::permanent(ErrorCode::TOKEN_NOT_FOUND, format!("{M}: {}", e.message))),
            Err(e) => return Err(ChainError::transient(format!("{M}: RPC error {}: {}", e.code, e.message))),
        };
        let accounts = v.get("value").and_then(Value::as_array).ok_or_else(|| malformed(M, "value"))?;
        let mut total: u128 = 0;
        for a in accounts {
            let data = base64_at(a, "/account/data/0", M)?;
            let amount = data
                .get(TOKEN_ACCOUNT_AMOUNT_OFFSET..TOKEN_ACCOUNT_AMOUNT_OFFSET + 8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_le_bytes)
                .ok_or_else(|| malformed(M, "token account amount"))?;
            total = total.saturating_add(u128::from(amount));
        }
        Ok(total)
    }

    /// Latest `confirmed` blockhash and the block height after which it expires.
    pub(crate) async fn latest_blockhash(&self) -> ChainResult<(Hash, u64)> {
        const M: &str = "getLatestBlockhash";
        let v = self.rpc.read(M, json!([{"commitment": "confirmed"}])).await?;
        let hash = Hash::from_str(str_at(&v, "/value/blockhash", M)?).map_err(|_| malformed(M, "blockhash"))?;
        Ok((hash, u64_at(&v, "/value/lastValidBlockHeight", M)?))
    }

    /// Fee of a message; `null` means the node does not know its blockhash (stale).
    pub(crate) async fn fee_for_message(&self, message: &VersionedMessage) -> ChainResult<u64> {
        const M: &str = "getFeeForMessage";
        let bytes = wire::message_bytes(message).map_err(|e| ChainError { class: ErrorClass::Permanent, error: e })?;
        let v = self.rpc.read(M, json!([encode(&bytes), {"commitment": "confirmed"}])).await?;
        match v.get("value") {
            Some(Value::Null) | None => Err(ChainError::stale(format!("{M}: the node does not know the blockhash"))),
            Some(fee) => fee.as_u64().ok_or_else(|| malformed(M, "value")),
        }
    }

    pub(crate) async fn rent_exempt_minimum(&self, size: u64) -> ChainResult<u64> {
        const M: &str = "getMinimumBalanceForRentExemption";
        let v = self.rpc.read(M, json!([size, {"commitment": "confirmed"}])).await?;
        v.as_u64().ok_or_else(|| malformed(M, "result"))
    }

    /// Rent of a new associated token account for `token`. Token-2022 accounts grow with
    /// the mint's extensions, so the program is asked (a simulated `GetAccountDataSize`,
    /// paid by `payer`); if that dry run fails the minimum size is assumed.
    pub(crate) async fn ata_rent(&self, token: &Token, payer: &Pubkey) -> ChainResult<u64> {
        let size = if token.program == SPL_TOKEN_PROGRAM_ID {
            SPL_TOKEN_ACCOUNT_LEN
        } else {
            self.token_2022_ata_size(token, payer).await.unwrap_or_else(|e| {
                tracing::debug!("Token-2022 account size query failed, assuming {TOKEN_2022_ATA_MIN_LEN}: {}", e.error);
                TOKEN_2022_ATA_MIN_LEN
            })
        };
        self.rent_exempt_minimum(size).await
    }

    async fn token_2022_ata_size(&self, token: &Token, payer: &Pubkey) -> ChainResult<u64> {
        const M: &str = "simulateTransaction";
        let message = Message::new(&[build::token_2022_ata_size_query(&token.mint)], Some(payer));
        let tx = VersionedTransaction { signatures: vec![Signature::default()], message: VersionedMessage::Legacy(message) };
        let value = self.simulate_raw(&tx, true).await?;
        if let Some(err) = value.get("err").filter(|e| !e.is_null()) {
            return Err(tx_failure(err, &[], false).into_chain_error());
        }
        let data = base64_at(&value, "/returnData/data/0", M)?;
        <[u8; 8]>::try_from(data.as_slice()).map(u64::from_le_bytes).map_err(|_| malformed(M, "u64 return data"))
    }

    /// `simulateTransaction` without signature verification; returns its `value`
    /// (`{err, logs, unitsConsumed, returnData}`), node errors classified.
    pub(crate) async fn simulate_raw(&self, tx: &VersionedTransaction, replace_blockhash: bool) -> ChainResult<Value> {
        const M: &str = "simulateTransaction";
        let raw = wire::serialize(tx).map_err(|e| ChainError { class: ErrorClass::Permanent, error: e })?;
        let config = json!({
            "encoding": "base64",
            "sigVerify": false,
            "replaceRecentBlockhash": replace_blockhash,
            "commitment": "confirmed",
        });
        match self.rpc.call(M, json!([encode(&raw), config])).await? {
            Ok(v) => v.get("value").cloned().ok_or_else(|| malformed(M, "value")),
            Err(e) => Err(rpc_failure(M, &e, &wire::instruction_programs(&tx.message)).into_chain_error()),
        }
    }

    /// `sendTransaction` with preflight at `confirmed` (the blockhash's commitment).
    pub(crate) async fn send_raw(&self, raw: &[u8], programs: &[Pubkey]) -> ChainResult<Result<(), TxFailure>> {
        const M: &str = "sendTransaction";
        let config = json!({"encoding": "base64", "preflightCommitment": "confirmed"});
        Ok(match self.rpc.call(M, json!([encode(raw), config])).await? {
            Ok(_) => Ok(()),
            Err(e) => Err(rpc_failure(M, &e, programs)),
        })
    }

    pub(crate) async fn signature_status(&self, signature: &str) -> ChainResult<TxStatus> {
        const M: &str = "getSignatureStatuses";
        let v = self.rpc.read(M, json!([[signature], {"searchTransactionHistory": true}])).await?;
        let Some(status) = v.pointer("/value/0").filter(|s| !s.is_null()) else { return Ok(TxStatus::NotFound) };
        if let Some(err) = status.get("err").filter(|e| !e.is_null()) {
            return Ok(TxStatus::Failed { reason: tx_failure(err, &[], true).text });
        }
        Ok(match status.get("confirmationStatus").and_then(Value::as_str) {
            Some("confirmed" | "finalized") => TxStatus::Confirmed { block: u64_at(status, "/slot", M)? },
            _ => TxStatus::Pending,
        })
    }

    /// Whether a blockhash can still be used: `isBlockhashValid`, or, on nodes without
    /// it, the current block height against `last_valid_block_height`.
    pub(crate) async fn blockhash_valid(&self, hash: &Hash, last_valid_block_height: Option<u64>) -> ChainResult<bool> {
        const M: &str = "isBlockhashValid";
        match self.rpc.call(M, json!([hash.to_string(), {"commitment": "confirmed"}])).await? {
            Ok(v) => v.get("value").and_then(Value::as_bool).ok_or_else(|| malformed(M, "value")),
            Err(e) => {
                let Some(last) = last_valid_block_height else {
                    return Err(ChainError::transient(format!("{M}: RPC error {}: {}", e.code, e.message)));
                };
                let v = self.rpc.read("getBlockHeight", json!([{"commitment": "confirmed"}])).await?;
                Ok(v.as_u64().ok_or_else(|| malformed("getBlockHeight", "result"))? <= last)
            }
        }
    }

    /// Ask the faucet for lamports (test validators and devnet); returns the signature.
    pub async fn request_airdrop(&self, address: &str, lamports: u64) -> ChainResult<String> {
        const M: &str = "requestAirdrop";
        let v = self.rpc.read(M, json!([address, lamports, {"commitment": "confirmed"}])).await?;
        v.as_str().map(str::to_string).ok_or_else(|| malformed(M, "signature"))
    }
}
