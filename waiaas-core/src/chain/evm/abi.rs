//! Solidity ABI: the ERC-20 calls the adapter builds and recognises, revert-reason
//! decoding, and [`encode_calldata`] for `POST /v1/utils/encode-calldata` (a JSON ABI, a
//! function name and JSON arguments to 0x calldata).

use crate::error::{Error, ErrorCode, Result};
use alloy_dyn_abi::{DynSolType, DynSolValue};
use alloy_primitives::keccak256;
use alloy_sol_types::{Panic, Revert, SolError};
use serde_json::Value;

alloy_sol_types::sol! {
    /// The ERC-20 subset WAIaaS uses.
    interface IERC20 {
        function transfer(address to, uint256 amount) external returns (bool);
        function approve(address spender, uint256 amount) external returns (bool);
        function balanceOf(address owner) external view returns (uint256);
        function allowance(address owner, address spender) external view returns (uint256);
        function decimals() external view returns (uint8);
        function symbol() external view returns (string);
    }
}

/// A human-readable revert reason from revert data: the string of `Error(string)`, the kind
/// of a `Panic(uint256)`, a UTF-8 message (Vyper), `custom error 0x<selector>` for other
/// errors, `execution reverted` when there is no data.
pub(crate) fn revert_reason(data: &[u8]) -> String {
    if data.is_empty() {
        return "execution reverted".to_string();
    }
    if let Ok(revert) = Revert::abi_decode(data) {
        return revert.reason;
    }
    if let Ok(panic) = Panic::abi_decode(data) {
        return panic.to_string();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if !text.chars().any(char::is_control) {
            return text.to_string();
        }
    }
    match data.get(..4) {
        Some(selector) => format!("custom error 0x{}", hex::encode(selector)),
        None => format!("execution reverted (0x{})", hex::encode(data)),
    }
}

/// ABI-encode a call of `function_name` from a JSON ABI (an array of fragments, or a single
/// function fragment) with JSON arguments. Returns `(0x calldata, 0x selector)`.
///
/// Arguments follow the usual JSON conventions: numbers as JSON integers or decimal / 0x
/// hex strings, addresses, `bytes` and `bytesN` as 0x hex strings, booleans as JSON
/// booleans, arrays as JSON arrays and tuples as JSON arrays or objects keyed by component
/// name. Overloads are told apart by argument count. Every failure is
/// `ABI_ENCODING_FAILED` naming the argument and the problem.
pub fn encode_calldata(abi: &Value, function_name: &str, args: &[Value]) -> Result<(String, String)> {
    let function = find_function(abi, function_name, args.len())?;
    let inputs = function.get("inputs").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let mut types = Vec::with_capacity(inputs.len());
    let mut values = Vec::with_capacity(inputs.len());
    for (i, (param, arg)) in inputs.iter().zip(args).enumerate() {
        let name = param.get("name").and_then(Value::as_str).filter(|n| !n.is_empty());
        let path = match name {
            Some(n) => format!("argument {i} ('{n}')"),
            None => format!("argument {i}"),
        };
        let ty = param_type(param).map_err(|m| abi_error(format!("{path}: {m}")))?;
        let value = json_to_sol(&ty, param.get("components"), arg, &path)?;
        types.push(ty.sol_type_name().into_owned());
        values.push(value);
    }
    let signature = format!("{function_name}({})", types.join(","));
    let selector = &keccak256(signature.as_bytes())[..4];
    let mut calldata = selector.to_vec();
    calldata.extend(DynSolValue::Tuple(values).abi_encode_params());
    Ok((format!("0x{}", hex::encode(calldata)), format!("0x{}", hex::encode(selector))))
}

fn abi_error(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::ABI_ENCODING_FAILED, message)
}

/// The one function fragment named `name` taking `argc` arguments.
fn find_function<'a>(abi: &'a Value, name: &str, argc: usize) -> Result<&'a Value> {
    let fragments: Vec<&Value> = match abi {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![abi],
        _ => return Err(abi_error("abi must be a JSON array of ABI fragments")),
    };
    // Fragments without "type" are functions (Solidity ABI spec).
    let named: Vec<&Value> = fragments
        .into_iter()
        .filter(|f| f.get("type").and_then(Value::as_str).unwrap_or("function") == "function")
        .filter(|f| f.get("name").and_then(Value::as_str) == Some(name))
        .collect();
    if named.is_empty() {
        return Err(abi_error(format!("function '{name}' not found in the ABI")));
    }
    let arity = |f: &Value| f.get("inputs").and_then(Value::as_array).map_or(0, Vec::len);
    let mut matching = named.iter().copied().filter(|f| arity(f) == argc);
    match (matching.next(), matching.next()) {
        (Some(f), None) => Ok(f),
        (Some(_), Some(_)) => Err(abi_error(format!("function '{name}' has several overloads taking {argc} arguments"))),
        (None, _) => {
            let expected: Vec<String> = named.iter().map(|f| arity(f).to_string()).collect();
            Err(abi_error(format!("function '{name}' takes {} arguments, got {argc}", expected.join(" or "))))
        }
    }
}

/// The type of an ABI parameter, expanding `tuple…` with its `components`.
fn param_type(param: &Value) -> std::result::Result<DynSolType, String> {
    let ty = param.get("type").and_then(Value::as_str).ok_or("parameter without a 'type'")?;
    let resolved = match ty.strip_prefix("tuple") {
        Some(suffix) => {
            let components = param.get("components").and_then(Value::as_array).ok_or("tuple without 'components'")?;
            let inner = components.iter().map(param_type).collect::<std::result::Result<Vec<_>, _>>()?;
            let names: Vec<String> = inner.iter().map(|t| t.sol_type_name().into_owned()).collect();
            format!("({}){suffix}", names.join(","))
        }
        None => ty.to_string(),
    };
    DynSolType::parse(&resolved).map_err(|e| format!("invalid type '{ty}': {e}"))
}

/// Convert a JSON argument to a value of `ty`; `components` are the ABI components of the
/// (possibly array-wrapped) tuple, for arguments given as objects.
fn json_to_sol(ty: &DynSolType, components: Option<&Value>, arg: &Value, path: &str) -> Result<DynSolValue> {
    let fail = |m: String| abi_error(format!("{path} ({}): {m}", ty.sol_type_name()));
    match ty {
        DynSolType::Array(inner) | DynSolType::FixedArray(inner, _) => {
            let items = arg.as_array().ok_or_else(|| fail(format!("expected a JSON array, got {arg}")))?;
            if let DynSolType::FixedArray(_, n) = ty {
                if items.len() != *n {
                    return Err(fail(format!("expected {n} elements, got {}", items.len())));
                }
            }
            let values = items.iter().enumerate().map(|(i, item)| json_to_sol(inner, components, item, &format!("{path}[{i}]"))).collect::<Result<Vec<_>>>()?;
            Ok(match ty {
                DynSolType::Array(_) => DynSolValue::Array(values),
                _ => DynSolValue::FixedArray(values),
            })
        }
        DynSolType::Tuple(types) => {
            let comps = components.and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
            let items: Vec<&Value> = match arg {
                Value::Array(items) => items.iter().collect(),
                Value::Object(map) => comps
                    .iter()
                    .map(|c| {
                        let name = c.get("name").and_then(Value::as_str).unwrap_or("");
                        map.get(name).ok_or_else(|| fail(format!("missing tuple field '{name}'")))
                    })
                    .collect::<Result<_>>()?,
                _ => return Err(fail(format!("expected a JSON array or object, got {arg}"))),
            };
            if items.len() != types.len() {
                return Err(fail(format!("expected {} tuple fields, got {}", types.len(), items.len())));
            }
            let values = types
                .iter()
                .zip(items)
                .enumerate()
                .map(|(i, (t, item))| {
                    let comp = comps.get(i);
                    let label = comp.and_then(|c| c.get("name")).and_then(Value::as_str).map_or(i.to_string(), str::to_string);
                    json_to_sol(t, comp.and_then(|c| c.get("components")), item, &format!("{path}.{label}"))
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(DynSolValue::Tuple(values))
        }
        DynSolType::Bool => match arg {
            Value::Bool(b) => Ok(DynSolValue::Bool(*b)),
            Value::String(s) => ty.coerce_str(s).map_err(|e| fail(e.to_string())),
            _ => Err(fail(format!("expected a boolean, got {arg}"))),
        },
        DynSolType::Int(_) | DynSolType::Uint(_) => {
            let text = match arg {
                Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
                Value::String(s) => s.clone(),
                _ => return Err(fail(format!("expected an integer or a decimal/0x string, got {arg}"))),
            };
            ty.coerce_str(&text).map_err(|e| fail(format!("invalid integer '{text}': {e}")))
        }
        DynSolType::String => match arg {
            Value::String(s) => Ok(DynSolValue::String(s.clone())),
            _ => Err(fail(format!("expected a string, got {arg}"))),
        },
        DynSolType::Address | DynSolType::Bytes | DynSolType::FixedBytes(_) => match arg {
            Value::String(s) => ty.coerce_str(s).map_err(|e| fail(format!("invalid value '{s}': {e}"))),
            _ => Err(fail(format!("expected a 0x hex string, got {arg}"))),
        },
        _ => Err(fail("unsupported parameter type".to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{Address, U256};
    use alloy_sol_types::SolCall;
    use serde_json::json;

    fn erc20_abi() -> Value {
        json!([
            {"type": "function", "name": "transfer", "stateMutability": "nonpayable",
             "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}],
             "outputs": [{"name": "", "type": "bool"}]},
            {"type": "function", "name": "balanceOf", "stateMutability": "view",
             "inputs": [{"name": "owner", "type": "address"}], "outputs": [{"name": "", "type": "uint256"}]},
            {"type": "event", "name": "Transfer", "inputs": []}
        ])
    }

    #[test]
    fn erc20_transfer_matches_the_sol_macro_and_the_known_selector() {
        let to = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
        let (data, selector) = encode_calldata(&erc20_abi(), "transfer", &[json!(to), json!("1000000")]).unwrap();
        assert_eq!(selector, "0xa9059cbb");
        let expected = IERC20::transferCall { to: to.parse::<Address>().unwrap(), amount: U256::from(1_000_000u64) }.abi_encode();
        assert_eq!(data, format!("0x{}", hex::encode(expected)));
        // A JSON number and a hex string encode the same amount.
        let (as_number, _) = encode_calldata(&erc20_abi(), "transfer", &[json!(to), json!(1_000_000)]).unwrap();
        let (as_hex, _) = encode_calldata(&erc20_abi(), "transfer", &[json!(to), json!("0xf4240")]).unwrap();
        assert_eq!(as_number, data);
        assert_eq!(as_hex, data);
    }

    #[test]
    fn tuples_arrays_and_strings() {
        let abi = json!([{"type": "function", "name": "submit", "inputs": [
            {"name": "order", "type": "tuple", "components": [
                {"name": "maker", "type": "address"}, {"name": "amounts", "type": "uint128[]"}]},
            {"name": "tags", "type": "string[2]"},
            {"name": "blob", "type": "bytes"},
            {"name": "ok", "type": "bool"}
        ]}]);
        let maker = "0x0000000000000000000000000000000000000001";
        let (by_object, selector) =
            encode_calldata(&abi, "submit", &[json!({"maker": maker, "amounts": [1, "2"]}), json!(["a", "b"]), json!("0xdead"), json!(true)]).unwrap();
        let (by_array, _) = encode_calldata(&abi, "submit", &[json!([maker, [1, 2]]), json!(["a", "b"]), json!("0xdead"), json!(true)]).unwrap();
        assert_eq!(by_object, by_array);
        let sig = "submit((address,uint128[]),string[2],bytes,bool)";
        assert_eq!(selector, format!("0x{}", hex::encode(&keccak256(sig)[..4])));
    }

    #[test]
    fn errors_name_the_problem() {
        let abi = erc20_abi();
        let err = |name: &str, args: &[Value]| encode_calldata(&abi, name, args).unwrap_err();
        let e = err("mint", &[]);
        assert_eq!(e.code, ErrorCode::ABI_ENCODING_FAILED);
        assert!(e.message.contains("'mint' not found"), "{}", e.message);
        assert!(err("transfer", &[json!("0x01")]).message.contains("takes 2 arguments, got 1"));
        let e = err("transfer", &[json!("0xnothex"), json!(1)]);
        assert!(e.message.contains("argument 0 ('to') (address)"), "{}", e.message);
        let e = err("transfer", &[json!("0x0000000000000000000000000000000000000001"), json!(-1)]);
        assert!(e.message.contains("argument 1 ('amount') (uint256)"), "{}", e.message);
        let e = err("transfer", &[json!("0x0000000000000000000000000000000000000001"), json!(1.5)]);
        assert!(e.message.contains("expected an integer"), "{}", e.message);
        assert!(encode_calldata(&json!("nope"), "transfer", &[]).unwrap_err().message.contains("JSON array"));
    }

    #[test]
    fn revert_reasons() {
        assert_eq!(revert_reason(&Revert::from("nope").abi_encode()), "nope");
        let panic = Panic { code: U256::from(0x11) }.abi_encode();
        assert!(revert_reason(&panic).contains("overflow"), "{}", revert_reason(&panic));
        assert_eq!(revert_reason(&[]), "execution reverted");
        assert_eq!(revert_reason(&[0xde, 0xad, 0xbe, 0xef, 0x00]), "custom error 0xdeadbeef");
    }
}
