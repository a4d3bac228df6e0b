//! `waiaas policy add | list | remove`.

use super::{find_wallet, s, CliError, CliResult, Ctx};
use crate::output::{self, Table};
use clap::Subcommand;
use serde_json::{json, Value};
use waiaas_core::client::AdminApi;

#[derive(Subcommand, Debug)]
pub enum PolicyCmd {
    /// Add a policy, from a JSON file (the POST /v1/policies body) or from flags.
    ///
    /// Examples:
    ///   waiaas policy add --wallet evm-testnet --type SPENDING_LIMIT --rule instant_max_usd=10 --rule delay_seconds=900
    ///   waiaas policy add --wallet evm-testnet --type WHITELIST --rules '{"allowed_addresses":["0x..."]}'
    ///   waiaas policy add --file policy.json        (or --file - for stdin)
    Add {
        /// JSON body `{walletId?, type, rules, priority?, enabled?, network?}`; `-` reads stdin.
        #[arg(long, conflicts_with_all = ["policy_type", "rules", "rule"])]
        file: Option<String>,
        /// Wallet id or name (omit for a global policy).
        #[arg(long)]
        wallet: Option<String>,
        /// Policy type, e.g. SPENDING_LIMIT, WHITELIST, ALLOWED_TOKENS, RATE_LIMIT.
        #[arg(long = "type")]
        policy_type: Option<String>,
        /// The rules as a JSON object.
        #[arg(long)]
        rules: Option<String>,
        /// One rule as key=value (value parsed as JSON when it is JSON); repeatable.
        #[arg(long)]
        rule: Vec<String>,
        #[arg(long)]
        priority: Option<i64>,
        /// Only on this network.
        #[arg(long)]
        network: Option<String>,
        /// Create it disabled.
        #[arg(long)]
        disabled: bool,
    },
    /// List policies (of one wallet with --wallet, global ones included).
    List {
        #[arg(long)]
        wallet: Option<String>,
    },
    /// Remove a policy by id.
    Remove { id: String },
}

/// `key=value` pairs into a rules object (values that parse as JSON keep their type).
pub fn rules_from_pairs(pairs: &[String]) -> CliResult<serde_json::Map<String, Value>> {
    let mut rules = serde_json::Map::new();
    for p in pairs {
        let (k, v) = p.split_once('=').ok_or_else(|| CliError::usage(format!("--rule '{p}' must be key=value")))?;
        let v = serde_json::from_str::<Value>(v.trim()).unwrap_or_else(|_| Value::String(v.to_string()));
        rules.insert(k.trim().to_string(), v);
    }
    Ok(rules)
}

pub async fn run(ctx: &Ctx, cmd: PolicyCmd) -> CliResult {
    let admin = ctx.admin()?;
    match cmd {
        PolicyCmd::Add { file, wallet, policy_type, rules, rule, priority, network, disabled } => {
            let mut body = if let Some(f) = file {
                let text = if f == "-" {
                    std::io::read_to_string(std::io::stdin())?
                } else {
                    std::fs::read_to_string(&f).map_err(|e| CliError::usage(format!("cannot read {f}: {e}")))?
                };
                serde_json::from_str::<Value>(&text).map_err(|e| CliError::usage(format!("{f} is not JSON: {e}")))?
            } else {
                let t = policy_type.ok_or_else(|| CliError::usage("pass --type (e.g. --type SPENDING_LIMIT) or --file <json>"))?;
                let mut r = match rules {
                    Some(j) => match serde_json::from_str::<Value>(&j) {
                        Ok(Value::Object(m)) => m,
                        _ => return Err(CliError::usage("--rules must be a JSON object")),
                    },
                    None => serde_json::Map::new(),
                };
                r.extend(rules_from_pairs(&rule)?);
                json!({"type": t.to_ascii_uppercase(), "rules": r})
            };
            if !body.is_object() {
                return Err(CliError::usage("the policy must be a JSON object"));
            }
            if let Some(w) = wallet {
                body["walletId"] = s(&find_wallet(&admin, &w).await?, "id").into();
            }
            if let Some(p) = priority {
                body["priority"] = p.into();
            }
            if let Some(n) = network {
                body["network"] = n.into();
            }
            if disabled {
                body["enabled"] = false.into();
            }
            let r = admin.create_policy(body).await?;
            if ctx.json {
                output::json(&r);
            } else {
                println!("{} policy {} ({})", output::green("added"), s(&r, "id"), s(&r, "type"));
            }
            Ok(())
        }
        PolicyCmd::List { wallet } => {
            let wid = match wallet {
                Some(w) => Some(s(&find_wallet(&admin, &w).await?, "id")),
                None => None,
            };
            let r = output::waiting("Asking the daemon...", admin.list_policies(wid)).await?;
            if ctx.json {
                output::json(&r);
                return Ok(());
            }
            let data = r["data"].as_array().cloned().unwrap_or_default();
            if data.is_empty() {
                println!("No policies: default deny for tokens, contracts and approvals, and the default tier thresholds apply.");
                return Ok(());
            }
            let mut t = Table::new(&["ID", "TYPE", "WALLET", "NETWORK", "ENABLED", "RULES"]);
            for p in data {
                let wallet = p.get("walletId").and_then(Value::as_str).unwrap_or("(global)").to_string();
                let net = p.get("network").and_then(Value::as_str).unwrap_or("*").to_string();
                let mut rules = p.get("rules").map(|r| r.to_string()).unwrap_or_default();
                if rules.chars().count() > 60 {
                    rules = rules.chars().take(57).collect::<String>() + "...";
                }
                t.row(vec![s(&p, "id"), s(&p, "type"), wallet, net, s(&p, "enabled"), rules]);
            }
            t.print();
            Ok(())
        }
        PolicyCmd::Remove { id } => {
            let r = admin.delete_policy(id.clone()).await?;
            if ctx.json {
                output::json(&r);
            } else {
                println!("Removed policy {id}");
            }
            Ok(())
        }
    }
}
