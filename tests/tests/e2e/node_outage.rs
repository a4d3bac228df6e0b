//! The chain node goes away while sends are queued (issue 15): the daemon talks to anvil
//! through a TCP relay on a fixed port that is shut (listener closed, every open connection
//! cut: what the daemon sees of a stopped node, connections refused) and opened again on the
//! same port. Also the saturation limit: beyond `[pipeline] max_in_flight` a send is
//! refused at once with a retryable 503 and `Retry-After`, nothing stored.

use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use waiaas_e2e::*;
use waiaas_testnodes::anvil::DEV_ACCOUNTS;

fn hex_u128(v: &Value) -> u128 {
    u128::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// A TCP relay from a fixed local port to `upstream` (host:port) that can be shut and opened.
struct Relay {
    port: u16,
    upstream: String,
    tasks: Arc<Mutex<tokio::task::JoinSet<()>>>,
}

impl Relay {
    async fn start(upstream: &str) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let relay = Relay { port, upstream: upstream.trim_start_matches("http://").to_string(), tasks: Default::default() };
        relay.serve(listener);
        relay
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let (upstream, tasks) = (self.upstream.clone(), self.tasks.clone());
        self.tasks.lock().unwrap().spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { continue };
                let upstream = upstream.clone();
                tasks.lock().unwrap().spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
    }

    /// Close the listener and cut every connection: from now on connections are refused.
    fn shut(&self) {
        self.tasks.lock().unwrap().abort_all();
    }

    /// Listen again on the same port.
    async fn open(&self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }
}

/// Must show of issue 15: sends accepted while the node is stopped (and some caught in
/// flight when it stops), the node back 10 s later: every send ends CONFIRMED, none FAILED
/// at any point, the chain saw each exactly once (nonces 0..n-1, the recipient received
/// exactly the sum).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_queued_while_the_node_is_stopped_for_10_s_all_confirm_exactly_once() {
    let node = tokio::task::block_in_place(|| waiaas_testnodes::anvil::Anvil::start(11155111));
    let relay = Relay::start(&node.url).await;
    let opts = Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &relay.url()).env("WAIAAS_PRICES_ETH", "2000");
    let d = Daemon::start(opts);
    let api = Api::new(&d.base);
    let (_, addr, token) = api.evm_wallet("outage").await;
    tokio::task::block_in_place(|| node.fund(&addr, 10u128.pow(21)));
    let to = DEV_ACCOUNTS[8];
    let start_balance = tokio::task::block_in_place(|| hex_u128(&node.rpc("eth_getBalance", json!([to, "latest"]))));

    let send = |amount: u128| {
        let (api, token) = (api.clone(), token.clone());
        async move {
            let r = api.call("POST", "/v1/transactions/send", &token, Some(json!({"type": "TRANSFER", "to": to, "amount": amount.to_string()}))).await;
            assert_eq!(r.status, 201, "{:?}", r.body);
            r.body["id"].as_str().unwrap().to_string()
        }
    };
    let (mut ids, mut expected) = (vec![], 0u128);
    // A burst, and the node stops while it is in flight (some broadcast, some not yet)...
    let mut burst = vec![];
    for i in 0..15u128 {
        expected += 1_000 + i;
        burst.push(tokio::spawn(send(1_000 + i)));
    }
    for t in burst {
        ids.push(t.await.unwrap());
    }
    relay.shut();
    let stopped = Instant::now();
    // ...and more sends queue while it is down.
    for i in 0..15u128 {
        expected += 2_000 + i;
        ids.push(send(2_000 + i).await);
    }
    let statuses = |ids: Vec<String>| {
        let (api, token) = (api.clone(), token.clone());
        async move {
            let mut out = vec![];
            for id in ids {
                let r = api.call("GET", &format!("/v1/transactions/{id}"), &token, None).await;
                out.push(r.body);
            }
            out
        }
    };
    // Down for 10 s; nothing fails meanwhile.
    while stopped.elapsed() < Duration::from_secs(10) {
        for t in statuses(ids.clone()).await {
            assert_ne!(t["status"], "FAILED", "a send failed while the node was down: {t}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let unfinished = statuses(ids.clone()).await.iter().filter(|t| t["status"] != "CONFIRMED").count();
    assert!(unfinished >= 15, "the sends made while the node was down cannot have confirmed: {unfinished} unfinished");
    relay.open().await;

    let nonces = api.confirmed_nonces(&token, &ids, Duration::from_secs(120)).await;
    assert_eq!(nonces, (0..30).collect::<Vec<i64>>(), "contiguous, each once");
    let (count, balance) = tokio::task::block_in_place(|| {
        (hex_u128(&node.rpc("eth_getTransactionCount", json!([addr, "latest"]))), hex_u128(&node.rpc("eth_getBalance", json!([to, "latest"]))))
    });
    assert_eq!(count, 30, "the chain saw exactly 30 transactions from the wallet");
    assert_eq!(balance - start_balance, expected, "every amount moved exactly once");
    drop(d);
    tokio::task::block_in_place(move || drop(node));
}

/// Beyond `[pipeline] max_in_flight` transactions in flight (here 3, held in flight by a
/// stopped node) a send is refused at once: 503 `SEND_QUEUE_FULL`, retryable, with
/// `Retry-After`, and nothing is stored. Once the node is back and they finish, sends are
/// accepted again, and the refused request, retried with its Idempotency-Key, goes through once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_beyond_max_in_flight_get_a_retryable_503_with_retry_after() {
    let node = tokio::task::block_in_place(|| waiaas_testnodes::anvil::Anvil::start(11155111));
    let relay = Relay::start(&node.url).await;
    let opts =
        Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &relay.url()).env("WAIAAS_PRICES_ETH", "2000").env("WAIAAS_PIPELINE_MAX_IN_FLIGHT", "3");
    let d = Daemon::start(opts);
    let api = Api::new(&d.base);
    let (_, addr, token) = api.evm_wallet("full").await;
    tokio::task::block_in_place(|| node.fund(&addr, 10u128.pow(21)));
    relay.shut();
    let body = json!({"type": "TRANSFER", "to": DEV_ACCOUNTS[7], "amount": "1000"});
    let key = |k: &str| vec![("Idempotency-Key".to_string(), k.to_string())];
    let mut ids = vec![];
    for i in 0..3 {
        let r = api.call_with("POST", "/v1/transactions/send", &token, Some(body.clone()), &key(&format!("k{i}"))).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    for id in &ids {
        let t = api.call("GET", &format!("/v1/transactions/{id}"), &token, None).await.body;
        assert!(IN_FLIGHT.contains(&t["status"].as_str().unwrap_or("")), "held in flight by the stopped node: {t}");
    }
    let full = api.call_with("POST", "/v1/transactions/send", &token, Some(body.clone()), &key("k3")).await;
    assert_eq!((full.status, full.code()), (503, "SEND_QUEUE_FULL"), "{:?}", full.body);
    assert_eq!(full.body["retryable"], true, "{:?}", full.body);
    assert_eq!(full.headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    let listed = api.call("GET", "/v1/transactions", &token, None).await;
    let n = listed.body["items"].as_array().map(Vec::len);
    assert_eq!(n, Some(3), "nothing stored for the refused send: {:?}", listed.body);

    relay.open().await;
    for id in &ids {
        let t = api.wait_tx(&token, id, IN_FLIGHT, Duration::from_secs(60)).await;
        assert_eq!(t["status"], "CONFIRMED", "{t}");
    }
    // Room again: the refused request, retried with its key, is accepted and sent once.
    let again = api.call_with("POST", "/v1/transactions/send", &token, Some(body.clone()), &key("k3")).await;
    assert_eq!(again.status, 201, "{:?}", again.body);
    let t = api.wait_tx(&token, again.body["id"].as_str().unwrap(), IN_FLIGHT, Duration::from_secs(60)).await;
    assert_eq!(t["status"], "CONFIRMED", "{t}");
    let count = tokio::task::block_in_place(|| hex_u128(&node.rpc("eth_getTransactionCount", json!([addr, "latest"]))));
    assert_eq!(count, 4);
    drop(d);
    tokio::task::block_in_place(move || drop(node));
}

/// The node forgets a submitted transaction (dropped from its pool, as a busy or restarted
/// node does): the daemon sends the same bytes again instead of waiting for ever, and the
/// send confirms once, with the hash it had.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submitted_transaction_the_node_dropped_is_sent_again_with_the_same_bytes() {
    let node = tokio::task::block_in_place(|| waiaas_testnodes::anvil::Anvil::start(11155111));
    let d = Daemon::start(Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url).env("WAIAAS_PRICES_ETH", "2000"));
    let api = Api::new(&d.base);
    let (_, addr, token) = api.evm_wallet("dropped").await;
    tokio::task::block_in_place(|| {
        node.fund(&addr, 10u128.pow(21));
        node.rpc("evm_setAutomine", json!([false]));
    });
    let r = api.call("POST", "/v1/transactions/send", &token, Some(json!({"type": "TRANSFER", "to": DEV_ACCOUNTS[8], "amount": "1000"}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let tx = api.wait_tx(&token, &id, &["PENDING", "QUEUED", "EXECUTING"], Duration::from_secs(10)).await;
    assert_eq!(tx["status"], "SUBMITTED", "{tx}");
    let hash = tx["txHash"].as_str().unwrap().to_string();
    let known = |node: &waiaas_testnodes::anvil::Anvil| !node.rpc("eth_getTransactionByHash", json!([hash])).is_null();
    tokio::task::block_in_place(|| {
        assert!(known(&node), "in the node's pool");
        node.rpc("anvil_dropTransaction", json!([hash]));
        assert!(!known(&node), "dropped");
    });
    let deadline = Instant::now() + Duration::from_secs(15);
    while !tokio::task::block_in_place(|| known(&node)) {
        assert!(Instant::now() < deadline, "the daemon never sent the dropped bytes again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::task::block_in_place(|| node.rpc("evm_mine", json!([])));
    let tx = api.wait_tx(&token, &id, &["SUBMITTED"], Duration::from_secs(15)).await;
    assert_eq!((tx["status"].as_str(), tx["txHash"].as_str()), (Some("CONFIRMED"), Some(hash.as_str())), "{tx}");
    let count = tokio::task::block_in_place(|| hex_u128(&node.rpc("eth_getTransactionCount", json!([addr, "latest"]))));
    assert_eq!(count, 1, "once");
    drop(d);
    tokio::task::block_in_place(move || drop(node));
}
