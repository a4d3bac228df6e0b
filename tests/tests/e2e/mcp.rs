//! `waiaas mcp serve` driven by a real MCP client: the official Python SDK (`mcp` from
//! PyPI, in a venv under ~/.cache/waiaas set up by scripts/test-mcp.sh) over stdio, against
//! a real daemon and a real anvil posing as ethereum-sepolia.
//!
//! - tools are listed at once after `initialize`; `get_balance` reads the chain; `send_token`
//!   confirms on chain; a policy refusal is a tool error naming the policy;
//! - human in the loop: a DELAY send asks the human through MCP elicitation, the client
//!   answers "cancel", the transaction ends CANCELLED and never reaches the chain;
//! - a finite token renews itself at 60 % of its lifetime and is written back to its file;
//! - the server runs from the config `mcp setup` prints alone (daemon URL and token file):
//!   every scenario runs it with a data dir and a HOME that do not exist.
//!
//! The median `get_balance` tool-call latency is printed (`MCP get_balance median`).

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use waiaas_e2e::*;
use waiaas_testnodes::anvil::DEV_ACCOUNTS;

const SEPOLIA: u64 = 11155111;
const ETH: u128 = 1_000_000_000_000_000_000;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The venv's python with the MCP SDK (set up by scripts/install-test-tools.sh, through
/// scripts/test-mcp.sh; tests install nothing themselves).
fn python() -> PathBuf {
    let cache =
        std::env::var_os("WAIAAS_CACHE_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/waiaas"));
    let py = cache.join("mcp-venv/bin/python");
    assert!(py.exists(), "{} is missing: run scripts/install-test-tools.sh (or scripts/test-mcp.sh) first", py.display());
    py
}

/// Run one client scenario (see tests/mcp/client.py) and return its JSON report.
pub(crate) fn client(scenario: Value) -> Value {
    let out = Command::new(python()).arg(repo_root().join("tests/mcp/client.py")).arg(scenario.to_string()).output().expect("run the MCP client");
    assert!(out.status.success(), "MCP client failed:\n{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("client output is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

struct Node(Option<waiaas_testnodes::anvil::Anvil>);
impl Node {
    fn start() -> Node {
        Node(Some(tokio::task::block_in_place(|| waiaas_testnodes::anvil::Anvil::start(SEPOLIA))))
    }
    fn n(&self) -> &waiaas_testnodes::anvil::Anvil {
        self.0.as_ref().unwrap()
    }
    fn balance(&self, a: &str) -> u128 {
        let v = tokio::task::block_in_place(|| self.n().rpc("eth_getBalance", json!([a, "latest"])));
        u128::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    }
    fn nonce(&self, a: &str) -> u64 {
        let v = tokio::task::block_in_place(|| self.n().rpc("eth_getTransactionCount", json!([a, "latest"])));
        u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    }
}
impl Drop for Node {
    fn drop(&mut self) {
        let n = self.0.take();
        tokio::task::block_in_place(move || drop(n));
    }
}

struct Setup {
    node: Node,
    daemon: Daemon,
    api: Api,
    wallet: String,
    address: String,
}

async fn setup(extra_env: &[(&str, &str)]) -> Setup {
    let node = Node::start();
    let mut opts = Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.n().url).env("WAIAAS_PRICES_ETH", "2000");
    for (k, v) in extra_env {
        opts = opts.env(k, v);
    }
    let daemon = Daemon::start(opts);
    let api = Api::new(&daemon.base);
    let w = api
        .call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "agent-evm", "chain": "ethereum", "environment": "testnet", "createSession": false})))
        .await;
    assert_eq!(w.status, 201, "{:?}", w.body);
    let address = w.body["publicKey"].as_str().unwrap().to_string();
    tokio::task::block_in_place(|| node.n().fund(&address, 100 * ETH));
    Setup { wallet: w.body["id"].as_str().unwrap().into(), address, node, daemon, api }
}

/// `waiaas mcp setup --wallet <id>` writes the token file (no Claude Desktop here).
fn mcp_setup(s: &Setup, extra: &[&str]) -> Value {
    mcp_setup_for(&s.daemon, &s.wallet, extra)
}

/// [`mcp_setup`] for `wallet` of daemon `d`.
pub(crate) fn mcp_setup_for(d: &Daemon, wallet: &str, extra: &[&str]) -> Value {
    let dir = d.dir.to_str().unwrap();
    let mut args = vec!["mcp", "setup", "--wallet", wallet, "--no-register", "--json", "--data-dir", dir];
    args.extend_from_slice(extra);
    let out = run_cli(&args, &[("WAIAAS_MASTER_PASSWORD".into(), PASSWORD.into())]);
    assert!(out.status.success(), "mcp setup failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A client run of the MCP server exactly as `mcp setup` configured it (its `mcpServers`
/// entry: command, args, env), with no way into the operator's data dir: `WAIAAS_DATA_DIR`
/// and `HOME` point nowhere, so the server has only the daemon URL and its token file.
pub(crate) fn scenario(setup_out: &Value, elicit: Option<&str>, steps: Value) -> Value {
    let servers = setup_out["mcpServers"].as_object().unwrap();
    assert_eq!(servers.len(), 1, "{setup_out}");
    let server = servers.values().next().unwrap();
    let mut env = server["env"].as_object().unwrap().clone();
    env.insert("WAIAAS_DATA_DIR".into(), "/nonexistent/operator-data-dir".into());
    env.insert("HOME".into(), "/nonexistent/agent-home".into());
    json!({"command": server["command"], "args": server["args"], "env": env, "elicit": elicit, "steps": steps})
}

/// Every file under `dir` (canonical paths).
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.canonicalize().unwrap());
        }
    }
    out
}

fn tx_id(step: &Value) -> String {
    step["json"]["id"].as_str().unwrap_or_else(|| panic!("no transaction id in {step}")).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_mcp_client_lists_tools_reads_the_balance_sends_and_meets_the_policy() {
    let s = setup(&[]).await;
    let setup_out = mcp_setup(&s, &[]);
    let token_file = setup_out["wallets"][0]["tokenFile"].as_str().unwrap();
    assert!(std::fs::read_to_string(token_file).unwrap().starts_with("wai_sess_"));
    // The MCP config carries the daemon URL and the token file, never the data dir.
    let env = &setup_out["mcpServers"]["waiaas-agent-evm"]["env"];
    assert_eq!(env["WAIAAS_BASE_URL"], s.daemon.base.as_str(), "{env}");
    let in_config = std::path::PathBuf::from(env["WAIAAS_TOKEN_FILE"].as_str().unwrap());
    assert_eq!(in_config.canonicalize().unwrap(), Path::new(token_file).canonicalize().unwrap(), "{env}");
    // Its WAIAAS_DATA_DIR (where upstream's MCP server looks for mcp-tokens/<walletId>) is a
    // directory that holds that token and nothing else: not the operator's data dir.
    let agent_dir = std::path::PathBuf::from(env["WAIAAS_DATA_DIR"].as_str().unwrap());
    assert_eq!(agent_dir.join("mcp-tokens").join(s.wallet.as_str()).canonicalize().unwrap(), in_config.canonicalize().unwrap(), "{env}");
    assert_eq!(walk(&agent_dir), vec![in_config.canonicalize().unwrap()], "only the token under {}", agent_dir.display());
    assert!(!agent_dir.join("keystore").exists() && !agent_dir.join("data").exists() && !agent_dir.join("recovery.key").exists());
    // A WHITELIST that allows DEV_ACCOUNTS[1] only (SPENDING_LIMIT: the defaults).
    let p = s
        .api
        .call(
            "POST",
            "/v1/policies",
            &Api::master(),
            Some(json!({"walletId": s.wallet, "type": "WHITELIST", "rules": {"allowed_addresses": [DEV_ACCOUNTS[1], DEV_ACCOUNTS[2]]}})),
        )
        .await;
    assert_eq!(p.status, 201, "{:?}", p.body);
    let before = s.node.balance(DEV_ACCOUNTS[1]);
    let report = client(scenario(
        &setup_out,
        None,
        json!([
            {"op": "list_tools"},
            {"op": "call", "name": "get_balance", "args": {}},
            {"op": "call", "name": "send_token", "args": {"to": DEV_ACCOUNTS[1], "amount": "1000000000000000"}},
            {"op": "call", "name": "send_token", "args": {"to": DEV_ACCOUNTS[3], "amount": "1000"}},
            {"op": "call", "name": "send_token", "args": {"to": DEV_ACCOUNTS[2], "amount": "100000000000000000"}},
            {"op": "call", "name": "get_wallet_info", "args": {}},
            {"op": "templates"},
            {"op": "read", "uri": "waiaas://skills/quickstart"},
            {"op": "read", "uri": "waiaas://wallet/address"},
            {"op": "repeat", "name": "get_balance", "args": {}, "n": 50},
            {"op": "call", "name": "list_incoming_transactions", "args": {"status": "DETECTED", "limit": 5}},
            {"op": "call", "name": "get_incoming_summary", "args": {"period": "monthly"}},
            {"op": "call", "name": "list_incoming_transactions", "args": {"status": "LOST"}},
        ]),
    ));
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(report["serverName"], "waiaas-agent-evm");
    // Tools are there at once, with upstream's names, and the send tools describe the policy outcomes.
    let tools = steps[0]["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    for n in [
        "get_balance",
        "get_address",
        "get_assets",
        "get_wallet_info",
        "send_token",
        "approve_token",
        "call_contract",
        "send_batch",
        "simulate_transaction",
        "sign_transaction",
        "sign_message",
        "get_transaction",
        "list_transactions",
        "list_incoming_transactions",
        "get_incoming_summary",
        "encode_calldata",
        "get_nonce",
        "connect_info",
    ] {
        assert!(names.contains(&n), "tool {n} missing from {names:?}");
    }
    let send_desc = tools.iter().find(|t| t["name"] == "send_token").unwrap()["description"].as_str().unwrap();
    for word in ["DELAY", "APPROVAL", "INSTANT", "simulate_transaction"] {
        assert!(send_desc.contains(word), "send_token description lacks {word}: {send_desc}");
    }
    assert!(steps[0]["ms"].as_f64().unwrap() < 1000.0, "tools/list took {} ms", steps[0]["ms"]);
    // get_balance: what the chain says.
    let bal = &steps[1];
    assert_eq!(bal["isError"], false, "{bal}");
    assert_eq!(bal["json"]["balance"], (100 * ETH).to_string(), "{bal}");
    // send_token within the limits: confirmed on chain.
    let sent = &steps[2];
    assert_eq!(sent["isError"], false, "{sent}");
    assert_eq!((sent["json"]["status"].as_str(), sent["json"]["tier"].as_str()), (Some("CONFIRMED"), Some("INSTANT")), "{sent}");
    let hash = sent["json"]["txHash"].as_str().unwrap();
    let receipt = tokio::task::block_in_place(|| s.node.n().receipt(hash));
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    assert_eq!(s.node.balance(DEV_ACCOUNTS[1]), before + 1_000_000_000_000_000);
    // A destination outside the whitelist: a tool error that names the policy.
    let denied = &steps[3];
    assert_eq!(denied["isError"], true, "{denied}");
    let text = denied["text"].as_str().unwrap();
    assert!(text.contains("WHITELIST_DENIED") && text.contains("WHITELIST policy") && text.contains(p.body["id"].as_str().unwrap()), "{text}");
    // $200 > NOTIFY: DELAY. Without elicitation the model is told what happens next.
    let held = &steps[4];
    assert_eq!(held["isError"], false, "{held}");
    assert_eq!((held["json"]["status"].as_str(), held["json"]["tier"].as_str()), (Some("QUEUED"), Some("DELAY")), "{held}");
    assert!(held["json"]["outcome"].as_str().unwrap().contains("executes automatically after the delay unless cancelled"), "{held}");
    assert!(report["elicitations"].as_array().unwrap().is_empty(), "a client without elicitation is never asked");
    let r = s.api.call("POST", &format!("/v1/transactions/{}/cancel", tx_id(held)), &Api::master(), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // Wallet info, skills and resources.
    assert_eq!(steps[5]["json"]["address"], s.address, "{}", steps[5]);
    assert!(steps[5]["json"]["networks"].is_array(), "{}", steps[5]);
    assert_eq!(steps[6]["templates"], json!(["waiaas://skills/{name}"]));
    assert!(steps[7]["contents"][0].as_str().unwrap().contains("NEVER request the master password"));
    assert!(steps[8]["contents"][0].as_str().unwrap().contains(&s.address));
    let rep = &steps[9];
    assert_eq!(rep["errors"], 0, "{rep}");
    // The incoming monitor's reads (the monitor is off here: empty, in upstream's shapes);
    // a bad filter is a tool error naming it.
    assert_eq!((&steps[10]["isError"], &steps[10]["json"]), (&json!(false), &json!({"data": [], "nextCursor": null, "hasMore": false})), "{}", steps[10]);
    assert_eq!((&steps[11]["isError"], &steps[11]["json"]), (&json!(false), &json!({"period": "monthly", "entries": []})), "{}", steps[11]);
    assert_eq!(steps[12]["isError"], true, "{}", steps[12]);
    assert!(steps[12]["text"].as_str().unwrap().contains("status"), "{}", steps[12]);
    println!(
        "MCP get_balance median {:.2} ms (n={}, min {:.2}, max {:.2}); initialize {:.1} ms",
        rep["medianMs"].as_f64().unwrap(),
        rep["n"],
        rep["minMs"].as_f64().unwrap(),
        rep["maxMs"].as_f64().unwrap(),
        report["initMs"].as_f64().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delay_send_asks_the_human_who_cancels_it_and_nothing_reaches_the_chain() {
    let s = setup(&[]).await;
    let out = mcp_setup(&s, &[]);
    let agent = Auth::Session(std::fs::read_to_string(out["wallets"][0]["tokenFile"].as_str().unwrap()).unwrap().trim().to_string());
    let before = s.node.balance(DEV_ACCOUNTS[4]);
    let report = client(scenario(
        &out,
        Some("cancel"),
        json!([
            // $200 at 2000 USD/ETH: above the $100 NOTIFY default, below $500: DELAY.
            {"op": "call", "name": "send_token", "args": {"to": DEV_ACCOUNTS[4], "amount": "100000000000000000"}},
        ]),
    ));
    assert_eq!(report["capabilities"]["tools"]["listChanged"], true, "{}", report["capabilities"]);
    let step = &report["steps"][0];
    assert_eq!(step["isError"], false, "{step}");
    let elicitations = report["elicitations"].as_array().unwrap();
    assert_eq!(elicitations.len(), 1, "the human is asked once: {elicitations:?}");
    let msg = elicitations[0]["message"].as_str().unwrap();
    assert!(msg.contains("DELAY") && msg.contains("0.1 ETH") && msg.contains(DEV_ACCOUNTS[4]), "{msg}");
    // The form offers cancel or keep: never approve.
    let choices = elicitations[0]["schema"]["properties"]["decision"].to_string();
    assert!(choices.contains("cancel") && choices.contains("keep") && !choices.to_lowercase().contains("approve"), "{choices}");
    assert_eq!(step["json"]["humanDecision"], "cancel", "{step}");
    let id = tx_id(step);
    let tx = s.api.call("GET", &format!("/v1/transactions/{id}"), &agent, None).await;
    assert_eq!(tx.status, 200, "{:?}", tx.body);
    assert_eq!(tx.body["status"], "CANCELLED", "{:?}", tx.body);
    assert!(tx.body["txHash"].is_null(), "never signed: {:?}", tx.body);
    // Past the point where a DELAY transaction could have been picked up: still nothing on chain.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(s.node.nonce(&s.address), 0, "the wallet never sent a transaction");
    assert_eq!(s.node.balance(DEV_ACCOUNTS[4]), before);
    assert_eq!(s.node.balance(&s.address), 100 * ETH);

    // A human who answers "keep" leaves it waiting; nothing is approved.
    let report =
        client(scenario(&out, Some("keep"), json!([{"op": "call", "name": "send_token", "args": {"to": DEV_ACCOUNTS[4], "amount": "100000000000000000"}}])));
    let step = &report["steps"][0];
    assert_eq!(step["json"]["humanDecision"], "keep", "{step}");
    let id = tx_id(step);
    let tx = s.api.call("GET", &format!("/v1/transactions/{id}"), &agent, None).await;
    assert_eq!((tx.body["status"].as_str(), tx.body["tier"].as_str()), (Some("QUEUED"), Some("DELAY")), "{:?}", tx.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finite_token_renews_itself_at_sixty_percent_and_is_written_back() {
    // Sessions of 10 s: the server renews at ~6 s; the original token is dead after 10 s.
    let s = setup(&[("WAIAAS_SECURITY_SESSION_TTL_MIN", "5")]).await;
    let out = mcp_setup(&s, &["--ttl", "10"]);
    let file = PathBuf::from(out["wallets"][0]["tokenFile"].as_str().unwrap());
    let original = std::fs::read_to_string(&file).unwrap();
    let report = client(scenario(
        &out,
        None,
        json!([
            {"op": "call", "name": "get_balance", "args": {}},
            {"op": "sleep", "seconds": 12},
            {"op": "call", "name": "get_balance", "args": {}},
        ]),
    ));
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps[0]["isError"], false, "{}", steps[0]);
    assert_eq!(steps[2]["isError"], false, "after the original expiry the renewed token works: {}", steps[2]);
    let renewed = std::fs::read_to_string(&file).unwrap();
    assert_ne!(renewed, original, "the renewed token was written back to {}", file.display());
    let old = s.api.call("GET", "/v1/wallet/address", &Auth::Session(original.trim().into()), None).await;
    assert_eq!(old.status, 401, "the old token no longer works: {:?}", old.body);
    let new = s.api.call("GET", "/v1/wallet/address", &Auth::Session(renewed.trim().into()), None).await;
    assert_eq!(new.status, 200, "{:?}", new.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mcp_server_can_embed_the_engine_on_a_data_dir() {
    let s = setup(&[]).await;
    mcp_setup(&s, &[]);
    let Setup { node, daemon, wallet, address, .. } = s;
    let dir = daemon.dir.clone();
    let mut daemon = daemon;
    let _keep = daemon.take_tmp();
    assert!(daemon.stop().success());
    let report = client(json!({
        "command": waiaas_bin().display().to_string(),
        "args": ["mcp", "serve", "--embedded"],
        "env": {
            "WAIAAS_DATA_DIR": dir.display().to_string(), "WAIAAS_WALLET_ID": wallet, "WAIAAS_MASTER_PASSWORD": PASSWORD,
            "WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA": node.n().url, "WAIAAS_PRICES_ETH": "2000", "WAIAAS_ORACLE_ENABLED": "false",
        },
        "steps": [
            {"op": "call", "name": "get_balance", "args": {}},
            {"op": "call", "name": "send_token", "args": {"to": DEV_ACCOUNTS[5], "amount": "1000"}},
        ],
    }));
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps[0]["json"]["balance"], (100 * ETH).to_string(), "{}", steps[0]);
    assert_eq!(steps[1]["json"]["status"], "CONFIRMED", "{}", steps[1]);
    assert_eq!(node.nonce(&address), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_x402_fetch_tool_pays_for_a_resource_and_the_price_settles_on_chain() {
    use std::str::FromStr;
    const PAYEE: &str = "0x00000000000000000000000000000000000Fee01";
    // The token is the first contract dev account 0 deploys on the fresh node: its address is
    // known before the daemon starts, so its price can be configured.
    let token = alloy_primitives::Address::from_str(DEV_ACCOUNTS[0]).unwrap().create(0).to_checksum(None);
    let price_key = format!("WAIAAS_PRICES_{token}");
    let s = setup(&[("WAIAAS_X402_ALLOW_INSECURE_HOSTS", "127.0.0.1"), (&price_key, "1")]).await;
    let deployed =
        tokio::task::block_in_place(|| waiaas_e2e::evm::deploy_erc20(s.node.n(), "Eip3009Token", "Test USD Coin", "TUSDC", 6, 1_000_000_000_000_000));
    assert!(deployed.eq_ignore_ascii_case(&token), "{deployed} != {token}");
    tokio::task::block_in_place(|| waiaas_e2e::evm::give_tokens(s.node.n(), &token, &s.address, 100_000_000));
    let url = s.node.n().url.clone();
    let server =
        tokio::task::block_in_place(|| waiaas_e2e::x402::X402Server::start(&[("rpc-url", &url), ("token", &token), ("pay-to", PAYEE), ("price", "10000")]));
    s.api.create_policy(&s.wallet, "X402_ALLOWED_DOMAINS", json!({"domains": ["127.0.0.1"]})).await;
    s.api.create_policy(&s.wallet, "ALLOWED_TOKENS", json!({"tokens": [{"address": token}]})).await;
    let before = tokio::task::block_in_place(|| waiaas_e2e::evm::token_balance(s.node.n(), &token, PAYEE));
    let setup_out = mcp_setup(&s, &[]);
    let report = client(scenario(&setup_out, None, json!([{"op": "call", "name": "x402_fetch", "args": {"url": server.url("/paid")}}])));
    let paid = &report["steps"][0];
    assert_eq!(paid["isError"], false, "{paid}");
    assert_eq!(paid["json"]["status"], 200, "{paid}");
    assert!(paid["json"]["body"].as_str().unwrap().contains("premium"), "{paid}");
    assert_eq!(paid["json"]["payment"]["status"], "CONFIRMED", "{paid}");
    let hash = paid["json"]["payment"]["txHash"].as_str().unwrap();
    assert_eq!(tokio::task::block_in_place(|| s.node.n().receipt(hash))["status"], "0x1");
    assert_eq!(tokio::task::block_in_place(|| waiaas_e2e::evm::token_balance(s.node.n(), &token, PAYEE)), before + 10_000);
}

/// An enabled action provider's actions are MCP tools (`action_<provider>_<action>`, listed
/// once the server has read the daemon's providers): a dry run explains the policy decision,
/// and the stake runs through the daemon's pipeline and mints stETH on chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_tool_stakes_through_the_daemon() {
    use std::str::FromStr;
    // The first contract dev account 0 deploys on the fresh node: known before the daemon starts.
    let steth = alloy_primitives::Address::from_str(DEV_ACCOUNTS[0]).unwrap().create(0).to_checksum(None);
    let s = setup(&[("WAIAAS_ACTIONS_LIDO_STAKING_ENABLED", "true"), ("WAIAAS_ACTIONS_LIDO_STAKING_STETH_ADDRESS", &steth)]).await;
    let code = waiaas_testnodes::anvil::artifact("StakedEther")["bytecode"].as_str().unwrap().to_string();
    let deployed = tokio::task::block_in_place(|| s.node.n().deploy(&code, DEV_ACCOUNTS[0]));
    assert!(deployed.eq_ignore_ascii_case(&steth), "{deployed} != {steth}");
    s.api.create_policy(&s.wallet, "CONTRACT_WHITELIST", json!({"contracts": [{"address": steth}]})).await;
    let setup_out = mcp_setup(&s, &[]);
    let token = std::fs::read_to_string(setup_out["wallets"][0]["tokenFile"].as_str().unwrap()).unwrap();
    let stake = (ETH / 100).to_string();
    let report = client(scenario(
        &setup_out,
        None,
        json!([
            {"op": "call", "name": "action_lido_staking_stake", "args": {"params": {"amount": stake}, "dryRun": true}},
            {"op": "call", "name": "action_lido_staking_stake", "args": {"params": {"amount": stake}}},
            {"op": "call", "name": "action_lido_staking_stake", "args": {"params": {}}},
            {"op": "list_tools"},
        ]),
    ));
    let dry = &report["steps"][0];
    assert_eq!((dry["isError"].clone(), dry["json"]["decision"]["tier"].clone()), (json!(false), json!("NOTIFY")), "{dry}");
    let accepted = &report["steps"][1];
    assert_eq!(accepted["isError"], false, "{accepted}");
    let bad = &report["steps"][2];
    assert_eq!(bad["isError"], true, "{bad}");
    assert!(bad["text"].as_str().unwrap().contains("ACTION_VALIDATION_FAILED"), "{bad}");
    let tools = &report["steps"][3]["tools"];
    let tool = tools.as_array().unwrap().iter().find(|t| t["name"] == "action_lido_staking_stake").unwrap_or_else(|| panic!("{tools}"));
    assert_eq!(tool["inputSchema"]["properties"]["params"]["required"], json!(["amount"]), "{tool}");

    let auth = Auth::Session(token.trim().to_string());
    let row = s.api.wait_tx(&auth, accepted["json"]["id"].as_str().unwrap(), &["PENDING", "EXECUTING", "SUBMITTED"], Duration::from_secs(60)).await;
    assert_eq!((row["status"].as_str(), row["action"]["provider"].as_str()), (Some("CONFIRMED"), Some("lido_staking")), "{row}");
    let steth_balance = tokio::task::block_in_place(|| waiaas_e2e::evm::token_balance(s.node.n(), &steth, &s.address));
    assert_eq!(steth_balance, ETH / 100);
}
