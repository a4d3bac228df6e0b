//! Domain allowlists: X402_ALLOWED_DOMAINS (x402 payments) and ERC8128_ALLOWED_DOMAINS
//! (ERC-8128 signed HTTP requests, i.e. a `SIGN` intent that names a `domain`), both denied until
//! allowlisted unless the matching `default_deny_*` setting is off.

use super::eval::{By, Ctx, Findings};
use super::resolve::Lookup;
use super::rules::{Erc8128AllowedDomains, X402AllowedDomains};
use super::types::{Intent, PolicyType, TxType};
use crate::error::ErrorCode;

pub(crate) fn check(cx: &Ctx<'_>, it: &Intent, f: &mut Findings) {
    match it.tx_type {
        TxType::X402Payment => x402(cx, it, f),
        TxType::Sign if it.domain.is_some() => erc8128(cx, it, f),
        _ => {}
    }
}

/// `api.example.com` matches itself only; `*.example.com` matches any subdomain
/// (`a.example.com`, `a.b.example.com`) but not `example.com`. Case-insensitive.
pub(crate) fn domain_matches(pattern: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let pattern = pattern.to_ascii_lowercase();
    match pattern.strip_prefix('*') {
        Some(suffix) => host.len() > suffix.len() && host.ends_with(suffix),
        None => pattern == host,
    }
}

fn x402(cx: &Ctx<'_>, it: &Intent, f: &mut Findings) {
    let code = ErrorCode::X402_DOMAIN_NOT_ALLOWED;
    let (p, r) = match cx.set.get::<X402AllowedDomains>() {
        Lookup::Found(p, r) => (p, r),
        Lookup::Corrupt => return,
        Lookup::Absent => {
            if cx.settings.default_deny_x402_domains {
                f.deny(By::missing(PolicyType::X402AllowedDomains), code, "no_policy", "x402 payments disabled: no X402_ALLOWED_DOMAINS policy configured");
            }
            return;
        }
    };
    match it.domain.as_deref() {
        None => f.deny(By::policy(p), code, "domain_missing", "x402 payment without a target domain"),
        Some(host) if !r.domains.iter().any(|d| domain_matches(d, host)) => {
            f.deny(By::policy(p), code, "domain_not_allowed", format!("Domain '{host}' not in allowed x402 domains list"))
        }
        Some(_) => {}
    }
}

fn erc8128(cx: &Ctx<'_>, it: &Intent, f: &mut Findings) {
    let code = ErrorCode::ERC8128_DOMAIN_NOT_ALLOWED;
    let host = it.domain.as_deref().unwrap_or_default();
    let (p, r) = match cx.set.get::<Erc8128AllowedDomains>() {
        Lookup::Found(p, r) => (p, r),
        Lookup::Corrupt => return,
        Lookup::Absent => {
            if cx.settings.default_deny_erc8128_domains {
                f.deny(
                    By::missing(PolicyType::Erc8128AllowedDomains),
                    code,
                    "no_policy",
                    "ERC-8128 signing disabled: no ERC8128_ALLOWED_DOMAINS policy configured",
                );
            }
            return;
        }
    };
    if !r.domains.iter().any(|d| domain_matches(d, host)) {
        f.deny(By::policy(p), code, "domain_not_allowed", format!("Domain '{host}' not in allowed ERC-8128 domains list"));
        return;
    }
    let done = cx.usage.domain_requests_last_minute;
    if let Some(rpm) = r.rate_limit_rpm.filter(|rpm| done.saturating_add(1) > *rpm) {
        f.deny(
            By::policy(p),
            ErrorCode::ERC8128_RATE_LIMITED,
            "rate_limit_rpm",
            format!("ERC-8128 rate limit for '{host}' exceeded: {done} request(s) in the last minute, at most {rpm}"),
        );
    }
}
