//! ownerAuth: the wallet owner signs a structured message with their own wallet.
//!
//! One message format for both chains: EIP-4361 (Sign-In with Ethereum) text, which Solana
//! wallets also sign as "Sign-In with Solana" (`... with your Solana account:`). EVM owners
//! sign it with EIP-191 `personal_sign` (65-byte hex signature); Solana owners with Ed25519
//! over the UTF-8 bytes (base64 or base58 signature). Over HTTP the message travels base64
//! encoded in `X-Owner-Message` (headers cannot carry new lines), as upstream does for SIWE.
//!
//! Unlike upstream, a message is accepted only when it is bound to this request:
//! - `Nonce` is one issued by `GET /v1/nonce`, still unexpired and unused: it is consumed
//!   by the first accepted signature, so a replay fails with `INVALID_NONCE`;
//! - the domain line is the daemon's canonical origin (`daemon.public_url`, else the address
//!   it listens on), never the request's `Host` header;
//! - `Request ID` names the one action it authorizes (`approve:<txId>`, `reject:<txId>`,
//!   `verify:<walletId>`, `kill-switch:activate`, `kill-switch:recover`), and the statement
//!   says the same ([`OwnerAction::statement`]); no field appears twice;
//! - `Expiration Time` is present, in the future and at most
//!   `security.owner_message_max_ttl_sec` away; `Not Before` (if any) has passed;
//! - the address line and the signer are the registered owner.

use crate::error::{Error, ErrorCode, Result};
use crate::network::Chain;
use base64::Engine as _;

/// An owner's signed authorization (the `X-Owner-Address`, `X-Owner-Message` and
/// `X-Owner-Signature` headers of the REST API).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OwnerProof {
    pub address: String,
    /// The message text, or its base64 (what the header carries).
    pub message: String,
    pub signature: String,
}

/// What an owner signature authorizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerAction {
    Approve(String),
    Reject(String),
    Verify(String),
    KillSwitchActivate,
    KillSwitchRecover,
}

impl OwnerAction {
    /// The `Request ID` a message must carry for this action.
    pub fn request_id(&self) -> String {
        match self {
            OwnerAction::Approve(tx) => format!("approve:{tx}"),
            OwnerAction::Reject(tx) => format!("reject:{tx}"),
            OwnerAction::Verify(w) => format!("verify:{w}"),
            OwnerAction::KillSwitchActivate => "kill-switch:activate".into(),
            OwnerAction::KillSwitchRecover => "kill-switch:recover".into(),
        }
    }

    /// The statement a message for this action must carry: what the owner reads in their
    /// wallet is exactly what the signature authorizes.
    pub fn statement(&self) -> String {
        format!("WAIaaS owner authorization: {}", self.request_id())
    }
}

/// A parsed EIP-4361 message.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SiweMessage {
    pub domain: String,
    /// `Ethereum` or `Solana`.
    pub account_kind: String,
    pub address: String,
    pub statement: Option<String>,
    pub uri: String,
    pub version: String,
    pub chain_id: Option<String>,
    pub nonce: String,
    pub issued_at: i64,
    pub expiration_time: Option<i64>,
    pub not_before: Option<i64>,
    pub request_id: Option<String>,
    pub resources: Vec<String>,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::INVALID_SIGNATURE, msg)
}

impl SiweMessage {
    /// Parse the EIP-4361 text form.
    pub fn parse(text: &str) -> Result<SiweMessage> {
        let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let first = lines.next().unwrap_or_default();
        let (domain, kind) = first
            .strip_suffix(" account:")
            .and_then(|s| s.rsplit_once(" wants you to sign in with your "))
            .ok_or_else(|| bad("owner message: first line must be '<domain> wants you to sign in with your Ethereum|Solana account:'"))?;
        let mut m = SiweMessage { domain: domain.to_string(), account_kind: kind.to_string(), ..Default::default() };
        m.address = lines.next().unwrap_or_default().trim().to_string();
        let mut rest: Vec<&str> = lines.collect();
        // Optional statement between blank lines.
        if rest.first() == Some(&"") {
            rest.remove(0);
            if !rest.first().is_some_and(|l| l.starts_with("URI: ")) {
                m.statement = Some(rest.remove(0).to_string());
                if rest.first() == Some(&"") {
                    rest.remove(0);
                }
            }
        }
        let mut in_resources = false;
        // Each field at most once: a second `Request ID` or `Nonce` line would let one
        // signature be read as two different authorizations.
        let mut seen = std::collections::HashSet::new();
        for l in rest {
            if in_resources {
                if let Some(r) = l.strip_prefix("- ") {
                    m.resources.push(r.to_string());
                    continue;
                }
                in_resources = false;
            }
            let (k, v) = match l.split_once(": ") {
                Some(kv) => kv,
                None if l == "Resources:" => {
                    if !seen.insert("Resources") {
                        return Err(bad("owner message: duplicate field 'Resources'"));
                    }
                    in_resources = true;
                    continue;
                }
                None if l.is_empty() => continue,
                None => return Err(bad(format!("owner message: unexpected line '{l}'"))),
            };
            if !seen.insert(k) {
                return Err(bad(format!("owner message: duplicate field '{k}'")));
            }
            match k {
                "URI" => m.uri = v.into(),
                "Version" => m.version = v.into(),
                "Chain ID" => m.chain_id = Some(v.into()),
                "Nonce" => m.nonce = v.into(),
                "Issued At" => m.issued_at = parse_rfc3339(v)?,
                "Expiration Time" => m.expiration_time = Some(parse_rfc3339(v)?),
                "Not Before" => m.not_before = Some(parse_rfc3339(v)?),
                "Request ID" => m.request_id = Some(v.into()),
                _ => return Err(bad(format!("owner message: unknown field '{k}'"))),
            }
        }
        if m.address.is_empty() || m.uri.is_empty() || m.version != "1" || m.nonce.is_empty() || m.issued_at == 0 {
            return Err(bad("owner message: address, URI, Version: 1, Nonce and Issued At are required"));
        }
        Ok(m)
    }

    /// The EIP-4361 text form.
    pub fn to_text(&self) -> String {
        let mut s = format!("{} wants you to sign in with your {} account:\n{}\n\n", self.domain, self.account_kind, self.address);
        if let Some(st) = &self.statement {
            s.push_str(&format!("{st}\n\n"));
        }
        s.push_str(&format!("URI: {}\nVersion: {}\n", self.uri, self.version));
        if let Some(c) = &self.chain_id {
            s.push_str(&format!("Chain ID: {c}\n"));
        }
        s.push_str(&format!("Nonce: {}\nIssued At: {}", self.nonce, format_rfc3339(self.issued_at)));
        if let Some(t) = self.expiration_time {
            s.push_str(&format!("\nExpiration Time: {}", format_rfc3339(t)));
        }
        if let Some(t) = self.not_before {
            s.push_str(&format!("\nNot Before: {}", format_rfc3339(t)));
        }
        if let Some(r) = &self.request_id {
            s.push_str(&format!("\nRequest ID: {r}"));
        }
        if !self.resources.is_empty() {
            s.push_str("\nResources:");
            for r in &self.resources {
                s.push_str(&format!("\n- {r}"));
            }
        }
        s
    }
}

/// Build the message an owner must sign for `action` (for SDKs, the CLI and tests).
pub fn owner_message(chain: Chain, domain: &str, address: &str, nonce: &str, action: &OwnerAction, now: i64, ttl_secs: i64) -> String {
    SiweMessage {
        domain: domain.into(),
        account_kind: if chain == Chain::Ethereum { "Ethereum" } else { "Solana" }.into(),
        address: address.into(),
        statement: Some(action.statement()),
        uri: format!("http://{domain}"),
        version: "1".into(),
        chain_id: None,
        nonce: nonce.into(),
        issued_at: now,
        expiration_time: Some(now + ttl_secs),
        not_before: None,
        request_id: Some(action.request_id()),
        resources: vec![],
    }
    .to_text()
}

/// The text of an `X-Owner-Message` header: base64 of the message (new lines cannot travel in
/// a header); a header that is not base64 of a message is taken as the text itself.
pub fn decode_message_header(header: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .decode(header.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|t| t.contains(" wants you to sign in with your "))
        .unwrap_or_else(|| header.to_string())
}

/// Normalise an owner address for `chain` (EIP-55 for EVM, base58 32 bytes for Solana).
pub fn normalize_owner_address(chain: Chain, address: &str) -> Result<String> {
    match chain {
        Chain::Ethereum => address
            .parse::<alloy_primitives::Address>()
            .map(|a| a.to_checksum(None))
            .map_err(|_| Error::validation("owner_address", "must be a 0x-prefixed 20-byte EVM address")),
        Chain::Solana => match bs58::decode(address).into_vec() {
            Ok(b) if b.len() == 32 => Ok(address.to_string()),
            _ => Err(Error::validation("owner_address", "must be a base58 32-byte Solana address")),
        },
    }
}

/// Check the signature of `text` by `owner` (already normalised).
pub fn verify_signature(chain: Chain, owner: &str, text: &str, signature: &str) -> Result<()> {
    match chain {
        Chain::Ethereum => {
            let raw = hex::decode(signature.trim().trim_start_matches("0x")).map_err(|_| bad("X-Owner-Signature must be 0x-prefixed hex"))?;
            let sig = alloy_primitives::Signature::try_from(raw.as_slice()).map_err(|_| bad("X-Owner-Signature is not a 65-byte signature"))?;
            let signer = sig.recover_address_from_msg(text.as_bytes()).map_err(|_| bad("owner signature does not recover"))?;
            if signer.to_checksum(None) != owner {
                return Err(bad("owner signature was not made by the wallet's owner"));
            }
            Ok(())
        }
        Chain::Solana => {
            let s = signature.trim();
            let raw = base64::engine::general_purpose::STANDARD
                .decode(s)
                .ok()
                .filter(|b| b.len() == 64)
                .or_else(|| bs58::decode(s).into_vec().ok().filter(|b| b.len() == 64))
                .ok_or_else(|| bad("X-Owner-Signature must be a base64 (or base58) 64-byte Ed25519 signature"))?;
            let key: [u8; 32] =
                bs58::decode(owner).into_vec().ok().and_then(|b| b.try_into().ok()).ok_or_else(|| bad("owner address is not an Ed25519 key"))?;
            let vk = ed25519_dalek::VerifyingKey::from_bytes(&key).map_err(|_| bad("owner address is not an Ed25519 key"))?;
            let raw: [u8; 64] = raw.try_into().map_err(|_| bad("X-Owner-Signature must be a 64-byte Ed25519 signature"))?;
            let sig = ed25519_dalek::Signature::from_bytes(&raw);
            vk.verify_strict(text.as_bytes(), &sig).map_err(|_| bad("owner signature was not made by the wallet's owner"))
        }
    }
}

/// Everything but the nonce: the message is well formed, bound to `domain` and `action`,
/// within its validity window, names `owner` and is signed by it. Returns the nonce to
/// consume.
pub fn check_proof(chain: Chain, owner: &str, proof: &OwnerProof, domain: &str, action: &OwnerAction, now: i64, max_ttl: i64) -> Result<String> {
    let header_addr = normalize_owner_address(chain, proof.address.trim()).map_err(|_| bad("X-Owner-Address is not a valid address"))?;
    if header_addr != owner {
        return Err(bad("X-Owner-Address is not the wallet's owner"));
    }
    let text = decode_message_header(&proof.message);
    let m = SiweMessage::parse(&text)?;
    let expected_kind = if chain == Chain::Ethereum { "Ethereum" } else { "Solana" };
    if m.account_kind != expected_kind {
        return Err(bad(format!("owner message must say 'with your {expected_kind} account'")));
    }
    if normalize_owner_address(chain, &m.address).ok().as_deref() != Some(owner) {
        return Err(bad("the owner message names another address"));
    }
    if !m.domain.eq_ignore_ascii_case(domain) {
        return Err(bad(format!("owner message is for domain '{}', this daemon is '{domain}'", m.domain)));
    }
    if m.request_id.as_deref() != Some(action.request_id().as_str()) {
        return Err(bad(format!("owner message authorizes '{}', this request needs Request ID '{}'", m.request_id.unwrap_or_default(), action.request_id())));
    }
    if m.statement.as_deref() != Some(action.statement().as_str()) {
        return Err(bad(format!("owner message statement must be exactly '{}'", action.statement())));
    }
    let exp = m.expiration_time.ok_or_else(|| bad("owner message needs an Expiration Time"))?;
    if exp <= now {
        return Err(bad("owner message expired"));
    }
    if exp - now > max_ttl {
        return Err(bad(format!("owner message Expiration Time is more than {max_ttl} s away")));
    }
    if m.not_before.is_some_and(|nb| nb > now) || m.issued_at > now + 60 {
        return Err(bad("owner message is not valid yet"));
    }
    verify_signature(chain, owner, &text, &proof.signature)?;
    Ok(m.nonce)
}

/// Unix seconds of an RFC 3339 time (`2026-11-26T20:00:00Z`, fractions and offsets allowed).
pub fn parse_rfc3339(s: &str) -> Result<i64> {
    let err = || bad(format!("'{s}' is not an RFC 3339 time"));
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b't') || b[13] != b':' || b[16] != b':' {
        return Err(err());
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<i64>().ok()).ok_or_else(err);
    let (y, mo, d, h, mi, se) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return Err(err());
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return Err(err());
        }
        rest = &frac[n..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) && &o[3..4] == ":" => {
            let v = num(s.len() - 5..s.len() - 3)? * 3600 + num(s.len() - 2..s.len())? * 60;
            if o.starts_with('-') {
                -v
            } else {
                v
            }
        }
        _ => return Err(err()),
    };
    Ok(crate::clock::days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset)
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_rfc3339(t: i64) -> String {
    let (days, secs) = (t.div_euclid(86400), t.rem_euclid(86400));
    let (y, m, d) = crate::clock::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_and_reads_offsets() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(parse_rfc3339("2026-11-26T20:00:00.123Z").unwrap(), 1795723200);
        assert_eq!(parse_rfc3339("2026-11-26T22:00:00+02:00").unwrap(), 1795723200);
        for t in [0, 951782400, 1795723200, 4102444799] {
            assert_eq!(parse_rfc3339(&format_rfc3339(t)).unwrap(), t);
        }
        assert!(parse_rfc3339("2026-13-01T00:00:00Z").is_err());
        assert!(parse_rfc3339("yesterday").is_err());
    }

    #[test]
    fn parses_the_eip4361_example() {
        let text = "service.org wants you to sign in with your Ethereum account:\n0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2\n\nI accept the ServiceOrg Terms of Service: https://service.org/tos\n\nURI: https://service.org/login\nVersion: 1\nChain ID: 1\nNonce: 32891756\nIssued At: 2021-09-30T16:25:24Z\nResources:\n- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/\n- https://example.com/my-web2-claim.json";
        let m = SiweMessage::parse(text).unwrap();
        assert_eq!(m.domain, "service.org");
        assert_eq!(m.chain_id.as_deref(), Some("1"));
        assert_eq!(m.nonce, "32891756");
        assert_eq!(m.resources.len(), 2);
        assert_eq!(m.to_text(), text);
    }

    fn evm_owner() -> (k256::ecdsa::SigningKey, String) {
        let key = k256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let addr = alloy_primitives::Address::from_private_key(&key).to_checksum(None);
        (key, addr)
    }

    pub(crate) fn personal_sign(key: &k256::ecdsa::SigningKey, text: &str) -> String {
        let hash = alloy_primitives::eip191_hash_message(text.as_bytes());
        let (sig, rec) = key.sign_prehash_recoverable(hash.as_slice()).unwrap();
        let mut out = sig.to_bytes().to_vec();
        out.push(27 + rec.to_byte());
        format!("0x{}", hex::encode(out))
    }

    #[test]
    fn evm_proof_is_bound_to_domain_action_expiry_and_owner() {
        let (key, owner) = evm_owner();
        let now = 1_800_000_000;
        let action = OwnerAction::Approve("tx-1".into());
        let text = owner_message(Chain::Ethereum, "127.0.0.1:3100", &owner, "abc", &action, now, 300);
        let proof =
            |t: &str| OwnerProof { address: owner.clone(), message: base64::engine::general_purpose::STANDARD.encode(t), signature: personal_sign(&key, t) };
        assert_eq!(check_proof(Chain::Ethereum, &owner, &proof(&text), "127.0.0.1:3100", &action, now, 3600).unwrap(), "abc");
        let code = |r: Result<String>| r.unwrap_err().code;
        // another transaction, another domain, expired, too long-lived
        assert_eq!(
            code(check_proof(Chain::Ethereum, &owner, &proof(&text), "127.0.0.1:3100", &OwnerAction::Approve("tx-2".into()), now, 3600)),
            ErrorCode::INVALID_SIGNATURE
        );
        assert_eq!(code(check_proof(Chain::Ethereum, &owner, &proof(&text), "evil.example", &action, now, 3600)), ErrorCode::INVALID_SIGNATURE);
        assert_eq!(code(check_proof(Chain::Ethereum, &owner, &proof(&text), "127.0.0.1:3100", &action, now + 301, 3600)), ErrorCode::INVALID_SIGNATURE);
        let long = owner_message(Chain::Ethereum, "127.0.0.1:3100", &owner, "abc", &action, now, 7200);
        assert_eq!(code(check_proof(Chain::Ethereum, &owner, &proof(&long), "127.0.0.1:3100", &action, now, 3600)), ErrorCode::INVALID_SIGNATURE);
        // signed by someone else
        let other = k256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
        let forged = OwnerProof { signature: personal_sign(&other, &text), ..proof(&text) };
        assert_eq!(code(check_proof(Chain::Ethereum, &owner, &forged, "127.0.0.1:3100", &action, now, 3600)), ErrorCode::INVALID_SIGNATURE);
        // a tampered message no longer matches its signature
        let tampered = OwnerProof { message: base64::engine::general_purpose::STANDARD.encode(text.replace("tx-1", "tx-9")), ..proof(&text) };
        assert!(check_proof(Chain::Ethereum, &owner, &tampered, "127.0.0.1:3100", &OwnerAction::Approve("tx-9".into()), now, 3600).is_err());
    }

    #[test]
    fn one_message_binds_exactly_one_action() {
        // The attack: statement and first Request ID say reject, a second Request ID line
        // says approve, signed by the owner (who read "reject").
        let (key, owner) = evm_owner();
        let now = 1_800_000_000;
        let (approve, reject) = (OwnerAction::Approve("tx-1".into()), OwnerAction::Reject("tx-1".into()));
        let proof =
            |t: &str| OwnerProof { address: owner.clone(), message: base64::engine::general_purpose::STANDARD.encode(t), signature: personal_sign(&key, t) };
        let rejecting = owner_message(Chain::Ethereum, "127.0.0.1:3100", &owner, "abc", &reject, now, 300);
        let smuggled = format!("{rejecting}\nRequest ID: approve:tx-1");
        let e = check_proof(Chain::Ethereum, &owner, &proof(&smuggled), "127.0.0.1:3100", &approve, now, 3600).unwrap_err();
        assert!(e.message.contains("duplicate field 'Request ID'"), "{}", e.message);
        let two_nonces = format!("{rejecting}\nNonce: other");
        assert!(check_proof(Chain::Ethereum, &owner, &proof(&two_nonces), "127.0.0.1:3100", &reject, now, 3600).unwrap_err().message.contains("duplicate"));
        // A statement that says something else than the Request ID is refused.
        let approving = owner_message(Chain::Ethereum, "127.0.0.1:3100", &owner, "abc", &approve, now, 300);
        let misleading = approving.replace(&approve.statement(), &reject.statement());
        let e = check_proof(Chain::Ethereum, &owner, &proof(&misleading), "127.0.0.1:3100", &approve, now, 3600).unwrap_err();
        assert!(e.message.contains("statement"), "{}", e.message);
        let no_statement = approving.replace(&format!("{}\n\n", approve.statement()), "");
        assert!(check_proof(Chain::Ethereum, &owner, &proof(&no_statement), "127.0.0.1:3100", &approve, now, 3600).is_err());
        // Control: the honest message for each action passes.
        assert_eq!(check_proof(Chain::Ethereum, &owner, &proof(&approving), "127.0.0.1:3100", &approve, now, 3600).unwrap(), "abc");
        assert_eq!(check_proof(Chain::Ethereum, &owner, &proof(&rejecting), "127.0.0.1:3100", &reject, now, 3600).unwrap(), "abc");
    }

    #[test]
    fn solana_proof_verifies_ed25519_over_the_message() {
        use ed25519_dalek::Signer;
        let key = ed25519_dalek::SigningKey::from_bytes(&[5u8; 32]);
        let owner = bs58::encode(key.verifying_key().to_bytes()).into_string();
        let now = 1_800_000_000;
        let action = OwnerAction::KillSwitchActivate;
        let text = owner_message(Chain::Solana, "localhost:3100", &owner, "n1", &action, now, 300);
        let sig = base64::engine::general_purpose::STANDARD.encode(key.sign(text.as_bytes()).to_bytes());
        let proof = OwnerProof { address: owner.clone(), message: base64::engine::general_purpose::STANDARD.encode(&text), signature: sig };
        assert_eq!(check_proof(Chain::Solana, &owner, &proof, "localhost:3100", &action, now, 3600).unwrap(), "n1");
        assert!(check_proof(Chain::Solana, &owner, &proof, "localhost:3100", &OwnerAction::KillSwitchRecover, now, 3600).is_err());
        // An EVM-style message is refused for a Solana owner.
        let evm_text = owner_message(Chain::Ethereum, "localhost:3100", &owner, "n1", &action, now, 300);
        let p2 = OwnerProof { message: evm_text, ..proof.clone() };
        assert!(check_proof(Chain::Solana, &owner, &p2, "localhost:3100", &action, now, 3600).is_err());
    }
}
