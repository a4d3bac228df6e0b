//! EIP-712 typed data as the signing gate sees it: bounded before anything parses it
//! ([`check_caps`]), and decoded into what a signature over it would authorize
//! ([`classify`]): EIP-2612 and DAI `Permit`, Permit2 `PermitSingle` / `PermitBatch` /
//! `PermitTransferFrom` / `PermitBatchTransferFrom` / `Permit(Batch)WitnessTransferFrom`,
//! EIP-3009 `TransferWithAuthorization` / `ReceiveWithAuthorization`.
//!
//! A type is recognised only when its field list is exactly the standard one (the type hash
//! a contract checks is derived from it, so a look-alike with other fields is not that
//! authorization): anything else is [`TypedSummary::known`] = false, and the gate treats it
//! as an unknown contract interaction.

use crate::error::{Error, Result};
use alloy_primitives::U256;
use serde_json::Value;
use std::collections::HashMap;

/// Largest typed data document accepted (serialized JSON).
pub const MAX_TYPED_DATA_BYTES: usize = 64 * 1024;
/// Most struct types in `types` (including `EIP712Domain`).
pub const MAX_TYPES: usize = 32;
/// Most fields of one struct type.
pub const MAX_FIELDS: usize = 64;
/// Longest chain of struct references from the primary type (`A` has a `B` has a `C` …).
pub const MAX_DEPTH: usize = 8;
/// Most array dimensions of one field type (`uint256[][]` has 2).
pub const MAX_ARRAY_DIMS: usize = 4;
/// Longest type or field name.
pub const MAX_NAME_LEN: usize = 256;

fn bad(msg: impl Into<String>) -> Error {
    Error::validation("typedData", msg)
}

/// `types` as `name -> [(field name, field type)]`, checked against the size caps.
fn type_table(json: &Value) -> Result<HashMap<&str, Vec<(&str, &str)>>> {
    let types = json.get("types").and_then(Value::as_object).ok_or_else(|| bad("types must be an object"))?;
    if types.len() > MAX_TYPES {
        return Err(bad(format!("has {} types, more than {MAX_TYPES}", types.len())));
    }
    let mut out = HashMap::new();
    for (name, fields) in types {
        if name.len() > MAX_NAME_LEN {
            return Err(bad(format!("a type name is longer than {MAX_NAME_LEN} characters")));
        }
        let fields = fields.as_array().ok_or_else(|| bad(format!("types.{name} must be an array")))?;
        if fields.len() > MAX_FIELDS {
            return Err(bad(format!("type {name} has {} fields, more than {MAX_FIELDS}", fields.len())));
        }
        let mut list = Vec::with_capacity(fields.len());
        for f in fields {
            let (Some(n), Some(t)) = (f.get("name").and_then(Value::as_str), f.get("type").and_then(Value::as_str)) else {
                return Err(bad(format!("every field of {name} needs a string name and type")));
            };
            if n.len() > MAX_NAME_LEN || t.len() > MAX_NAME_LEN {
                return Err(bad(format!("a field of {name} has a name or type longer than {MAX_NAME_LEN} characters")));
            }
            if t.matches('[').count() > MAX_ARRAY_DIMS {
                return Err(bad(format!("field {name}.{n} has more than {MAX_ARRAY_DIMS} array dimensions")));
            }
            list.push((n, t));
        }
        out.insert(name.as_str(), list);
    }
    Ok(out)
}

/// The struct name a field type refers to (`Person[][2]` -> `Person`).
fn base_type(t: &str) -> &str {
    t.split('[').next().unwrap_or(t)
}

/// Depth of the struct graph below `name`, memoised, refusing cycles and anything deeper
/// than [`MAX_DEPTH`]. The recursion itself is bounded by `MAX_DEPTH`.
fn depth<'a>(name: &'a str, types: &HashMap<&'a str, Vec<(&'a str, &'a str)>>, level: usize, memo: &mut HashMap<&'a str, Option<usize>>) -> Result<usize> {
    if level > MAX_DEPTH {
        return Err(bad(format!("struct types nest deeper than {MAX_DEPTH} levels")));
    }
    match memo.get(name) {
        Some(Some(d)) => return Ok(*d),
        Some(None) => return Err(bad(format!("type {name} refers to itself"))),
        None => {}
    }
    memo.insert(name, None);
    let mut deepest = 0;
    for (_, t) in types.get(name).map(Vec::as_slice).unwrap_or_default() {
        let b = base_type(t);
        if types.contains_key(b) {
            deepest = deepest.max(1 + depth(b, types, level + 1, memo)?);
        }
    }
    memo.insert(name, Some(deepest));
    Ok(deepest)
}

/// Refuse typed data that is too large or too deep to process safely, before any parser or
/// hasher walks it: at most [`MAX_TYPED_DATA_BYTES`], [`MAX_TYPES`] types of [`MAX_FIELDS`]
/// fields, struct references [`MAX_DEPTH`] deep, no cycles. A 400, never a crash.
pub fn check_caps(json: &Value) -> Result<()> {
    let size = serde_json::to_vec(json).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > MAX_TYPED_DATA_BYTES {
        return Err(bad(format!("is {size} bytes, more than {MAX_TYPED_DATA_BYTES}")));
    }
    let types = type_table(json)?;
    let mut memo = HashMap::new();
    for name in types.keys() {
        if depth(name, &types, 0, &mut memo)? > MAX_DEPTH {
            return Err(bad(format!("struct types nest deeper than {MAX_DEPTH} levels")));
        }
    }
    let primary = json.get("primaryType").and_then(Value::as_str).ok_or_else(|| bad("primaryType must be a string"))?;
    if !types.contains_key(primary) {
        return Err(bad(format!("primaryType {primary} is not among the types")));
    }
    Ok(())
}

/// What a signature over typed data would authorize.
#[derive(Debug, Clone, PartialEq)]
pub enum TypedMeaning {
    /// Lets `spender` move up to `amount` of `token` (saturated to `u128::MAX`: unlimited).
    Approve { token: String, spender: String, amount: u128 },
    /// Moves `amount` of `token` to `to` (Permit2 transfers: to whoever `spender` chooses).
    Transfer { token: String, to: String, amount: u128 },
}

/// The parts of typed data the gate decides on.
#[derive(Debug, Clone, PartialEq)]
pub struct TypedSummary {
    pub primary_type: String,
    /// `domain.chainId`, if present.
    pub chain_id: Option<u64>,
    pub verifying_contract: Option<String>,
    /// The standard authorization this is, if any.
    pub known: bool,
    pub meanings: Vec<TypedMeaning>,
}

fn fields_are(types: &HashMap<&str, Vec<(&str, &str)>>, name: &str, want: &[(&str, &str)]) -> bool {
    types.get(name).is_some_and(|f| f.as_slice() == want)
}

/// A JSON number or decimal / 0x-hex string as a `uint256`.
fn uint(v: Option<&Value>, what: &str) -> Result<U256> {
    let v = v.ok_or_else(|| bad(format!("message.{what} is missing")))?;
    let parsed = match v {
        Value::Number(n) => n.as_u64().map(U256::from),
        Value::String(s) => match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(h) => U256::from_str_radix(h, 16).ok(),
            None => U256::from_str_radix(s, 10).ok(),
        },
        _ => None,
    };
    parsed.ok_or_else(|| bad(format!("message.{what} is not an unsigned integer")))
}

fn amount(v: Option<&Value>, what: &str) -> Result<u128> {
    let n = uint(v, what)?;
    Ok(u128::try_from(n).unwrap_or(u128::MAX))
}

fn address(v: Option<&Value>, what: &str) -> Result<String> {
    let s = v.and_then(Value::as_str).ok_or_else(|| bad(format!("message.{what} must be an address string")))?;
    let a: alloy_primitives::Address = s.parse().map_err(|_| bad(format!("message.{what} is not an address")))?;
    Ok(a.to_checksum(None))
}

const TOKEN_PERMISSIONS: &[(&str, &str)] = &[("token", "address"), ("amount", "uint256")];
const PERMIT_DETAILS: &[(&str, &str)] = &[("token", "address"), ("amount", "uint160"), ("expiration", "uint48"), ("nonce", "uint48")];
const EIP2612: &[(&str, &str)] = &[("owner", "address"), ("spender", "address"), ("value", "uint256"), ("nonce", "uint256"), ("deadline", "uint256")];
const DAI: &[(&str, &str)] = &[("holder", "address"), ("spender", "address"), ("nonce", "uint256"), ("expiry", "uint256"), ("allowed", "bool")];
const EIP3009: &[(&str, &str)] =
    &[("from", "address"), ("to", "address"), ("value", "uint256"), ("validAfter", "uint256"), ("validBefore", "uint256"), ("nonce", "bytes32")];

/// Decode typed data (already within [`check_caps`]) into what signing it authorizes.
pub fn classify(json: &Value) -> Result<TypedSummary> {
    check_caps(json)?;
    let types = type_table(json)?;
    let primary = json.get("primaryType").and_then(Value::as_str).unwrap_or_default().to_string();
    let domain = json.get("domain").cloned().unwrap_or(Value::Null);
    let chain_id = match domain.get("chainId") {
        None | Some(Value::Null) => None,
        v => Some(u64::try_from(uint(v, "domain.chainId")?).map_err(|_| bad("domain.chainId is out of range"))?),
    };
    let verifying_contract = match domain.get("verifyingContract") {
        None | Some(Value::Null) => None,
        v => Some(address(v, "domain.verifyingContract").map_err(|_| bad("domain.verifyingContract is not an address"))?),
    };
    let msg = json.get("message").cloned().unwrap_or(Value::Null);
    let m = |k: &str| msg.get(k);
    let token_of_domain = || verifying_contract.clone().ok_or_else(|| bad(format!("{primary} needs domain.verifyingContract (the token)")));
    let mut meanings = vec![];
    let p = primary.as_str();
    let permit2_transfer = |permitted: &Value, spender: &str, out: &mut Vec<TypedMeaning>| -> Result<()> {
        let items: Vec<&Value> = match permitted {
            Value::Array(a) => a.iter().collect(),
            one => vec![one],
        };
        for it in items {
            out.push(TypedMeaning::Transfer {
                token: address(it.get("token"), "permitted.token")?,
                to: spender.to_string(),
                amount: amount(it.get("amount"), "permitted.amount")?,
            });
        }
        Ok(())
    };
    let known = if fields_are(&types, p, EIP2612) && p == "Permit" {
        meanings.push(TypedMeaning::Approve { token: token_of_domain()?, spender: address(m("spender"), "spender")?, amount: amount(m("value"), "value")? });
        true
    } else if fields_are(&types, p, DAI) && p == "Permit" {
        let allowed = m("allowed").and_then(Value::as_bool).ok_or_else(|| bad("message.allowed must be a boolean"))?;
        meanings.push(TypedMeaning::Approve {
            token: token_of_domain()?,
            spender: address(m("spender"), "spender")?,
            amount: if allowed { u128::MAX } else { 0 },
        });
        true
    } else if (p == "TransferWithAuthorization" || p == "ReceiveWithAuthorization") && fields_are(&types, p, EIP3009) {
        meanings.push(TypedMeaning::Transfer { token: token_of_domain()?, to: address(m("to"), "to")?, amount: amount(m("value"), "value")? });
        true
    } else if (p == "PermitSingle" || p == "PermitBatch") && fields_are(&types, "PermitDetails", PERMIT_DETAILS) {
        let details_type = if p == "PermitSingle" { "PermitDetails" } else { "PermitDetails[]" };
        if !fields_are(&types, p, &[("details", details_type), ("spender", "address"), ("sigDeadline", "uint256")]) {
            false
        } else {
            let spender = address(m("spender"), "spender")?;
            let details: Vec<&Value> = match m("details") {
                Some(Value::Array(a)) if p == "PermitBatch" => a.iter().collect(),
                Some(d @ Value::Object(_)) if p == "PermitSingle" => vec![d],
                _ => return Err(bad("message.details does not match its type")),
            };
            for d in details {
                meanings.push(TypedMeaning::Approve {
                    token: address(d.get("token"), "details.token")?,
                    spender: spender.clone(),
                    amount: amount(d.get("amount"), "details.amount")?,
                });
            }
            true
        }
    } else if fields_are(&types, "TokenPermissions", TOKEN_PERMISSIONS) && permit2_transfer_shape(&types, p) {
        let spender = address(m("spender"), "spender")?;
        let permitted = m("permitted").ok_or_else(|| bad("message.permitted is missing"))?;
        permit2_transfer(permitted, &spender, &mut meanings)?;
        true
    } else {
        false
    };
    Ok(TypedSummary { primary_type: primary, chain_id, verifying_contract, known, meanings })
}

/// Permit2's signature transfers: `PermitTransferFrom`, `PermitBatchTransferFrom` and their
/// `…WitnessTransferFrom` forms (any witness type after the four standard fields).
fn permit2_transfer_shape(types: &HashMap<&str, Vec<(&str, &str)>>, p: &str) -> bool {
    let (single, witness) = match p {
        "PermitTransferFrom" => (true, false),
        "PermitBatchTransferFrom" => (false, false),
        "PermitWitnessTransferFrom" => (true, true),
        "PermitBatchWitnessTransferFrom" => (false, true),
        _ => return false,
    };
    let permitted = if single { "TokenPermissions" } else { "TokenPermissions[]" };
    let head = [("permitted", permitted), ("spender", "address"), ("nonce", "uint256"), ("deadline", "uint256")];
    let Some(fields) = types.get(p) else { return false };
    if witness {
        fields.len() == 5 && fields[..4] == head
    } else {
        fields.as_slice() == head
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TOKEN: &str = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
    const SPENDER: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    fn domain_types() -> Value {
        json!([{"name": "name", "type": "string"}, {"name": "version", "type": "string"}, {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}])
    }

    fn permit(value: &str) -> Value {
        json!({
            "types": {"EIP712Domain": domain_types(), "Permit": EIP2612.iter().map(|(n, t)| json!({"name": n, "type": t})).collect::<Vec<_>>()},
            "primaryType": "Permit",
            "domain": {"name": "T", "version": "1", "chainId": 31337, "verifyingContract": TOKEN},
            "message": {"owner": SPENDER, "spender": SPENDER, "value": value, "nonce": 0, "deadline": "99999999999"}
        })
    }

    #[test]
    fn eip2612_permit_is_an_approval_of_the_verifying_contract() {
        let s = classify(&permit("1000")).unwrap();
        assert!(s.known);
        assert_eq!(s.chain_id, Some(31337));
        assert_eq!(s.meanings, vec![TypedMeaning::Approve { token: TOKEN.into(), spender: SPENDER.into(), amount: 1000 }]);
        // uint256 max saturates to "unlimited".
        let max = format!("0x{}", "f".repeat(64));
        assert_eq!(classify(&permit(&max)).unwrap().meanings[0], TypedMeaning::Approve { token: TOKEN.into(), spender: SPENDER.into(), amount: u128::MAX });
    }

    #[test]
    fn a_look_alike_permit_with_other_fields_is_unknown() {
        let mut p = permit("1");
        p["types"]["Permit"].as_array_mut().unwrap().push(json!({"name": "extra", "type": "uint256"}));
        p["message"]["extra"] = json!(1);
        let s = classify(&p).unwrap();
        assert!(!s.known);
        assert!(s.meanings.is_empty());
    }

    #[test]
    fn permit2_and_eip3009_are_decoded() {
        let transfer = json!({
            "types": {
                "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
                "PermitBatchWitnessTransferFrom": [{"name": "permitted", "type": "TokenPermissions[]"}, {"name": "spender", "type": "address"}, {"name": "nonce", "type": "uint256"}, {"name": "deadline", "type": "uint256"}, {"name": "witness", "type": "Order"}],
                "TokenPermissions": [{"name": "token", "type": "address"}, {"name": "amount", "type": "uint256"}],
                "Order": [{"name": "id", "type": "uint256"}]
            },
            "primaryType": "PermitBatchWitnessTransferFrom",
            "domain": {"name": "Permit2", "chainId": "0x1", "verifyingContract": "0x000000000022D473030F116dDEE9F6B43aC78BA3"},
            "message": {"permitted": [{"token": TOKEN, "amount": "5"}, {"token": SPENDER, "amount": 7}], "spender": SPENDER, "nonce": 1, "deadline": 2, "witness": {"id": 1}}
        });
        let s = classify(&transfer).unwrap();
        assert!(s.known);
        assert_eq!(s.chain_id, Some(1));
        assert_eq!(
            s.meanings,
            vec![
                TypedMeaning::Transfer { token: TOKEN.into(), to: SPENDER.into(), amount: 5 },
                TypedMeaning::Transfer { token: SPENDER.into(), to: SPENDER.into(), amount: 7 }
            ]
        );
        let auth = json!({
            "types": {"EIP712Domain": domain_types(), "TransferWithAuthorization": EIP3009.iter().map(|(n, t)| json!({"name": n, "type": t})).collect::<Vec<_>>()},
            "primaryType": "TransferWithAuthorization",
            "domain": {"name": "USDC", "version": "2", "chainId": 8453, "verifyingContract": TOKEN},
            "message": {"from": SPENDER, "to": SPENDER, "value": "1000000", "validAfter": 0, "validBefore": 9, "nonce": format!("0x{}", "00".repeat(32))}
        });
        assert_eq!(classify(&auth).unwrap().meanings, vec![TypedMeaning::Transfer { token: TOKEN.into(), to: SPENDER.into(), amount: 1_000_000 }]);
    }

    #[test]
    fn caps_refuse_huge_deep_and_cyclic_type_graphs_quickly() {
        // 20,000 chained types: refused by count and size before any recursion.
        let mut types = serde_json::Map::new();
        for i in 0..20_000 {
            types.insert(format!("T{i}"), json!([{"name": "n", "type": format!("T{}", i + 1)}]));
        }
        let t = std::time::Instant::now();
        let huge = json!({"types": types, "primaryType": "T0", "domain": {}, "message": {}});
        assert_eq!(check_caps(&huge).unwrap_err().code, crate::ErrorCode::ACTION_VALIDATION_FAILED);
        // A bound that catches a hang or an exponential walk, not a benchmark (CI machines are loaded).
        assert!(t.elapsed() < std::time::Duration::from_secs(15), "took {:?}", t.elapsed());
        // Within the type count but deeper than MAX_DEPTH.
        let mut types = serde_json::Map::new();
        for i in 0..20 {
            types.insert(format!("T{i}"), json!([{"name": "n", "type": format!("T{}[]", i + 1)}]));
        }
        types.insert("T20".into(), json!([{"name": "x", "type": "uint256"}]));
        let deep = json!({"types": types, "primaryType": "T0", "domain": {}, "message": {}});
        assert!(check_caps(&deep).unwrap_err().message.contains("deeper"));
        // A cycle.
        let cyclic =
            json!({"types": {"A": [{"name": "b", "type": "B"}], "B": [{"name": "a", "type": "A[]"}]}, "primaryType": "A", "domain": {}, "message": {}});
        assert!(check_caps(&cyclic).unwrap_err().message.contains("itself"));
        // A wide DAG of shallow depth is fine and fast (memoised).
        let mut types = serde_json::Map::new();
        for i in 0..8 {
            let fields: Vec<Value> = (0..MAX_FIELDS).map(|j| json!({"name": format!("f{j}"), "type": format!("T{}", i + 1)})).collect();
            types.insert(format!("T{i}"), Value::Array(fields));
        }
        types.insert("T8".into(), json!([{"name": "x", "type": "uint256"}]));
        let wide = json!({"types": types, "primaryType": "T0", "domain": {}, "message": {}});
        let t = std::time::Instant::now();
        check_caps(&wide).unwrap();
        assert!(t.elapsed() < std::time::Duration::from_secs(15), "took {:?}", t.elapsed());
    }
}
