//! Parsing and validating `POST /v1/transactions/send` bodies (spec §3.3) into a resolved
//! [`TxKind`]: addresses checked for the wallet's chain, amounts in smallest units.

use crate::amount::{parse_human, parse_units};
use crate::chain::{AccountMetaReq, TokenInfo, TxKind};
use crate::error::{Error, ErrorCode, Result};
pub use crate::network::check_address;
use crate::network::Chain;
use crate::store::tx::TxType;
use base64::Engine as _;
use serde_json::Value;

/// Fields of the body that are not part of the transaction itself.
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    pub wallet_id: Option<String>,
    pub network: Option<String>,
}

/// A token reference before decimals are known.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenSpec {
    pub address: String,
    /// What the request claims. Never used for amounts or value: only checked against the
    /// decimals of the registry or the chain (see [`Draft::resolve`]).
    pub decimals: Option<u8>,
    pub symbol: Option<String>,
    pub asset_id: Option<String>,
}

/// Amount as given: smallest units or human.
#[derive(Debug, Clone, PartialEq)]
pub enum AmountSpec {
    Units(u128),
    Human(String),
}

/// One parsed instruction, before token decimals are resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Draft {
    Transfer { to: String, amount: AmountSpec, memo: Option<String> },
    TokenTransfer { to: String, amount: AmountSpec, token: TokenSpec, memo: Option<String> },
    ContractCall { to: String, calldata: Vec<u8>, value: u128, accounts: Vec<AccountMetaReq> },
    Approve { spender: String, amount: AmountSpec, token: TokenSpec },
    Batch(Vec<Draft>),
}

impl Draft {
    pub fn tx_type(&self) -> TxType {
        match self {
            Draft::Transfer { .. } => TxType::Transfer,
            Draft::TokenTransfer { .. } => TxType::TokenTransfer,
            Draft::ContractCall { .. } => TxType::ContractCall,
            Draft::Approve { .. } => TxType::Approve,
            Draft::Batch(_) => TxType::Batch,
        }
    }

    /// Every token this draft needs decimals for.
    pub fn tokens(&self) -> Vec<&TokenSpec> {
        match self {
            Draft::TokenTransfer { token, .. } | Draft::Approve { token, .. } => vec![token],
            Draft::Batch(items) => items.iter().flat_map(|d| d.tokens()).collect(),
            _ => vec![],
        }
    }

    /// Resolve amounts with native decimals and the token decimals `decimals_of` gives (the
    /// token registry's or the chain's). The request's `token.decimals` is never used: one that
    /// differs is refused (`ACTION_VALIDATION_FAILED` naming it), since valuation, token limits
    /// and `humanAmount` depend on decimals while the transfer moves raw units.
    pub fn resolve(&self, native_decimals: u8, decimals_of: &dyn Fn(&str) -> Option<u8>) -> Result<TxKind> {
        self.resolve_at("", native_decimals, decimals_of)
    }

    /// [`Draft::resolve`] for the instruction whose fields are named `<path>field`.
    fn resolve_at(&self, path: &str, native_decimals: u8, decimals_of: &dyn Fn(&str) -> Option<u8>) -> Result<TxKind> {
        let amount = |a: &AmountSpec, d: u8| match a {
            AmountSpec::Units(v) => Ok(*v),
            AmountSpec::Human(h) => parse_human(&format!("{path}humanAmount"), h, d),
        };
        let token_info = |t: &TokenSpec| -> Result<TokenInfo> {
            let decimals =
                decimals_of(&t.address).ok_or_else(|| Error::new(ErrorCode::TOKEN_NOT_FOUND, format!("Decimals of token {} are unknown", t.address)))?;
            if let Some(claimed) = t.decimals.filter(|c| *c != decimals) {
                return Err(Error::validation(
                    &format!("{path}token.decimals"),
                    format!("token {} has {decimals} decimals, not {claimed} (omit token.decimals or pass the token's own)", t.address),
                ));
            }
            Ok(TokenInfo { address: t.address.clone(), decimals, symbol: t.symbol.clone(), program_id: None })
        };
        Ok(match self {
            Draft::Transfer { to, amount: a, memo } => TxKind::Transfer { to: to.clone(), amount: amount(a, native_decimals)?, memo: memo.clone() },
            Draft::TokenTransfer { to, amount: a, token, memo } => {
                let token = token_info(token)?;
                TxKind::TokenTransfer { to: to.clone(), amount: amount(a, token.decimals)?, token, memo: memo.clone() }
            }
            Draft::ContractCall { to, calldata, value, accounts } => {
                TxKind::ContractCall { to: to.clone(), calldata: calldata.clone(), value: *value, accounts: accounts.clone() }
            }
            Draft::Approve { spender, amount: a, token } => {
                let token = token_info(token)?;
                TxKind::Approve { spender: spender.clone(), amount: amount(a, token.decimals)?, token }
            }
            Draft::Batch(items) => TxKind::Batch {
                instructions: items
                    .iter()
                    .enumerate()
                    .map(|(i, d)| d.resolve_at(&format!("{path}instructions.{i}."), native_decimals, decimals_of))
                    .collect::<Result<_>>()?,
            },
        })
    }
}

fn obj<'a>(v: &'a Value, field: &str) -> Result<&'a serde_json::Map<String, Value>> {
    v.as_object().ok_or_else(|| Error::validation(field, "must be an object"))
}

fn opt_str<'a>(o: &'a serde_json::Map<String, Value>, field: &str, path: &str) -> Result<Option<&'a str>> {
    match o.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(Error::validation(&format!("{path}{field}"), "must be a string")),
    }
}

fn req_str<'a>(o: &'a serde_json::Map<String, Value>, field: &str, path: &str) -> Result<&'a str> {
    opt_str(o, field, path)?.filter(|s| !s.is_empty()).ok_or_else(|| Error::validation(&format!("{path}{field}"), "is required"))
}

fn amount_spec(o: &serde_json::Map<String, Value>, path: &str) -> Result<AmountSpec> {
    match (opt_str(o, "amount", path)?, opt_str(o, "humanAmount", path)?) {
        (Some(a), None) => Ok(AmountSpec::Units(parse_units(&format!("{path}amount"), a)?)),
        (None, Some(h)) => {
            // Syntax now; the token's decimals are applied when they are known.
            let places = h.split_once('.').map_or(0, |(_, f)| f.len()).min(38) as u8;
            parse_human(&format!("{path}humanAmount"), h, places)?;
            Ok(AmountSpec::Human(h.to_string()))
        }
        (Some(_), Some(_)) => Err(Error::validation(&format!("{path}amount"), "give amount or humanAmount, not both")),
        (None, None) => Err(Error::validation(&format!("{path}amount"), "amount or humanAmount is required")),
    }
}

fn memo(o: &serde_json::Map<String, Value>, path: &str) -> Result<Option<String>> {
    let m = opt_str(o, "memo", path)?;
    if let Some(m) = m {
        if m.chars().count() > 256 {
            return Err(Error::validation(&format!("{path}memo"), "must be at most 256 characters"));
        }
    }
    Ok(m.map(str::to_string))
}

fn token_spec(chain: Chain, o: &serde_json::Map<String, Value>, path: &str) -> Result<TokenSpec> {
    let t = obj(o.get("token").ok_or_else(|| Error::validation(&format!("{path}token"), "is required"))?, &format!("{path}token"))?;
    let p = format!("{path}token.");
    let asset_id = opt_str(t, "assetId", &p)?.map(str::to_string);
    let address = match (opt_str(t, "address", &p)?, &asset_id) {
        (Some(a), _) => a.to_string(),
        // CAIP-19 `<caip2>/<namespace>:<address>`.
        (None, Some(id)) => {
            id.rsplit(':').next().filter(|a| !a.is_empty()).ok_or_else(|| Error::validation(&format!("{p}assetId"), "is not a CAIP-19 id"))?.to_string()
        }
        (None, None) => return Err(Error::validation(&format!("{p}address"), "token.address or token.assetId is required")),
    };
    let address = check_address(chain, &format!("{p}address"), &address)?;
    let decimals = match t.get("decimals") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().filter(|d| *d <= 18).ok_or_else(|| Error::validation(&format!("{p}decimals"), "must be an integer 0..18"))? as u8),
    };
    let symbol = opt_str(t, "symbol", &p)?.map(str::to_string);
    if let Some(s) = &symbol {
        if s.is_empty() || s.chars().count() > 10 {
            return Err(Error::validation(&format!("{p}symbol"), "must be 1..10 characters"));
        }
    }
    Ok(TokenSpec { address, decimals, symbol, asset_id })
}

fn hex_bytes(field: &str, s: &str) -> Result<Vec<u8>> {
    let h = s.strip_prefix("0x").ok_or_else(|| Error::validation(field, "must be 0x-prefixed hex"))?;
    hex::decode(h).map_err(|_| Error::validation(field, "must be 0x-prefixed hex"))
}

/// Parse one instruction (a body, or an element of `instructions`) of type `ty`.
fn parse_one(chain: Chain, ty: &str, o: &serde_json::Map<String, Value>, path: &str) -> Result<Draft> {
    Ok(match ty {
        "TRANSFER" => {
            Draft::Transfer { to: check_address(chain, &format!("{path}to"), req_str(o, "to", path)?)?, amount: amount_spec(o, path)?, memo: memo(o, path)? }
        }
        "TOKEN_TRANSFER" => Draft::TokenTransfer {
            to: check_address(chain, &format!("{path}to"), req_str(o, "to", path)?)?,
            amount: amount_spec(o, path)?,
            token: token_spec(chain, o, path)?,
            memo: memo(o, path)?,
        },
        "APPROVE" => {
            if o.get("nft").is_some_and(|v| !v.is_null()) {
                return Err(Error::new(ErrorCode::UNSUPPORTED_TX_TYPE, "NFT approvals are not supported"));
            }
            Draft::Approve {
                spender: check_address(chain, &format!("{path}spender"), req_str(o, "spender", path)?)?,
                amount: amount_spec(o, path)?,
                token: token_spec(chain, o, path)?,
            }
        }
        "CONTRACT_CALL" => {
            for unsupported in ["preInstructions", "postInstructions", "addressLookupTableAddresses", "abi"] {
                if o.get(unsupported).is_some_and(|v| !v.is_null() && v.as_array().map(|a| !a.is_empty()).unwrap_or(true)) {
                    return Err(Error::validation(
                        &format!("{path}{unsupported}"),
                        if unsupported == "abi" { "encode the call first (POST /v1/utils/encode-calldata) and pass calldata" } else { "is not supported" },
                    ));
                }
            }
            let value = match opt_str(o, "value", path)? {
                Some(v) => parse_units(&format!("{path}value"), v)?,
                None => 0,
            };
            match chain {
                Chain::Ethereum => {
                    let calldata = match opt_str(o, "calldata", path)? {
                        Some(c) => hex_bytes(&format!("{path}calldata"), c)?,
                        None => vec![],
                    };
                    Draft::ContractCall { to: check_address(chain, &format!("{path}to"), req_str(o, "to", path)?)?, calldata, value, accounts: vec![] }
                }
                Chain::Solana => {
                    let program = opt_str(o, "programId", path)?
                        .or(opt_str(o, "to", path)?)
                        .ok_or_else(|| Error::validation(&format!("{path}programId"), "is required"))?;
                    let program = check_address(chain, &format!("{path}programId"), program)?;
                    let data = base64::engine::general_purpose::STANDARD
                        .decode(req_str(o, "instructionData", path)?)
                        .map_err(|_| Error::validation(&format!("{path}instructionData"), "must be base64"))?;
                    let accounts = match o.get("accounts") {
                        None | Some(Value::Null) => vec![],
                        Some(Value::Array(a)) => a
                            .iter()
                            .enumerate()
                            .map(|(i, acc)| {
                                let p = format!("{path}accounts.{i}.");
                                let ao = obj(acc, &p)?;
                                let flag =
                                    |k: &str| ao.get(k).and_then(Value::as_bool).ok_or_else(|| Error::validation(&format!("{p}{k}"), "must be a boolean"));
                                Ok(AccountMetaReq {
                                    pubkey: check_address(chain, &format!("{p}pubkey"), req_str(ao, "pubkey", &p)?)?,
                                    is_signer: flag("isSigner")?,
                                    is_writable: flag("isWritable")?,
                                })
                            })
                            .collect::<Result<_>>()?,
                        Some(_) => return Err(Error::validation(&format!("{path}accounts"), "must be an array")),
                    };
                    if value != 0 {
                        return Err(Error::validation(&format!("{path}value"), "is EVM-only"));
                    }
                    Draft::ContractCall { to: program, calldata: data, value: 0, accounts }
                }
            }
        }
        "NFT_TRANSFER" | "CONTRACT_DEPLOY" | "SIGN" | "X402_PAYMENT" => {
            return Err(Error::new(ErrorCode::UNSUPPORTED_TX_TYPE, format!("{ty} is not supported by /v1/transactions/send on this daemon")))
        }
        other => return Err(Error::validation(&format!("{path}type"), format!("unknown transaction type '{other}'"))),
    })
}

/// Parse a send body for a wallet on `chain`.
pub fn parse_send(chain: Chain, body: &Value) -> Result<(Envelope, Draft)> {
    let o = obj(body, "body")?;
    let env = Envelope { wallet_id: opt_str(o, "walletId", "")?.map(str::to_string), network: opt_str(o, "network", "")?.map(str::to_string) };
    if o.get("gasCondition").is_some_and(|v| !v.is_null()) {
        return Err(Error::validation("gasCondition", "gas-conditioned sends are not supported yet"));
    }
    let ty = opt_str(o, "type", "")?.unwrap_or("TRANSFER");
    let draft = if ty == "BATCH" {
        let items = o.get("instructions").and_then(Value::as_array).ok_or_else(|| Error::validation("instructions", "is required (2..20 items)"))?;
        if !(2..=20).contains(&items.len()) {
            return Err(Error::new(ErrorCode::BATCH_SIZE_EXCEEDED, "a batch has 2..20 instructions").with_details(serde_json::json!({"field": "instructions"})));
        }
        if chain == Chain::Ethereum {
            return Err(Error::new(ErrorCode::BATCH_NOT_SUPPORTED, "EVM wallets cannot batch (no smart account)"));
        }
        let mut out = vec![];
        for (i, it) in items.iter().enumerate() {
            let p = format!("instructions.{i}.");
            let io = obj(it, &p)?;
            let ity = match opt_str(io, "type", &p)? {
                Some(t) => t.to_string(),
                // Upstream batch items carry no type: infer it from their shape.
                None if io.contains_key("programId") || io.contains_key("instructionData") => "CONTRACT_CALL".into(),
                None if io.contains_key("spender") => "APPROVE".into(),
                None if io.contains_key("token") => "TOKEN_TRANSFER".into(),
                None => "TRANSFER".into(),
            };
            if ity == "BATCH" {
                return Err(Error::validation(&format!("{p}type"), "batches do not nest"));
            }
            out.push(parse_one(chain, &ity, io, &p)?);
        }
        Draft::Batch(out)
    } else {
        parse_one(chain, ty, o, "")?
    };
    Ok((env, draft))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const EVM_TO: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    const SOL_TO: &str = "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T";

    fn field(e: Error) -> String {
        e.details
            .and_then(|d| d["issues"][0]["path"].as_array().map(|p| p.iter().map(|s| s.as_str().unwrap().to_string()).collect::<Vec<_>>().join(".")))
            .unwrap_or_default()
    }

    #[test]
    fn transfers_and_legacy_bodies() {
        let (_, d) = parse_send(Chain::Ethereum, &json!({"type": "TRANSFER", "to": EVM_TO, "amount": "1000"})).unwrap();
        assert_eq!(d, Draft::Transfer { to: EVM_TO.into(), amount: AmountSpec::Units(1000), memo: None });
        let (_, d) = parse_send(Chain::Solana, &json!({"to": SOL_TO, "amount": "5", "memo": "hi"})).unwrap();
        assert_eq!(d.tx_type(), TxType::Transfer);
        let k = parse_send(Chain::Solana, &json!({"to": SOL_TO, "humanAmount": "1.5"})).unwrap().1.resolve(9, &|_| None).unwrap();
        assert_eq!(k, TxKind::Transfer { to: SOL_TO.into(), amount: 1_500_000_000, memo: None });
    }

    #[test]
    fn bad_bodies_name_the_field() {
        let cases = [
            (json!({"type": "TRANSFER", "amount": "1"}), "to"),
            (json!({"type": "TRANSFER", "to": EVM_TO}), "amount"),
            (json!({"type": "TRANSFER", "to": EVM_TO, "amount": "1.5"}), "amount"),
            (json!({"type": "TRANSFER", "to": EVM_TO, "amount": "1", "humanAmount": "1"}), "amount"),
            (json!({"type": "TOKEN_TRANSFER", "to": EVM_TO, "amount": "1"}), "token"),
            (json!({"type": "TOKEN_TRANSFER", "to": EVM_TO, "amount": "1", "token": {"address": EVM_TO, "decimals": 40}}), "token.decimals"),
            (json!({"type": "CONTRACT_CALL", "to": EVM_TO, "calldata": "zz"}), "calldata"),
            (json!({"type": "WHATEVER"}), "type"),
            (json!({"type": "TRANSFER", "to": EVM_TO, "amount": "1", "memo": "x".repeat(257)}), "memo"),
        ];
        for (body, want) in cases {
            let e = parse_send(Chain::Ethereum, &body).unwrap_err();
            assert_eq!(e.code, ErrorCode::ACTION_VALIDATION_FAILED, "{body}");
            assert_eq!(field(e), want, "{body}");
        }
        let e = parse_send(Chain::Ethereum, &json!({"type": "TRANSFER", "to": "0x70997970c51812dc3a010c7d01b50e0d17dc79C8", "amount": "1"})).unwrap_err();
        assert_eq!(e.code, ErrorCode::INVALID_ADDRESS, "bad checksum");
        let e = parse_send(Chain::Solana, &json!({"type": "TRANSFER", "to": EVM_TO, "amount": "1"})).unwrap_err();
        assert_eq!(e.code, ErrorCode::INVALID_ADDRESS);
        let e = parse_send(Chain::Ethereum, &json!({"type": "BATCH", "instructions": [{}, {}]})).unwrap_err();
        assert_eq!(e.code, ErrorCode::BATCH_NOT_SUPPORTED);
        let e = parse_send(Chain::Solana, &json!({"type": "BATCH", "instructions": [{"to": SOL_TO, "amount": "1"}]})).unwrap_err();
        assert_eq!(e.code, ErrorCode::BATCH_SIZE_EXCEEDED);
    }

    #[test]
    fn tokens_batches_and_program_calls() {
        let body = json!({"type": "TOKEN_TRANSFER", "to": EVM_TO, "humanAmount": "2.5", "token": {"address": EVM_TO, "decimals": 6, "symbol": "USDC"}});
        let k = parse_send(Chain::Ethereum, &body).unwrap().1.resolve(18, &|_| Some(6)).unwrap();
        match k {
            TxKind::TokenTransfer { amount, token, .. } => assert_eq!((amount, token.decimals), (2_500_000, 6)),
            other => panic!("{other:?}"),
        }
        // Decimals from the registry or the chain when not given; unknown decimals are an error,
        // even when the request names some.
        let body = json!({"type": "APPROVE", "spender": EVM_TO, "amount": "7", "token": {"address": EVM_TO}});
        let d = parse_send(Chain::Ethereum, &body).unwrap().1;
        assert!(d.resolve(18, &|_| Some(6)).is_ok());
        assert_eq!(d.resolve(18, &|_| None).unwrap_err().code, ErrorCode::TOKEN_NOT_FOUND);
        let claims_6 =
            parse_send(Chain::Ethereum, &json!({"type": "APPROVE", "spender": EVM_TO, "amount": "7", "token": {"address": EVM_TO, "decimals": 6}})).unwrap().1;
        assert_eq!(claims_6.resolve(18, &|_| None).unwrap_err().code, ErrorCode::TOKEN_NOT_FOUND);
        let body = json!({"type": "BATCH", "instructions": [
            {"to": SOL_TO, "amount": "1"},
            {"programId": "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr", "instructionData": "aGk=", "accounts": [{"pubkey": SOL_TO, "isSigner": false, "isWritable": true}]}
        ]});
        let k = parse_send(Chain::Solana, &body).unwrap().1.resolve(9, &|_| None).unwrap();
        match k {
            TxKind::Batch { instructions } => {
                assert_eq!(instructions.len(), 2);
                assert!(matches!(&instructions[1], TxKind::ContractCall { calldata, accounts, .. } if calldata == b"hi" && accounts.len() == 1));
            }
            other => panic!("{other:?}"),
        }
    }

    /// The request's decimals never decide: 18 claimed for a 6-decimal token is refused naming
    /// `token.decimals` (in a batch, the instruction's), whether the amount is raw or human.
    #[test]
    fn claimed_decimals_that_differ_from_the_token_are_refused() {
        let six = |_: &str| Some(6u8);
        for amount in [json!({"amount": "1000000000000"}), json!({"humanAmount": "1000000"})] {
            let mut body = json!({"type": "TOKEN_TRANSFER", "to": EVM_TO, "token": {"address": EVM_TO, "decimals": 18}});
            body.as_object_mut().unwrap().extend(amount.as_object().unwrap().clone());
            let e = parse_send(Chain::Ethereum, &body).unwrap().1.resolve(18, &six).unwrap_err();
            assert_eq!(e.code, ErrorCode::ACTION_VALIDATION_FAILED, "{body}");
            assert_eq!(field(e.clone()), "token.decimals", "{body}");
            assert!(e.message.contains("has 6 decimals, not 18"), "{}", e.message);
        }
        // Omitted or right: the token's own decimals scale humanAmount.
        for token in [json!({"address": EVM_TO}), json!({"address": EVM_TO, "decimals": 6})] {
            let body = json!({"type": "TOKEN_TRANSFER", "to": EVM_TO, "humanAmount": "1000000", "token": token});
            match parse_send(Chain::Ethereum, &body).unwrap().1.resolve(18, &six).unwrap() {
                TxKind::TokenTransfer { amount, token, .. } => assert_eq!((amount, token.decimals), (1_000_000_000_000, 6)),
                other => panic!("{other:?}"),
            }
        }
        let mint = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";
        let body = json!({"type": "BATCH", "instructions": [
            {"to": SOL_TO, "amount": "1"},
            {"to": SOL_TO, "amount": "1", "token": {"address": mint, "decimals": 9}}
        ]});
        let e = parse_send(Chain::Solana, &body).unwrap().1.resolve(9, &six).unwrap_err();
        assert_eq!((e.code, field(e)), (ErrorCode::ACTION_VALIDATION_FAILED, "instructions.1.token.decimals".to_string()));
    }
}
