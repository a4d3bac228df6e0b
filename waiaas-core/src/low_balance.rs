//! The low-balance warning: so an operator tops a wallet up before its sends start failing.
//!
//! Every `[security] monitoring_check_interval_sec` (default 300), on the daemon that leads,
//! each active wallet's native balance on its default network is read from the node and
//! compared with the threshold of its chain (`monitoring_low_balance_threshold_sol`, 0.01 SOL;
//! `monitoring_low_balance_threshold_eth`, 0.005 of an EVM network's native coin). Below it,
//! a `LOW_BALANCE` audit event (delivered by webhooks and the notification channels) names
//! the wallet, network, balance and threshold, at most once per (wallet, network) within
//! `monitoring_cooldown_hours` (default 24) while the balance stays low; a balance back at or
//! above the threshold ends the cooldown, so the next drop is announced at once. The time of
//! the last warning is kept in the key/value store (`low_balance.notified.<wallet>.<network>`),
//! so a restart neither repeats nor loses it. Nothing is checked while the kill switch is
//! engaged (nothing is sent then either); a node that fails is skipped for the round (warned).

use crate::engine::Engine;
use crate::error::Result;
use crate::network::{Chain, Network};
use crate::store::WalletStatus;
use std::time::Duration;

/// The warning's settings, from `[security]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LowBalanceSettings {
    pub enabled: bool,
    pub interval: Duration,
    /// Thresholds in whole coins.
    pub threshold_sol: f64,
    pub threshold_eth: f64,
    pub cooldown: Duration,
}

impl LowBalanceSettings {
    pub fn from_config(config: &crate::config::Config) -> LowBalanceSettings {
        let s = &config.security;
        LowBalanceSettings {
            enabled: s.monitoring_enabled,
            interval: Duration::from_secs(s.monitoring_check_interval_sec),
            threshold_sol: s.monitoring_low_balance_threshold_sol,
            threshold_eth: s.monitoring_low_balance_threshold_eth,
            cooldown: Duration::from_secs(3600 * s.monitoring_cooldown_hours),
        }
    }

    /// The threshold on `net`, in its smallest units.
    pub fn threshold(&self, net: Network) -> u128 {
        let coins = match net.chain() {
            Chain::Solana => self.threshold_sol,
            Chain::Ethereum => self.threshold_eth,
        };
        (coins * 10f64.powi(i32::from(net.info().native_decimals))).round() as u128
    }
}

fn notified_key(wallet: &str, network: &str) -> String {
    format!("low_balance.notified.{wallet}.{network}")
}

impl Engine {
    /// One round of the warning (see the module docs); returns how many it raised.
    pub async fn check_low_balances(&self, settings: &LowBalanceSettings) -> Result<usize> {
        if self.kill_switch_engaged() {
            return Ok(0);
        }
        let mut raised = 0;
        for w in self.inner.store.list_wallets(None).await? {
            if w.status != WalletStatus::Active {
                continue;
            }
            let net = Network::parse(&w.network)?;
            let balance = match self.adapter(net).balance(&w.public_key).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(network = %net.id(), wallet = %w.id, "low-balance check skipped: {}", e.error.message);
                    continue;
                }
            };
            let threshold = settings.threshold(net);
            let key = notified_key(&w.id, net.id());
            let last: Option<i64> = self.inner.store.kv_get(&key).await?.and_then(|v| v.parse().ok());
            let now = self.now();
            if balance >= threshold {
                if last.is_some() {
                    self.inner.store.kv_set(&key, "", now).await?;
                }
                continue;
            }
            if last.is_some_and(|t| now - t < settings.cooldown.as_secs() as i64) {
                continue;
            }
            self.inner.store.kv_set(&key, &now.to_string(), now).await?;
            let info = net.info();
            let details = serde_json::json!({
                "network": net.id(), "balance": balance.to_string(), "threshold": threshold.to_string(),
                "balanceFormatted": crate::amount::format_units(balance, info.native_decimals),
                "thresholdFormatted": crate::amount::format_units(threshold, info.native_decimals), "symbol": info.native_symbol,
            });
            self.inner.audit.record("LOW_BALANCE", "system", Some(&w.id), None, Some(details), "warning", None).await;
            raised += 1;
        }
        Ok(raised)
    }

    /// Start the warning's loop (see the module docs) when `[security] monitoring_enabled`,
    /// beside the other background loops (stopped with them by [`Engine::stop_workers`]).
    pub fn start_low_balance_monitor(&self) {
        let settings = LowBalanceSettings::from_config(&self.inner.config);
        if !settings.enabled {
            return;
        }
        let engine = self.clone();
        let mut stop = self.inner.stop.subscribe();
        let handle = tokio::spawn(async move {
            while crate::pipeline::pause(&mut stop, settings.interval).await {
                if !engine.leads().await {
                    continue;
                }
                match engine.check_low_balances(&settings).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!("low-balance warnings raised: {n}"),
                    Err(e) => tracing::warn!("low-balance round failed: {e}"),
                }
            }
        });
        self.inner.workers.lock().unwrap_or_else(|e| e.into_inner()).push(handle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_in_each_networks_smallest_units() {
        let s = LowBalanceSettings::from_config(&crate::config::Config::default());
        assert_eq!(s.threshold(Network::parse("solana-devnet").unwrap()), 10_000_000);
        assert_eq!(s.threshold(Network::parse("ethereum-sepolia").unwrap()), 5_000_000_000_000_000);
        assert_eq!(s.cooldown, Duration::from_secs(86_400));
    }
}
