use super::templates::{fill, Templates};
use super::*;

fn event(event_type: &str, details: Value) -> Event {
    Event {
        id: 7,
        event_type: event_type.into(),
        timestamp: 1_700_000_000,
        actor: "pipeline".into(),
        wallet_id: Some("w1".into()),
        session_id: None,
        tx_id: Some("tx1".into()),
        severity: "info".into(),
        details,
    }
}

/// A DELAY notification of a wallet, as the channels render it (also the email tests').
pub(crate) fn message() -> Message {
    Message {
        delivery_id: "telegram:7".into(),
        origin: "0194f1c2-0000-7000-8000-000000000001".into(),
        audit_id: 7,
        event_type: "TX_QUEUED".into(),
        event: "TX_QUEUED".into(),
        category: "transaction".into(),
        title: "Transaction Delayed".into(),
        body: "TRANSFER of 0.5 ETH to 0xabc.\nDelay: 60s".into(),
        wallet_id: Some("0194f1c2-aaaa-bbbb-cccc-0123456789ab".into()),
        wallet_name: Some("ops-wallet".into()),
        wallet_address: Some("0x1234567890abcdef1234567890abcdef12345678".into()),
        network: Some("ethereum-sepolia".into()),
        tx_id: Some("tx1".into()),
        timestamp: 1_700_000_000,
        fields: vec![("Wallet".into(), "ops-wallet".into())],
        actions: vec![Action::Cancel { tx_id: "tx1".into() }],
    }
}

#[test]
fn placeholders_are_filled_and_missing_ones_read_dash() {
    let vars = vec![("amount", "1 ETH".to_string()), ("to", "0xabc".to_string())];
    assert_eq!(fill("Send {amount} to {to} ({tier})", &vars), "Send 1 ETH to 0xabc (-)");
    // Braces that are not placeholders stay as they are.
    assert_eq!(fill("json {\"a\": 1} and {", &vars), "json {\"a\": 1} and {");
}

#[test]
fn filters_follow_events_then_categories_and_broadcasts_pass_both() {
    let t = Templates::load(&ChannelsConfig::default()).unwrap();
    let mut cfg = ChannelsConfig::default();
    assert!(t.for_event(&event("TX_CONFIRMED", json!({})), &cfg).is_some());
    assert!(t.for_event(&event("TX_REQUESTED", json!({"tier": "INSTANT"})), &cfg).is_none(), "INSTANT sends notify nobody");
    assert!(t.for_event(&event("TX_REQUESTED", json!({"tier": "NOTIFY"})), &cfg).is_some());
    assert!(t.for_event(&event("SETTINGS_UPDATED", json!({})), &cfg).is_none(), "no template, no message");
    cfg.notify_categories = vec!["policy".into()];
    assert!(t.for_event(&event("TX_CONFIRMED", json!({})), &cfg).is_none());
    assert!(t.for_event(&event("POLICY_DENIED", json!({})), &cfg).is_some());
    assert!(t.for_event(&event("KILL_SWITCH_ACTIVATED", json!({})), &cfg).is_some(), "broadcast");
    // Events win over categories, by upstream's name or ours.
    cfg.notify_events = vec!["POLICY_VIOLATION".into(), "TX_CONFIRMED".into()];
    assert!(t.for_event(&event("POLICY_DENIED", json!({})), &cfg).is_some());
    assert!(t.for_event(&event("TX_CONFIRMED", json!({})), &cfg).is_some());
    assert!(t.for_event(&event("TX_FAILED", json!({})), &cfg).is_none());
}

#[test]
fn a_templates_file_replaces_entries() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("de.json");
    std::fs::write(&f, r#"{"TX_CONFIRMED": {"event": "TX_CONFIRMED", "category": "transaction", "title": "Bestätigt", "body": "{amount}"}}"#).unwrap();
    let cfg = ChannelsConfig { templates_file: f.to_str().unwrap().into(), ..Default::default() };
    let t = Templates::load(&cfg).unwrap();
    assert_eq!(t.get("TX_CONFIRMED").unwrap().title, "Bestätigt");
    assert_eq!(t.get("TX_FAILED").unwrap().title, "Transaction Failed", "the rest stays English");
    std::fs::write(&f, "not json").unwrap();
    assert!(Templates::load(&cfg).unwrap_err().message.contains("does not parse"));
}

#[test]
fn telegram_text_is_markdown_v2_escaped_with_a_cancel_button() {
    let m = message();
    let text = telegram::render(&m);
    assert!(text.starts_with("*Transaction Delayed*\n\nTRANSFER of 0\\.5 ETH to 0xabc\\.\nDelay: 60s"), "{text}");
    assert!(text.contains("ops\\-wallet \\(0194f1…89ab\\)"), "{text}");
    assert!(text.contains("0x12…5678 · ethereum\\-sepolia"), "{text}");
    assert!(text.contains("_ref telegram:7_"), "{text}");
    assert_eq!(telegram::escape_md("a_b*c[d]e(f)g~h`i>j#k+l-m=n|o{p}q.r!s\\"), "a\\_b\\*c\\[d\\]e\\(f\\)g\\~h\\`i\\>j\\#k\\+l\\-m\\=n\\|o\\{p\\}q\\.r\\!s\\\\");
    assert_eq!(telegram::keyboard(&m).unwrap(), json!({"inline_keyboard": [[{"text": "Cancel", "callback_data": "cancel:tx1"}]]}));
}

#[test]
fn discord_and_slack_carry_the_delivery_id_and_no_buttons() {
    let m = message();
    let d = discord::render(&m);
    assert_eq!(d["embeds"][0]["footer"]["text"], "telegram:7");
    assert_eq!(d["embeds"][0]["color"], 0x0099ff);
    assert!(!d.to_string().contains("callback_data"));
    let s = slack::render(&m);
    assert_eq!(s["attachments"][0]["title"], "[WAIaaS] Transaction Delayed");
    assert_eq!(s["attachments"][0]["fallback"], m.text());
    assert!(!s.to_string().contains("callback_data"));
    assert_eq!(discord::color("KILL_SWITCH_ACTIVATED"), 0xff0000);
    assert_eq!(discord::color("POLICY_VIOLATION"), 0xff8c00);
    assert_eq!(discord::color("TX_CONFIRMED"), 0x00ff00);
}

#[tokio::test]
async fn the_rate_limit_is_a_bucket_of_rpm_refilled_per_second() {
    // 6,000 a minute: a burst of 6,000, then one every 10 ms.
    let mut r = RateLimit::new(6000);
    for _ in 0..6000 {
        assert_eq!(r.take(), Duration::ZERO);
    }
    let w = r.take();
    assert!(w > Duration::ZERO && w <= Duration::from_millis(10), "{w:?}");
    tokio::time::sleep(Duration::from_millis(40)).await;
    assert_eq!(r.take(), Duration::ZERO);
    let mut unlimited = RateLimit::new(0);
    for _ in 0..1000 {
        assert_eq!(unlimited.take(), Duration::ZERO);
    }
}

#[test]
fn backoff_doubles_with_jitter_and_is_capped() {
    for n in 1..=5 {
        let d = backoff(1000, n).as_millis() as u64;
        let base = 1000 << (n - 1);
        assert!(d >= base && d <= base + base / 2, "attempt {n}: {d}");
    }
    assert_eq!(backoff(1000, 20), MAX_BACKOFF);
    assert_eq!(backoff(60_000, 1), MAX_BACKOFF);
}

#[test]
fn bad_notification_settings_are_refused_where_they_are_given() {
    let base = Config::default();
    for (key, value, says) in [
        ("notifications.rate_limit_rpm", "abc", "notifications.rate_limit_rpm"),
        ("notifications.notify_events", "TX_CONFIRMED", "notifications.notify_events"),
        ("notifications.notify_categories", "[1, 2]", "notifications.notify_categories"),
        ("notifications.discord_webhook_url", "ftp://example.com/hook", "notifications.discord_webhook_url"),
    ] {
        let e = base.with_settings(&[(key.to_string(), value.to_string())]).unwrap_err();
        assert!(e.message.contains(says), "{key}={value}: {}", e.message);
    }
    let ok = base
        .with_settings(&[
            ("notifications.enabled".into(), "true".into()),
            ("notifications.notify_events".into(), r#"["TX_CONFIRMED"]"#.into()),
            ("notifications.rate_limit_rpm".into(), "5".into()),
        ])
        .unwrap();
    let c = ChannelsConfig::from_config(&ok).unwrap();
    assert!(c.enabled && c.rate_limit_rpm == 5 && c.notify_events == vec!["TX_CONFIRMED".to_string()]);
    // A config file is checked at load too.
    let e = Config::from_toml("[notifications]\nenabled = true\nnotify_categories = \"policy\"\n", &[]).unwrap_err();
    assert!(e.message.contains("notifications.notify_categories"), "{}", e.message);
    // The bot token is found under either upstream key, and never shown by Debug.
    let l = Config::from_toml("[telegram]\nbot_token = \"123:secret-token\"\n", &[]).unwrap();
    let c = ChannelsConfig::from_config(&l.config).unwrap();
    assert_eq!(c.telegram_bot_token, "123:secret-token");
    assert!(!format!("{c:?}").contains("secret-token"));
}
