//! Bundles: the transaction rows of one action, decided once on their first step and run
//! strictly in order (see [`crate::actions`]).
//!
//! Each row carries its place in the bundle in its metadata (`{"action": StepOf}`), so any
//! step finds the others after a restart. The first step is decided for the whole bundle and
//! holds its reservation; a later step waits (PENDING) until the step before it is CONFIRMED,
//! then runs under that decision; a step that ends any other way cancels the ones after it.

use crate::chain::TxKind;
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::network::Network;
use crate::policy::Tier;
use crate::store::tx::{TxPatch, TxRecord, TxStatus, TxType};
use serde::{Deserialize, Serialize};

/// A row's place in its action's bundle (metadata key `action`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepOf {
    pub provider: String,
    pub action: String,
    /// The first step's id.
    pub bundle_id: String,
    /// 0-based.
    pub step: usize,
    /// Every step's id, in order.
    pub steps: Vec<String>,
    /// The tier the bundle is decided at, at least.
    pub floor: Tier,
    /// The asset a lending action acts on, as its provider said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    /// The account's loan-to-value after the action, as its provider read it from the protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projected_ltv: Option<f64>,
}

impl StepOf {
    /// What the policy engine is told of the action.
    pub(crate) fn gate(&self) -> crate::services::policies::ActionGate<'_> {
        crate::services::policies::ActionGate {
            provider: &self.provider,
            action: &self.action,
            floor: self.floor,
            asset: self.asset.as_deref(),
            projected_ltv: self.projected_ltv,
        }
    }
}

/// The bundle step a row is, if it is one.
pub(crate) fn step_of(tx: &TxRecord) -> Option<StepOf> {
    let meta: serde_json::Value = serde_json::from_str(tx.metadata.as_deref()?).ok()?;
    serde_json::from_value(meta.get("action")?.clone()).ok()
}

/// The request a bundle is decided as: its one step, or a batch of them.
pub(crate) fn bundle_kind(mut steps: Vec<TxKind>) -> TxKind {
    if steps.len() == 1 {
        steps.remove(0)
    } else {
        TxKind::Batch { instructions: steps }
    }
}

impl Engine {
    /// The policy gate of a bundle's first step: every step (as the policy sees it: calls by
    /// what they do, approvals as APPROVE) decided as one request of the action, at its tier
    /// floor, reserved once on this row.
    pub(crate) async fn decide_bundle(&self, tx: &TxRecord, place: &StepOf) -> Result<Option<TxStatus>> {
        let mut kinds = Vec::with_capacity(place.steps.len());
        for id in &place.steps {
            let request = if *id == tx.id {
                tx.request.clone()
            } else {
                self.inner.store.get_tx(id).await?.ok_or_else(|| Error::internal(format!("step {id} of bundle {} is missing", place.bundle_id)))?.request
            };
            kinds.push(serde_json::from_str::<TxKind>(&request).map_err(|e| Error::internal(format!("stored request: {e}")))?);
        }
        let network = Network::parse(&tx.network)?;
        let view = self.policy_kind(network, &bundle_kind(kinds)).await?;
        self.inner.policies.decide_action(tx, &view, &place.gate()).await
    }

    /// A later step (PENDING) of a bundle, when its runner comes: it goes once the step before
    /// it is CONFIRMED (EXECUTING under the bundle's decision, which the first step recorded),
    /// waits while that one is under way, and is CANCELLED when that one ended any other way.
    /// Returns the status it moved to, `None` when it waits.
    pub(crate) async fn follow(&self, tx: &TxRecord, place: &StepOf) -> Result<Option<TxStatus>> {
        let prev = match place.step.checked_sub(1).and_then(|i| place.steps.get(i)) {
            Some(id) => self.inner.store.get_tx(id).await?,
            None => None,
        };
        let first = self.inner.store.get_tx(&place.bundle_id).await?;
        let (prev, first) = match (prev, first) {
            (Some(p), Some(f)) => (p, f),
            _ => return self.cancel_step(&tx.id, "the bundle was never completely recorded (the daemon stopped while recording it)").await,
        };
        match prev.status() {
            TxStatus::Confirmed => {
                let patch = TxPatch { tier: first.tier.clone(), decision: first.decision.clone(), ..Default::default() };
                let moved = self.inner.store.transition_tx(&tx.id, &[TxStatus::Pending], TxStatus::Executing, &patch, self.now()).await?;
                Ok(moved.then_some(TxStatus::Executing))
            }
            TxStatus::Pending | TxStatus::Queued | TxStatus::Executing | TxStatus::Submitted | TxStatus::GasWaiting | TxStatus::Signed => Ok(None),
            other => self.cancel_step(&tx.id, &format!("step {} of the bundle ended {}", place.step, other.as_str())).await,
        }
    }

    async fn cancel_step(&self, id: &str, why: &str) -> Result<Option<TxStatus>> {
        let patch =
            TxPatch { error: Some(format!("Not run: {why}")), error_code: Some(ErrorCode::EXTERNAL_ACTION_FAILED.as_str().into()), ..Default::default() };
        let moved = self.inner.store.transition_tx(id, &[TxStatus::Pending], TxStatus::Cancelled, &patch, self.now()).await?;
        if moved {
            self.inner.metrics.transaction(TxStatus::Cancelled, None);
        }
        Ok(moved.then_some(TxStatus::Cancelled))
    }

    /// After a runner of `id` stops: a bundle step that is CONFIRMED starts the next one; one
    /// that ended otherwise cancels the steps after it and, when the steps before it moved no
    /// funds (approvals only), releases the bundle's reservation (its value, counted on the
    /// first step). Nothing for other rows, or steps still under way.
    pub(crate) async fn after_step(&self, id: &str) -> Result<()> {
        let Some(tx) = self.inner.store.get_tx(id).await? else { return Ok(()) };
        let Some(place) = step_of(&tx) else { return Ok(()) };
        let status = tx.status();
        if status == TxStatus::Confirmed {
            if let Some(next) = place.steps.get(place.step + 1) {
                self.spawn_run(next.clone());
            }
            return Ok(());
        }
        if !status.is_terminal() {
            return Ok(());
        }
        let why = format!("step {} of the bundle ended {}", place.step, status.as_str());
        for later in place.steps.iter().skip(place.step + 1) {
            self.cancel_step(later, &why).await?;
        }
        // The bundle's value counts (on its first step) as spent unless nothing moved: every
        // step that ran before this one was an approval (an allowance moves no funds).
        if place.step > 0 {
            let mut earlier = Vec::with_capacity(place.step);
            for id in &place.steps[..place.step] {
                earlier.extend(self.inner.store.get_tx(id).await?);
            }
            let nothing_moved = earlier.len() == place.step && earlier.iter().all(|t| t.tx_type == TxType::Approve || t.status() != TxStatus::Confirmed);
            if let (true, Some(first)) = (nothing_moved, earlier.first()) {
                let release = TxPatch { amount_usd: Some(0.0), release_reservation: true, ..Default::default() };
                self.inner.store.patch_tx(&first.id, first.status(), &release, self.now()).await?;
                tracing::info!(bundle = %place.bundle_id, "action bundle ended at step {} without moving funds: its reservation is released", place.step);
            }
        }
        Ok(())
    }
}
