//! The operator routes over HTTP: status, settings (range checked, stored, applied at the
//! next start), session reissue, MCP tokens on disk, the agent prompt, and skills.

use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use waiaas_e2e::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_settings_reissue_mcp_tokens_agent_prompt_and_skills() {
    let mut d = Daemon::start(Options::default());
    let dir = d.dir.clone();
    let _tmp = d.take_tmp();
    let api = Api::new(&d.base);
    let m = Api::master();
    let w = api.call("POST", "/v1/wallets", &m, Some(json!({"name": "ops wallet", "chain": "ethereum"}))).await;
    let wallet = w.body["id"].as_str().unwrap().to_string();
    let session_id = w.body["session"]["id"].as_str().unwrap().to_string();
    let first_token = w.body["session"]["token"].as_str().unwrap().to_string();

    let s = api.call("GET", "/v1/admin/status", &m, None).await;
    assert_eq!(s.status, 200, "{:?}", s.body);
    assert_eq!((s.body["walletCount"].as_i64(), s.body["killSwitchState"].as_str()), (Some(1), Some("ACTIVE")));
    assert_eq!(s.body["activeSessionCount"], 1);
    assert!(s.body["recentTransactions"].is_array() && s.body["version"].is_string());

    // Settings: typed, range checked, all-or-nothing, applied at the next start.
    let g = api.call("GET", "/v1/admin/settings", &m, None).await;
    assert_eq!(g.body["security"]["rate_limit_tx_rpm"], "0", "{:?}", g.body["security"]);
    assert_eq!(g.body["oracle"]["coingecko_api_key"], false, "secrets are masked to whether they are set (unset here)");
    // Upstream's categories and names, for every feature this daemon has.
    assert_eq!((&g.body["notifications"]["enabled"], &g.body["display"]["currency"]), (&json!(false), &json!("USD")));
    assert_eq!(g.body["autostop"]["enabled"], g.body["security"]["autostop_enabled"]);
    assert_eq!(g.body["incoming"]["poll_interval"], "30");
    let before = store_snapshot(&dir);
    for (bad, field) in [
        (json!({"settings": [{"key": "security.rate_limit_tx_rpm", "value": "-1"}]}), "settings.0.value"),
        (json!({"settings": [{"key": "security.rate_limit_tx_rpm", "value": "5"}, {"key": "security.session_ttl_min", "value": "1"}]}), "settings.1.value"),
        (json!({"settings": [{"key": "security.no_such_key", "value": "1"}]}), "settings.0.key"),
        (json!({"settings": [{"key": "daemon.log_level", "value": "loud"}]}), "settings"),
        (json!({"settings": [{"key": "security.autostop_enabled", "value": "maybe"}]}), "settings"),
        (json!({"settings": []}), "settings"),
        // A feature this daemon does not have is refused by name, never stored.
        (json!({"settings": [{"key": "walletconnect.project_id", "value": "abc"}]}), "settings.0.key"),
        (json!({"settings": [{"key": "display.currency", "value": "EUR"}]}), "settings.0.value"),
        (json!({"settings": [{"key": "autostop.enabled", "value": "maybe"}]}), "settings"),
        (json!({"settings": [{"key": "notifications.enabled", "value": "yes"}]}), "settings.0.value"),
    ] {
        let r = api.call("PUT", "/v1/admin/settings", &m, Some(bad.clone())).await;
        assert_eq!((r.status, r.code()), (400, "ACTION_VALIDATION_FAILED"), "{bad}: {:?}", r.body);
        assert_eq!(
            r.body["details"]["issues"][0]["path"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect::<Vec<_>>().join("."),
            field,
            "{bad}"
        );
    }
    assert_eq!(store_snapshot(&dir), before, "refused settings change nothing");
    let r = api
        .call(
            "PUT",
            "/v1/admin/settings",
            &m,
            Some(json!({"settings": [
                {"key": "security.rate_limit_tx_rpm", "value": "7"},
                {"key": "policy.default_delay_seconds", "value": "120"},
                // Upstream's names: an alias of a [security] key, and free-table sections.
                {"key": "autostop.enabled", "value": "false"},
                {"key": "notifications.locale", "value": "ko"},
                {"key": "incoming.poll_interval", "value": "10"},
            ]})),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!((r.body["updated"].as_i64(), r.body["restartRequired"].as_bool()), (Some(5), Some(true)));
    assert_eq!(r.body["settings"]["security"]["rate_limit_tx_rpm"], "7");
    let g = api.call("GET", "/v1/admin/settings", &m, None).await;
    assert_eq!(g.body["security"]["rate_limit_tx_rpm"], "0", "in effect until restart");
    assert_eq!(g.body["pending"]["security.rate_limit_tx_rpm"], "7");

    // Reissue: the old token stops working at once.
    let r = api.call("POST", &format!("/v1/admin/sessions/{session_id}/reissue"), &m, None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["sessionId"], session_id.as_str());
    assert_eq!(r.body["tokenIssuedCount"], 2);
    let new_token = r.body["token"].as_str().unwrap().to_string();
    assert_eq!(api.call("GET", "/v1/wallet/address", &Auth::Session(first_token), None).await.status, 401);
    assert_eq!(api.call("GET", "/v1/wallet/address", &Auth::Session(new_token), None).await.status, 200);

    // MCP token: a session whose token is in <data>/mcp-agents/<walletId>/mcp-tokens/<walletId>, mode 0600.
    let r = api.call("POST", "/v1/mcp/tokens", &m, Some(json!({"walletId": wallet, "expiresIn": 10}))).await;
    assert_eq!((r.status, r.code()), (400, "ACTION_VALIDATION_FAILED"));
    let r = api.call("POST", "/v1/mcp/tokens", &m, Some(json!({"walletId": wallet, "expiresIn": 3600}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let path = dir.join("mcp-agents").join(&wallet).join("mcp-tokens").join(&wallet);
    assert_eq!(r.body["tokenPath"], path.to_string_lossy().as_ref());
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    let token = std::fs::read_to_string(&path).unwrap();
    assert_eq!(api.call("GET", "/v1/wallet/address", &Auth::Session(token.trim().into()), None).await.status, 200);
    let server = &r.body["claudeDesktopConfig"]["waiaas-ops-wallet"];
    assert_eq!(server["command"], "waiaas");
    assert_eq!(server["args"], json!(["mcp", "serve"]));
    assert_eq!(server["env"]["WAIAAS_WALLET_ID"], wallet.as_str());
    assert_eq!(server["env"]["WAIAAS_WALLET_NAME"], "ops wallet");

    // Action providers: listed, none enabled by default (upstream's MCP server asks at start-up).
    let r = api.call("GET", "/v1/actions/providers", &m, None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let providers = r.body["providers"].as_array().unwrap();
    assert!(!providers.is_empty() && providers.iter().all(|p| p["isEnabled"] == false && p["actions"] == json!([])), "{:?}", r.body);

    // Agent prompt: a session and the text that hands it over.
    let r = api.call("POST", "/v1/admin/agent-prompt", &m, Some(json!({"walletIds": [wallet]}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let prompt = r.body["prompt"].as_str().unwrap();
    let token = prompt.split("wai_sess_").nth(1).unwrap().split_whitespace().next().unwrap();
    assert_eq!(api.call("GET", "/v1/wallet/address", &Auth::Session(format!("wai_sess_{token}")), None).await.status, 200);
    assert!(prompt.contains("default deny"), "{prompt}");
    let r = api.call("POST", "/v1/admin/agent-prompt", &Auth::None, Some(json!({}))).await;
    assert_eq!(r.status, 401, "upstream leaves this route open; it mints sessions");

    // Skills are public and come from the binary.
    let r = api.call("GET", "/v1/skills/quickstart", &Auth::None, None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["name"], "quickstart");
    assert!(r.body["content"].as_str().unwrap().contains("master password"));
    let r = api.call("GET", "/v1/skills/..%2F..%2Fetc%2Fpasswd", &Auth::None, None).await;
    assert_eq!((r.status, r.code()), (404, "SKILL_NOT_FOUND"));

    // After a restart the stored settings are in effect.
    d.stop();
    let d = Daemon::start_in(&dir, Options::default()).unwrap();
    let api = Api::new(&d.base);
    let g = api.call("GET", "/v1/admin/settings", &m, None).await;
    assert_eq!(g.body["security"]["rate_limit_tx_rpm"], "7");
    assert_eq!(g.body["policy"]["default_delay_seconds"], "120");
    assert_eq!((&g.body["autostop"]["enabled"], &g.body["security"]["autostop_enabled"]), (&json!(false), &json!(false)));
    assert_eq!((&g.body["notifications"]["locale"], &g.body["incoming"]["poll_interval"]), (&json!("ko"), &json!("10")));
}
