//! `GET /v1/connect-info`: what an agent's session can see and do, and a prompt that tells
//! the model the rules it will meet (default deny, tiers, limits) before it tries anything.

use crate::engine::{Engine, SessionCtx};
use crate::error::Result;
use crate::network::Network;
use crate::policy::{applicable, PolicyType};
use serde_json::{json, Value};

impl Engine {
    pub async fn connect_info(&self, ctx: &SessionCtx, base_url: &str) -> Result<Value> {
        let settings = self.inner.config.policy.settings();
        let mut wallets = vec![];
        let mut policies = serde_json::Map::new();
        let mut lines = vec![
            "You control WAIaaS wallets through a session token; you never see private keys.".to_string(),
            "Every transaction passes the owner's policy engine before anything is signed:".to_string(),
            "- default deny: token transfers, contract calls and approvals are refused unless allowlisted (ALLOWED_TOKENS, CONTRACT_WHITELIST, APPROVED_SPENDERS);".to_string(),
            "- tiers: INSTANT and NOTIFY execute at once, DELAY waits (and can be cancelled), APPROVAL waits for the owner's signature;".to_string(),
            format!(
                "- without a SPENDING_LIMIT: up to ${} INSTANT, ${} NOTIFY, ${} DELAY, above that APPROVAL; a value that cannot be priced waits for APPROVAL unless a raw-unit limit classifies it; token decimals are the token's own (a wrong token.decimals is refused).",
                settings.default_instant_max_usd, settings.default_notify_max_usd, settings.default_delay_max_usd
            ),
            "Use POST /v1/transactions/simulate to learn the tier of a transaction before sending it. Never ask for the master password.".to_string(),
            "Your wallets:".to_string(),
        ];
        let all = crate::services::policies::policy_records(self.inner.store.list_policies(None).await?)?;
        for id in &ctx.wallet_ids {
            let Some(w) = self.inner.store.get_wallet(id).await? else { continue };
            let nets: Vec<&str> = Network::for_environment(w.chain, w.environment).into_iter().map(|n| n.id()).collect();
            let mine: Vec<Value> = applicable(&all, &w.id, &w.network)
                .into_iter()
                .map(|p| json!({"type": p.policy_type.as_str(), "rules": p.rules, "priority": p.priority, "network": p.network}))
                .collect();
            lines.push(format!(
                "- {} ({} {}, status {}): address {} on {}; policies: {}",
                w.name,
                w.chain,
                w.environment,
                w.status.as_str(),
                w.public_key,
                nets.join(", "),
                if mine.is_empty() {
                    "none (defaults apply)".to_string()
                } else {
                    mine.iter().map(|p| p["type"].as_str().unwrap_or("").to_string()).collect::<Vec<_>>().join(", ")
                }
            ));
            policies.insert(w.id.clone(), Value::Array(mine));
            wallets.push(json!({
                "id": w.id, "name": w.name, "chain": w.chain, "environment": w.environment, "address": w.public_key,
                "status": w.status, "ownerState": crate::services::wallets::owner_state(&w), "availableNetworks": nets,
            }));
        }
        let has = |t: PolicyType| all.iter().any(|p| p.policy_type == t && p.enabled);
        Ok(json!({
            "session": {"id": ctx.session_id, "expiresAt": ctx.expires_at, "source": ctx.source},
            "wallets": wallets,
            "policies": policies,
            "capabilities": ["transfer", "token_transfer", "balance", "assets", "sign"],
            "defaultDeny": {
                "tokenTransfers": settings.default_deny_tokens && !has(PolicyType::AllowedTokens),
                "contractCalls": settings.default_deny_contracts && !has(PolicyType::ContractWhitelist),
                "tokenApprovals": settings.default_deny_spenders && !has(PolicyType::ApprovedSpenders),
                "x402Domains": settings.default_deny_x402_domains && !has(PolicyType::X402AllowedDomains),
            },
            "daemon": {"version": crate::VERSION, "baseUrl": base_url},
            "rpcProxy": Value::Null,
            "supportedChainIds": crate::network::NETWORKS.iter().map(|n| n.caip2).collect::<Vec<_>>(),
            "prompt": lines.join("\n"),
        }))
    }
}
