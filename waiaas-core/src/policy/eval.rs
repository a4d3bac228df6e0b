//! The evaluator: runs every policy family over an intent, collects the reasons, and turns
//! them into a [`Decision`]. Families only *add* reasons (a tier or a denial); nothing returns
//! early, so the decision is the same whatever order the families or the policies come in.

use super::resolve::PolicySet;
use super::rules::SpendingLimit;
use super::types::{Decision, Intent, PolicyRecord, PolicySettings, PolicyType, Reason, Tier, TxType, Usage};
use super::{allowlist, defi, domains, guard, resolve::Lookup, value};
use crate::error::ErrorCode;
use crate::network::Chain;
use std::fmt;

/// Everything a family may read besides the intent.
pub(crate) struct Ctx<'a> {
    pub set: &'a PolicySet<'a>,
    pub usage: &'a Usage,
    pub settings: &'a PolicySettings,
    /// Unix seconds.
    pub now: i64,
    /// Chain and network of the request (a batch's instructions use the parent's).
    pub chain: Chain,
    pub network: &'a str,
}

impl Ctx<'_> {
    /// See [`Chain::same_address`].
    pub fn same_address(&self, a: &str, b: &str) -> bool {
        self.chain.same_address(a, b)
    }
}

/// Whether an intent is evaluated as the whole request or as one instruction of a batch.
/// Request-wide budgets (cumulative spend, reserved amounts) are only charged at request scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Request,
    Instruction,
}

/// Who a reason is attributed to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct By<'a> {
    id: Option<&'a str>,
    ty: Option<PolicyType>,
}

impl<'a> By<'a> {
    /// A rule of a stored policy.
    pub fn policy(p: &'a PolicyRecord) -> By<'a> {
        By { id: Some(&p.id), ty: Some(p.policy_type) }
    }
    /// A default that applies because no policy of type `t` exists.
    pub fn missing(t: PolicyType) -> By<'static> {
        By { id: None, ty: Some(t) }
    }
    /// An engine rule or a settings default (thresholds, unpriced floor, per-type defaults).
    pub const ENGINE: By<'static> = By { id: None, ty: None };
}

/// Reasons collected so far.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    pub reasons: Vec<Reason>,
    /// First cumulative-limit warning.
    pub warning: Option<String>,
}

impl Findings {
    pub fn deny(&mut self, by: By<'_>, code: ErrorCode, rule: &str, message: impl Into<String>) {
        self.push(by, rule, message.into(), None, Some(code));
    }

    pub fn tier(&mut self, by: By<'_>, tier: Tier, rule: &str, message: impl Into<String>) {
        self.push(by, rule, message.into(), Some(tier), None);
    }

    pub fn warn(&mut self, message: String) {
        self.warning.get_or_insert(message);
    }

    fn push(&mut self, by: By<'_>, rule: &str, message: String, tier: Option<Tier>, code: Option<ErrorCode>) {
        self.reasons.push(Reason {
            policy_id: by.id.map(str::to_string),
            policy_type: by.ty,
            rule: rule.to_string(),
            message,
            tier,
            denied: code.is_some(),
            error_code: code,
        });
    }
}

/// A usage or market figure the evaluator may rely on: NaN counts as "infinitely much" (fails
/// closed), negatives as zero.
pub(crate) fn sane(x: f64) -> f64 {
    if x.is_nan() {
        f64::INFINITY
    } else {
        x.max(0.0)
    }
}

/// A dollar amount in messages, `$1234.50`. Formatted through integer cents: float formatting
/// with a precision would otherwise be the most expensive step of an evaluation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Usd(pub f64);

impl fmt::Display for Usd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cents = (self.0 * 100.0).round();
        if !(cents.is_finite() && cents.abs() < 1e17) {
            return write!(f, "${:.2}", self.0);
        }
        let cents = cents as i64;
        let sign = if cents < 0 { "-" } else { "" };
        write!(f, "{sign}${}.{:02}", cents.unsigned_abs() / 100, cents.unsigned_abs() % 100)
    }
}

/// See [`evaluate`](super::evaluate).
pub(crate) fn evaluate(policies: &[PolicyRecord], intent: &Intent, usage: &Usage, settings: &PolicySettings, now: i64, owner_registered: bool) -> Decision {
    let set = PolicySet::resolve(policies, &intent.wallet_id, &intent.network);
    let cx = Ctx { set: &set, usage, settings, now, chain: intent.chain, network: &intent.network };
    let mut f = Findings::default();
    for (p, message) in set.corrupt() {
        f.deny(
            By::policy(p),
            ErrorCode::POLICY_RULES_CORRUPT,
            "rules_corrupt",
            format!("{} policy {} has invalid stored rules: {message}", p.policy_type, p.id),
        );
    }
    if intent.tx_type == TxType::Batch {
        batch(&cx, intent, &mut f);
    } else {
        guard::request(&cx, &mut f);
        if !intent.batch.is_empty() {
            f.deny(
                By::ENGINE,
                ErrorCode::INVALID_TRANSACTION,
                "unexpected_instructions",
                format!("a {} request cannot carry batch instructions", intent.tx_type),
            );
        }
        instruction(&cx, intent, Scope::Request, &mut f);
    }
    if let Some(t) = intent.min_tier {
        let what = match (intent.action_provider.as_deref(), intent.action_name.as_deref()) {
            (Some(p), Some(a)) => format!("action {p}/{a}"),
            _ => "the request".to_string(),
        };
        f.tier(By::ENGINE, t, "action_tier_floor", format!("{what} is at least {t} (its default tier or actions.<provider>_<action>_tier)"));
    }
    decide(f, &set, settings, owner_registered)
}

/// See [`super::denied_before_pricing`].
pub(crate) fn denied_before_pricing(policies: &[PolicyRecord], intent: &Intent, settings: &PolicySettings) -> bool {
    let set = PolicySet::resolve(policies, &intent.wallet_id, &intent.network);
    // The allowlist families read neither usage nor the clock.
    let usage = Usage::default();
    let cx = Ctx { set: &set, usage: &usage, settings, now: 0, chain: intent.chain, network: &intent.network };
    let mut f = Findings::default();
    if intent.tx_type == TxType::Batch {
        intent.batch.iter().for_each(|ins| allowlist::check(&cx, ins, &mut f));
    } else {
        allowlist::check(&cx, intent, &mut f);
        domains::check(&cx, intent, &mut f);
    }
    f.reasons.iter().any(|r| r.denied)
}

/// See [`super::domain_denial`].
pub(crate) fn domain_denial(policies: &[PolicyRecord], intent: &Intent, settings: &PolicySettings) -> Option<Reason> {
    denial_of(policies, intent, settings, domains::check)
}

/// See [`super::token_denial`].
pub(crate) fn token_denial(policies: &[PolicyRecord], intent: &Intent, settings: &PolicySettings) -> Option<Reason> {
    denial_of(policies, intent, settings, allowlist::tokens)
}

/// The first denial of one policy family `check` (one that reads neither usage nor the clock)
/// on `intent`.
fn denial_of(policies: &[PolicyRecord], intent: &Intent, settings: &PolicySettings, check: fn(&Ctx<'_>, &Intent, &mut Findings)) -> Option<Reason> {
    let set = PolicySet::resolve(policies, &intent.wallet_id, &intent.network);
    let usage = Usage::default();
    let cx = Ctx { set: &set, usage: &usage, settings, now: 0, chain: intent.chain, network: &intent.network };
    let mut f = Findings::default();
    check(&cx, intent, &mut f);
    f.reasons.into_iter().find(|r| r.denied)
}

/// Every per-instruction family, in the canonical order of reasons.
fn instruction(cx: &Ctx<'_>, it: &Intent, scope: Scope, f: &mut Findings) {
    allowlist::check(cx, it, f);
    domains::check(cx, it, f);
    defi::check_access(cx, it, f);
    value::check(cx, it, scope, f);
    defi::check_limits(cx, it, f);
    guard::reputation(cx, it, f);
}

/// A batch: every instruction is evaluated; any denial denies the whole batch with one
/// `BATCH_POLICY_VIOLATION` reason listing `[i] TYPE: reason`. The tier is the maximum over the
/// instructions and the value tier of the batch totals.
fn batch(cx: &Ctx<'_>, it: &Intent, f: &mut Findings) {
    let mut inner = Vec::new();
    let mut violations = Vec::new();
    let mut denied_instructions = 0;
    for (i, ins) in it.batch.iter().enumerate() {
        let mut g = Findings::default();
        if ins.tx_type == TxType::Batch {
            g.deny(By::ENGINE, ErrorCode::BATCH_POLICY_VIOLATION, "nested_batch", "a batch cannot contain a batch");
        } else {
            instruction(cx, ins, Scope::Instruction, &mut g);
        }
        let prefix = format!("[{i}] {}: ", ins.tx_type);
        denied_instructions += usize::from(g.reasons.iter().any(|r| r.denied));
        for mut r in g.reasons {
            r.message.insert_str(0, &prefix);
            if r.denied {
                violations.push(r.message.clone());
            }
            inner.push(r);
        }
    }
    if it.batch.is_empty() {
        f.deny(By::ENGINE, ErrorCode::BATCH_POLICY_VIOLATION, "empty_batch", "Batch policy violation: the batch has no instructions");
    } else if denied_instructions > 0 {
        f.deny(
            By::ENGINE,
            ErrorCode::BATCH_POLICY_VIOLATION,
            "batch_violation",
            format!("Batch policy violation: {denied_instructions} instruction(s) denied. {}", violations.join("; ")),
        );
    }
    guard::request(cx, f);
    f.reasons.extend(inner);
    value::batch_total(cx, it, f);
}

/// Turn the findings into a decision: deny wins; the tier is the maximum found; the first reason
/// (in canonical order) at that tier decided it; APPROVAL without an owner becomes DELAY.
fn decide(mut f: Findings, set: &PolicySet<'_>, settings: &PolicySettings, owner_registered: bool) -> Decision {
    let raw_tier = f.reasons.iter().filter_map(|r| r.tier).max().unwrap_or(Tier::Instant);
    let decider = f.reasons.iter().find(|r| r.tier == Some(raw_tier)).cloned();
    let denial = f.reasons.iter().find(|r| r.denied).cloned();
    let allowed = denial.is_none();

    let downgraded = raw_tier == Tier::Approval && !owner_registered;
    let (tier, tier_reason) = if downgraded {
        let why = decider.as_ref().map_or_else(String::new, |r| format!(" ({})", r.message));
        let r = Reason {
            policy_id: None,
            policy_type: None,
            rule: "owner_not_registered".into(),
            message: format!("APPROVAL{why} downgraded to DELAY: the wallet has no registered owner"),
            tier: Some(Tier::Delay),
            denied: false,
            error_code: None,
        };
        f.reasons.push(r.clone());
        (Tier::Delay, Some(r))
    } else {
        (raw_tier, decider.clone())
    };

    let spending_limit = match set.get::<SpendingLimit>() {
        Lookup::Found(_, r) => Some(r),
        Lookup::Absent | Lookup::Corrupt => None,
    };
    let decided_by_spending_limit = decider.as_ref().is_some_and(|r| r.policy_type == Some(PolicyType::SpendingLimit));
    let delay_seconds = (allowed && tier == Tier::Delay).then_some(match spending_limit {
        Some(r) if decided_by_spending_limit => r.delay_seconds,
        _ => settings.default_delay_seconds,
    });
    let approval_timeout =
        (allowed && tier == Tier::Approval).then(|| spending_limit.and_then(|r| r.approval_timeout).unwrap_or(settings.default_approval_timeout));
    let approval_reason = if allowed && raw_tier == Tier::Approval { decider.map(|r| r.rule) } else { None };

    Decision {
        allowed,
        tier,
        error_code: denial.as_ref().map(|r| r.error_code.unwrap_or(ErrorCode::POLICY_DENIED)),
        decided_by: denial.or(tier_reason),
        reasons: f.reasons,
        delay_seconds,
        approval_timeout,
        approval_reason,
        downgraded,
        cumulative_warning: f.warning,
    }
}
