//! `POST /v1/push` throughput and the relay's memory: the real `waiaas-relay` binary in
//! front of a local fake Pushwoosh (`tests/common`), driven over loopback by N concurrent
//! keep-alive clients for a fixed time. Prints requests/s, latency percentiles, and the
//! relay's resident memory (VmRSS) idle after start and after the load.
//!
//! `cargo bench -p waiaas-relay --bench push` (release), or `--profile dev` for the debug
//! build (dependencies are optimized there too). Env: BENCH_SECS (default 5),
//! BENCH_CONCURRENCY (default 32). The load generator and the fake share the machine with
//! the relay, so the figure is a floor.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "bench harness")]

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.split_whitespace().next()).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn env_or(key: &str, default: u64) -> u64 {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let secs = env_or("BENCH_SECS", 5);
    let concurrency = env_or("BENCH_CONCURRENCY", 32) as usize;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let pw = FakePushwoosh::start().await;
        let push_block = pushwoosh_block(&pw.api_url(), "").replace("max_retries = 3", "max_retries = 0");
        let relay = start_relay(&config("rate_limit_per_minute = 0", &push_block), &[("RELAY_LOG", "warn")], &[]);
        let pid = relay.child.id();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let idle = rss_kib(pid);
        let sub = register(&relay, "bench-device-token", "android").await;
        let body = serde_json::to_vec(&json!({"subscriptionToken": sub, "category": "sign_request",
            "payload": {"title": "WAIaaS Sign Request", "body": "TRANSFER 1.5 ETH from 0xabcdef12... to 0x12345678...", "requestId": "0190e0a4-4f5e-7c3a-9d2b-1a2b3c4d5e6f"}}))
        .unwrap();
        let url = relay.url("/v1/push");
        let stop = Arc::new(AtomicBool::new(false));
        let run = |measure: bool| {
            let mut tasks = Vec::new();
            for _ in 0..concurrency {
                let (url, body, stop) = (url.clone(), body.clone(), stop.clone());
                tasks.push(tokio::spawn(async move {
                    let c = reqwest::Client::new();
                    let mut lat = Vec::new();
                    let mut errors = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let t = Instant::now();
                        match c.post(&url).header("content-type", "application/json").body(body.clone()).send().await {
                            Ok(r) if r.status() == 200 => {
                                let _ = r.bytes().await;
                                if measure {
                                    lat.push(t.elapsed());
                                }
                            }
                            _ => errors += 1,
                        }
                    }
                    (lat, errors)
                }));
            }
            tasks
        };
        // Warm-up.
        let warm = run(false);
        tokio::time::sleep(Duration::from_secs(1)).await;
        stop.store(true, Ordering::Relaxed);
        for t in warm {
            t.await.unwrap();
        }
        stop.store(false, Ordering::Relaxed);
        let started = Instant::now();
        let tasks = run(true);
        tokio::time::sleep(Duration::from_secs(secs)).await;
        stop.store(true, Ordering::Relaxed);
        let mut lat = Vec::new();
        let mut errors = 0;
        for t in tasks {
            let (l, e) = t.await.unwrap();
            lat.extend(l);
            errors += e;
        }
        let elapsed = started.elapsed().as_secs_f64();
        lat.sort();
        let pct = |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0);
        let loaded = rss_kib(pid);
        println!("relay POST /v1/push -> fake Pushwoosh, {concurrency} clients, {secs} s");
        println!("  requests/s      {:.0}  ({} ok, {errors} errors)", lat.len() as f64 / elapsed, lat.len());
        println!("  latency ms      p50 {:.2}  p90 {:.2}  p99 {:.2}", pct(0.50), pct(0.90), pct(0.99));
        println!("  relay VmRSS     idle {:.1} MiB, after load {:.1} MiB", idle as f64 / 1024.0, loaded as f64 / 1024.0);
        println!("  pushes the fake received: {}", pw.state.attempts.load(Ordering::SeqCst));
        // The same load from wrk (a C load generator, lighter than the clients above) when installed.
        if std::process::Command::new("wrk").arg("--version").output().is_ok() {
            let dir = tempfile::tempdir().unwrap();
            let lua = dir.path().join("push.lua");
            let escaped = String::from_utf8(body.clone()).unwrap().replace('\\', "\\\\").replace('"', "\\\"");
            std::fs::write(&lua, format!("wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = \"{escaped}\"\n")).unwrap();
            let out = std::process::Command::new("wrk")
                .args(["-t1", &format!("-c{concurrency}"), &format!("-d{secs}s"), "--latency", "-s", lua.to_str().unwrap(), &url])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            let pick = |key: &str| text.lines().find(|l| l.trim_start().starts_with(key)).map(|l| l.trim().to_string()).unwrap_or_default();
            println!("  wrk: {} | {} | p50 {} | p99 {}", pick("Requests/sec"), pick("Non-2xx"), pick("50%"), pick("99%"));
            println!("  relay VmRSS     after wrk {:.1} MiB", rss_kib(pid) as f64 / 1024.0);
        }
    });
}
