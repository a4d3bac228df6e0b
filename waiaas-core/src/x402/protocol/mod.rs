//! The x402 v2 wire format: the server's `PAYMENT-REQUIRED` (base64 JSON in the header, else
//! the 402 body), the client's `PAYMENT-SIGNATURE` payload and the server's
//! `PAYMENT-RESPONSE`; choosing what to pay; the EIP-3009 authorization an EVM `exact`
//! payment signs; the payload of a Solana `exact` payment (a partially signed transaction
//! built by [`ChainAdapter::x402_transfer`](crate::chain::ChainAdapter::x402_transfer)).
//!
//! Unlike upstream, a requirement is only considered on the wallet's own chain **and**
//! environment (a testnet wallet never pays a mainnet requirement, a Solana wallet never picks
//! an EVM one), and an EVM requirement without the token's EIP-712 domain (`extra.name`,
//! `extra.version`) is refused rather than signed against a guessed domain.

use crate::error::{Error, ErrorCode, Result};
use crate::network::{Chain, Environment, Network};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub const HEADER_REQUIRED: &str = "payment-required";
pub const HEADER_SIGNATURE: &str = "PAYMENT-SIGNATURE";
pub const HEADER_RESPONSE: &str = "payment-response";
/// The longest validity of an authorization we sign, whatever the server allows.
pub const MAX_VALIDITY_SECS: u64 = 300;

/// One way the server accepts to be paid, typed, with the JSON it came as (echoed back as
/// `accepted`: servers compare it with what they offered).
#[derive(Debug, Clone, PartialEq)]
pub struct Requirement {
    pub scheme: String,
    /// As offered (CAIP-2).
    pub network: String,
    /// Atomic units of `asset`.
    pub amount: u128,
    pub asset: String,
    pub pay_to: String,
    pub max_timeout_seconds: Option<u64>,
    pub extra: Value,
    pub raw: Value,
}

/// A 402 answer's payment requirements.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentRequired {
    pub error: Option<String>,
    pub resource: Value,
    pub accepts: Vec<Requirement>,
}

fn unsupported(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::X402_UNSUPPORTED_SCHEME, msg)
}

fn b64_json(s: &str) -> Option<Value> {
    let s = s.trim();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn requirement(raw: &Value) -> Option<Requirement> {
    let s = |k: &str| raw.get(k).and_then(Value::as_str).map(str::to_string);
    let amount = s("amount")?.parse::<u128>().ok().filter(|a| *a > 0)?;
    Some(Requirement {
        scheme: s("scheme")?,
        network: s("network")?,
        amount,
        asset: s("asset").filter(|a| !a.is_empty())?,
        pay_to: s("payTo").filter(|a| !a.is_empty())?,
        max_timeout_seconds: raw.get("maxTimeoutSeconds").and_then(Value::as_u64),
        extra: raw.get("extra").cloned().unwrap_or(Value::Null),
        raw: raw.clone(),
    })
}

/// The requirements of a 402 answer: the `PAYMENT-REQUIRED` header, else the body. Only x402
/// version 2 is spoken; requirements that do not parse (no amount, asset or payee) are left
/// out.
pub fn parse_required(header: Option<&str>, body: &[u8]) -> Result<PaymentRequired> {
    let v = header.and_then(b64_json).or_else(|| serde_json::from_slice::<Value>(body).ok()).ok_or_else(|| {
        Error::new(ErrorCode::X402_SERVER_ERROR, "the server answered 402 without payment requirements (no PAYMENT-REQUIRED header, no JSON body)")
    })?;
    match v.get("x402Version").and_then(Value::as_u64) {
        Some(2) => {}
        Some(n) => return Err(unsupported(format!("x402 version {n} is not supported (version 2 is)"))),
        None => return Err(Error::new(ErrorCode::X402_SERVER_ERROR, "the payment requirements carry no x402Version")),
    }
    let accepts = v.get("accepts").and_then(Value::as_array).map(|a| a.iter().filter_map(requirement).collect()).unwrap_or_default();
    Ok(PaymentRequired {
        error: v.get("error").and_then(Value::as_str).map(str::to_string),
        resource: v.get("resource").cloned().unwrap_or(Value::Null),
        accepts,
    })
}

/// The requirements this wallet could pay: scheme `exact` on a network of the wallet's chain
/// and environment, cheapest first (equals in the server's order). An error naming what was
/// offered when there is none.
pub fn candidates(req: &PaymentRequired, chain: Chain, environment: Environment) -> Result<Vec<(&Requirement, Network)>> {
    let mut out: Vec<(&Requirement, Network)> = req
        .accepts
        .iter()
        .filter(|r| r.scheme == "exact")
        .filter_map(|r| Network::parse(&r.network).ok().filter(|n| n.chain() == chain && n.environment() == environment).map(|n| (r, n)))
        .collect();
    out.sort_by_key(|(r, _)| r.amount);
    if out.is_empty() {
        let offered: Vec<String> = req.accepts.iter().map(|r| format!("{} on {}", r.scheme, r.network)).collect();
        return Err(unsupported(format!(
            "no payment option this wallet can pay: it pays `exact` on {} {} networks; offered: [{}]",
            chain.as_str(),
            environment.as_str(),
            offered.join(", ")
        )));
    }
    Ok(out)
}

/// The requirement to pay when nothing else decides: the first of [`candidates`].
pub fn choose(req: &PaymentRequired, chain: Chain, environment: Environment) -> Result<(&Requirement, Network)> {
    Ok(candidates(req, chain, environment)?.remove(0))
}

/// An EIP-3009 `TransferWithAuthorization` to sign for `r` on EVM network `n`.
#[derive(Debug, Clone, PartialEq)]
pub struct Authorization {
    pub from: String,
    pub to: String,
    pub value: u128,
    pub valid_after: u64,
    pub valid_before: u64,
    /// 0x + 32 bytes hex.
    pub nonce: String,
}

impl Authorization {
    /// From `from` to the payee, valid from now for the server's timeout (at most
    /// [`MAX_VALIDITY_SECS`]), with a random nonce.
    pub fn new(r: &Requirement, from: &str, now: i64) -> Authorization {
        let validity = r.max_timeout_seconds.unwrap_or(MAX_VALIDITY_SECS).clamp(1, MAX_VALIDITY_SECS);
        Authorization {
            from: from.to_string(),
            to: r.pay_to.clone(),
            value: r.amount,
            valid_after: 0,
            valid_before: now.max(0) as u64 + validity,
            nonce: format!("0x{}", hex::encode(rand::random::<[u8; 32]>())),
        }
    }

    /// The EIP-712 typed data `{types, primaryType, domain, message}` of the authorization: the
    /// domain is the token's (`extra.name`, `extra.version`, the chain id, the asset).
    pub fn typed_data(&self, r: &Requirement, n: Network) -> Result<Value> {
        let name = r.extra.get("name").and_then(Value::as_str).filter(|s| !s.is_empty());
        let version = r.extra.get("version").and_then(Value::as_str).filter(|s| !s.is_empty());
        let (Some(name), Some(version)) = (name, version) else {
            return Err(unsupported("the requirement names no EIP-712 domain for its token (extra.name and extra.version)"));
        };
        let chain_id = n.info().chain_id.ok_or_else(|| unsupported("EIP-3009 needs an EVM network"))?;
        for (field, a) in [("asset", &r.asset), ("payTo", &r.pay_to), ("from", &self.from)] {
            if !(a.len() == 42 && a.starts_with("0x") && a[2..].chars().all(|c| c.is_ascii_hexdigit())) {
                return Err(unsupported(format!("{field} is not an EVM address: {a}")));
            }
        }
        Ok(json!({
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}
                ],
                "TransferWithAuthorization": [
                    {"name": "from", "type": "address"}, {"name": "to", "type": "address"},
                    {"name": "value", "type": "uint256"}, {"name": "validAfter", "type": "uint256"},
                    {"name": "validBefore", "type": "uint256"}, {"name": "nonce", "type": "bytes32"}
                ]
            },
            "primaryType": "TransferWithAuthorization",
            "domain": {"name": name, "version": version, "chainId": chain_id, "verifyingContract": r.asset},
            "message": {
                "from": self.from, "to": self.to, "value": self.value.to_string(),
                "validAfter": self.valid_after.to_string(), "validBefore": self.valid_before.to_string(), "nonce": self.nonce
            }
        }))
    }

    /// The `PAYMENT-SIGNATURE` header value: base64 of the v2 payload for `resource` (the
    /// server's own description of it, as the reference client echoes it).
    pub fn payment_header(&self, r: &Requirement, resource: &Value, signature: &str) -> String {
        let payload = json!({
            "x402Version": 2,
            "resource": resource,
            "accepted": r.raw,
            "payload": {
                "signature": signature,
                "authorization": {
                    "from": self.from, "to": self.to, "value": self.value.to_string(),
                    "validAfter": self.valid_after.to_string(), "validBefore": self.valid_before.to_string(), "nonce": self.nonce
                }
            }
        });
        base64::engine::general_purpose::STANDARD.encode(payload.to_string())
    }
}

/// The `PAYMENT-SIGNATURE` header value of a Solana `exact` payment: base64 of
/// `{x402Version: 2, resource, accepted: r.raw, payload: {transaction}}`, as the reference
/// client (`@x402/core` `x402Client` with `@x402/svm` `ExactSvmScheme`) sends it: `resource`
/// is the 402 answer's whole `resource` object (left out when the answer had none),
/// `accepted` the offered requirement verbatim, `transaction` the base64 wire transaction
/// signed by the wallet only (the fee payer's slot, the facilitator's, still zero).
pub fn svm_payment_header(r: &Requirement, resource: &Value, transaction_b64: &str) -> String {
    let mut payload = json!({
        "x402Version": 2,
        "accepted": r.raw,
        "payload": {"transaction": transaction_b64}
    });
    if !resource.is_null() {
        payload["resource"] = resource.clone();
    }
    base64::engine::general_purpose::STANDARD.encode(payload.to_string())
}

/// The server's `PAYMENT-RESPONSE` (settlement) header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settlement {
    pub success: bool,
    #[serde(default)]
    pub transaction: Option<String>,
    #[serde(default)]
    pub network: Option<String>,
    #[serde(default)]
    pub payer: Option<String>,
    #[serde(default)]
    pub error_reason: Option<String>,
}

/// Decode a `PAYMENT-RESPONSE` header (`None` when absent or unreadable).
pub fn parse_settlement(header: Option<&str>) -> Option<Settlement> {
    serde_json::from_value(b64_json(header?)?).ok()
}

#[cfg(test)]
mod tests;
