//! Operator commands: `owner`, `set-master`, `backup`, `restore`, `kill-switch`.

use super::{find_wallet, s, CliError, CliResult, Ctx, EXIT_FAILED};
use crate::output::{self, Table};
use clap::Subcommand;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use waiaas_core::auth::owner::{owner_message, OwnerAction, OwnerProof};
use waiaas_core::client::AdminApi;
use waiaas_core::network::Chain;
use zeroize::Zeroizing;

#[derive(Subcommand, Debug)]
pub enum OwnerCmd {
    /// Register the wallet's owner address (the human who approves and can recover).
    Set { wallet: String, address: String },
    /// Prove the owner controls the address (GRACE -> LOCKED). Without --signature, prints
    /// the message the owner must sign.
    Verify {
        wallet: String,
        /// The signed message: a file, or its text / base64.
        #[arg(long)]
        message: Option<String>,
        /// The owner's signature of the message (EIP-191 hex for EVM, base58/base64 for Solana).
        #[arg(long)]
        signature: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum BackupCmd {
    /// Ask the daemon for an encrypted backup of the data dir.
    Create,
    /// List the backups in <data>/backups (works with the daemon stopped).
    List,
    /// Show a backup file's header and metadata (works offline; nothing is decrypted).
    Inspect { file: PathBuf },
}

#[derive(Subcommand, Debug)]
pub enum DbCmd {
    /// Copy this data dir's SQLite store into an empty PostgreSQL database (daemon stopped);
    /// then set `database.postgres_url` and start the daemon on it.
    Migrate {
        /// The target, `postgres://user@host:port/db`. Default: `database.postgres_url`
        /// (WAIAAS_DATABASE_POSTGRES_URL; prefer it: a password in the URL would show in the
        /// process list).
        #[arg(long)]
        to: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum KillSwitchCmd {
    /// Show the kill switch state.
    Status,
    /// Engage the kill switch: cancel unsigned work, suspend wallets, close agent routes.
    Activate {
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Recover from the kill switch and resume the wallets it suspended.
    Recover,
}

pub async fn owner(ctx: &Ctx, cmd: OwnerCmd) -> CliResult {
    let admin = ctx.admin()?;
    match cmd {
        OwnerCmd::Set { wallet, address } => {
            let w = find_wallet(&admin, &wallet).await?;
            let r = admin.set_owner(s(&w, "id"), address).await?;
            if ctx.json {
                output::json(&r);
            } else {
                println!("Owner of {} is now {} ({})", s(&w, "name"), s(&r, "ownerAddress"), s(&r, "ownerState"));
                println!("Next: `waiaas owner verify {}` prints the message the owner signs to lock it in.", s(&w, "name"));
            }
            Ok(())
        }
        OwnerCmd::Verify { wallet, message, signature } => {
            let w = find_wallet(&admin, &wallet).await?;
            let detail = admin.get_wallet(s(&w, "id")).await?;
            let owner = detail.get("ownerAddress").and_then(Value::as_str).map(str::to_string).ok_or_else(|| {
                CliError::new(
                    super::EXIT_NOT_FOUND,
                    format!("OWNER_NOT_SET: wallet '{}' has no owner\n  next: `waiaas owner set {} <address>`", s(&w, "name"), s(&w, "name")),
                )
            })?;
            match (message, signature) {
                (Some(m), Some(sig)) => {
                    let text = match std::fs::read_to_string(&m) {
                        Ok(t) => t,
                        Err(_) => m,
                    };
                    let r = admin.verify_owner(s(&w, "id"), OwnerProof { address: owner, message: text, signature: sig.trim().to_string() }).await?;
                    if ctx.json {
                        output::json(&r);
                    } else {
                        println!("Owner verified: {} is {}", s(&r, "ownerAddress"), output::status(&s(&r, "ownerState")));
                    }
                    Ok(())
                }
                (None, None) => {
                    let nonce = admin.get_nonce().await?;
                    let chain = if s(&detail, "chain") == "solana" { Chain::Solana } else { Chain::Ethereum };
                    let base = ctx.base_url();
                    let domain = base.split("://").nth(1).unwrap_or(&base).trim_end_matches('/').to_string();
                    let text = owner_message(chain, &domain, &owner, &s(&nonce, "nonce"), &OwnerAction::Verify(s(&w, "id")), waiaas_core::now(), 300);
                    if ctx.json {
                        output::json(&json!({"message": text, "address": owner, "expiresIn": 300}));
                    } else {
                        println!("Sign this message with the owner wallet {owner} (valid 5 minutes):\n");
                        println!("{text}\n");
                        println!("Then: waiaas owner verify {} --message <file with the message> --signature <signature>", s(&w, "name"));
                    }
                    Ok(())
                }
                _ => Err(CliError::usage("pass both --message and --signature (or neither, to print the message to sign)")),
            }
        }
    }
}

/// `waiaas set-master`: change the master password (the daemon re-encrypts every key file).
pub async fn set_master(ctx: &Ctx, new_password_file: Option<PathBuf>) -> CliResult {
    let stdin = |p: &Option<PathBuf>| p.as_deref().is_some_and(|p| p.as_os_str() == "-");
    if stdin(&new_password_file) && stdin(&ctx.password_file) {
        return Err(CliError::usage("--password-file and --new-password-file cannot both read stdin"));
    }
    let new = match new_password_file {
        Some(f) => super::secrets::read_password_file(&f, "the new master password")?,
        None => match super::secrets::env_new_password() {
            Some(p) => p,
            None => {
                if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                    return Err(CliError::usage("pass --new-password-file FILE (- reads stdin) or set WAIAAS_NEW_MASTER_PASSWORD (no terminal to prompt on)"));
                }
                let a = Zeroizing::new(rpassword::prompt_password("New master password: ").map_err(|e| CliError::usage(format!("cannot read password: {e}")))?);
                let b = Zeroizing::new(rpassword::prompt_password("Repeat it: ").map_err(|e| CliError::usage(format!("cannot read password: {e}")))?);
                if *a != *b {
                    return Err(CliError::usage("the two passwords differ; nothing changed"));
                }
                a
            }
        },
    };
    let old = ctx.master_password()?;
    let admin = ctx.admin()?;
    let r = output::waiting("Re-encrypting the keystore...", admin.change_master_password(new.to_string())).await?;
    // A recovery.key that held the old password would no longer start the daemon.
    let key = super::datadir::recovery_key_path(&ctx.dir);
    let mut updated_key = false;
    if std::fs::read_to_string(&key).map(|k| k.trim() == old.as_str()).unwrap_or(false) {
        waiaas_core::datadir::write_atomic(&key, new.as_bytes())?;
        updated_key = true;
    }
    if ctx.json {
        let mut r = r;
        r["recoveryKeyUpdated"] = updated_key.into();
        output::json(&r);
    } else {
        println!("Master password changed ({} wallets re-encrypted).", r.get("walletsReEncrypted").cloned().unwrap_or(Value::Null));
        if updated_key {
            println!("{} now holds the new password.", key.display());
        }
    }
    Ok(())
}

/// A backup's header and metadata through the core (nothing decrypted), as JSON.
fn inspect(path: &Path) -> CliResult<Value> {
    let i = waiaas_core::backup::inspect_backup(path, None)?;
    serde_json::to_value(&i).map_err(|e| CliError::new(EXIT_FAILED, e.to_string()))
}

pub async fn backup(ctx: &Ctx, cmd: BackupCmd) -> CliResult {
    match cmd {
        BackupCmd::Create => {
            let admin = ctx.admin()?;
            let r = output::waiting("Writing an encrypted backup...", admin.create_backup()).await?;
            if ctx.json {
                output::json(&r);
            } else {
                println!("Backup written: {}", r.get("path").or_else(|| r.get("file")).and_then(Value::as_str).unwrap_or(&r.to_string()));
            }
            Ok(())
        }
        BackupCmd::List => {
            let dir = ctx.dir.join("backups");
            let items: Vec<Value> = waiaas_core::backup::list_backups_in(&dir)?.iter().map(|b| serde_json::to_value(b).unwrap_or_default()).collect();
            if ctx.json {
                output::json(&json!({ "dir": dir.display().to_string(), "items": items }));
                return Ok(());
            }
            if items.is_empty() {
                println!("No backups in {}.", dir.display());
                return Ok(());
            }
            let mut t = Table::new(&["FILE", "CREATED", "DAEMON", "SIZE"]);
            for i in &items {
                t.row(vec![s(i, "filename"), s(i, "created_at"), s(i, "daemon_version"), s(i, "size")]);
            }
            t.print();
            Ok(())
        }
        BackupCmd::Inspect { file } => {
            let h = inspect(&file)?;
            if ctx.json {
                output::json(&h);
            } else {
                println!("{}", output::bold(&s(&h, "path")));
                output::kv(&[
                    ("format", format!("v{}", s(&h, "format_version"))),
                    (
                        "size",
                        format!("{} bytes, {} files, checksum {}", s(&h, "size"), s(&h, "file_count"), if h["checksum_valid"] == true { "ok" } else { "BAD" }),
                    ),
                    ("created", s(&h["metadata"], "created_at")),
                    ("daemon", s(&h["metadata"], "daemon_version")),
                    ("kdf", s(&h["metadata"], "kdf")),
                ]);
                if let Some(m) = h["metadata"].as_object() {
                    for (k, v) in m {
                        if !["created_at", "daemon_version", "kdf"].contains(&k.as_str()) {
                            output::kv(&[(k.as_str(), v.to_string())]);
                        }
                    }
                }
            }
            Ok(())
        }
    }
}

pub async fn restore(ctx: &Ctx, file: PathBuf, force: bool) -> CliResult {
    // The backup's password is the master password it was made with.
    let pw = ctx.master_password()?;
    let (dir, f) = (ctx.dir.clone(), file.clone());
    let job = tokio::task::spawn_blocking(move || waiaas_core::backup::restore_backup(&f, &pw, &dir, force));
    let report = output::waiting("Decrypting and restoring...", async { job.await.map_err(waiaas_core::Error::internal_from)? }).await?;
    if ctx.json {
        output::json(&serde_json::to_value(&report).unwrap_or_default());
    } else {
        println!("Restored {} into {} ({} wallets).", file.display(), report.target_dir, report.wallets.len());
        if let Some(p) = &report.previous_dir {
            println!("The previous contents were kept in {p}.");
        }
        for w in &report.warnings {
            println!("warning: {w}");
        }
        println!("Start the daemon with `waiaas start` and the backup's master password.");
    }
    Ok(())
}

pub async fn db(ctx: &Ctx, cmd: DbCmd) -> CliResult {
    let DbCmd::Migrate { to } = cmd;
    // The daemon must be stopped: its data dir lock is held for the copy.
    let _lock = waiaas_core::datadir::DataDirLock::acquire(&ctx.dir)?;
    // With WAIAAS_DATABASE_POSTGRES_URL (or database.postgres_url) applied.
    let config = waiaas_core::datadir::load_config(&ctx.dir)?.config;
    let url = to
        .or_else(|| Some(config.database.postgres_url.clone()))
        .filter(|u| !u.is_empty())
        .ok_or_else(|| CliError::usage("no target: pass --to postgres://... or set WAIAAS_DATABASE_POSTGRES_URL"))?;
    let sqlite = ctx.dir.join(&config.database.path);
    let opts = waiaas_core::store::postgres::PgOptions::from_config(&config.database, &ctx.dir);
    let report = output::waiting("Copying the store into PostgreSQL...", waiaas_core::store::postgres::copy_from_sqlite(&sqlite, &url, &opts)).await?;
    if ctx.json {
        output::json(&serde_json::to_value(&report).unwrap_or_default());
    } else {
        for (table, rows) in &report.tables {
            println!("{table:<24} {rows} rows");
        }
        println!("Copied {} into PostgreSQL (schema version {}).", sqlite.display(), report.schema_version);
        println!("Set database.postgres_url in config.toml (or WAIAAS_DATABASE_POSTGRES_URL) and start the daemon; key files stay in {}.", ctx.dir.display());
    }
    Ok(())
}

pub async fn kill_switch(ctx: &Ctx, cmd: KillSwitchCmd) -> CliResult {
    let admin = ctx.admin()?;
    let r = match cmd {
        KillSwitchCmd::Status => output::waiting("Asking the daemon...", admin.kill_switch_status()).await?,
        KillSwitchCmd::Activate { yes } => {
            if !yes {
                return Err(CliError::usage("activating the kill switch cancels unsigned transactions and suspends every wallet: pass --yes to confirm"));
            }
            admin.activate_kill_switch().await?
        }
        KillSwitchCmd::Recover => admin.recover_kill_switch().await?,
    };
    if ctx.json {
        output::json(&r);
    } else {
        let state = r.get("state").or_else(|| r.get("status")).and_then(Value::as_str).unwrap_or("?").to_string();
        println!("Kill switch: {}", output::status(&state));
        let mut pairs = vec![];
        for (k, v) in r.as_object().into_iter().flatten() {
            if k != "state" && !v.is_null() {
                pairs.push((
                    k.as_str(),
                    match v {
                        Value::String(x) => x.clone(),
                        other => other.to_string(),
                    },
                ));
            }
        }
        output::kv(&pairs);
    }
    Ok(())
}
