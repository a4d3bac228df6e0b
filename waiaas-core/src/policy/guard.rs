//! Guards on the request as a whole (ALLOWED_NETWORKS, TIME_RESTRICTION, RATE_LIMIT) and on its
//! counterparty (REPUTATION_THRESHOLD).

use super::eval::{By, Ctx, Findings};
use super::resolve::Lookup;
use super::rules::{AllowedNetworks, RateLimit, ReputationThreshold, TimeRestriction};
use super::types::Intent;
use crate::error::ErrorCode;
use crate::network::Network;

const DAY_NAMES: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/// Request-wide guards: charged once per request, also for a batch.
pub(crate) fn request(cx: &Ctx<'_>, f: &mut Findings) {
    networks(cx, f);
    time(cx, f);
    rate(cx, f);
}

/// `ALLOWED_NETWORKS`: the network must be listed; no policy allows every network.
fn networks(cx: &Ctx<'_>, f: &mut Findings) {
    let Lookup::Found(p, r) = cx.set.get::<AllowedNetworks>() else { return };
    let network = Network::parse(cx.network).map_or(cx.network, |n| n.id());
    if !r.networks.contains(&network) {
        f.deny(
            By::policy(p),
            ErrorCode::POLICY_DENIED,
            "network_not_allowed",
            format!("Network '{}' not in allowed networks list. Allowed: {}", cx.network, r.networks.join(", ")),
        );
    }
}

/// `TIME_RESTRICTION`: `now` must fall on an allowed weekday and inside `[start, end)` hours, in
/// the settings' UTC offset. `end` 24 means midnight; `start > end` wraps past midnight, and the
/// weekday checked is always the local weekday of `now`.
fn time(cx: &Ctx<'_>, f: &mut Findings) {
    let Lookup::Found(p, r) = cx.set.get::<TimeRestriction>() else { return };
    let offset = i64::from(cx.settings.utc_offset_minutes);
    let local = cx.now.saturating_add(offset * 60);
    let weekday = (local.div_euclid(86_400) + 4).rem_euclid(7) as usize; // 1970-01-01 was a Thursday
    let seconds_of_day = local.rem_euclid(86_400);
    let hour = (seconds_of_day / 3600) as u64;
    if !r.allows(weekday, hour) {
        let days: Vec<&str> = (0..7).filter(|d| r.days[*d]).map(|d| DAY_NAMES[d]).collect();
        f.deny(
            By::policy(p),
            ErrorCode::POLICY_DENIED,
            "outside_allowed_time",
            format!(
                "Outside allowed time: {} {:02}:{:02} (UTC{}{:02}:{:02}) is not within {:02}:00-{:02}:00 on {}",
                DAY_NAMES[weekday],
                hour,
                seconds_of_day % 3600 / 60,
                if offset < 0 { '-' } else { '+' },
                offset.abs() / 60,
                offset.abs() % 60,
                r.start,
                r.end,
                days.join(", ")
            ),
        );
    }
}

/// `RATE_LIMIT`: deny when the requests already made in the window plus this one exceed
/// `max_requests`. A window the caller did not supply denies (usage is never assumed zero).
fn rate(cx: &Ctx<'_>, f: &mut Findings) {
    let Lookup::Found(p, r) = cx.set.get::<RateLimit>() else { return };
    match cx.usage.requests_in_window.iter().find(|(window, _)| *window == r.window_seconds) {
        None => f.deny(
            By::policy(p),
            ErrorCode::POLICY_DENIED,
            "usage_missing",
            format!("request count for the {} s RATE_LIMIT window was not supplied", r.window_seconds),
        ),
        Some((_, count)) if count.saturating_add(1) > r.max_requests => f.deny(
            By::policy(p),
            ErrorCode::RATE_LIMIT_EXCEEDED,
            "rate_limit",
            format!("Rate limit exceeded: {count} request(s) in the last {} s, at most {} allowed", r.window_seconds, r.max_requests),
        ),
        Some(_) => {}
    }
}

/// `REPUTATION_THRESHOLD`: with `check_counterparty`, an unrated counterparty raises the tier to
/// `unrated_tier` and a score below `min_score` to `below_threshold_tier` (tier floors). Without
/// `check_counterparty` the policy is inert, as upstream.
pub(crate) fn reputation(cx: &Ctx<'_>, it: &Intent, f: &mut Findings) {
    let Lookup::Found(p, r) = cx.set.get::<ReputationThreshold>() else { return };
    if !r.check_counterparty {
        return;
    }
    match it.reputation_score.filter(|s| s.is_finite()) {
        None => f.tier(By::policy(p), r.unrated_tier, "unrated", "Counterparty has no ERC-8004 reputation (unrated)"),
        Some(score) if score < r.min_score => {
            f.tier(By::policy(p), r.below_threshold_tier, "below_threshold", format!("Counterparty reputation {score} is below the minimum {}", r.min_score))
        }
        Some(_) => {}
    }
}
