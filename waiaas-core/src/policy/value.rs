//! Value tiers: SPENDING_LIMIT (per transaction on raw, token and USD thresholds; cumulative
//! daily and monthly USD), the settings' default USD thresholds when no SPENDING_LIMIT covers the
//! request, unpriced value (APPROVAL unless a raw-unit or token limit classifies it, then at
//! least NOTIFY), APPROVE_TIER_OVERRIDE, and the per-type defaults of NFT_TRANSFER and
//! CONTRACT_DEPLOY.

use super::eval::{sane, By, Ctx, Findings, Scope, Usd};
use super::resolve::Lookup;
use super::rules::{ApproveTierOverride, Decimal, SpendingLimit};
use super::types::{Intent, PolicyRecord, Tier, TokenRef, TxType};
use crate::network::{Chain, Network};
use std::fmt;

/// Lending and perp actions upstream treats as non-spending (exact names: exemptions are never
/// widened by suffix matching).
const NON_SPENDING_ACTIONS: [&str; 5] = ["supply", "repay", "withdraw", "close_position", "add_margin"];

/// Cumulative spend at or above this share of a limit sets `cumulative_warning`.
const WARNING_RATIO: f64 = 0.8;

/// The value a tier is computed from.
struct Value<'a> {
    tx_type: TxType,
    token: Option<&'a TokenRef>,
    /// Raw smallest units.
    amount: u128,
    /// Known USD (for a batch: the sum over the priced instructions, a lower bound).
    usd: Option<f64>,
    /// Some value has no USD price (for a batch total: some native value, the only value its raw
    /// thresholds can classify; unpriced token instructions are judged one by one).
    unpriced: bool,
    /// Raw amounts already reserved by pending and queued transactions of the same asset.
    reserved: u128,
    /// Charge the cumulative daily/monthly budgets.
    cumulative: bool,
}

/// The value tier of one request or one batch instruction.
pub(crate) fn check(cx: &Ctx<'_>, it: &Intent, scope: Scope, f: &mut Findings) {
    match it.tx_type {
        TxType::NftTransfer => {
            let tier = cx.settings.nft_transfer_default_tier;
            f.tier(By::ENGINE, tier, "nft_transfer_default", format!("NFT transfers are {tier} (policy.nft_transfer_default_tier)"));
            return;
        }
        TxType::Approve => {
            if let Lookup::Found(p, r) = cx.set.get::<ApproveTierOverride>() {
                f.tier(By::policy(p), r.tier, "approve_tier_override", format!("APPROVE_TIER_OVERRIDE sets approvals to {}", r.tier));
                return;
            }
        }
        _ => {}
    }
    if let Some(action) = it.action_name.as_deref().filter(|a| NON_SPENDING_ACTIONS.contains(a)) {
        f.tier(By::ENGINE, Tier::Instant, "non_spending_action", format!("'{action}' keeps the funds in the wallet's position"));
        return;
    }
    let usd = it.known_usd();
    let request = scope == Scope::Request;
    let value = Value {
        tx_type: it.tx_type,
        token: it.token.as_ref(),
        amount: it.amount,
        usd,
        unpriced: usd.is_none() && it.amount > 0,
        reserved: if request { cx.usage.reserved_raw } else { 0 },
        cumulative: request,
    };
    tiers(cx, &value, f);
    if it.tx_type == TxType::ContractDeploy {
        let tier = cx.settings.deploy_default_tier;
        f.tier(By::ENGINE, tier, "contract_deploy_default", format!("Contract deployments are at least {tier} (rpc_proxy.deploy_default_tier)"));
    }
}

/// The value tier of a batch's totals: native value summed over TRANSFER, CONTRACT_CALL and
/// CONTRACT_DEPLOY instructions, USD summed over every priced instruction.
pub(crate) fn batch_total(cx: &Ctx<'_>, it: &Intent, f: &mut Findings) {
    let mut native = 0u128;
    let mut usd: Option<f64> = None;
    let mut unpriced = false;
    for ins in &it.batch {
        let is_native = matches!(ins.tx_type, TxType::Transfer | TxType::ContractCall | TxType::ContractDeploy);
        if is_native {
            native = native.saturating_add(ins.amount);
        }
        match ins.known_usd() {
            Some(u) => *usd.get_or_insert(0.0) += u,
            None => unpriced |= is_native && ins.amount > 0,
        }
    }
    let before = f.reasons.len();
    tiers(cx, &Value { tx_type: TxType::Batch, token: None, amount: native, usd, unpriced, reserved: cx.usage.reserved_raw, cumulative: true }, f);
    for r in &mut f.reasons[before..] {
        r.message.insert_str(0, "batch total: ");
    }
}

fn tiers(cx: &Ctx<'_>, v: &Value<'_>, f: &mut Findings) {
    let before = f.reasons.len();
    let (by, classified) = match cx.set.get::<SpendingLimit>() {
        Lookup::Found(p, r) => (By::policy(p), spending_limit(cx, p, r, v, f)),
        Lookup::Absent | Lookup::Corrupt => {
            defaults(cx, v, f);
            (By::ENGINE, false)
        }
    };
    if v.unpriced {
        // What cannot be priced fails closed: only a raw-unit or token limit can classify it.
        if classified {
            f.tier(by, Tier::Notify, "unpriced", "USD value unknown (no usable price): raw limits apply, at least NOTIFY");
        } else {
            f.tier(by, Tier::Approval, "unpriced", "USD value unknown (no usable price) and no raw-unit or token limit classifies it: APPROVAL");
        }
    }
    if f.reasons.len() == before {
        f.tier(By::ENGINE, Tier::Instant, "per_tx", "no value at risk");
    }
}

/// The settings' thresholds, for requests no SPENDING_LIMIT covers.
fn defaults(cx: &Ctx<'_>, v: &Value<'_>, f: &mut Findings) {
    let Some(usd) = v.usd else { return };
    let s = cx.settings;
    let limits = [Some(s.default_instant_max_usd), Some(s.default_notify_max_usd), Some(s.default_delay_max_usd)];
    f.tier(By::ENGINE, usd_tier(usd, &limits), "default_thresholds", format!("{} against the default thresholds ({})", Usd(usd), UsdLimits(&limits)));
}

/// The SPENDING_LIMIT's tiers; returns whether a raw-unit or token limit classified the amount.
fn spending_limit(cx: &Ctx<'_>, p: &PolicyRecord, r: &SpendingLimit, v: &Value<'_>, f: &mut Findings) -> bool {
    let by = By::policy(p);
    if v.cumulative {
        cumulative(cx, by, r, v, f);
    }
    let effective = v.amount.saturating_add(v.reserved);
    let amount = if v.reserved > 0 { format!("{effective} ({} + {} reserved)", v.amount, v.reserved) } else { effective.to_string() };
    let raw = match token_limit(cx, p, r, v) {
        Some((key, limits, decimals)) => {
            let tier = raw_tier(effective, limits.clone().map(|d| d.to_raw(decimals)));
            Some((tier, format!("amount {amount} against token_limits[{key}] ({})", Limits(limits))))
        }
        None if r.has_raw() => {
            let limits = r.raw.map(|x| x.unwrap_or(0));
            Some((raw_tier(effective, limits), format!("amount {amount} against raw limits ({})", Limits(&limits))))
        }
        None => None,
    };
    let covered = raw.is_some();
    if let Some((tier, message)) = raw {
        f.tier(by, tier, "per_tx", message);
    }
    if r.has_usd() {
        if let Some(usd) = v.usd.filter(|u| *u > 0.0) {
            f.tier(by, usd_tier(usd, &r.usd), "per_tx", format!("{} against USD limits ({})", Usd(usd), UsdLimits(&r.usd)));
        }
    } else if !covered {
        // A SPENDING_LIMIT that says nothing about this asset or its USD value must not make
        // the request INSTANT: the defaults still apply.
        defaults(cx, v, f);
    }
    covered
}

/// Cumulative USD budgets: over the limit asks for APPROVAL, 80 % warns. An unpriced request
/// when the budget is already used up also asks for APPROVAL (its value is unknown but positive;
/// this matters when a raw-unit limit classified it, otherwise it is APPROVAL anyway).
fn cumulative(cx: &Ctx<'_>, by: By<'_>, r: &SpendingLimit, v: &Value<'_>, f: &mut Findings) {
    let windows = [
        (r.daily_limit_usd, cx.usage.spent_usd_day, "cumulative_daily", "daily"),
        (r.monthly_limit_usd, cx.usage.spent_usd_month, "cumulative_monthly", "monthly"),
    ];
    for (limit, spent, rule, label) in windows {
        let Some(limit) = limit else { continue };
        let spent = sane(spent);
        match v.usd.filter(|u| *u > 0.0) {
            Some(usd) => {
                let total = spent + usd;
                if total > limit {
                    f.tier(
                        by,
                        Tier::Approval,
                        rule,
                        format!("{label} spend {} + {} = {} exceeds the {label} limit {}", Usd(spent), Usd(usd), Usd(total), Usd(limit)),
                    );
                } else if total / limit >= WARNING_RATIO {
                    let percent = (total / limit * 100.0).round() as u64;
                    f.warn(format!("{label} spend {} is {percent}% of the {label} limit {}", Usd(total), Usd(limit)));
                }
            }
            None if v.unpriced && spent >= limit => f.tier(
                by,
                Tier::Approval,
                rule,
                format!("{label} spend {} already reached the {label} limit {} and this value is unpriced", Usd(spent), Usd(limit)),
            ),
            None => {}
        }
    }
}

/// The `token_limits` entry for this value: the exact CAIP-19 asset id for TOKEN_TRANSFER and
/// APPROVE (needs the token's decimals), `native:<chain>` for native value, or `native` when the
/// policy is scoped to a network. `None` falls back to the raw fields.
fn token_limit<'r>(cx: &Ctx<'_>, p: &PolicyRecord, r: &'r SpendingLimit, v: &Value<'_>) -> Option<(&'r str, &'r [Decimal; 3], u8)> {
    if r.token_limits.is_empty() {
        return None;
    }
    // CAIP-19 ids carry an address: EVM ones compare case-insensitively (checksums are display).
    let find = |key: &str| r.token_limits.iter().find(|(k, _)| cx.same_address(k, key)).map(|(k, l)| (k.as_str(), l));
    let (key, limits, decimals) = match v.tx_type {
        TxType::TokenTransfer | TxType::Approve | TxType::X402Payment => {
            let token = v.token?;
            let (key, limits) = find(token.asset_id.as_deref()?)?;
            (key, limits, token.decimals?)
        }
        TxType::Transfer | TxType::Batch => {
            let (key, limits) = find(&format!("native:{}", cx.chain)).or_else(|| p.network.as_ref().and_then(|_| find("native")))?;
            (key, limits, native_decimals(cx))
        }
        _ => return None,
    };
    Some((key, limits, decimals))
}

fn native_decimals(cx: &Ctx<'_>) -> u8 {
    Network::parse(cx.network).map_or(
        match cx.chain {
            Chain::Solana => 9,
            Chain::Ethereum => 18,
        },
        |n| n.info().native_decimals,
    )
}

/// `amount <= instant` INSTANT, `<= notify` NOTIFY, `<= delay` DELAY, else APPROVAL.
fn raw_tier(amount: u128, [instant, notify, delay]: [u128; 3]) -> Tier {
    if amount <= instant {
        Tier::Instant
    } else if amount <= notify {
        Tier::Notify
    } else if amount <= delay {
        Tier::Delay
    } else {
        Tier::Approval
    }
}

/// The first defined threshold that `usd` stays within, else APPROVAL.
fn usd_tier(usd: f64, limits: &[Option<f64>; 3]) -> Tier {
    [Tier::Instant, Tier::Notify, Tier::Delay]
        .into_iter()
        .zip(limits)
        .find(|(_, limit)| limit.is_some_and(|l| usd <= l))
        .map_or(Tier::Approval, |(tier, _)| tier)
}

/// `INSTANT <= a, NOTIFY <= b, DELAY <= c`.
struct Limits<'a, T>(&'a [T; 3]);

impl<T: fmt::Display> fmt::Display for Limits<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [instant, notify, delay] = self.0;
        write!(f, "INSTANT <= {instant}, NOTIFY <= {notify}, DELAY <= {delay}")
    }
}

/// The defined USD thresholds, `INSTANT <= $10.00, ...`.
struct UsdLimits<'a>(&'a [Option<f64>; 3]);

impl fmt::Display for UsdLimits<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let defined = [Tier::Instant, Tier::Notify, Tier::Delay].into_iter().zip(self.0).filter_map(|(t, l)| l.map(|l| (t, l)));
        for (i, (tier, limit)) in defined.enumerate() {
            write!(f, "{}{tier} <= {}", if i == 0 { "" } else { ", " }, Usd(limit))?;
        }
        Ok(())
    }
}
