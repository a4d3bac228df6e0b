//! `GET /v1/connect-info`: what an agent's session can see and do, and a prompt that tells
//! the model the rules it will meet (default deny, tiers, limits) before it tries anything.

use crate::api::types::{ConnectDaemon, ConnectInfoResponse, ConnectPolicy, ConnectSession, ConnectWallet, DefaultDeny};
use crate::engine::{Engine, SessionCtx};
use crate::error::Result;
use crate::network::Network;
use crate::policy::{applicable, PolicyType};

impl Engine {
    pub async fn connect_info(&self, ctx: &SessionCtx, base_url: &str) -> Result<ConnectInfoResponse> {
        let settings = self.inner.config.policy.settings();
        let mut wallets = vec![];
        let mut policies = std::collections::BTreeMap::new();
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
            let mine: Vec<ConnectPolicy> = applicable(&all, &w.id, &w.network)
                .into_iter()
                .map(|p| ConnectPolicy { policy_type: p.policy_type, rules: p.rules.clone(), priority: p.priority, network: p.network.clone() })
                .collect();
            lines.push(format!(
                "- {} ({} {}, status {}): address {} on {}; policies: {}",
                w.name,
                w.chain,
                w.environment,
                w.status.as_str(),
                w.public_key,
                nets.join(", "),
                if mine.is_empty() { "none (defaults apply)".to_string() } else { mine.iter().map(|p| p.policy_type.as_str()).collect::<Vec<_>>().join(", ") }
            ));
            policies.insert(w.id.clone(), mine);
            wallets.push(ConnectWallet {
                owner_state: crate::services::wallets::owner_state(&w).to_string(),
                available_networks: nets.iter().map(|n| n.to_string()).collect(),
                id: w.id,
                name: w.name,
                chain: w.chain,
                environment: w.environment,
                address: w.public_key,
                status: w.status,
            });
        }
        // The enabled action providers: a capability, and a line of the prompt naming them.
        let actions: Vec<String> = crate::actions::providers_list(&self.inner.config)
            .providers
            .into_iter()
            .filter(|p| p.is_enabled)
            .map(|p| format!("{} ({})", p.name, p.actions.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")))
            .collect();
        let mut capabilities: Vec<String> = ["transfer", "token_transfer", "balance", "assets", "sign"].map(String::from).to_vec();
        if !actions.is_empty() {
            capabilities.push("actions".into());
            lines.push(format!(
                "DeFi actions: {} (POST /v1/actions/{{provider}}/{{action}} with {{params}}; every step passes your policies, ?dryRun=true explains the decision first).",
                actions.join("; ")
            ));
        }
        let has = |t: PolicyType| all.iter().any(|p| p.policy_type == t && p.enabled);
        Ok(ConnectInfoResponse {
            session: ConnectSession { id: ctx.session_id.clone(), expires_at: ctx.expires_at, source: ctx.source.clone() },
            wallets,
            policies,
            capabilities,
            default_deny: DefaultDeny {
                token_transfers: settings.default_deny_tokens && !has(PolicyType::AllowedTokens),
                contract_calls: settings.default_deny_contracts && !has(PolicyType::ContractWhitelist),
                token_approvals: settings.default_deny_spenders && !has(PolicyType::ApprovedSpenders),
                x402_domains: settings.default_deny_x402_domains && !has(PolicyType::X402AllowedDomains),
            },
            daemon: ConnectDaemon { version: crate::VERSION.into(), base_url: base_url.into() },
            rpc_proxy: None,
            supported_chain_ids: crate::network::NETWORKS.iter().map(|n| n.caip2.to_string()).collect(),
            prompt: lines.join("\n"),
        })
    }
}
