//! Process metrics in the Prometheus text exposition format (version 0.0.4), with a small
//! registry of our own: labelled counters and histograms on atomics, rendered on scrape.
//!
//! The engine counts where things happen (the pipeline's state changes, the policy gate, the
//! RPC client, the notification dispatcher); a face adds its HTTP requests through
//! [`Metrics::observe_http`]. Label values are always bounded sets (route templates, status
//! codes, network ids, tiers, outcomes): never ids, addresses, URLs or raw paths.
//! `Engine::render_metrics` adds the gauges read from the store at scrape time
//! (queue depth, kill switch).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Latency buckets (seconds) of HTTP requests.
pub const HTTP_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// Latency buckets (seconds) of RPC calls (they include failover rounds).
pub const RPC_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0];

/// The `Content-Type` of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A counter family: one monotonic count per combination of label values.
pub struct CounterVec {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    series: Mutex<BTreeMap<Vec<String>, Arc<AtomicU64>>>,
}

impl CounterVec {
    /// `name` must end in `_total`; `values` are given in the order of `labels`.
    pub const fn new(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> CounterVec {
        CounterVec { name, help, labels, series: Mutex::new(BTreeMap::new()) }
    }

    pub fn inc(&self, values: &[&str]) {
        self.inc_by(values, 1);
    }

    pub fn inc_by(&self, values: &[&str], n: u64) {
        debug_assert_eq!(values.len(), self.labels.len(), "{}: label count", self.name);
        let key: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        let cell = {
            let mut map = self.series.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(key).or_default().clone()
        };
        cell.fetch_add(n, Ordering::Relaxed);
    }

    /// The current count of one series (0 if never counted).
    pub fn get(&self, values: &[&str]) -> u64 {
        let key: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        self.series.lock().unwrap_or_else(|e| e.into_inner()).get(&key).map(|c| c.load(Ordering::Relaxed)).unwrap_or(0)
    }

    fn render(&self, out: &mut String) {
        header(out, self.name, self.help, "counter");
        let map = self.series.lock().unwrap_or_else(|e| e.into_inner());
        for (values, cell) in map.iter() {
            let _ = writeln!(out, "{}{} {}", self.name, label_set(self.labels, values, None), cell.load(Ordering::Relaxed));
        }
    }
}

/// One histogram series: cumulative bucket counts, the sum and the count.
struct Histogram {
    buckets: Vec<AtomicU64>,
    /// f64 bits.
    sum: AtomicU64,
    count: AtomicU64,
}

/// A histogram family with fixed buckets.
pub struct HistogramVec {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    bounds: &'static [f64],
    series: Mutex<BTreeMap<Vec<String>, Arc<Histogram>>>,
}

impl HistogramVec {
    /// `bounds` strictly increasing upper bounds (the `+Inf` bucket is implied).
    pub const fn new(name: &'static str, help: &'static str, labels: &'static [&'static str], bounds: &'static [f64]) -> HistogramVec {
        HistogramVec { name, help, labels, bounds, series: Mutex::new(BTreeMap::new()) }
    }

    pub fn observe(&self, values: &[&str], v: f64) {
        debug_assert_eq!(values.len(), self.labels.len(), "{}: label count", self.name);
        let v = if v.is_finite() && v >= 0.0 { v } else { 0.0 };
        let key: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        let h = {
            let mut map = self.series.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(key)
                .or_insert_with(|| {
                    Arc::new(Histogram { buckets: self.bounds.iter().map(|_| AtomicU64::new(0)).collect(), sum: AtomicU64::new(0), count: AtomicU64::new(0) })
                })
                .clone()
        };
        // Stored per bucket (not cumulative); cumulated when rendered.
        if let Some(i) = self.bounds.iter().position(|b| v <= *b) {
            h.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        let _ = h.sum.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| Some((f64::from_bits(bits) + v).to_bits()));
        h.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Number of observations of one series.
    pub fn count(&self, values: &[&str]) -> u64 {
        let key: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        self.series.lock().unwrap_or_else(|e| e.into_inner()).get(&key).map(|h| h.count.load(Ordering::Relaxed)).unwrap_or(0)
    }

    fn render(&self, out: &mut String) {
        header(out, self.name, self.help, "histogram");
        let map = self.series.lock().unwrap_or_else(|e| e.into_inner());
        for (values, h) in map.iter() {
            // Read the count first: buckets observed after it may make +Inf smaller than the
            // finite buckets' sum otherwise; +Inf is rendered as max(count, cumulative).
            let count = h.count.load(Ordering::Relaxed);
            let mut cumulative = 0u64;
            for (bound, cell) in self.bounds.iter().zip(&h.buckets) {
                cumulative += cell.load(Ordering::Relaxed);
                let _ = writeln!(out, "{}_bucket{} {}", self.name, label_set(self.labels, values, Some(&format_float(*bound))), cumulative);
            }
            let total = count.max(cumulative);
            let _ = writeln!(out, "{}_bucket{} {}", self.name, label_set(self.labels, values, Some("+Inf")), total);
            let _ = writeln!(out, "{}_sum{} {}", self.name, label_set(self.labels, values, None), format_float(f64::from_bits(h.sum.load(Ordering::Relaxed))));
            let _ = writeln!(out, "{}_count{} {}", self.name, label_set(self.labels, values, None), total);
        }
    }
}

/// A gauge family whose values are computed at scrape time.
pub struct GaugeSnapshot {
    pub name: &'static str,
    pub help: &'static str,
    pub labels: &'static [&'static str],
    pub samples: Vec<(Vec<String>, f64)>,
}

impl GaugeSnapshot {
    pub fn render(&self, out: &mut String) {
        header(out, self.name, self.help, "gauge");
        for (values, v) in &self.samples {
            let _ = writeln!(out, "{}{} {}", self.name, label_set(self.labels, values, None), format_float(*v));
        }
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let help = help.replace('\\', "\\\\").replace('\n', "\\n");
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// `{a="x",b="y"}` (with `le` last for buckets); empty when there are no labels.
fn label_set(names: &[&str], values: &[String], le: Option<&str>) -> String {
    if names.is_empty() && le.is_none() {
        return String::new();
    }
    let mut s = String::from("{");
    for (i, (n, v)) in names.iter().zip(values).enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "{n}=\"{}\"", escape_label(v));
    }
    if let Some(le) = le {
        if !names.is_empty() {
            s.push(',');
        }
        let _ = write!(s, "le=\"{le}\"");
    }
    s.push('}');
    s
}

/// Label values escape backslash, double quote and newline.
pub fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// Go-style float text: integers without a fraction, `+Inf`/`-Inf`/`NaN` spelled out.
fn format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

/// HTTP methods are a bounded label; anything unusual is `OTHER`.
fn method_label(m: &str) -> &str {
    match m {
        "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS" | "HEAD" => m,
        _ => "OTHER",
    }
}

/// Every metric of one engine (one per open data dir, shared by its faces).
pub struct Metrics {
    pub http_requests: CounterVec,
    pub http_duration: HistogramVec,
    pub transactions: CounterVec,
    pub policy_decisions: CounterVec,
    pub rpc_requests: CounterVec,
    pub rpc_endpoint_failures: CounterVec,
    pub rpc_duration: HistogramVec,
    pub webhook_attempts: CounterVec,
    pub notifications: CounterVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics {
            http_requests: CounterVec::new(
                "waiaas_http_requests_total",
                "HTTP requests served, by method, route template (unmatched for unknown paths) and status code.",
                &["method", "route", "status"],
            ),
            http_duration: HistogramVec::new(
                "waiaas_http_request_duration_seconds",
                "Time from receiving an HTTP request to its response headers, by method and route template.",
                &["method", "route"],
                HTTP_BUCKETS,
            ),
            transactions: CounterVec::new(
                "waiaas_transactions_total",
                "Transactions entering a status in this process, by status and policy tier (none before the policy decision).",
                &["status", "tier"],
            ),
            policy_decisions: CounterVec::new(
                "waiaas_policy_decisions_total",
                "Policy gate decisions, by outcome (allowed or denied) and tier (none when denied).",
                &["outcome", "tier"],
            ),
            rpc_requests: CounterVec::new(
                "waiaas_rpc_requests_total",
                "JSON-RPC calls to chain nodes, by network and outcome (ok, node_error: the node answered an error object, transport_error: every endpoint failed).",
                &["network", "outcome"],
            ),
            rpc_endpoint_failures: CounterVec::new(
                "waiaas_rpc_endpoint_failures_total",
                "Failed attempts on one RPC endpoint (followed by failover or a retry round), by network.",
                &["network"],
            ),
            rpc_duration: HistogramVec::new(
                "waiaas_rpc_request_duration_seconds",
                "Duration of JSON-RPC calls including failover, by network.",
                &["network"],
                RPC_BUCKETS,
            ),
            webhook_attempts: CounterVec::new(
                "waiaas_webhook_attempts_total",
                "Outgoing webhook HTTP attempts, by outcome (success or failed).",
                &["outcome"],
            ),
            notifications: CounterVec::new(
                "waiaas_notification_deliveries_total",
                "Event deliveries to notification channels after their retries, by channel kind and outcome (delivered or failed).",
                &["channel", "outcome"],
            ),
        }
    }

    /// One HTTP request: `route` is the route template the router matched (`None` = no route).
    pub fn observe_http(&self, method: &str, route: Option<&str>, status: u16, seconds: f64) {
        let method = method_label(method);
        let route = route.unwrap_or("unmatched");
        self.http_requests.inc(&[method, route, &status.to_string()]);
        self.http_duration.observe(&[method, route], seconds);
    }

    /// A transaction moved to `status`.
    pub fn transaction(&self, status: crate::store::tx::TxStatus, tier: Option<&str>) {
        self.transactions.inc(&[status.as_str(), tier.filter(|t| !t.is_empty()).unwrap_or("none")]);
    }

    /// Render every family (counters and histograms) in the text format.
    pub fn render_into(&self, out: &mut String) {
        self.http_requests.render(out);
        self.http_duration.render(out);
        self.transactions.render(out);
        self.policy_decisions.render(out);
        self.rpc_requests.render(out);
        self.rpc_endpoint_failures.render(out);
        self.rpc_duration.render(out);
        self.webhook_attempts.render(out);
        self.notifications.render(out);
    }
}

/// Outcome of `Engine::metrics_access`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `[metrics] enabled = false`: the endpoint does not exist (404).
    Disabled,
    /// A token is configured and the request did not carry it (401).
    Unauthorized,
    Allowed,
}

/// What an RPC client reports to (the engine's metrics and the network it serves).
#[derive(Clone)]
pub struct RpcMetrics {
    pub metrics: Arc<Metrics>,
    pub network: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_with_help_type_and_escaped_labels() {
        let c = CounterVec::new("x_total", "Help with \\ and\nnewline.", &["a", "b"]);
        c.inc(&["1", "q\"uo\\te\nd"]);
        c.inc_by(&["1", "q\"uo\\te\nd"], 2);
        c.inc(&["0", "plain"]);
        let mut out = String::new();
        c.render(&mut out);
        assert_eq!(
            out,
            "# HELP x_total Help with \\\\ and\\nnewline.\n# TYPE x_total counter\nx_total{a=\"0\",b=\"plain\"} 1\nx_total{a=\"1\",b=\"q\\\"uo\\\\te\\nd\"} 3\n"
        );
        assert_eq!(c.get(&["1", "q\"uo\\te\nd"]), 3);
        assert_eq!(c.get(&["9", "none"]), 0);
    }

    #[test]
    fn histograms_are_cumulative_with_inf_sum_and_count() {
        let h = HistogramVec::new("lat_seconds", "Latency.", &["route"], &[0.1, 1.0]);
        h.observe(&["/a"], 0.05);
        h.observe(&["/a"], 0.5);
        h.observe(&["/a"], 0.1); // on the bound: counted in le="0.1"
        h.observe(&["/a"], 7.0);
        let mut out = String::new();
        h.render(&mut out);
        assert_eq!(
            out,
            "# HELP lat_seconds Latency.\n# TYPE lat_seconds histogram\n\
             lat_seconds_bucket{route=\"/a\",le=\"0.1\"} 2\n\
             lat_seconds_bucket{route=\"/a\",le=\"1\"} 3\n\
             lat_seconds_bucket{route=\"/a\",le=\"+Inf\"} 4\n\
             lat_seconds_sum{route=\"/a\"} 7.65\n\
             lat_seconds_count{route=\"/a\"} 4\n"
        );
        assert_eq!(h.count(&["/a"]), 4);
    }

    #[test]
    fn http_observations_use_bounded_labels() {
        let m = Metrics::new();
        m.observe_http("GET", Some("/v1/transactions/{id}"), 200, 0.01);
        m.observe_http("BREW", None, 404, 0.001);
        assert_eq!(m.http_requests.get(&["GET", "/v1/transactions/{id}", "200"]), 1);
        assert_eq!(m.http_requests.get(&["OTHER", "unmatched", "404"]), 1);
        m.transaction(crate::store::tx::TxStatus::Confirmed, Some("INSTANT"));
        m.transaction(crate::store::tx::TxStatus::Pending, None);
        assert_eq!(m.transactions.get(&["CONFIRMED", "INSTANT"]), 1);
        assert_eq!(m.transactions.get(&["PENDING", "none"]), 1);
        let mut out = String::new();
        m.render_into(&mut out);
        // Every family is announced once, even when empty.
        for name in ["waiaas_http_requests_total", "waiaas_rpc_requests_total", "waiaas_notification_deliveries_total"] {
            assert_eq!(out.matches(&format!("# TYPE {name} ")).count(), 1, "{name}");
        }
        assert!(out.contains("waiaas_http_request_duration_seconds_count{method=\"GET\",route=\"/v1/transactions/{id}\"} 1\n"), "{out}");
    }
}
