//! A Rust agent on `waiaas-core`, the twin of `examples/python-agent/agent.py`: it reads its
//! balance, asks the policy engine which tier a send would get, sends a small amount that
//! confirms at once, then a larger one that the DELAY tier holds, and cancels it.
//!
//! ```text
//! waiaas-rust-agent --url http://127.0.0.1:3100 --token wai_sess_... --to 0xRecipient
//! WAIAAS_MASTER_PASSWORD=... waiaas-rust-agent --data-dir ~/.waiaas-agent --token wai_sess_... --to 0xRecipient
//! ```
//!
//! With `--url` it talks to a daemon over HTTP; with `--data-dir` the engine runs inside this
//! process on that data dir. Either way the agent holds only a session token: the same
//! `AgentApi` trait, the same results and errors. The last line printed is a JSON summary.

use serde_json::{json, Value};
use std::time::Duration;
use waiaas_core::client::embedded::{open_embedded, EmbeddedAgent};
use waiaas_core::client::remote::RemoteAgent;
use waiaas_core::client::{AgentApi, WalletQuery};

struct Args {
    url: Option<String>,
    data_dir: Option<String>,
    token: String,
    to: String,
    small: String,
    large: String,
}

const USAGE: &str = "usage: waiaas-rust-agent (--url URL | --data-dir DIR) --token TOKEN --to ADDRESS [--small WEI] [--large WEI]
  --token defaults to $WAIAAS_SESSION_TOKEN; --data-dir reads the master password from $WAIAAS_MASTER_PASSWORD";

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        url: None,
        data_dir: None,
        token: std::env::var("WAIAAS_SESSION_TOKEN").unwrap_or_default(),
        to: String::new(),
        small: "1000000000000".into(),
        large: "5000000000000000".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => a.url = Some(value()?),
            "--data-dir" => a.data_dir = Some(value()?),
            "--token" => a.token = value()?,
            "--to" => a.to = value()?,
            "--small" => a.small = value()?,
            "--large" => a.large = value()?,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if a.url.is_some() == a.data_dir.is_some() {
        return Err(format!("give exactly one of --url and --data-dir\n{USAGE}"));
    }
    if a.token.is_empty() || a.to.is_empty() {
        return Err(format!("--token and --to are required\n{USAGE}"));
    }
    Ok(a)
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

async fn run(agent: &dyn AgentApi, mode: &str, a: &Args) -> waiaas_core::Result<Value> {
    let balance = agent.get_balance(WalletQuery::default()).await?;
    println!(
        "[{mode}] balance: {} {} on {} ({})",
        text(&balance, "balanceFormatted"),
        text(&balance, "symbol"),
        text(&balance, "network"),
        text(&balance, "address")
    );

    let transfer = |amount: &str| json!({"type": "TRANSFER", "to": a.to, "amount": amount});
    let sim = agent.simulate_transaction(transfer(&a.small)).await?;
    println!("simulate {} wei -> tier {} (allowed: {})", a.small, sim["policy"]["tier"], sim["policy"]["allowed"]);
    let sent = agent.send_transaction(transfer(&a.small), None).await?;
    let tx = agent.wait_for_transaction(text(&sent, "id"), Duration::from_secs(60)).await?;
    println!(
        "sent {} {}: {} tier {} hash {}",
        text(&tx, "amountFormatted"),
        text(&tx, "amountSymbol"),
        text(&tx, "status"),
        text(&tx, "tier"),
        text(&tx, "txHash")
    );

    // A bigger amount is held for the delay: it can be cancelled before it executes.
    let held = agent.send_transaction(transfer(&a.large), None).await?;
    let queued = agent.wait_for_transaction(text(&held, "id"), Duration::from_secs(30)).await?;
    println!("held: {} tier {}", text(&queued, "status"), text(&queued, "tier"));
    let cancelled = agent.cancel_transaction(text(&held, "id")).await?;
    println!("cancelled: {}", text(&cancelled, "status"));
    let last = agent.get_transaction(text(&held, "id")).await?;
    Ok(json!({
        "mode": mode,
        "balance": balance["balance"],
        "sent": {"id": tx["id"], "status": tx["status"], "tier": tx["tier"], "txHash": tx["txHash"]},
        "delayed": {"id": held["id"], "queued": queued["status"], "tier": queued["tier"], "final": last["status"]},
    }))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    let result = match (&args.url, &args.data_dir) {
        (Some(url), _) => match RemoteAgent::new(url, args.token.clone()) {
            Ok(agent) => run(&agent, "remote", &args).await,
            Err(e) => Err(e),
        },
        (None, Some(dir)) => {
            let Ok(password) = std::env::var("WAIAAS_MASTER_PASSWORD") else {
                eprintln!("--data-dir needs WAIAAS_MASTER_PASSWORD");
                return std::process::ExitCode::from(2);
            };
            match open_embedded(std::path::Path::new(dir), &password).await {
                // Only this agent goes to the model: it has no admin operations.
                Ok(engine) => run(&EmbeddedAgent::new(engine, args.token.clone()), "embedded", &args).await,
                Err(e) => Err(e),
            }
        }
        (None, None) => unreachable!("parse_args requires one"),
    };
    match result {
        Ok(summary) => {
            println!("{summary}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error {} (HTTP {}, retryable={}): {}", e.code.as_str(), e.status(), e.retryable(), e.message);
            std::process::ExitCode::FAILURE
        }
    }
}
