//! The `waiaas` CLI as a user runs it: the four-command quick start of
//! `examples/quickstart.sh` end to end (temp data dir and HOME, a real daemon in the
//! background, testnet mode against a local anvil posing as ethereum-sepolia), then the
//! `--json` outputs of the read commands parsed, then failing commands' exit codes and
//! messages.

use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use waiaas_e2e::waiaas_bin;

struct Env {
    vars: Vec<(String, String)>,
    dir: PathBuf,
}

impl Env {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(waiaas_bin());
        c.args(args).env_remove("WAIAAS_MASTER_PASSWORD").env_remove("WAIAAS_BASE_URL").env_remove("WAIAAS_CLAUDE_CONFIG");
        for (k, v) in &self.vars {
            c.env(k, v);
        }
        c
    }
    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run waiaas")
    }
    /// Run, expect success, parse stdout as JSON.
    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "waiaas {args:?} failed ({:?}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("waiaas {args:?}: not JSON ({e}):\n{}", String::from_utf8_lossy(&out.stdout)))
    }
}

/// Stops the detached daemon whatever happens to the test.
struct StopOnDrop(PathBuf);
impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = Command::new(waiaas_bin()).args(["stop", "--data-dir", self.0.to_str().unwrap()]).output();
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

#[test]
fn quick_start_end_to_end_then_json_outputs_then_failures() {
    let node = waiaas_testnodes::anvil::Anvil::start(11155111);
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let dir = tmp.path().join("data");
    std::fs::create_dir_all(&home).unwrap();
    // Claude Desktop already knows another server: the setup must keep it.
    let claude = home.join(".config/Claude/claude_desktop_config.json");
    std::fs::create_dir_all(claude.parent().unwrap()).unwrap();
    std::fs::write(&claude, r#"{"mcpServers": {"other": {"command": "other-server"}}, "globalShortcut": "Ctrl+Space"}"#).unwrap();
    let env = Env {
        vars: vec![
            ("HOME".into(), home.display().to_string()),
            ("XDG_CONFIG_HOME".into(), String::new()),
            ("WAIAAS".into(), waiaas_bin().display().to_string()),
            ("WAIAAS_DATA_DIR".into(), dir.display().to_string()),
            ("WAIAAS_DAEMON_PORT".into(), "0".into()),
            ("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA".into(), node.url.clone()),
            ("WAIAAS_ORACLE_ENABLED".into(), "false".into()),
            ("WAIAAS_PRICES_ETH".into(), "2000".into()),
            ("WAIAAS_SECURITY_RATE_LIMIT_GLOBAL_IP_RPM".into(), "0".into()),
        ],
        dir: dir.clone(),
    };
    let _stop = StopOnDrop(dir.clone());

    // 1. The quick start script, exactly as documented.
    let out = Command::new("bash")
        .arg(repo_root().join("examples/quickstart.sh"))
        .envs(env.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env_remove("WAIAAS_MASTER_PASSWORD")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "quickstart failed ({:?}):\n{stdout}\n{}", out.status, stderr(&out));
    for expected in ["Data directory ready", "ready on http://", "solana-testnet", "evm-testnet", "\"mcpServers\"", "Registered with Claude Desktop"] {
        assert!(stdout.contains(expected), "quickstart output lacks {expected:?}:\n{stdout}");
    }
    assert!(dir.join("recovery.key").exists());

    // 2. --json outputs, parsed.
    let status = env.json(&["status", "--json"]);
    assert_eq!(status["running"], true, "{status}");
    let wallets = env.json(&["wallet", "list", "--json"]);
    let items = wallets["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{wallets}");
    let evm = items.iter().find(|w| w["chain"] == "ethereum").expect("an EVM wallet");
    let sol = items.iter().find(|w| w["chain"] == "solana").expect("a Solana wallet");
    assert_eq!((evm["name"].as_str(), evm["network"].as_str()), (Some("evm-testnet"), Some("ethereum-sepolia")));
    assert_eq!((sol["name"].as_str(), sol["network"].as_str()), (Some("solana-testnet"), Some("solana-devnet")));
    for w in [evm, sol] {
        let id = w["id"].as_str().unwrap();
        // An MCP token per wallet, 0600, holding a session token.
        let tok = dir.join("mcp-agents").join(id).join("mcp-tokens").join(id);
        let mode = std::fs::metadata(&tok).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", tok.display());
        assert!(std::fs::read_to_string(&tok).unwrap().starts_with("wai_sess_"));
        // The starter policy: a SPENDING_LIMIT with the default thresholds.
        let p = env.json(&["policy", "list", "--wallet", id, "--json"]);
        let limit = p["data"].as_array().unwrap().iter().find(|p| p["type"] == "SPENDING_LIMIT" && p["walletId"] == id).unwrap_or_else(|| panic!("{p}"));
        assert_eq!(limit["rules"]["instant_max_usd"].as_f64(), Some(10.0), "{limit}");
        assert_eq!(limit["rules"]["delay_max_usd"].as_f64(), Some(500.0), "{limit}");
        // quickset's token was kept by `mcp setup --all`: one session per wallet.
        let s = env.json(&["session", "list", "--wallet", id, "--json"]);
        assert_eq!(s["data"].as_array().unwrap().iter().filter(|x| x["status"] == "ACTIVE").count(), 1, "{s}");
    }
    let info = env.json(&["wallet", "info", "evm-testnet", "--json"]);
    assert_eq!(info["id"], evm["id"]);
    assert!(info["availableNetworks"].is_array(), "{info}");

    // Claude Desktop's config: both servers merged in, the other one kept, a backup made.
    let config: Value = serde_json::from_str(&std::fs::read_to_string(&claude).unwrap()).unwrap();
    assert_eq!(config["mcpServers"]["other"]["command"], "other-server");
    assert_eq!(config["globalShortcut"], "Ctrl+Space");
    let server = &config["mcpServers"]["waiaas-evm-testnet"];
    assert_eq!(server["args"], serde_json::json!(["mcp", "serve"]));
    assert_eq!(server["env"]["WAIAAS_WALLET_ID"], evm["id"]);
    assert!(config["mcpServers"]["waiaas-solana-testnet"].is_object());
    let backups: Vec<_> =
        std::fs::read_dir(claude.parent().unwrap()).unwrap().filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().contains(".bak-")).collect();
    assert_eq!(backups.len(), 1, "one backup of the previous config");

    // Running quickset again creates nothing new (same wallets, policies and tokens).
    let again = env.json(&["quickset", "--mode", "testnet", "--json"]);
    assert!(again["wallets"].as_array().unwrap().iter().all(|w| w["created"] == false && w["tokenReused"] == true && w["policyId"].is_null()), "{again}");

    // Sessions, policies and wallet states through the CLI, as JSON.
    let sess = env.json(&["session", "create", "--wallet", "evm-testnet", "--ttl", "3600", "--json"]);
    assert!(sess["token"].as_str().unwrap().starts_with("wai_sess_"));
    let revoked = env.json(&["session", "revoke", sess["id"].as_str().unwrap(), "--json"]);
    assert_eq!(revoked["id"], sess["id"]);
    let added = env.json(&[
        "policy",
        "add",
        "--wallet",
        "evm-testnet",
        "--type",
        "RATE_LIMIT",
        "--rule",
        "max_requests=100",
        "--rule",
        "window_seconds=3600",
        "--json",
    ]);
    assert_eq!(added["type"], "RATE_LIMIT");
    let file = tmp.path().join("policy.json");
    std::fs::write(
        &file,
        serde_json::json!({"walletId": evm["id"], "type": "WHITELIST", "rules": {"allowed_addresses": [waiaas_testnodes::anvil::DEV_ACCOUNTS[1]]}}).to_string(),
    )
    .unwrap();
    let from_file = env.json(&["policy", "add", "--file", file.to_str().unwrap(), "--json"]);
    assert_eq!(from_file["type"], "WHITELIST");
    env.json(&["policy", "remove", added["id"].as_str().unwrap(), "--json"]);
    env.json(&["policy", "remove", from_file["id"].as_str().unwrap(), "--json"]);
    let suspended = env.json(&["wallet", "suspend", "solana-testnet", "--reason", "test", "--json"]);
    assert_eq!(suspended["status"], "SUSPENDED", "{suspended}");
    let resumed = env.json(&["wallet", "resume", "solana-testnet", "--json"]);
    assert_eq!(resumed["status"], "ACTIVE", "{resumed}");
    let ks = env.json(&["kill-switch", "status", "--json"]);
    assert!(ks.is_object(), "{ks}");
    let backups = env.json(&["backup", "list", "--json"]);
    assert_eq!(backups["items"].as_array().map(Vec::len), Some(0));

    // Human output: an aligned table with a header.
    let table = env.run(&["wallet", "list"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.lines().next().unwrap().starts_with("ID "), "{text}");
    assert!(!text.contains('\x1b'), "no color when stdout is not a terminal");

    // 3. Failing commands: exit codes that mean something, messages that say what to do next.
    let o = env.run(&["wallet", "info", "no-such-wallet"]);
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    assert!(stderr(&o).contains("WALLET_NOT_FOUND") && stderr(&o).contains("waiaas wallet list"), "{}", stderr(&o));
    let wrong = tmp.path().join("wrong-password");
    std::fs::write(&wrong, "wrong-password\n").unwrap();
    let o = env.run(&["wallet", "list", "--password-file", wrong.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("INVALID_MASTER_PASSWORD") && stderr(&o).contains("--password-file"), "{}", stderr(&o));
    let o = env.run(&["policy", "add", "--wallet", "evm-testnet", "--type", "SPENDING_LIMIT", "--rule", "instant_max_usd=-5"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("VALIDATION"), "{}", stderr(&o));
    let o = env.run(&["wallet", "terminate", "evm-testnet"]);
    assert_eq!(o.status.code(), Some(2), "terminate without --yes and without a terminal: {}", stderr(&o));
    assert!(stderr(&o).contains("--yes"));
    let o = env.run(&["wallet", "list", "--base-url", "http://127.0.0.1:9"]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(stderr(&o).contains("waiaas start"), "{}", stderr(&o));
    let o = env.run(&["backup", "inspect", "/nonexistent.waiaas-backup"]);
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    let o = env.run(&["wallet", "frobnicate"]);
    assert_eq!(o.status.code(), Some(2), "clap usage error");

    // Stop: the daemon goes away and status says so with exit code 1.
    let stop = env.run(&["stop"]);
    assert!(stop.status.success(), "{}", stderr(&stop));
    let o = env.run(&["status", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let st: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(st["running"], false);
    let o = env.run(&["wallet", "list"]);
    assert_eq!(o.status.code(), Some(5), "no daemon: {}", stderr(&o));
    drop(node);
}

#[test]
fn backup_inspect_and_restore_an_upstream_backup() {
    let vector = repo_root().join("waiaas-core/testdata/upstream/backup-v1.waiaas-backup");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("restored");
    let env = Env { vars: vec![("WAIAAS_DATA_DIR".into(), data.display().to_string())], dir: data.clone() };
    let h = env.json(&["backup", "inspect", vector.to_str().unwrap(), "--json"]);
    assert_eq!(h["format_version"], 1, "{h}");
    assert_eq!(h["checksum_valid"], true, "{h}");
    assert_eq!(h["metadata"]["kdf"], "argon2id", "{h}");
    assert_eq!(h["metadata"]["daemon_version"], "2.15.0", "{h}");
    // A wrong password: refused with the auth exit code, nothing written.
    let pw_file = |name: &str, pw: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, pw).unwrap();
        p.display().to_string()
    };
    let (wrong, right) = (pw_file("wrong", "not-the-password"), pw_file("right", "vector-password-1234\n"));
    let o = env.run(&["restore", vector.to_str().unwrap(), "--password-file", &wrong]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(!data.exists() || std::fs::read_dir(&data).unwrap().next().is_none(), "a failed restore leaves nothing");
    // The right one (the vector's): both upstream wallets come back.
    let r = env.json(&["restore", vector.to_str().unwrap(), "--password-file", &right, "--json"]);
    assert_eq!(r["source"], "upstream", "{r}");
    let mut keys: Vec<&str> =
        r["wallets"].as_array().unwrap().iter().map(|w| w["public_key"].as_str().or(w["publicKey"].as_str()).unwrap_or_default()).collect();
    keys.sort();
    assert_eq!(keys, vec!["0xe2f18f92C8d67664315C61540Ecf80F6f0F5562b", "ppGrbDMrrJxzJAhB2yitwSTTnwsrzVZ75rKyq4p4uMR"], "{r}");
    assert_eq!(std::fs::read_dir(env.dir.join("keystore")).unwrap().count(), 2, "both key files restored");
    // Restoring over a non-empty data dir needs --force.
    let o = env.run(&["restore", vector.to_str().unwrap(), "--password-file", &right]);
    assert_ne!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("force"), "{}", stderr(&o));
}

#[test]
fn help_is_fast_and_lists_every_command() {
    let t = std::time::Instant::now();
    let out = Command::new(waiaas_bin()).arg("--help").output().unwrap();
    let took = t.elapsed();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for c in [
        "init",
        "start",
        "stop",
        "status",
        "quickset",
        "wallet",
        "session",
        "policy",
        "owner",
        "mcp",
        "set-master",
        "backup",
        "restore",
        "kill-switch",
        "Exit codes",
    ] {
        assert!(text.contains(c), "--help lacks {c}");
    }
    assert!(took < std::time::Duration::from_secs(2), "--help took {took:?}");
}

/// `waiaas [path] --help` of every command, recursively (the commands each help lists).
fn every_help(path: Vec<String>, out: &mut Vec<(String, String)>) {
    let mut args = path.clone();
    args.push("--help".into());
    let o = Command::new(waiaas_bin()).args(&args).output().unwrap();
    assert!(o.status.success(), "waiaas {args:?}: {}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    let subcommands: Vec<String> = text
        .split("Commands:\n")
        .nth(1)
        .map(|rest| rest.lines().take_while(|l| l.starts_with("  ")).filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect())
        .unwrap_or_default();
    out.push((path.join(" "), text));
    for c in subcommands.into_iter().filter(|c| c != "help") {
        let mut p = path.clone();
        p.push(c);
        every_help(p, out);
    }
}

#[test]
fn no_command_takes_a_password_on_its_command_line() {
    let mut helps = vec![];
    every_help(vec![], &mut helps);
    assert!(helps.len() > 20, "walked {} commands", helps.len());
    for (cmd, text) in &helps {
        // Passwords come from files (`-` = stdin), the environment or a prompt, never argv.
        for flag in ["--password", "--new-password", "--master-password"] {
            let on_argv = text.match_indices(flag).any(|(i, _)| !text[i + flag.len()..].starts_with("-file"));
            assert!(!on_argv, "`waiaas {cmd}` takes {flag} on its command line:\n{text}");
        }
    }
    assert!(helps.iter().any(|(c, t)| c.is_empty() && t.contains("--password-file")));
    assert!(helps.iter().any(|(c, t)| c == "set-master" && t.contains("--new-password-file")));
    // The old flags are refused by the parser (usage error), before anything else happens.
    for args in [
        vec!["wallet", "list", "--password", "secret-on-argv"],
        vec!["--password", "secret-on-argv", "kill-switch", "activate", "--yes"],
        vec!["set-master", "--new-password", "secret-on-argv"],
        vec!["restore", "/nonexistent.waiaas-backup", "--password", "secret-on-argv"],
        vec!["kill-switch", "activate", "--yes", "--master-password", "secret-on-argv"],
    ] {
        let o = Command::new(waiaas_bin()).args(&args).env_remove("WAIAAS_MASTER_PASSWORD").output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("unexpected argument"), "{args:?}: {}", stderr(&o));
    }
}

/// `/proc/<pid>/environ` and `/proc/<pid>/cmdline` of a process.
fn proc_view(pid: u32) -> String {
    let read = |f: &str| String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/{f}")).unwrap()).to_string();
    format!("{}\n{}", read("environ"), read("cmdline"))
}

#[test]
fn the_master_password_leaves_the_daemon_environment_and_recovery_key_needs_auto_provision() {
    use waiaas_e2e::{Daemon, Options, PASSWORD};
    // The harness starts the daemon with WAIAAS_MASTER_PASSWORD in its environment.
    let d = Daemon::start(Options::default());
    let seen = proc_view(d.child.id());
    assert!(seen.contains("WAIAAS_ORACLE_ENABLED=false"), "reading the right environment: {seen}");
    assert!(!seen.contains(PASSWORD), "the master password is still in /proc/<pid>/environ or cmdline");
    assert!(!d.dir.join("recovery.key").exists(), "no recovery.key without auto-provision");
    // The CLI reads the password from a file or stdin.
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("pw");
    std::fs::write(&file, format!("{PASSWORD}\n")).unwrap();
    let o = Command::new(waiaas_bin())
        .args(["wallet", "list", "--json", "--base-url", &d.base, "--password-file", file.to_str().unwrap()])
        .env_remove("WAIAAS_MASTER_PASSWORD")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let mut c = Command::new(waiaas_bin())
        .args(["wallet", "list", "--json", "--base-url", &d.base, "--password-file", "-"])
        .env_remove("WAIAAS_MASTER_PASSWORD")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut c.stdin.take().unwrap(), PASSWORD.as_bytes()).unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    drop(d);

    // `init` without auto-provision writes no password file, and says how to give one.
    let dir = tmp.path().join("data");
    let env = Env {
        vars: vec![
            ("WAIAAS_DATA_DIR".into(), dir.display().to_string()),
            ("WAIAAS_DAEMON_PORT".into(), "0".into()),
            ("WAIAAS_ORACLE_ENABLED".into(), "false".into()),
        ],
        dir: dir.clone(),
    };
    let o = env.run(&["init"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("no password file written"), "{}", String::from_utf8_lossy(&o.stdout));
    assert!(!dir.join("recovery.key").exists());
    // `start --detach` hands the password to the daemon on a pipe: neither the daemon's
    // environment nor its command line shows it, and it opened the data dir with it.
    let _stop = StopOnDrop(dir.clone());
    let o = env.cmd(&["start", "--detach"]).env("WAIAAS_MASTER_PASSWORD", PASSWORD).output().unwrap();
    assert!(o.status.success(), "{}\n{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    let pid: u32 = std::fs::read_to_string(dir.join("daemon.pid")).unwrap().trim().parse().unwrap();
    let seen = proc_view(pid);
    assert!(seen.contains("WAIAAS_DAEMON_PORT=0"), "{seen}");
    assert!(!seen.contains(PASSWORD), "the detached daemon got the password in its environment or command line");
    let o = env.cmd(&["wallet", "list", "--json"]).env("WAIAAS_MASTER_PASSWORD", PASSWORD).output().unwrap();
    assert!(o.status.success(), "the daemon runs with the operator's password: {}", stderr(&o));
    assert!(!dir.join("recovery.key").exists(), "still no recovery.key");
    assert!(env.run(&["stop"]).status.success());

    // Only auto-provisioning writes recovery.key, and the CLI says so.
    let auto = tmp.path().join("auto");
    let o = Command::new(waiaas_bin()).args(["init", "--auto-provision", "--data-dir", auto.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(auto.join("recovery.key").exists());
    let said = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    assert!(said.contains("recovery.key") && said.contains("auto-provision") && said.contains("Anyone who can read"), "{said}");
}

#[test]
fn healthcheck_exit_codes_reasons_and_password_sources() {
    use std::io::Read;
    use waiaas_e2e::{Daemon, Options, PASSWORD};
    let d = Daemon::start(Options::default());
    let port = d.base.rsplit(':').next().unwrap().trim_end_matches('/').to_string();
    let healthcheck = |args: &[&str], env: &[(&str, &str)]| {
        let mut c = Command::new(waiaas_bin());
        c.arg("healthcheck").args(args).env_remove("WAIAAS_BASE_URL").env_remove("WAIAAS_MASTER_PASSWORD");
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    // Healthy: through --base-url, and through the config's hostname/port (a daemon bound to
    // 0.0.0.0 is asked on 127.0.0.1).
    let o = healthcheck(&["--base-url", &d.base], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("healthy: "), "{}", String::from_utf8_lossy(&o.stdout));
    let dir = d.dir.to_str().unwrap();
    let o = healthcheck(&["--data-dir", dir], &[("WAIAAS_DAEMON_HOSTNAME", "0.0.0.0"), ("WAIAAS_DAEMON_PORT", &port)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains(&format!("http://127.0.0.1:{port}/health")));

    // Nothing listens: exit 1 and one line saying where and why.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let o = healthcheck(&["--data-dir", dir], &[("WAIAAS_DAEMON_PORT", &free)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    assert!(e.contains("unhealthy") && e.contains(&format!("127.0.0.1:{free}/health")) && e.contains("refused"), "{e}");

    // A daemon that accepts but never answers: exit 1 within the 3 s timeout.
    let stuck = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let stuck_port = stuck.local_addr().unwrap().port().to_string();
    let hold = std::thread::spawn(move || {
        let (mut s, _) = stuck.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf);
        std::thread::sleep(std::time::Duration::from_secs(6));
    });
    let t = std::time::Instant::now();
    let o = healthcheck(&["--data-dir", dir], &[("WAIAAS_DAEMON_PORT", &stuck_port)]);
    let took = t.elapsed();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("no answer within 3 s"), "{}", stderr(&o));
    assert!(took < std::time::Duration::from_secs(5), "healthcheck took {took:?}");
    hold.join().unwrap();

    // An answer that is not 2xx is unhealthy too, and its error code is shown.
    let sick = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let sick_url = format!("http://{}", sick.local_addr().unwrap());
    let serve = std::thread::spawn(move || {
        let (mut s, _) = sick.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf);
        let body = r#"{"code":"NOT_READY","message":"store unreachable"}"#;
        let res =
            format!("HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
        std::io::Write::write_all(&mut s, res.as_bytes()).unwrap();
    });
    let o = healthcheck(&["--base-url", &sick_url], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("answered HTTP 503 NOT_READY store unreachable"), "{}", stderr(&o));
    serve.join().unwrap();
    drop(d);

    // The master password from WAIAAS_MASTER_PASSWORD_FILE; both it and WAIAAS_MASTER_PASSWORD
    // set is refused naming both; an unreadable _FILE of a setting is refused naming it.
    let tmp = tempfile::tempdir().unwrap();
    let pw = tmp.path().join("pw");
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    let data = tmp.path().join("data");
    let start = |env: &[(&str, &str)]| {
        let mut c = Command::new(waiaas_bin());
        c.args(["start", "--data-dir", data.to_str().unwrap()]).env_remove("WAIAAS_MASTER_PASSWORD").env_remove("WAIAAS_MASTER_PASSWORD_FILE");
        c.env("WAIAAS_AUTO_PROVISION", "true").env("WAIAAS_DAEMON_PORT", "0").env("WAIAAS_ORACLE_ENABLED", "false");
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let o = start(&[("WAIAAS_MASTER_PASSWORD", PASSWORD), ("WAIAAS_MASTER_PASSWORD_FILE", pw.to_str().unwrap())]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("WAIAAS_MASTER_PASSWORD and WAIAAS_MASTER_PASSWORD_FILE"), "{}", stderr(&o));
    assert!(!stderr(&o).contains(PASSWORD));
    let o = start(&[("WAIAAS_MASTER_PASSWORD_FILE", pw.to_str().unwrap()), ("WAIAAS_TELEGRAM_BOT_TOKEN_FILE", "/nonexistent/telegram_bot_token")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("WAIAAS_TELEGRAM_BOT_TOKEN_FILE") && stderr(&o).contains("/nonexistent/telegram_bot_token"), "{}", stderr(&o));
}

#[test]
fn secret_settings_given_as_variables_leave_the_daemon_environment_but_apply() {
    use waiaas_e2e::{Api, Daemon, Options};
    let d = Daemon::start(Options::default().env("WAIAAS_ORACLE_COINGECKO_API_KEY", "cg-sekrit-4711"));
    let seen = proc_view(d.child.id());
    assert!(seen.contains("WAIAAS_ORACLE_ENABLED=false"), "reading the right environment: {seen}");
    assert!(!seen.contains("cg-sekrit-4711"), "the API key is still in /proc/<pid>/environ");
    let api = Api::new(&d.base);
    let r = tokio::runtime::Runtime::new().unwrap().block_on(api.call("GET", "/v1/admin/settings", &Api::master(), None));
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["oracle"]["coingecko_api_key"], true, "the key was applied (and is masked to whether it is set, like upstream): {:?}", r.body["oracle"]);
}
