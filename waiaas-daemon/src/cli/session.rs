//! `waiaas session create | list | revoke`.

use super::{find_wallet, s, CliResult, Ctx};
use crate::output::{self, Table};
use clap::Subcommand;
use serde_json::{json, Value};
use waiaas_core::client::AdminApi;

#[derive(Subcommand, Debug)]
pub enum SessionCmd {
    /// Create a session for one or more wallets and print its token.
    Create {
        /// Wallet id or name (repeat for a multi-wallet session; the first is the default).
        #[arg(long, required = true)]
        wallet: Vec<String>,
        /// Token lifetime in seconds (omit for an unlimited session).
        #[arg(long)]
        ttl: Option<i64>,
        /// How often the token may be renewed (0 = unlimited).
        #[arg(long)]
        max_renewals: Option<i64>,
        /// Absolute lifetime in seconds, renewals included.
        #[arg(long)]
        lifetime: Option<i64>,
    },
    /// List sessions (of one wallet with --wallet).
    List {
        #[arg(long)]
        wallet: Option<String>,
    },
    /// Revoke a session: its token stops working at once.
    Revoke { id: String },
}

pub async fn run(ctx: &Ctx, cmd: SessionCmd) -> CliResult {
    let admin = ctx.admin()?;
    match cmd {
        SessionCmd::Create { wallet, ttl, max_renewals, lifetime } => {
            let mut ids = vec![];
            for w in &wallet {
                ids.push(s(&find_wallet(&admin, w).await?, "id"));
            }
            let mut body = if ids.len() == 1 { json!({"walletId": ids[0]}) } else { json!({"walletIds": ids}) };
            if let Some(t) = ttl {
                body["ttl"] = t.into();
            }
            if let Some(m) = max_renewals {
                body["maxRenewals"] = m.into();
            }
            if let Some(l) = lifetime {
                body["absoluteLifetime"] = l.into();
            }
            let r = admin.create_session(body).await?;
            if ctx.json {
                output::json(&r);
            } else {
                println!("{} session {}", output::green("created"), s(&r, "id"));
                output::kv(&[
                    ("wallets", r["wallets"].as_array().map(|a| a.iter().map(|w| s(w, "name")).collect::<Vec<_>>().join(", ")).unwrap_or_default()),
                    ("expires", output::time(r["expiresAt"].as_i64().unwrap_or(0))),
                    ("token", s(&r, "token")),
                ]);
                println!("Give the token to the agent (Authorization: Bearer <token>); it is shown only once.");
            }
            Ok(())
        }
        SessionCmd::List { wallet } => {
            let wid = match wallet {
                Some(w) => Some(s(&find_wallet(&admin, &w).await?, "id")),
                None => None,
            };
            let r = output::waiting("Asking the daemon...", admin.list_sessions(wid)).await?;
            if ctx.json {
                output::json(&r);
                return Ok(());
            }
            let data = r["data"].as_array().cloned().unwrap_or_default();
            if data.is_empty() {
                println!("No sessions.");
                return Ok(());
            }
            let mut t = Table::new(&["ID", "WALLETS", "STATUS", "SOURCE", "RENEWALS", "EXPIRES"]);
            for x in data {
                let wallets = x["wallets"].as_array().map(|a| a.iter().map(|w| s(w, "name")).collect::<Vec<_>>().join(",")).unwrap_or_default();
                let max = x["maxRenewals"].as_i64().unwrap_or(0);
                t.row(vec![
                    s(&x, "id"),
                    wallets,
                    output::status(&s(&x, "status")),
                    s(&x, "source"),
                    format!("{}/{}", x["renewalCount"].as_i64().unwrap_or(0), if max == 0 { "∞".to_string() } else { max.to_string() }),
                    output::time(x["expiresAt"].as_i64().unwrap_or(0)),
                ]);
            }
            t.print();
            Ok(())
        }
        SessionCmd::Revoke { id } => {
            let r: Value = admin.revoke_session(id.clone()).await?;
            if ctx.json {
                output::json(&r);
            } else {
                println!("Revoked session {id}: its token no longer works.");
            }
            Ok(())
        }
    }
}
