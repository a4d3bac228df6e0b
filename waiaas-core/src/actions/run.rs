//! How an action runs: resolved by its provider, checked, and recorded as one bundle of
//! transaction rows ([`crate::pipeline::bundle`]) that the pipeline decides once and runs in
//! order. The rows are inserted last step first: a crash half-way leaves later steps without a
//! first one, and those cancel themselves ("the bundle was never completely recorded") instead
//! of running.

use super::{builtins, ActionProvider, ExecuteAction, ProviderSettings, ResolveCtx, MAX_STEPS};
use crate::chain::TxKind;
use crate::engine::{ensure_can_sign, Engine, SessionCtx};
use crate::error::{Error, ErrorCode, Result};
use crate::network::{check_address, Network};
use crate::pipeline::bundle::{bundle_kind, StepOf};
use crate::pipeline::Accepted;
use crate::policy::Decision;
use crate::store::tx::{TxRecord, TxStatus, TxType};
use serde::Serialize;
use std::sync::Arc;

/// 201 answer of an action: the last step's id and status, and with several steps every step
/// in order (upstream's `pipeline`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ActionAccepted {
    pub id: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<Vec<Accepted>>,
}

/// One step as a dry run shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StepView {
    #[serde(rename = "type")]
    pub tx_type: String,
    pub to: String,
    /// Native value (smallest units).
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calldata: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum ActionOutcome {
    Accepted(ActionAccepted),
    /// `?dryRun=true`: upstream's `DryRunSimulationResult` of the first step (fee, balance
    /// changes, simulation), whose `policy` is the decision of the whole bundle, plus `dryRun`,
    /// `provider`, `action`, `walletId`, the full `decision` and every step.
    DryRun(serde_json::Value),
}

fn step_view(kind: &TxKind) -> StepView {
    match kind {
        TxKind::Approve { spender, amount, token } => StepView {
            tx_type: "APPROVE".into(),
            to: token.address.clone(),
            value: "0".into(),
            calldata: None,
            token: Some(token.address.clone()),
            amount: Some(format!("{amount} to {spender}")),
        },
        TxKind::ContractCall { to, calldata, value, .. } => StepView {
            tx_type: "CONTRACT_CALL".into(),
            to: to.clone(),
            value: value.to_string(),
            calldata: Some(super::hex0x(calldata)),
            token: None,
            amount: None,
        },
        TxKind::Transfer { to, amount, .. } => {
            StepView { tx_type: "TRANSFER".into(), to: to.clone(), value: amount.to_string(), calldata: None, token: None, amount: None }
        }
        TxKind::TokenTransfer { to, amount, token, .. } => StepView {
            tx_type: "TOKEN_TRANSFER".into(),
            to: to.clone(),
            value: "0".into(),
            calldata: None,
            token: Some(token.address.clone()),
            amount: Some(amount.to_string()),
        },
        TxKind::Batch { .. } => StepView { tx_type: "BATCH".into(), to: String::new(), value: "0".into(), calldata: None, token: None, amount: None },
    }
}

fn tx_type(kind: &TxKind) -> TxType {
    match kind {
        TxKind::Transfer { .. } => TxType::Transfer,
        TxKind::TokenTransfer { .. } => TxType::TokenTransfer,
        TxKind::ContractCall { .. } => TxType::ContractCall,
        TxKind::Approve { .. } => TxType::Approve,
        TxKind::Batch { .. } => TxType::Batch,
    }
}

/// What a provider returned, checked before anything is recorded: 1..=[`MAX_STEPS`] steps,
/// each a transfer, token transfer, contract call or approval with addresses of the network's
/// chain. A provider that breaks this is a bug: `ACTION_RETURN_INVALID`, nothing recorded.
fn check_steps(provider: &str, network: Network, steps: &[TxKind]) -> Result<()> {
    let invalid = |why: String| Error::new(ErrorCode::ACTION_RETURN_INVALID, format!("provider {provider} returned an invalid step: {why}"));
    if steps.is_empty() || steps.len() > MAX_STEPS {
        return Err(invalid(format!("{} steps (1..{MAX_STEPS})", steps.len())));
    }
    let chain = network.chain();
    for (i, s) in steps.iter().enumerate() {
        let field = format!("steps[{i}]");
        let address = |a: &str| check_address(chain, &field, a).map_err(|e| invalid(e.message));
        match s {
            TxKind::Transfer { to, .. } => address(to)?,
            TxKind::TokenTransfer { to, token, .. } => {
                address(to)?;
                address(&token.address)?
            }
            TxKind::ContractCall { to, calldata, .. } => {
                if chain == crate::network::Chain::Ethereum && !calldata.is_empty() && calldata.len() < 4 {
                    return Err(invalid(format!("{field}: calldata shorter than a selector")));
                }
                address(to)?
            }
            TxKind::Approve { spender, token, .. } => {
                address(spender)?;
                address(&token.address)?
            }
            TxKind::Batch { .. } => return Err(invalid(format!("{field}: a step cannot be a batch"))),
        };
    }
    Ok(())
}

impl Engine {
    /// `GET /v1/actions/providers`.
    pub fn list_action_providers(&self) -> super::ProvidersList {
        super::providers_list(&self.inner.config)
    }

    fn action_provider(&self, name: &str) -> Result<Arc<dyn ActionProvider>> {
        builtins()
            .into_iter()
            .find(|p| p.meta().name == name && ProviderSettings::new(&self.inner.config, p.meta().name).enabled())
            .ok_or_else(|| Error::new(ErrorCode::ACTION_NOT_FOUND, format!("Action provider '{name}' not found or not enabled ([actions] {name}_enabled)")))
    }

    /// `POST /v1/actions/{provider}/{action}[?dryRun=true]`: resolve the action into its steps
    /// and record them as one bundle the pipeline runs in order; a dry run explains the policy
    /// decision of the whole bundle and records nothing.
    pub async fn execute_action(&self, ctx: &SessionCtx, provider: &str, action: &str, req: ExecuteAction, dry_run: bool) -> Result<ActionOutcome> {
        let p = self.action_provider(provider)?;
        let meta = p.meta();
        let def = p
            .actions()
            .into_iter()
            .find(|a| a.name == action)
            .ok_or_else(|| Error::new(ErrorCode::ACTION_NOT_FOUND, format!("Action '{action}' not found in provider '{provider}'")))?;
        let wallet = self.resolve_wallet(ctx, req.wallet_id.as_deref()).await?;
        if !meta.chains.contains(&wallet.chain) {
            return Err(Error::new(
                ErrorCode::ACTION_CHAIN_MISMATCH,
                format!("{provider} runs on {:?}; wallet '{}' is a {} wallet", meta.chains, wallet.id, wallet.chain.as_str()),
            ));
        }
        let network = self.wallet_network(&wallet, req.network.as_deref())?;
        if !dry_run {
            ensure_can_sign(&wallet)?;
            self.autostop_activity(&wallet).await?;
        }
        let settings = ProviderSettings::new(&self.inner.config, meta.name);
        let floor = settings.tier(action)?.map_or(def.default_tier, |t| t.max(def.default_tier));
        let cx = ResolveCtx {
            wallet_address: &wallet.public_key,
            network,
            chain: self.adapter(network),
            settings,
            http: self.inner.signing.http.clone(),
            now: self.now(),
        };
        let plan = p.resolve(action, req.params.clone(), &cx).await?;
        let steps = plan.steps;
        check_steps(provider, network, &steps)?;
        let gate = crate::services::policies::ActionGate { provider, action, floor, asset: plan.asset.as_deref(), projected_ltv: plan.projected_ltv };
        if dry_run {
            let started = std::time::Instant::now();
            let decision = self.dry_decide_action(&wallet.id, network, &bundle_kind(steps.clone()), &gate).await?;
            let mut report = self.dry_run_report(&wallet, network, &steps[0], tx_type(&steps[0]), &decision, started).await?;
            if let Some(o) = report.as_object_mut() {
                o.insert("dryRun".into(), true.into());
                o.insert("provider".into(), provider.into());
                o.insert("action".into(), action.into());
                o.insert("walletId".into(), wallet.id.clone().into());
                o.insert("decision".into(), serde_json::to_value(&decision).map_err(Error::internal_from)?);
                o.insert("steps".into(), serde_json::to_value(steps.iter().map(step_view).collect::<Vec<_>>()).map_err(Error::internal_from)?);
            }
            return Ok(ActionOutcome::DryRun(report));
        }
        let ids: Vec<String> = steps.iter().map(|_| crate::new_id()).collect();
        let now = self.now();
        let rows: Vec<TxRecord> = steps
            .iter()
            .enumerate()
            .map(|(i, kind)| {
                let (amount, to, token) = crate::pipeline::summary(kind);
                let place = StepOf {
                    provider: provider.into(),
                    action: action.into(),
                    bundle_id: ids[0].clone(),
                    step: i,
                    steps: ids.clone(),
                    floor,
                    asset: plan.asset.clone(),
                    projected_ltv: plan.projected_ltv,
                };
                Ok(TxRecord {
                    id: ids[i].clone(),
                    wallet_id: wallet.id.clone(),
                    session_id: Some(ctx.session_id.clone()),
                    chain: wallet.chain.as_str().into(),
                    network: network.id().into(),
                    tx_type: tx_type(kind),
                    status: TxStatus::Pending,
                    amount,
                    to_address: to,
                    token_address: token,
                    request: serde_json::to_string(kind).map_err(Error::internal_from)?,
                    original_request: Some(
                        serde_json::json!({"provider": provider, "action": action, "params": req.params, "network": req.network}).to_string(),
                    ),
                    metadata: Some(serde_json::json!({ "action": place }).to_string()),
                    created_at: now,
                    updated_at: now,
                    ..Default::default()
                })
            })
            .collect::<Result<_>>()?;
        let admitted = self.admit_send(&ids[0])?;
        // Last step first: the first step, the one that starts the bundle, exists only once
        // every other step does.
        for row in rows.iter().rev() {
            self.inner.store.insert_tx(row).await?;
        }
        self.inner.metrics.transaction(TxStatus::Pending, None);
        admitted.start();
        let pipeline: Vec<Accepted> = rows.iter().map(|r| Accepted { id: r.id.clone(), status: r.status.as_str().into() }).collect();
        let last = pipeline.last().cloned().ok_or_else(|| Error::internal("an action without steps"))?;
        Ok(ActionOutcome::Accepted(ActionAccepted { id: last.id, status: last.status, pipeline: (pipeline.len() > 1).then_some(pipeline) }))
    }

    async fn dry_decide_action(&self, wallet_id: &str, network: Network, kind: &TxKind, gate: &crate::services::policies::ActionGate<'_>) -> Result<Decision> {
        let view = self.policy_kind(network, kind).await?;
        self.inner.policies.dry_decide_action(wallet_id, network, &view, gate).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::TokenInfo;

    const ROUTER: &str = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0";
    const TOKEN: &str = "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9";

    fn call(to: &str, calldata: Vec<u8>) -> TxKind {
        TxKind::ContractCall { to: to.into(), calldata, value: 0, accounts: vec![] }
    }

    fn approve(spender: &str) -> TxKind {
        TxKind::Approve { spender: spender.into(), amount: 1, token: TokenInfo { address: TOKEN.into(), decimals: 6, symbol: None, program_id: None } }
    }

    #[test]
    fn a_providers_steps_are_checked_before_anything_is_recorded() {
        let net = Network::parse("ethereum-sepolia").unwrap();
        assert!(check_steps("p", net, &[approve(ROUTER), call(ROUTER, vec![1, 2, 3, 4])]).is_ok());
        for (steps, why) in [
            (vec![], "no steps"),
            (vec![call(ROUTER, vec![]); MAX_STEPS + 1], "too many steps"),
            (vec![call("0x12", vec![1, 2, 3, 4])], "a bad callee"),
            (vec![approve("not-an-address")], "a bad spender"),
            (vec![call(ROUTER, vec![1, 2])], "calldata shorter than a selector"),
            (vec![TxKind::Batch { instructions: vec![] }], "a nested batch"),
            (vec![TxKind::Transfer { to: "So11111111111111111111111111111111111111112".into(), amount: 1, memo: None }], "a Solana address on EVM"),
        ] {
            let e = check_steps("p", net, &steps).unwrap_err();
            assert_eq!(e.code, ErrorCode::ACTION_RETURN_INVALID, "{why}");
        }
    }

    #[test]
    fn one_step_is_decided_as_itself_and_several_as_a_batch() {
        assert_eq!(bundle_kind(vec![approve(ROUTER)]), approve(ROUTER));
        assert!(matches!(bundle_kind(vec![approve(ROUTER), call(ROUTER, vec![])]), TxKind::Batch { instructions } if instructions.len() == 2));
        assert_eq!(tx_type(&approve(ROUTER)), TxType::Approve);
        assert_eq!(step_view(&approve(ROUTER)).tx_type, "APPROVE");
    }
}
