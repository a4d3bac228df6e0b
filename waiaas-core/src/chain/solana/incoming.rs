//! The incoming monitor's scan on Solana, by slot: the signatures touching each watched
//! wallet and each of its token accounts (SPL Token and Token-2022, read when the round
//! starts) in the slot range (`getSignaturesForAddress`, newest first, paged back until the
//! range starts), then each successful transaction once (`getTransaction`, `jsonParsed`).
//! Recorded: System `transfer` / `transferWithSeed` to the wallet (SOL), token `transfer`,
//! `transferChecked`, `mintTo`, `mintToChecked` into one of its token accounts, outer or
//! inner instructions alike. A record's log index is the instruction's position in the
//! transaction (outer instructions in order, each followed by its inner ones), so one
//! transaction paying a wallet twice records two transfers. Reads use `confirmed`.

use super::{SolanaAdapter, SPL_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID};
use crate::chain::{ChainError, ChainResult, IncomingTransfer};
use serde_json::{json, Value};
use solana_pubkey::Pubkey;
use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;

/// `getSignaturesForAddress` page size (the node's maximum).
const PAGE: usize = 1000;

fn malformed(method: &str, what: &str) -> ChainError {
    ChainError::transient(format!("{method}: unexpected response (missing {what})"))
}

/// An instruction's recipient, amount, sender and mint (`None`: native SOL), when it moves
/// value into an account; `None` for anything else.
fn transfer_of(ix: &Value, tx: &Value) -> Option<(String, u128, String, Option<String>)> {
    let parsed = ix.get("parsed")?;
    let info = parsed.get("info")?;
    let kind = parsed.get("type")?.as_str()?;
    let text = |key: &str| info.get(key).and_then(Value::as_str).map(str::to_string);
    match ix.get("program")?.as_str()? {
        "system" if kind == "transfer" || kind == "transferWithSeed" => {
            Some((text("destination")?, u128::from(info.get("lamports")?.as_u64()?), text("source")?, None))
        }
        "spl-token" | "spl-token-2022" => {
            let (to, sender) = match kind {
                "transfer" | "transferChecked" => (text("destination")?, text("source")?),
                "mintTo" | "mintToChecked" => (text("account")?, text("mintAuthority").or_else(|| text("multisigMintAuthority"))?),
                _ => return None,
            };
            let amount = text("amount").or_else(|| info.pointer("/tokenAmount/amount").and_then(Value::as_str).map(str::to_string))?.parse().ok()?;
            // A plain `transfer` names no mint: the recipient account's balance entry does.
            let mint = text("mint").or_else(|| token_balance_field(tx, &to, "mint"))?;
            // The sender is the owner of the source token account (the authority that
            // signed, a delegate or multisig, otherwise).
            let from = match kind {
                "transfer" | "transferChecked" => {
                    token_balance_field(tx, &sender, "owner").or_else(|| text("authority")).or_else(|| text("multisigAuthority")).unwrap_or(sender)
                }
                _ => sender,
            };
            Some((to, amount, from, Some(mint)))
        }
        _ => None,
    }
}

/// A field (`mint`, `owner`) of `account`'s entry in the transaction's token balances.
fn token_balance_field(tx: &Value, account: &str, field: &str) -> Option<String> {
    let keys = tx.pointer("/transaction/message/accountKeys")?.as_array()?;
    let index = keys.iter().position(|k| k.get("pubkey").and_then(Value::as_str) == Some(account))? as u64;
    ["/meta/postTokenBalances", "/meta/preTokenBalances"]
        .iter()
        .filter_map(|p| tx.pointer(p).and_then(Value::as_array))
        .flatten()
        .find(|b| b.get("accountIndex").and_then(Value::as_u64) == Some(index))
        .and_then(|b| b.get(field))
        .and_then(Value::as_str)
        .map(str::to_string)
}

impl SolanaAdapter {
    pub(super) async fn head_slot(&self) -> ChainResult<u64> {
        let v = self.rpc.read("getSlot", json!([{"commitment": "confirmed"}])).await?;
        v.as_u64().ok_or_else(|| malformed("getSlot", "slot"))
    }

    /// The token accounts `owner` holds now, under both token programs.
    async fn token_accounts(&self, owner: &str) -> ChainResult<Vec<String>> {
        const M: &str = "getTokenAccountsByOwner";
        let mut accounts = vec![];
        for program in [SPL_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID] {
            let params =
                json!([owner, {"programId": program.to_string()}, {"encoding": "base64", "commitment": "confirmed", "dataSlice": {"offset": 0, "length": 0}}]);
            let v = self.rpc.read(M, params).await?;
            for a in v.get("value").and_then(Value::as_array).ok_or_else(|| malformed(M, "value"))? {
                accounts.push(a.get("pubkey").and_then(Value::as_str).ok_or_else(|| malformed(M, "pubkey"))?.to_string());
            }
        }
        Ok(accounts)
    }

    /// The signatures of `address`'s successful transactions in slots `from..=to`.
    async fn signatures_in(&self, address: &str, from: u64, to: u64) -> ChainResult<Vec<String>> {
        const M: &str = "getSignaturesForAddress";
        let mut found = vec![];
        let mut before: Option<String> = None;
        loop {
            let mut options = json!({"limit": PAGE, "commitment": "confirmed"});
            if let Some(b) = &before {
                options["before"] = json!(b);
            }
            let v = self.rpc.read(M, json!([address, options])).await?;
            let page = v.as_array().ok_or_else(|| malformed(M, "result"))?;
            for entry in page {
                let slot = entry.get("slot").and_then(Value::as_u64).ok_or_else(|| malformed(M, "slot"))?;
                if slot < from {
                    return Ok(found);
                }
                if slot <= to && entry.get("err").is_none_or(Value::is_null) {
                    found.push(entry.get("signature").and_then(Value::as_str).ok_or_else(|| malformed(M, "signature"))?.to_string());
                }
            }
            match page.last().and_then(|e| e.get("signature")).and_then(Value::as_str) {
                Some(last) if page.len() == PAGE => before = Some(last.to_string()),
                _ => return Ok(found),
            }
        }
    }

    pub(super) async fn scan_incoming(&self, addresses: &[String], from: u64, to: u64) -> ChainResult<Vec<IncomingTransfer>> {
        // Each account that can receive for a wallet (the wallet, its token accounts) → the wallet.
        let mut wallet_of: HashMap<String, (&String, bool)> = HashMap::new();
        for a in addresses {
            Pubkey::from_str(a).map_err(|_| ChainError::permanent(crate::ErrorCode::INVALID_ADDRESS, format!("{a} is not a Solana address")))?;
            wallet_of.insert(a.clone(), (a, true));
            for account in self.token_accounts(a).await? {
                wallet_of.insert(account, (a, false));
            }
        }
        let mut signatures = BTreeSet::new();
        for account in wallet_of.keys() {
            signatures.extend(self.signatures_in(account, from, to).await?);
        }
        let mut found = vec![];
        for signature in signatures {
            const M: &str = "getTransaction";
            let tx = self.rpc.read(M, json!([signature, {"encoding": "jsonParsed", "commitment": "confirmed", "maxSupportedTransactionVersion": 0}])).await?;
            if tx.is_null() {
                return Err(ChainError::transient(format!("{M}: {signature} is not available yet")));
            }
            if tx.pointer("/meta/err").is_some_and(|e| !e.is_null()) {
                continue;
            }
            let slot = tx.get("slot").and_then(Value::as_u64).ok_or_else(|| malformed(M, "slot"))?;
            let outer = tx.pointer("/transaction/message/instructions").and_then(Value::as_array).ok_or_else(|| malformed(M, "instructions"))?;
            let mut inner: HashMap<u64, &Vec<Value>> = HashMap::new();
            for group in tx.pointer("/meta/innerInstructions").and_then(Value::as_array).into_iter().flatten() {
                if let (Some(i), Some(list)) = (group.get("index").and_then(Value::as_u64), group.get("instructions").and_then(Value::as_array)) {
                    inner.insert(i, list);
                }
            }
            let flat = outer.iter().enumerate().flat_map(|(i, ix)| std::iter::once(ix).chain(inner.get(&(i as u64)).into_iter().flat_map(|l| l.iter())));
            for (position, ix) in flat.enumerate() {
                let Some((to_account, amount, from, token)) = transfer_of(ix, &tx) else { continue };
                // SOL counts when paid to the wallet itself, tokens when paid into one of its
                // token accounts.
                let Some((wallet, is_wallet)) = wallet_of.get(&to_account) else { continue };
                if amount == 0 || *is_wallet != token.is_none() {
                    continue;
                }
                found.push(IncomingTransfer {
                    tx_hash: signature.clone(),
                    log_index: position as i64,
                    to: (*wallet).clone(),
                    from,
                    amount,
                    token,
                    block: slot,
                });
            }
        }
        Ok(found)
    }
}
