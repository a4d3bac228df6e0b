//! Address allowlists that deny: WHITELIST (destinations), ALLOWED_TOKENS, CONTRACT_WHITELIST,
//! METHOD_WHITELIST, APPROVED_SPENDERS and APPROVE_AMOUNT_LIMIT.
//!
//! Token transfers, contract calls and approvals are denied until allowlisted, unless the
//! matching `default_deny_*` setting is off.

use super::eval::{By, Ctx, Findings};
use super::resolve::Lookup;
use super::rules::{caip19_reference, AllowedTokens, ApproveAmountLimit, ApprovedSpenders, ContractWhitelist, ListedToken, MethodWhitelist, Whitelist};
use super::types::{Intent, PolicyType, TxType};
use crate::error::ErrorCode;

/// Allowances at or above this are "unlimited". Upstream's threshold is `(2^256 - 1) / 2`;
/// amounts here are `u128` and a `uint256` that does not fit is passed saturated as `u128::MAX`,
/// so every upstream-unlimited amount lands here, and so does any allowance of 2^127 or more
/// smallest units (more than any real token supply).
pub const UNLIMITED_APPROVE: u128 = u128::MAX / 2;

pub(crate) fn check(cx: &Ctx<'_>, it: &Intent, f: &mut Findings) {
    whitelist(cx, it, f);
    match it.tx_type {
        // An x402 payment moves its asset like a token transfer.
        TxType::TokenTransfer | TxType::X402Payment => tokens(cx, it, f),
        TxType::ContractCall => {
            contracts(cx, it, f);
            methods(cx, it, f);
        }
        TxType::NftTransfer => contracts(cx, it, f),
        TxType::Approve => {
            spenders(cx, it, f);
            approve_amount(cx, it, f);
        }
        _ => {}
    }
}

/// Where value or rights go: the spender of an approval, the callee of a contract call,
/// otherwise the recipient.
fn destination(it: &Intent) -> Option<&str> {
    match it.tx_type {
        TxType::Approve => it.spender.as_deref(),
        TxType::ContractCall => contract(it),
        _ => it.to.as_deref(),
    }
}

/// The contract a call or an NFT transfer touches (an NFT transfer's `to` is the recipient).
fn contract(it: &Intent) -> Option<&str> {
    match it.tx_type {
        TxType::NftTransfer => it.contract.as_deref(),
        _ => it.contract.as_deref().or(it.to.as_deref()),
    }
}

/// `WHITELIST`: the destination must be listed.
fn whitelist(cx: &Ctx<'_>, it: &Intent, f: &mut Findings) {
    let Lookup::Found(p, r) = cx.set.get::<Whitelist>() else { return };
    let Some(dest) = destination(it) else { return };
    if !r.allowed_addresses.iter().any(|a| cx.same_address(a, dest)) {
        f.deny(By::policy(p), ErrorCode::WHITELIST_DENIED, "address_not_whitelisted", format!("Address {dest} not in whitelist"));
    }
}

/// `ALLOWED_TOKENS` (TOKEN_TRANSFER).
pub(super) fn tokens(cx: &Ctx<'_>, it: &Intent, f: &mut Findings) {
    let (p, r) = match cx.set.get::<AllowedTokens>() {
        Lookup::Found(p, r) => (p, r),
        Lookup::Corrupt => return,
        Lookup::Absent => {
            if cx.settings.default_deny_tokens {
                f.deny(
                    By::missing(PolicyType::AllowedTokens),
                    ErrorCode::TOKEN_NOT_ALLOWED,
                    "no_policy",
                    "Token transfer not allowed: no ALLOWED_TOKENS policy configured",
                );
            }
            return;
        }
    };
    let address = it.token.as_ref().and_then(|t| t.address.as_deref());
    let asset_id = it.token.as_ref().and_then(|t| t.asset_id.as_deref());
    let Some(shown) = asset_id.or(address) else {
        f.deny(By::policy(p), ErrorCode::TOKEN_NOT_ALLOWED, "token_missing", "Token transfer missing token address");
        return;
    };
    if !r.tokens.iter().any(|t| token_matches(cx, t, address, asset_id)) {
        f.deny(By::policy(p), ErrorCode::TOKEN_NOT_ALLOWED, "token_not_allowed", format!("Token not in allowed list: {shown}"));
    }
}

/// Upstream's four-way match: asset id to asset id, else the address inside a CAIP-19 id to the
/// other side's address. An entry with a `chain` only matches requests on that chain.
fn token_matches(cx: &Ctx<'_>, listed: &ListedToken, address: Option<&str>, asset_id: Option<&str>) -> bool {
    if listed.chain.is_some_and(|c| c != cx.chain) {
        return false;
    }
    match (listed.asset_id.as_deref(), asset_id) {
        (Some(a), Some(b)) => cx.same_address(a, b),
        (Some(a), None) => caip19_reference(a).zip(address).is_some_and(|(a, b)| cx.same_address(a, b)),
        (None, Some(b)) => caip19_reference(b).is_some_and(|b| cx.same_address(&listed.address, b)),
        (None, None) => address.is_some_and(|b| cx.same_address(&listed.address, b)),
    }
}

/// `CONTRACT_WHITELIST` (CONTRACT_CALL, NFT_TRANSFER), whoever built the call: an action
/// provider is a trusted builder of calldata, never an exemption (upstream's "provider trust"
/// skipped the list for any request naming an enabled provider).
fn contracts(cx: &Ctx<'_>, it: &Intent, f: &mut Findings) {
    let (p, r) = match cx.set.get::<ContractWhitelist>() {
        Lookup::Found(p, r) => (p, r),
        Lookup::Corrupt => return,
        Lookup::Absent => {
            if cx.settings.default_deny_contracts {
                f.deny(
                    By::missing(PolicyType::ContractWhitelist),
                    ErrorCode::CONTRACT_CALL_DISABLED,
                    "no_policy",
                    "Contract calls disabled: no CONTRACT_WHITELIST policy configured",
                );
            }
            return;
        }
    };
    match contract(it) {
        None => f.deny(By::policy(p), ErrorCode::CONTRACT_NOT_WHITELISTED, "contract_missing", "Contract call without a contract address"),
        Some(c) if !r.contracts.iter().any(|e| e.chain.is_none_or(|ch| ch == cx.chain) && cx.same_address(&e.address, c)) => {
            f.deny(By::policy(p), ErrorCode::CONTRACT_NOT_WHITELISTED, "contract_not_whitelisted", format!("Contract not whitelisted: {c}"))
        }
        Some(_) => {}
    }
}

/// `METHOD_WHITELIST` (CONTRACT_CALL): only restricts the contracts it lists.
fn methods(cx: &Ctx<'_>, it: &Intent, f: &mut Findings) {
    let Lookup::Found(p, r) = cx.set.get::<MethodWhitelist>() else { return };
    let Some(c) = contract(it) else { return };
    let Some(entry) = r.methods.iter().find(|m| cx.same_address(&m.contract_address, c)) else { return };
    // Tolerate full calldata: the selector is its first 10 characters.
    match it.selector.as_deref().map(|s| s.get(..10).unwrap_or(s)) {
        None => {
            f.deny(By::policy(p), ErrorCode::METHOD_NOT_WHITELISTED, "selector_missing", format!("Method not whitelisted: missing selector on contract {c}"))
        }
        Some(s) if !entry.selectors.iter().any(|x| x.eq_ignore_ascii_case(s)) => {
            f.deny(By::policy(p), ErrorCode::METHOD_NOT_WHITELISTED, "method_not_whitelisted", format!("Method not whitelisted: {s} on contract {c}"))
        }
        Some(_) => {}
    }
}

/// `APPROVED_SPENDERS` (APPROVE): the spender must be listed, and stay within its `maxAmount`.
fn spenders(cx: &Ctx<'_>, it: &Intent, f: &mut Findings) {
    let (p, r) = match cx.set.get::<ApprovedSpenders>() {
        Lookup::Found(p, r) => (p, r),
        Lookup::Corrupt => return,
        Lookup::Absent => {
            if cx.settings.default_deny_spenders {
                f.deny(
                    By::missing(PolicyType::ApprovedSpenders),
                    ErrorCode::APPROVE_DISABLED,
                    "no_policy",
                    "Token approvals disabled: no APPROVED_SPENDERS policy configured",
                );
            }
            return;
        }
    };
    let Some(spender) = it.spender.as_deref() else {
        f.deny(By::policy(p), ErrorCode::SPENDER_NOT_APPROVED, "spender_missing", "Approve missing spender address");
        return;
    };
    match r.spenders.iter().find(|s| cx.same_address(&s.address, spender)) {
        None => f.deny(By::policy(p), ErrorCode::SPENDER_NOT_APPROVED, "spender_not_approved", format!("Spender not in approved list: {spender}")),
        Some(s) => {
            if let Some(max) = s.max_amount.filter(|max| it.amount > *max) {
                f.deny(
                    By::policy(p),
                    ErrorCode::APPROVE_AMOUNT_EXCEEDED,
                    "spender_max_amount",
                    format!("Approve amount {} exceeds the maxAmount {max} of spender {spender}", it.amount),
                );
            }
        }
    }
}

/// `APPROVE_AMOUNT_LIMIT` (APPROVE): unlimited allowances are blocked even without the policy.
fn approve_amount(cx: &Ctx<'_>, it: &Intent, f: &mut Findings) {
    let unlimited = it.amount >= UNLIMITED_APPROVE;
    let deny_unlimited = |f: &mut Findings, by| {
        f.deny(by, ErrorCode::UNLIMITED_APPROVE_BLOCKED, "unlimited_approve", "Unlimited token approval is blocked");
    };
    match cx.set.get::<ApproveAmountLimit>() {
        Lookup::Absent if unlimited => deny_unlimited(f, By::missing(PolicyType::ApproveAmountLimit)),
        Lookup::Absent | Lookup::Corrupt => {}
        Lookup::Found(p, r) => {
            if r.block_unlimited && unlimited {
                deny_unlimited(f, By::policy(p));
            }
            if let Some(max) = r.max_amount.filter(|max| it.amount > *max) {
                f.deny(By::policy(p), ErrorCode::APPROVE_AMOUNT_EXCEEDED, "max_amount", format!("Approve amount {} exceeds limit {max}", it.amount));
            }
        }
    }
}
