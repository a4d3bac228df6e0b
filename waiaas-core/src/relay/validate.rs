//! The relay's requests, read from JSON with upstream's rules (zod schemas in
//! `packages/push-relay`) plus length limits: every problem is reported at once as zod-style
//! issues `{code, path, message}` in a 400 `Invalid request`.

use super::RelayError;
use serde_json::{Map, Value};

/// Longest push token accepted (FCM tokens are ~160 characters, APNs 64).
pub const MAX_PUSH_TOKEN: usize = 4096;
pub const MAX_WALLET_NAME: usize = 128;
pub const MAX_SUBSCRIPTION_TOKEN: usize = 128;
pub const MAX_CATEGORY: usize = 64;
pub const MAX_SIGNATURE: usize = 2048;
pub const MAX_SIGNER_ADDRESS: usize = 256;
/// Most entries in a push payload.
pub const MAX_PAYLOAD_ENTRIES: usize = 64;

pub struct RegisterDevice {
    pub wallet_name: String,
    pub push_token: String,
    pub platform: String,
}

pub struct PushRequest {
    pub subscription_token: String,
    pub category: String,
    pub payload: Map<String, Value>,
}

pub struct SignResponseIn {
    pub request_id: String,
    pub action: String,
    pub signature: Option<String>,
    pub signer_address: String,
}

struct Reader<'a> {
    obj: Option<&'a Map<String, Value>>,
    issues: Vec<Value>,
}

impl<'a> Reader<'a> {
    fn new(body: &'a Value) -> Reader<'a> {
        let mut r = Reader { obj: body.as_object(), issues: Vec::new() };
        if r.obj.is_none() {
            r.issues.push(RelayError::issue("invalid_type", &[], "Expected object"));
        }
        r
    }

    /// A required string of `min..=max` characters (`None` when absent and optional).
    fn string(&mut self, key: &str, min: usize, max: usize, optional: bool) -> Option<String> {
        let obj = self.obj?;
        match obj.get(key) {
            None if optional => None,
            None => {
                self.issues.push(RelayError::issue("invalid_type", &[key], "Required"));
                None
            }
            Some(Value::String(s)) => {
                let n = s.chars().count();
                if n < min {
                    self.issues.push(RelayError::issue("too_small", &[key], format!("String must contain at least {min} character(s)")));
                } else if n > max {
                    self.issues.push(RelayError::issue("too_big", &[key], format!("String must contain at most {max} character(s)")));
                } else {
                    return Some(s.clone());
                }
                None
            }
            Some(_) => {
                self.issues.push(RelayError::issue("invalid_type", &[key], "Expected string"));
                None
            }
        }
    }

    fn one_of(&mut self, key: &str, options: &[&str]) -> Option<String> {
        let v = self.string(key, 0, 64, false)?;
        if options.contains(&v.as_str()) {
            return Some(v);
        }
        let expected = options.iter().map(|o| format!("'{o}'")).collect::<Vec<_>>().join(" | ");
        self.issues.push(RelayError::issue("invalid_enum_value", &[key], format!("Invalid enum value. Expected {expected}, received '{v}'")));
        None
    }

    fn finish<T>(self, value: Option<T>) -> Result<T, RelayError> {
        match value {
            Some(v) if self.issues.is_empty() => Ok(v),
            _ => Err(RelayError::invalid(self.issues)),
        }
    }
}

/// `8-4-4-4-12` hex, as zod's `uuid()` (any version).
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A push token in a path (`/devices/{pushToken}`): 1 to [`MAX_PUSH_TOKEN`] characters.
pub fn push_token_param(token: &str) -> Result<(), RelayError> {
    if token.is_empty() || token.chars().count() > MAX_PUSH_TOKEN {
        return Err(RelayError::invalid(vec![RelayError::issue("invalid_string", &["pushToken"], format!("1 to {MAX_PUSH_TOKEN} characters"))]));
    }
    Ok(())
}

/// A request id in a path (`/v1/sign-response/{requestId}`): a UUID.
pub fn request_id_param(id: &str) -> Result<(), RelayError> {
    if !is_uuid(id) {
        return Err(RelayError::invalid(vec![RelayError::issue("invalid_string", &["requestId"], "Invalid uuid")]));
    }
    Ok(())
}

pub fn register(body: &Value) -> Result<RegisterDevice, RelayError> {
    let mut r = Reader::new(body);
    let wallet_name = r.string("walletName", 1, MAX_WALLET_NAME, false);
    let push_token = r.string("pushToken", 1, MAX_PUSH_TOKEN, false);
    let platform = r.one_of("platform", &["ios", "android"]);
    let v = match (wallet_name, push_token, platform) {
        (Some(wallet_name), Some(push_token), Some(platform)) => Some(RegisterDevice { wallet_name, push_token, platform }),
        _ => None,
    };
    r.finish(v)
}

pub fn push(body: &Value) -> Result<PushRequest, RelayError> {
    let mut r = Reader::new(body);
    let subscription_token = r.string("subscriptionToken", 1, MAX_SUBSCRIPTION_TOKEN, false);
    let category = r.string("category", 1, MAX_CATEGORY, false);
    let payload = match r.obj.map(|o| o.get("payload")) {
        None => None,
        Some(None) => {
            r.issues.push(RelayError::issue("invalid_type", &["payload"], "Required"));
            None
        }
        Some(Some(Value::Object(p))) if p.len() > MAX_PAYLOAD_ENTRIES => {
            r.issues.push(RelayError::issue("too_big", &["payload"], format!("at most {MAX_PAYLOAD_ENTRIES} entries")));
            None
        }
        Some(Some(Value::Object(p))) => Some(p.clone()),
        Some(Some(_)) => {
            r.issues.push(RelayError::issue("invalid_type", &["payload"], "Expected object"));
            None
        }
    };
    let v = match (subscription_token, category, payload) {
        (Some(subscription_token), Some(category), Some(payload)) => Some(PushRequest { subscription_token, category, payload }),
        _ => None,
    };
    r.finish(v)
}

pub fn sign_response(body: &Value) -> Result<SignResponseIn, RelayError> {
    let mut r = Reader::new(body);
    let request_id = r.string("requestId", 1, 36, false);
    let request_id = match request_id {
        Some(id) if is_uuid(&id) => Some(id),
        Some(_) => {
            r.issues.push(RelayError::issue("invalid_string", &["requestId"], "Invalid uuid"));
            None
        }
        None => None,
    };
    let action = r.one_of("action", &["approve", "reject"]);
    let signature = r.string("signature", 0, MAX_SIGNATURE, true);
    let signer_address = r.string("signerAddress", 1, MAX_SIGNER_ADDRESS, false);
    let v = match (request_id, action, signer_address) {
        (Some(request_id), Some(action), Some(signer_address)) => Some(SignResponseIn { request_id, action, signature, signer_address }),
        _ => None,
    };
    r.finish(v)
}

/// The long poll's `timeout` query as upstream reads it: `parseInt(t || '30') || 30`,
/// clamped to 1..=120 seconds.
pub fn poll_timeout(raw: Option<&str>) -> u64 {
    let raw = raw.unwrap_or("").trim_start();
    let (neg, digits) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw.strip_prefix('+').unwrap_or(raw)),
    };
    let digits: String = digits.chars().take_while(char::is_ascii_digit).take(12).collect();
    match digits.parse::<i64>() {
        Ok(0) | Err(_) => 30,
        Ok(_) if neg => 1,
        Ok(n) => n.clamp(1, 120) as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn register_reports_every_issue() {
        let e = register(&json!({"walletName": "", "platform": "web"})).err().unwrap();
        assert_eq!(e.status, 400);
        let paths: Vec<String> = e.details.unwrap().as_array().unwrap().iter().map(|i| i["path"][0].as_str().unwrap().to_string()).collect();
        assert_eq!(paths, ["walletName", "pushToken", "platform"]);
        assert!(register(&json!([1])).is_err());
        assert!(register(&json!({"walletName": "d", "pushToken": "p", "platform": "ios"})).is_ok());
    }

    #[test]
    fn sign_response_and_push_rules() {
        let ok = json!({"requestId": "0190e0a4-4f5e-7c3a-9d2b-1a2b3c4d5e6f", "action": "approve", "signerAddress": "0xabc"});
        assert!(sign_response(&ok).is_ok());
        let mut bad = ok.clone();
        bad["requestId"] = json!("not-a-uuid");
        assert!(sign_response(&bad).is_err());
        bad = ok.clone();
        bad["action"] = json!("maybe");
        assert!(sign_response(&bad).is_err());
        bad = ok.clone();
        bad["signature"] = json!("x".repeat(MAX_SIGNATURE + 1));
        assert!(sign_response(&bad).is_err());
        assert!(push(&json!({"subscriptionToken": "t", "category": "c", "payload": {}})).is_ok());
        assert!(push(&json!({"subscriptionToken": "t", "category": "c", "payload": []})).is_err());
        assert!(push(&json!({"subscriptionToken": "t", "category": "c"})).is_err());
    }

    #[test]
    fn timeout_like_upstream() {
        assert_eq!(poll_timeout(None), 30);
        assert_eq!(poll_timeout(Some("abc")), 30);
        assert_eq!(poll_timeout(Some("0")), 30);
        assert_eq!(poll_timeout(Some("5s")), 5);
        assert_eq!(poll_timeout(Some("-3")), 1);
        assert_eq!(poll_timeout(Some("999")), 120);
    }
}
