//! `waiaas wallet create | list | info | rename | suspend | resume | terminate`.

use super::{find_wallet, s, CliError, CliResult, Ctx};
use crate::output::{self, Table};
use clap::Subcommand;
use serde_json::{json, Value};
use waiaas_core::client::AdminApi;

#[derive(Subcommand, Debug)]
pub enum WalletCmd {
    /// Create a wallet (and, unless --no-session, a session for it).
    Create {
        /// solana | ethereum (or evm).
        #[arg(long)]
        chain: Option<String>,
        /// One wallet of each chain.
        #[arg(long, conflicts_with = "chain")]
        all: bool,
        /// testnet | mainnet.
        #[arg(long, default_value = "testnet")]
        mode: String,
        /// Wallet name (default <chain>-<mode>).
        #[arg(long)]
        name: Option<String>,
        /// Do not create a session for the new wallet.
        #[arg(long)]
        no_session: bool,
    },
    /// List the wallets.
    List,
    /// Show one wallet (id or name; the only wallet when omitted).
    Info {
        #[arg(long)]
        wallet: Option<String>,
        /// The wallet as a positional argument.
        #[arg(conflicts_with = "wallet")]
        id: Option<String>,
    },
    /// Rename a wallet.
    Rename { wallet: String, name: String },
    /// Suspend a wallet: it cannot sign until resumed.
    Suspend {
        wallet: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Resume a suspended wallet.
    Resume { wallet: String },
    /// Terminate a wallet for good (it never signs again).
    Terminate {
        wallet: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

pub fn chain_name(c: &str) -> CliResult<&'static str> {
    match c.to_ascii_lowercase().as_str() {
        "solana" | "sol" => Ok("solana"),
        "ethereum" | "evm" | "eth" => Ok("ethereum"),
        other => Err(CliError::usage(format!("unknown chain '{other}': use --chain solana or --chain ethereum"))),
    }
}

pub fn mode_name(m: &str) -> CliResult<&'static str> {
    match m {
        "testnet" => Ok("testnet"),
        "mainnet" => Ok("mainnet"),
        other => Err(CliError::usage(format!("unknown mode '{other}': use --mode testnet or --mode mainnet"))),
    }
}

/// The short name quickset and `wallet create` give a wallet: `solana-testnet`, `evm-mainnet`.
pub fn default_name(chain: &str, mode: &str) -> String {
    format!("{}-{mode}", if chain == "ethereum" { "evm" } else { chain })
}

pub async fn run(ctx: &Ctx, cmd: WalletCmd) -> CliResult {
    let admin = ctx.admin()?;
    match cmd {
        WalletCmd::Create { chain, all, mode, name, no_session } => {
            let mode = mode_name(&mode)?;
            let chains: Vec<&str> = match (all, chain) {
                (true, _) => vec!["solana", "ethereum"],
                (false, Some(c)) => vec![chain_name(&c)?],
                (false, None) => return Err(CliError::usage("pass --chain solana|ethereum, or --all for one of each")),
            };
            let mut created = vec![];
            for c in &chains {
                let name = match (&name, chains.len()) {
                    (Some(n), 1) => n.clone(),
                    (Some(n), _) => format!("{n}-{}", if *c == "ethereum" { "evm" } else { c }),
                    (None, _) => default_name(c, mode),
                };
                let body = json!({"name": name, "chain": c, "environment": mode, "createSession": !no_session});
                let w = output::waiting(format!("Creating {name}..."), admin.create_wallet(body)).await?;
                created.push(w);
            }
            if ctx.json {
                output::json(&if created.len() == 1 { created[0].clone() } else { json!({ "items": created }) });
            } else {
                for w in &created {
                    println!("{} {} ({} {})", output::green("created"), output::bold(&s(w, "name")), s(w, "chain"), s(w, "environment"));
                    output::kv(&[("id", s(w, "id")), ("address", s(w, "publicKey")), ("network", s(w, "network"))]);
                    if let Some(t) = w.get("session").and_then(|x| x.get("token")).and_then(Value::as_str) {
                        output::kv(&[("session token", t.to_string())]);
                    }
                }
            }
            Ok(())
        }
        WalletCmd::List => {
            let list = output::waiting("Asking the daemon...", admin.list_wallets()).await?;
            if ctx.json {
                output::json(&list);
                return Ok(());
            }
            let items = list["items"].as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                println!("No wallets yet: create some with `waiaas quickset --mode testnet` or `waiaas wallet create --chain solana`.");
                return Ok(());
            }
            let mut t = Table::new(&["ID", "NAME", "CHAIN", "NETWORK", "STATUS", "ADDRESS"]);
            for w in items {
                t.row(vec![s(&w, "id"), s(&w, "name"), s(&w, "chain"), s(&w, "network"), output::status(&s(&w, "status")), s(&w, "publicKey")]);
            }
            t.print();
            Ok(())
        }
        WalletCmd::Info { wallet, id } => {
            let w = match wallet.or(id) {
                Some(x) => find_wallet(&admin, &x).await?,
                None => only_wallet(&admin).await?,
            };
            let id = s(&w, "id");
            let detail = admin.get_wallet(id.clone()).await?;
            let networks = admin.wallet_networks(id.clone()).await.ok();
            if ctx.json {
                let mut d = detail.clone();
                if let Some(n) = &networks {
                    // `WalletNetworks.availableNetworks` (waiaas_core::services::wallets).
                    d["availableNetworks"] = n["availableNetworks"].clone();
                }
                output::json(&d);
                return Ok(());
            }
            println!("{}", output::bold(&s(&detail, "name")));
            let nets = networks
                .as_ref()
                .and_then(|n| n["availableNetworks"].as_array())
                .map(|a| a.iter().map(|n| n["network"].as_str().unwrap_or("").to_string()).collect::<Vec<_>>().join(", "))
                .unwrap_or_default();
            let owner = match detail.get("ownerAddress").and_then(Value::as_str) {
                Some(a) => format!("{a} ({})", s(&detail, "ownerState")),
                None => "none".into(),
            };
            output::kv(&[
                ("id", id),
                ("chain", format!("{} {}", s(&detail, "chain"), s(&detail, "environment"))),
                ("address", s(&detail, "publicKey")),
                ("network", s(&detail, "network")),
                ("networks", nets),
                ("status", output::status(&s(&detail, "status"))),
                ("owner", owner),
                ("created", detail.get("createdAt").and_then(Value::as_i64).map(output::time).unwrap_or_default()),
            ]);
            Ok(())
        }
        WalletCmd::Rename { wallet, name } => {
            let w = find_wallet(&admin, &wallet).await?;
            let r = admin.update_wallet(s(&w, "id"), json!({ "name": name })).await?;
            done(ctx, &r, &format!("Renamed {} to {}", s(&w, "id"), name))
        }
        WalletCmd::Suspend { wallet, reason } => {
            let w = find_wallet(&admin, &wallet).await?;
            let r = admin.suspend_wallet(s(&w, "id"), reason).await?;
            done(ctx, &r, &format!("Suspended {} ({}): it cannot sign until `waiaas wallet resume {}`", s(&w, "name"), s(&w, "id"), s(&w, "name")))
        }
        WalletCmd::Resume { wallet } => {
            let w = find_wallet(&admin, &wallet).await?;
            let r = admin.resume_wallet(s(&w, "id")).await?;
            done(ctx, &r, &format!("Resumed {} ({})", s(&w, "name"), s(&w, "id")))
        }
        WalletCmd::Terminate { wallet, yes } => {
            let w = find_wallet(&admin, &wallet).await?;
            if !yes {
                if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                    return Err(CliError::usage(format!("terminating '{}' cannot be undone: pass --yes to confirm", s(&w, "name"))));
                }
                eprint!("Terminate wallet '{}' ({})? It can never sign again. Type the wallet name to confirm: ", s(&w, "name"), s(&w, "id"));
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                if line.trim() != s(&w, "name") {
                    return Err(CliError::new(super::EXIT_FAILED, "not confirmed: nothing changed"));
                }
            }
            let r = admin.terminate_wallet(s(&w, "id")).await?;
            done(ctx, &r, &format!("Terminated {} ({})", s(&w, "name"), s(&w, "id")))
        }
    }
}

/// The daemon's only wallet, or a usage error naming the choice.
pub async fn only_wallet(admin: &dyn AdminApi) -> CliResult<Value> {
    let list = admin.list_wallets().await?;
    let items = list["items"].as_array().cloned().unwrap_or_default();
    match items.len() {
        1 => Ok(items[0].clone()),
        0 => Err(CliError::new(super::EXIT_NOT_FOUND, "no wallets yet\n  next: `waiaas quickset --mode testnet` or `waiaas wallet create --chain solana`")),
        n => Err(CliError::usage(format!("{n} wallets: pass --wallet <id|name> (see `waiaas wallet list`)"))),
    }
}

fn done(ctx: &Ctx, body: &Value, human: &str) -> CliResult {
    if ctx.json {
        output::json(body);
    } else {
        println!("{human}");
    }
    Ok(())
}
