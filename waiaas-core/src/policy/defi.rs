//! DeFi and external-action policies: VENUE_WHITELIST, LENDING_ASSET_WHITELIST,
//! PERP_ALLOWED_MARKETS (access, deny), and LENDING_LTV_LIMIT, PERP_MAX_LEVERAGE,
//! PERP_MAX_POSITION_USD, ACTION_CATEGORY_LIMIT (limits: deny above the maximum, raise the tier
//! above the warning).
//!
//! Action classes follow upstream: lending actions by exact name, borrows and perp actions by
//! suffix (`hl_open_position` is an `open_position`). A figure a limit needs but the caller did
//! not supply (leverage, projected LTV, notional) denies rather than passes.

use super::eval::{sane, By, Ctx, Findings, Usd};
use super::resolve::Lookup;
use super::rules::{ActionCategoryLimit, LendingAssetWhitelist, LendingLtvLimit, PerpAllowedMarkets, PerpMaxLeverage, PerpMaxPositionUsd, VenueWhitelist};
use super::types::{Intent, PolicyRecord, PolicyType, Tier};
use crate::error::ErrorCode;

const LENDING_ACTIONS: [&str; 4] = ["supply", "borrow", "repay", "withdraw"];
const PERP_ACTIONS: [&str; 5] = ["open_position", "close_position", "modify_position", "add_margin", "withdraw_margin"];
const SIZING_ACTIONS: [&str; 2] = ["open_position", "modify_position"];

fn action(it: &Intent) -> &str {
    it.action_name.as_deref().unwrap_or_default()
}

fn ends_with_any(action: &str, suffixes: &[&str]) -> bool {
    !action.is_empty() && suffixes.iter().any(|s| action.ends_with(s))
}

/// Deny-only checks.
pub(crate) fn check_access(cx: &Ctx<'_>, it: &Intent, f: &mut Findings) {
    venue(cx, it, f);
    lending_asset(cx, it, f);
    perp_market(cx, it, f);
}

/// Limits with a warning tier.
pub(crate) fn check_limits(cx: &Ctx<'_>, it: &Intent, f: &mut Findings) {
    ltv(cx, it, f);
    leverage(cx, it, f);
    position(cx, it, f);
    category(cx, it, f);
}

/// `VENUE_WHITELIST`: only with the `venue_whitelist_enabled` setting; then a venue must be listed
/// (no policy denies every venue).
fn venue(cx: &Ctx<'_>, it: &Intent, f: &mut Findings) {
    let Some(venue) = it.venue.as_deref().filter(|_| cx.settings.venue_whitelist_enabled) else { return };
    let code = ErrorCode::VENUE_NOT_ALLOWED;
    match cx.set.get::<VenueWhitelist>() {
        Lookup::Absent => f.deny(
            By::missing(PolicyType::VenueWhitelist),
            code,
            "no_policy",
            format!("VENUE_NOT_ALLOWED: venue '{venue}' is not whitelisted (no VENUE_WHITELIST policy)"),
        ),
        Lookup::Found(p, r) if !r.venues.iter().any(|v| v.eq_ignore_ascii_case(venue)) => {
            f.deny(By::policy(p), code, "venue_not_allowed", format!("VENUE_NOT_ALLOWED: venue '{venue}' is not in the whitelist"))
        }
        Lookup::Found(..) | Lookup::Corrupt => {}
    }
}

/// `LENDING_ASSET_WHITELIST`: required for `supply | borrow | repay | withdraw`. The asset is the
/// token's address, else the contract, else `to`.
fn lending_asset(cx: &Ctx<'_>, it: &Intent, f: &mut Findings) {
    if !LENDING_ACTIONS.contains(&action(it)) {
        return;
    }
    match cx.set.get::<LendingAssetWhitelist>() {
        Lookup::Absent => f.deny(
            By::missing(PolicyType::LendingAssetWhitelist),
            ErrorCode::POLICY_DENIED,
            "no_policy",
            "No LENDING_ASSET_WHITELIST policy configured. Lending assets require explicit whitelist.",
        ),
        Lookup::Corrupt => {}
        Lookup::Found(p, r) => {
            let asset = it.token.as_ref().and_then(|t| t.address.as_deref()).or(it.contract.as_deref()).or(it.to.as_deref());
            match asset {
                None => f.deny(By::policy(p), ErrorCode::POLICY_DENIED, "asset_missing", "Lending action without an asset address"),
                Some(a) if !r.assets.iter().any(|x| cx.same_address(x, a)) => {
                    f.deny(By::policy(p), ErrorCode::POLICY_DENIED, "asset_not_whitelisted", format!("Asset {a} not in lending asset whitelist"))
                }
                Some(_) => {}
            }
        }
    }
}

/// `PERP_ALLOWED_MARKETS`: required for perp actions. The market is `market`, else the contract,
/// else `to`.
fn perp_market(cx: &Ctx<'_>, it: &Intent, f: &mut Findings) {
    if !ends_with_any(action(it), &PERP_ACTIONS) {
        return;
    }
    match cx.set.get::<PerpAllowedMarkets>() {
        Lookup::Absent => f.deny(
            By::missing(PolicyType::PerpAllowedMarkets),
            ErrorCode::POLICY_DENIED,
            "no_policy",
            "No PERP_ALLOWED_MARKETS policy configured. Perp markets require explicit whitelist.",
        ),
        Lookup::Corrupt => {}
        Lookup::Found(p, r) => match it.market.as_deref().or(it.contract.as_deref()).or(it.to.as_deref()) {
            None => f.deny(By::policy(p), ErrorCode::POLICY_DENIED, "market_missing", "Perp action without a market"),
            Some(m) if !r.markets.iter().any(|x| x.eq_ignore_ascii_case(m)) => {
                f.deny(By::policy(p), ErrorCode::POLICY_DENIED, "market_not_allowed", format!("Market {m} not in perp allowed markets whitelist"))
            }
            Some(_) => {}
        },
    }
}

/// A figure against `max` (deny above) and `warning` (DELAY above; the maximum is above it too).
struct Limit<'a> {
    p: &'a PolicyRecord,
    what: &'a str,
    value: Option<f64>,
    max: f64,
    warning: Option<f64>,
    show: fn(f64) -> String,
}

impl Limit<'_> {
    fn apply(self, f: &mut Findings, rule_max: &str, rule_warning: &str) {
        let by = By::policy(self.p);
        let show = self.show;
        match self.value.filter(|v| !v.is_nan()) {
            None => f.deny(by, ErrorCode::POLICY_DENIED, "value_missing", format!("{} is unknown", self.what)),
            Some(v) => {
                // Above the maximum is also above the warning: both are reported, so the tier
                // stays monotone in the figure even where it turns into a denial.
                if let Some(w) = self.warning.filter(|w| v > *w) {
                    f.tier(by, Tier::Delay, rule_warning, format!("{} {} is above the warning level {}", self.what, show(v), show(w)));
                }
                if v > self.max {
                    f.deny(by, ErrorCode::POLICY_DENIED, rule_max, format!("{} {} exceeds the maximum {}", self.what, show(v), show(self.max)));
                }
            }
        }
    }
}

fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn times(x: f64) -> String {
    format!("{x}x")
}

fn dollars(x: f64) -> String {
    Usd(x).to_string()
}

/// `LENDING_LTV_LIMIT` for borrows: projected LTV above `maxLtv` denies, above `warningLtv` DELAY.
fn ltv(cx: &Ctx<'_>, it: &Intent, f: &mut Findings) {
    let Lookup::Found(p, r) = cx.set.get::<LendingLtvLimit>() else { return };
    if !ends_with_any(action(it), &["borrow"]) {
        return;
    }
    let limit = Limit { p, what: "Projected LTV", value: it.projected_ltv, max: r.max_ltv, warning: Some(r.warning_ltv), show: percent };
    limit.apply(f, "max_ltv", "warning_ltv");
}

/// `PERP_MAX_LEVERAGE` for opening or modifying a position.
fn leverage(cx: &Ctx<'_>, it: &Intent, f: &mut Findings) {
    let Lookup::Found(p, r) = cx.set.get::<PerpMaxLeverage>() else { return };
    if !ends_with_any(action(it), &SIZING_ACTIONS) {
        return;
    }
    let limit = Limit { p, what: "Leverage", value: it.leverage, max: r.max_leverage, warning: r.warning_leverage, show: times };
    limit.apply(f, "max_leverage", "warning_leverage");
}

/// `PERP_MAX_POSITION_USD` for opening or modifying a position (size = `notional_usd`, else the
/// request's USD value).
fn position(cx: &Ctx<'_>, it: &Intent, f: &mut Findings) {
    let Lookup::Found(p, r) = cx.set.get::<PerpMaxPositionUsd>() else { return };
    if !ends_with_any(action(it), &SIZING_ACTIONS) {
        return;
    }
    let size = it.notional_usd.or_else(|| it.known_usd());
    let limit = Limit { p, what: "Position size", value: size, max: r.max_position_usd, warning: r.warning_position_usd, show: dollars };
    limit.apply(f, "max_position_usd", "warning_position_usd");
}

/// `ACTION_CATEGORY_LIMIT`: an action of the policy's category above its per-action, daily or
/// monthly USD limit gets `tier_on_exceed`. An unknown notional or missing usage counts as exceeded.
fn category(cx: &Ctx<'_>, it: &Intent, f: &mut Findings) {
    let Lookup::Found(p, r) = cx.set.get::<ActionCategoryLimit>() else { return };
    let Some(category) = it.action_category.as_deref().filter(|c| c.eq_ignore_ascii_case(&r.category)) else { return };
    let (by, tier) = (By::policy(p), r.tier_on_exceed);
    let Some(value) = it.notional_usd.filter(|v| !v.is_nan()).or_else(|| it.known_usd()).map(sane) else {
        f.tier(by, tier, "notional_unknown", format!("USD notional of this '{category}' action is unknown"));
        return;
    };
    if let Some(max) = r.per_action_limit_usd.filter(|max| value > *max) {
        f.tier(by, tier, "per_action", format!("'{category}' action {} exceeds the per-action limit {}", Usd(value), Usd(max)));
    }
    let windows = [
        (r.daily_limit_usd, &cx.usage.category_usd_day, "category_daily", "daily"),
        (r.monthly_limit_usd, &cx.usage.category_usd_month, "category_monthly", "monthly"),
    ];
    for (limit, usage, rule, label) in windows {
        let Some(limit) = limit else { continue };
        match usage.iter().find(|(c, _)| c.eq_ignore_ascii_case(&r.category)) {
            None => f.tier(by, tier, "usage_missing", format!("{label} usage of category '{category}' was not supplied")),
            Some((_, spent)) => {
                let total = sane(*spent) + value;
                if total > limit {
                    f.tier(by, tier, rule, format!("'{category}' {label} total {} exceeds the {label} limit {}", Usd(total), Usd(limit)));
                }
            }
        }
    }
}
