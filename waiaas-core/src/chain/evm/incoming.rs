//! The incoming monitor's block scan on EVM: native transfers are transactions of the
//! scanned blocks whose `to` is a watched address (an EOA: such a transfer cannot revert);
//! token transfers are the ERC-20 `Transfer` logs whose recipient topic is a watched address
//! (one `eth_getLogs` for the range). Native coin sent by a contract (an internal call) shows
//! in neither and is not recorded.

use super::*;
use crate::chain::IncomingTransfer;
use std::collections::HashMap;

/// `keccak256("Transfer(address,address,uint256)")`.
const TRANSFER_TOPIC: &str = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

impl EvmAdapter {
    pub(super) async fn head(&self) -> ChainResult<u64> {
        let v = self.rpc.read("eth_blockNumber", json!([])).await?;
        to_u64(quantity(&v, "eth_blockNumber")?, "block number")
    }

    pub(super) async fn scan_incoming(&self, addresses: &[String], from: u64, to: u64) -> ChainResult<Vec<IncomingTransfer>> {
        // Watched addresses by their lowercase form, back to the caller's spelling.
        let mut watched: HashMap<String, &String> = HashMap::new();
        for a in addresses {
            watched.insert(parse_address("address", a)?.to_string().to_lowercase(), a);
        }
        let mut found = vec![];
        for n in from..=to {
            let block = self.rpc.read("eth_getBlockByNumber", json!([format!("0x{n:x}"), true])).await?;
            if block.is_null() {
                return Err(ChainError::transient(format!("block {n} is not available yet")));
            }
            for tx in block.get("transactions").and_then(Value::as_array).into_iter().flatten() {
                let Some(to) = tx.get("to").and_then(Value::as_str).and_then(|t| watched.get(&t.to_lowercase())) else { continue };
                let amount = to_u128(quantity(tx.get("value").unwrap_or(&Value::Null), "value")?, "value")?;
                if amount == 0 {
                    continue;
                }
                found.push(IncomingTransfer {
                    tx_hash: tx.get("hash").and_then(Value::as_str).unwrap_or_default().to_lowercase(),
                    log_index: -1,
                    to: (*to).clone(),
                    from: parse_address("from", tx.get("from").and_then(Value::as_str).unwrap_or_default())?.to_checksum(None),
                    amount,
                    token: None,
                    block: n,
                });
            }
        }
        let recipients: Vec<String> = watched.keys().map(|a| format!("0x{:0>64}", a.trim_start_matches("0x"))).collect();
        let filter = json!({"fromBlock": format!("0x{from:x}"), "toBlock": format!("0x{to:x}"), "topics": [TRANSFER_TOPIC, null, recipients]});
        let logs = self.rpc.read("eth_getLogs", json!([filter])).await?;
        for log in logs.as_array().into_iter().flatten() {
            if log.get("removed").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let topics: Vec<&str> = log.get("topics").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
            // An ERC-721 Transfer has the token id as a fourth topic and no data: not a token amount.
            if topics.len() != 3 {
                continue;
            }
            let to_key = format!("0x{}", &topics[2][topics[2].len().saturating_sub(40)..]).to_lowercase();
            let Some(to) = watched.get(&to_key) else { continue };
            let data = log.get("data").and_then(bytes_of).unwrap_or_default();
            if data.len() != 32 {
                continue;
            }
            let amount = to_u128(U256::from_be_slice(&data), "token amount")?;
            let token = log.get("address").and_then(Value::as_str).map(|a| parse_address("token", a).map(|t| t.to_checksum(None))).transpose()?;
            let from_addr = parse_address("from", &format!("0x{}", &topics[1][topics[1].len().saturating_sub(40)..]))?.to_checksum(None);
            found.push(IncomingTransfer {
                tx_hash: log.get("transactionHash").and_then(Value::as_str).unwrap_or_default().to_lowercase(),
                log_index: to_u64(quantity(log.get("logIndex").unwrap_or(&Value::Null), "logIndex")?, "log index")? as i64,
                to: (*to).clone(),
                from: from_addr,
                amount,
                token,
                block: to_u64(quantity(log.get("blockNumber").unwrap_or(&Value::Null), "blockNumber")?, "block number")?,
            });
        }
        Ok(found)
    }
}
