//! Override resolution: which stored policies apply to a (wallet, network), one per type.

use super::rules::{parse_rules, ActionCategoryLimit, Kind, RateLimit, Rules};
use super::types::{PolicyRecord, PolicyType, UsageNeeds};
use crate::network::Network;
use std::cmp::Reverse;

/// Enabled policies applying to `(wallet_id, network)`, one per type, most specific first:
/// wallet + network > wallet > global + network > global. Between two policies of one type
/// and one scope the higher `priority` wins, then the later `updated_at`, then the smaller `id`,
/// so the result never depends on the order of `policies`. Returned in [`PolicyType::ALL`] order.
pub fn applicable<'a>(policies: &'a [PolicyRecord], wallet_id: &str, network: &str) -> Vec<&'a PolicyRecord> {
    type Rank<'a> = (u8, i64, i64, Reverse<&'a str>);
    let mut best: [Option<(Rank<'a>, &'a PolicyRecord)>; PolicyType::COUNT] = [None; PolicyType::COUNT];
    for p in policies.iter().filter(|p| p.enabled) {
        let Some(specificity) = specificity(p, wallet_id, network) else { continue };
        let rank = (specificity, p.priority, p.updated_at, Reverse(p.id.as_str()));
        let slot = &mut best[p.policy_type.index()];
        if slot.as_ref().is_none_or(|(current, _)| rank > *current) {
            *slot = Some((rank, p));
        }
    }
    best.into_iter().flatten().map(|(_, p)| p).collect()
}

/// 3 = wallet + network, 2 = wallet, 1 = global + network, 0 = global; `None` = not applicable.
fn specificity(p: &PolicyRecord, wallet_id: &str, network: &str) -> Option<u8> {
    let wallet = match &p.wallet_id {
        None => 0,
        Some(w) if w == wallet_id => 2,
        Some(_) => return None,
    };
    let net = match &p.network {
        None => 0,
        Some(n) if same_network(n, network) => 1,
        Some(_) => return None,
    };
    Some(wallet + net)
}

/// Network ids compare by canonical id, so `eip155:1` and `ethereum-mainnet` are one network.
pub(crate) fn same_network(a: &str, b: &str) -> bool {
    a == b || matches!((Network::parse(a), Network::parse(b)), (Ok(x), Ok(y)) if x == y)
}

/// What a caller must read into [`Usage`](super::Usage) before evaluating a request of
/// `wallet_id` on `network`: the RATE_LIMIT window and the ACTION_CATEGORY_LIMIT category that apply.
pub fn usage_needs(policies: &[PolicyRecord], wallet_id: &str, network: &str) -> UsageNeeds {
    let set = PolicySet::resolve(policies, wallet_id, network);
    let mut needs = UsageNeeds::default();
    if let Lookup::Found(_, r) = set.get::<RateLimit>() {
        needs.rate_windows.push(r.window_seconds);
    }
    if let Lookup::Found(_, r) = set.get::<ActionCategoryLimit>() {
        if r.daily_limit_usd.is_some() || r.monthly_limit_usd.is_some() {
            needs.categories.push(r.category.clone());
        }
    }
    needs
}

/// The applicable policies with their rules parsed, indexed by type.
pub(crate) struct PolicySet<'a> {
    slots: [Slot<'a>; PolicyType::COUNT],
}

enum Slot<'a> {
    Absent,
    /// Stored rules that no longer parse: the engine denies (`POLICY_RULES_CORRUPT`).
    Corrupt(&'a PolicyRecord, String),
    /// Boxed: the slots are built on the stack for every evaluation and `Rules` is large.
    Present(&'a PolicyRecord, Box<Rules>),
}

/// The applicable policy of one type.
pub(crate) enum Lookup<'s, T> {
    Absent,
    Corrupt,
    Found(&'s PolicyRecord, &'s T),
}

impl<'a> PolicySet<'a> {
    pub fn resolve(policies: &'a [PolicyRecord], wallet_id: &str, network: &str) -> PolicySet<'a> {
        let mut slots = [const { Slot::Absent }; PolicyType::COUNT];
        for p in applicable(policies, wallet_id, network) {
            slots[p.policy_type.index()] = match parse_rules(p.policy_type, &p.rules) {
                Ok(rules) => Slot::Present(p, Box::new(rules)),
                Err(e) => Slot::Corrupt(p, e.message),
            };
        }
        PolicySet { slots }
    }

    /// The applicable policy of rule type `T`.
    pub fn get<T: Kind>(&self) -> Lookup<'_, T> {
        match &self.slots[T::TYPE.index()] {
            Slot::Absent => Lookup::Absent,
            Slot::Corrupt(..) => Lookup::Corrupt,
            Slot::Present(p, rules) => T::pick(rules).map_or(Lookup::Corrupt, |r| Lookup::Found(p, r)),
        }
    }

    /// Applicable policies whose rules do not parse, with the parser's message.
    pub fn corrupt(&self) -> impl Iterator<Item = (&'a PolicyRecord, &str)> + '_ {
        self.slots.iter().filter_map(|s| match s {
            Slot::Corrupt(p, message) => Some((*p, message.as_str())),
            _ => None,
        })
    }
}
