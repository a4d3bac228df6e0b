//! The 0x Swap API v2 (`GET /swap/allowance-holder/quote`, headers `0x-api-key` and
//! `0x-version: v2`), answering with 0x's quote shape for a **real** Uniswap v2 deployment on
//! anvil: the quote is the router's `getAmountsOut`, the transaction calls the router (which is
//! then also the allowance target), and `issues.allowance` is set when the taker's allowance
//! (read from the token) is short of the amount sold.
//!
//! `overquote_bps` makes the server quote that much above the pool (a price that moved between
//! the quote and the swap): the swap's minimum is then out of reach and the router reverts it.
//! `tamper` makes it answer a quote no honest server gives (see [`Tamper`]).

use crate::evm::{word_addr, word_u128};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const NATIVE: &str = "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";

/// A dishonest quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// The transaction sends 1 wei more than the ETH sold (1 wei when a token is sold).
    Value,
    /// The approval is asked for another contract than the one the swap calls.
    Spender,
}

pub struct ZeroXApi {
    pub base: String,
    state: Arc<Inner>,
}

struct Inner {
    rpc: String,
    router: String,
    weth: String,
    key: String,
    overquote_bps: AtomicU64,
    tamper: Mutex<Option<Tamper>>,
    /// Every request's query, in order.
    seen: Mutex<Vec<HashMap<String, String>>>,
}

impl ZeroXApi {
    pub async fn start(rpc: &str, router: &str, weth: &str, key: &str) -> ZeroXApi {
        let state = Arc::new(Inner {
            rpc: rpc.into(),
            router: router.into(),
            weth: weth.into(),
            key: key.into(),
            overquote_bps: AtomicU64::new(0),
            tamper: Mutex::new(None),
            seen: Mutex::new(vec![]),
        });
        let app = axum::Router::new().route("/swap/allowance-holder/quote", get(quote)).with_state(state.clone());
        ZeroXApi { base: super::serve(app).await, state }
    }

    pub fn overquote(&self, bps: u64) {
        self.state.overquote_bps.store(bps, Ordering::SeqCst);
    }

    pub fn tamper(&self, t: Option<Tamper>) {
        *self.state.tamper.lock().unwrap() = t;
    }

    /// The queries received so far.
    pub fn requests(&self) -> Vec<HashMap<String, String>> {
        self.state.seen.lock().unwrap().clone()
    }
}

async fn eth_call(rpc: &str, to: &str, data: String) -> Result<String, String> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [{"to": to, "data": data}, "latest"]});
    let v: Value = reqwest::Client::new().post(rpc).json(&body).send().await.map_err(|e| e.to_string())?.json().await.map_err(|e| e.to_string())?;
    v["result"].as_str().map(|s| s.trim_start_matches("0x").to_string()).ok_or_else(|| v["error"].to_string())
}

fn error(status: StatusCode, name: &str, message: &str) -> Response {
    (status, Json(json!({"name": name, "message": message, "data": {"zid": "0x0"}}))).into_response()
}

async fn quote(State(s): State<Arc<Inner>>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    s.seen.lock().unwrap().push(q.clone());
    if headers.get("0x-api-key").and_then(|v| v.to_str().ok()) != Some(s.key.as_str()) {
        return error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "Invalid API key");
    }
    if headers.get("0x-version").and_then(|v| v.to_str().ok()) != Some("v2") {
        return error(StatusCode::BAD_REQUEST, "INPUT_INVALID", "0x-version header must be v2");
    }
    let field = |k: &str| q.get(k).cloned().unwrap_or_default();
    let (sell, buy, taker) = (field("sellToken").to_lowercase(), field("buyToken").to_lowercase(), field("taker"));
    let (Ok(sell_amount), Ok(slippage)) = (field("sellAmount").parse::<u128>(), field("slippageBps").parse::<u128>()) else {
        return error(StatusCode::BAD_REQUEST, "INPUT_INVALID", "sellAmount and slippageBps are required");
    };
    let leg = |t: &str| if t == NATIVE { s.weth.clone() } else { t.to_string() };
    let path = [leg(&sell), leg(&buy)];
    let path_words = format!("{}{}{}", word_u128(2), word_addr(&path[0]), word_addr(&path[1]));
    // getAmountsOut(amountIn, path): (offset, length, amounts...), the last word bought.
    let pool = match eth_call(&s.rpc, &s.router, format!("0xd06ca61f{}{}{path_words}", word_u128(sell_amount), word_u128(0x40))).await {
        Ok(out) if out.len() >= 64 => u128::from_str_radix(&out[out.len() - 32..], 16).unwrap_or(0),
        _ => return (StatusCode::OK, Json(json!({"liquidityAvailable": false, "zid": "0x0"}))).into_response(),
    };
    let buy_amount = pool * (10_000 + s.overquote_bps.load(Ordering::SeqCst) as u128) / 10_000;
    let min_buy = buy_amount * (10_000 - slippage) / 10_000;
    let deadline = word_u128(u64::MAX as u128);
    let (data, value) = if sell == NATIVE {
        // swapExactETHForTokens(amountOutMin, path, to, deadline)
        (format!("0x7ff36ab5{}{}{}{deadline}{path_words}", word_u128(min_buy), word_u128(0x80), word_addr(&taker)), sell_amount)
    } else {
        // swapExactTokensForETH / swapExactTokensForTokens(amountIn, amountOutMin, path, to, deadline)
        let selector = if buy == NATIVE { "18cbafe5" } else { "38ed1739" };
        (format!("0x{selector}{}{}{}{}{deadline}{path_words}", word_u128(sell_amount), word_u128(min_buy), word_u128(0xa0), word_addr(&taker)), 0)
    };
    let allowance = if sell == NATIVE {
        Value::Null
    } else {
        // allowance(owner, spender)
        let actual = eth_call(&s.rpc, &sell, format!("0xdd62ed3e{}{}", word_addr(&taker), word_addr(&s.router)))
            .await
            .ok()
            .and_then(|h| u128::from_str_radix(&h, 16).ok())
            .unwrap_or(0);
        if actual < sell_amount {
            json!({"actual": actual.to_string(), "spender": s.router})
        } else {
            Value::Null
        }
    };
    let tamper = *s.tamper.lock().unwrap();
    let value = if tamper == Some(Tamper::Value) { value + 1 } else { value };
    let target = match (sell == NATIVE, tamper) {
        (true, _) => Value::Null,
        (false, Some(Tamper::Spender)) => json!(taker),
        (false, _) => json!(s.router),
    };
    Json(json!({
        "allowanceTarget": target,
        "blockNumber": "0",
        "buyAmount": buy_amount.to_string(),
        "buyToken": buy,
        "fees": {"integratorFee": null, "zeroExFee": null, "gasFee": null},
        "issues": {"allowance": allowance, "balance": null, "simulationIncomplete": false, "invalidSourcesPassed": []},
        "liquidityAvailable": true,
        "minBuyAmount": min_buy.to_string(),
        "route": {"fills": [{"from": sell, "to": buy, "source": "Uniswap_V2", "proportionBps": "10000"}], "tokens": []},
        "sellAmount": sell_amount.to_string(),
        "sellToken": sell,
        "totalNetworkFee": null,
        "transaction": {"to": s.router, "data": data, "gas": "300000", "gasPrice": "1000000000", "value": value.to_string()},
        "zid": "0x111111111111111111111111"
    }))
    .into_response()
}
