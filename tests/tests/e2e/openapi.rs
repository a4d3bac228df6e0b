//! The API's own OpenAPI document (`GET /doc`) and reference page (`GET /reference`), against
//! the real binary over a real socket: the document lists exactly the routes the router
//! serves, is a well-formed OpenAPI 3 document with an auth on every operation, and the
//! Scalar page renders in headless Chromium with no internet.
//!
//! The fuzz run generated from the same document is `scripts/fuzz-api.sh` (schemathesis);
//! `cargo test -p waiaas-e2e --test e2e openapi:: -- --ignored` runs it too.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use waiaas_e2e::*;

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options", "trace"];
/// Whether the core's operation table declares `METHOD path` public (no credentials).
fn public(method: &str, path: &str) -> bool {
    waiaas_core::api::Op::find(method, path).is_some_and(|op| op.spec().auth == waiaas_core::api::Auth::Public)
}

/// `(METHOD, path, operation)` of every operation in the document.
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = vec![];
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if let Some(op) = item.get(*m) {
                out.push((m.to_uppercase(), path.clone(), op));
            }
        }
    }
    out
}

async fn get_doc(d: &Daemon) -> Value {
    let res = reqwest::get(d.url("/doc")).await.expect("GET /doc");
    assert_eq!(res.status(), 200);
    assert!(res.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap().starts_with("application/json"));
    serde_json::from_str(&res.text().await.unwrap()).expect("/doc is JSON")
}

#[tokio::test]
async fn every_served_route_is_documented_and_every_documented_route_is_served() {
    let d = Daemon::start(Options::default());
    let doc = get_doc(&d).await;
    // The binary serves the document the library builds from its router.
    assert_eq!(doc, serde_json::to_value(waiaas_daemon::api::openapi()).unwrap(), "GET /doc differs from api::openapi()");

    let documented: BTreeSet<(String, String)> = operations(&doc).into_iter().map(|(m, p, _)| (m, p)).collect();
    // Read from the axum router itself, not from the document.
    let served: BTreeSet<(String, String)> = waiaas_daemon::api::served_routes().into_iter().collect();
    assert!(served.len() >= 60, "suspiciously few served routes: {served:?}");
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(undocumented.is_empty(), "served but not in /doc (annotate with #[utoipa::path] and register with routes!): {undocumented:?}");
    assert!(unserved.is_empty(), "in /doc but not served: {unserved:?}");

    // The core's operation table is the declaration: the document lists exactly its
    // operations (all but `/metrics`, which is Prometheus text), with its operationIds and
    // its auth as the document's security.
    let mut declared = BTreeMap::new();
    for o in waiaas_core::api::OPERATIONS.iter().filter(|o| o.op != waiaas_core::api::Op::GetMetrics) {
        let schemes: Vec<String> = o.auth.security_schemes().iter().map(|s| s.to_string()).collect();
        declared.insert((o.method.to_string(), o.path.to_string()), (o.id.to_string(), schemes));
    }
    let mut in_doc = BTreeMap::new();
    for (m, p, op) in operations(&doc) {
        let schemes: Vec<String> =
            op["security"].as_array().map(|a| a.iter().flat_map(|s| s.as_object().into_iter().flat_map(|o| o.keys().cloned())).collect()).unwrap_or_default();
        in_doc.insert((m, p), (op["operationId"].as_str().unwrap_or_default().to_string(), schemes));
    }
    assert_eq!(in_doc, declared, "the OpenAPI document and waiaas_core::api::OPERATIONS differ");

    let http = reqwest::Client::new();
    // The fallback answers exactly this for an unknown path.
    let unknown = http.get(d.url("/v1/no-such-route")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.text().await.unwrap(), "404 Not Found");

    // Every documented operation reaches a handler on the live daemon (no credentials: the
    // authenticated ones answer 401 in the error shape, never the fallback).
    for (method, path) in &documented {
        let url = d.url(&concrete_path(path));
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let res = http.request(m, &url).send().await.unwrap();
        let status = res.status().as_u16();
        let body = res.text().await.unwrap();
        assert!(!(status == 404 && body == "404 Not Found"), "{method} {path} ({url}) fell through to the fallback");
        assert_ne!(status, 405, "{method} {path}: method not allowed");
        if !public(method, path) {
            assert_eq!(status, 401, "{method} {path} without credentials: {body}");
            let e: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{method} {path}: 401 body is not JSON: {body}"));
            assert!(e["code"].is_string() && e["message"].is_string() && e["retryable"].is_boolean(), "{method} {path}: {e}");
        }
    }

    // And per path, the live router allows exactly the documented methods (axum answers a
    // method it does not route with 405 and the `Allow` list).
    let mut by_path: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (m, p) in &documented {
        by_path.entry(p).or_default().insert(m.clone());
    }
    for (path, methods) in by_path {
        let res = http.request(reqwest::Method::TRACE, d.url(&concrete_path(path))).send().await.unwrap();
        assert_eq!(res.status(), 405, "TRACE {path}");
        let allow: BTreeSet<String> =
            res.headers()["allow"].to_str().unwrap().split(',').map(|m| m.trim().to_string()).filter(|m| !(m == "HEAD" && methods.contains("GET"))).collect();
        assert_eq!(allow, methods, "{path}: served methods differ from documented ones");
    }
}

/// Resolve a local JSON pointer (`#/components/schemas/X`).
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    doc.pointer(pointer)
}

fn collect_refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                if k == "$ref" {
                    out.push(x.as_str().expect("$ref is a string"));
                } else {
                    collect_refs(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn document_is_valid_openapi_3_with_an_auth_on_every_operation() {
    let d = Daemon::start(Options::default());
    let doc = get_doc(&d).await;

    let version = doc["openapi"].as_str().expect("openapi field");
    assert!(version.starts_with("3.0.") || version.starts_with("3.1."), "openapi {version}");
    assert_eq!(doc["info"]["title"], "WAIaaS API");
    assert!(doc["info"]["version"].is_string());

    // Every $ref resolves.
    let mut refs = vec![];
    collect_refs(&doc, &mut refs);
    assert!(refs.len() > 100, "few refs: {}", refs.len());
    for r in &refs {
        assert!(r.starts_with("#/"), "non-local $ref {r}");
        assert!(resolve(&doc, r).is_some(), "$ref {r} does not resolve");
    }

    // The three auths.
    let schemes = &doc["components"]["securitySchemes"];
    let header_key = |name: &str, header: &str| {
        assert_eq!(schemes[name]["type"], "apiKey", "{name}");
        assert_eq!(schemes[name]["in"], "header", "{name}");
        assert_eq!(schemes[name]["name"], header, "{name}");
    };
    header_key("masterAuth", "X-Master-Password");
    header_key("ownerAuth", "X-Owner-Signature");
    header_key("ownerAddress", "X-Owner-Address");
    header_key("ownerMessage", "X-Owner-Message");
    assert_eq!(schemes["sessionAuth"]["type"], "http");
    assert_eq!(schemes["sessionAuth"]["scheme"], "bearer");
    assert!(schemes["sessionAuth"]["bearerFormat"].as_str().unwrap().starts_with("wai_sess_"));

    let tags: BTreeSet<&str> = doc["tags"].as_array().expect("tags").iter().map(|t| t["name"].as_str().unwrap()).collect();
    let mut op_ids = BTreeSet::new();
    let ops = operations(&doc);
    assert!(ops.len() >= 60);
    for (method, path, op) in &ops {
        let at = format!("{method} {path}");
        // Identity and grouping.
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{at}: no operationId"));
        assert!(op_ids.insert(id.to_string()), "{at}: duplicate operationId {id}");
        let op_tags = op["tags"].as_array().unwrap_or_else(|| panic!("{at}: no tags"));
        assert!(!op_tags.is_empty());
        for t in op_tags {
            assert!(tags.contains(t.as_str().unwrap()), "{at}: tag {t} not declared");
        }
        assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty() && !s.contains('\n')), "{at}: summary");

        // Responses: a success, and the error shape for everything else.
        let responses = op["responses"].as_object().unwrap_or_else(|| panic!("{at}: no responses"));
        assert!(responses.keys().any(|k| k.starts_with('2')), "{at}: no 2xx response");
        for (code, r) in responses {
            assert!(code == "default" || (code.len() == 3 && code.parse::<u16>().is_ok_and(|c| (100..600).contains(&c))), "{at}: status {code}");
            assert!(r["description"].is_string(), "{at} {code}: description");
        }
        assert_eq!(responses["default"]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorResponse", "{at}");

        // Auth: every operation names its auth, or is explicitly public.
        let security = op["security"].as_array().unwrap_or_else(|| panic!("{at}: no security entry"));
        assert!(!security.is_empty(), "{at}: empty security");
        let open = security.iter().any(|r| r.as_object().unwrap().is_empty());
        if public(method, path) {
            assert!(open && security.len() == 1, "{at} should be explicitly public (security: [{{}}]): {security:?}");
        } else {
            assert!(!open, "{at} is public but not declared public in waiaas_core::api");
            assert!(responses.contains_key("401"), "{at}: authenticated but no 401");
            for req in security {
                for name in req.as_object().unwrap().keys() {
                    assert!(schemes.get(name).is_some(), "{at}: unknown security scheme {name}");
                }
                // ownerAuth always comes with its two other headers.
                if req.get("ownerAuth").is_some() {
                    assert!(req.get("ownerAddress").is_some() && req.get("ownerMessage").is_some(), "{at}: {req}");
                }
            }
        }

        // Path parameters match the template.
        let template: BTreeSet<String> = path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).map(str::to_string).collect();
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let declared: BTreeSet<String> = params.iter().filter(|p| p["in"] == "path").map(|p| p["name"].as_str().unwrap().to_string()).collect();
        assert_eq!(template, declared, "{at}: path parameters");
        for p in &params {
            assert!(["path", "query", "header", "cookie"].contains(&p["in"].as_str().unwrap()), "{at}: {p}");
            assert!(p["schema"].is_object(), "{at}: parameter without schema {p}");
            if p["in"] == "path" {
                assert_eq!(p["required"], true, "{at}: path parameter {p} must be required");
            }
        }
        if let Some(body) = op.get("requestBody") {
            assert!(body["content"]["application/json"]["schema"].is_object(), "{at}: request body without a JSON schema");
        }
    }

    // The auth of the routes that matter most, as the README states it.
    let security_of = |m: &str, p: &str| {
        ops.iter().find(|(om, op_path, _)| om == m && op_path == p).map(|(_, _, op)| op["security"].clone()).unwrap_or_else(|| panic!("{m} {p} missing"))
    };
    assert_eq!(security_of("POST", "/v1/transactions/send"), serde_json::json!([{"sessionAuth": []}]));
    assert_eq!(security_of("POST", "/v1/wallets"), serde_json::json!([{"masterAuth": []}]));
    assert_eq!(security_of("GET", "/v1/wallets"), serde_json::json!([{"masterAuth": []}, {"sessionAuth": []}]));
    let owner = serde_json::json!([{"ownerAuth": [], "ownerAddress": [], "ownerMessage": []}]);
    for p in ["/v1/transactions/{id}/approve", "/v1/transactions/{id}/reject", "/v1/wallets/{id}/owner/verify", "/v1/owner/kill-switch"] {
        assert_eq!(security_of("POST", p), owner, "{p}");
    }

    // Shapes shared with upstream: for every operation upstream also has, the methods agree and
    // our 2xx body has every property upstream's lists as required.
    check_against_upstream(&doc);
}

/// Property names of an object schema (following `$ref` and `allOf`), with their required set.
fn object_props(doc: &Value, schema: &Value) -> Option<(BTreeSet<String>, BTreeSet<String>)> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return object_props(doc, resolve(doc, r)?);
    }
    let mut props = BTreeSet::new();
    let mut required = BTreeSet::new();
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            let (p, r) = object_props(doc, s)?;
            props.extend(p);
            required.extend(r);
        }
    }
    if let Some(o) = schema.get("properties").and_then(Value::as_object) {
        props.extend(o.keys().cloned());
    }
    if let Some(r) = schema.get("required").and_then(Value::as_array) {
        required.extend(r.iter().filter_map(|x| x.as_str().map(str::to_string)));
    }
    (!props.is_empty()).then_some((props, required))
}

/// `shared/spec/upstream-openapi.json` beside the repository (as on the developers' machines
/// and CI), if present.
fn upstream_doc() -> Option<Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?.to_path_buf();
    let candidates = [root.join("../shared/spec/upstream-openapi.json"), PathBuf::from("/work/shared/spec/upstream-openapi.json")];
    let p = candidates.iter().find(|p| p.exists())?;
    serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()
}

/// Deliberate differences from upstream's response shapes (`*` = every field).
const KNOWN_SHAPE_DIFFERENCES: &[(&str, &str, &str)] = &[
    // Upstream's settings have categories for features this daemon does not have
    // (notifications, rpc pool, walletconnect, oracle, telegram, ...); ours are the
    // config sections it does have (`security`, `daemon`) plus `pending`.
    ("GET", "/v1/admin/settings", "*"),
];

fn check_against_upstream(doc: &Value) {
    let Some(up) = upstream_doc() else {
        println!("upstream-openapi.json not found beside the repository: shape comparison skipped");
        return;
    };
    let mut problems = vec![];
    let mut compared = 0;
    for (method, path, op) in operations(doc) {
        let Some(up_op) = up["paths"].get(&path).and_then(|i| i.get(method.to_lowercase())) else { continue };
        for (code, r) in op["responses"].as_object().unwrap() {
            if !code.starts_with('2') {
                continue;
            }
            let Some(up_schema) = up_op["responses"].get(code).map(|r| &r["content"]["application/json"]["schema"]) else {
                problems.push(format!("{method} {path}: we answer {code}, upstream does not document it"));
                continue;
            };
            let ours = &r["content"]["application/json"]["schema"];
            let (Some((our_props, _)), Some((_, up_required))) = (object_props(doc, ours), object_props(&up, up_schema)) else { continue };
            compared += 1;
            for field in up_required.difference(&our_props) {
                let known = KNOWN_SHAPE_DIFFERENCES.iter().any(|(m, p, f)| *m == method && *p == path && (*f == "*" || f == field));
                if !known {
                    problems.push(format!("{method} {path} {code}: upstream requires `{field}`, our schema lacks it"));
                }
            }
        }
    }
    println!("compared {compared} response shapes with upstream");
    assert!(compared >= 30, "compared only {compared} shapes with upstream");
    assert!(problems.is_empty(), "differences from upstream's document:\n{}", problems.join("\n"));
}

/// Chromium on the PATH (scripts/install-test-tools.sh installs Debian's package; tests
/// install nothing themselves).
fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser"].iter().find_map(|b| which(b))
}

fn which(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|d| d.join(bin)).find(|p| p.is_file()))
}

#[tokio::test]
async fn reference_page_is_served_from_the_binary_and_renders_offline_in_chromium() {
    let d = Daemon::start(Options::default());
    let http = reqwest::Client::new();

    let page = http.get(d.url("/reference")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    for needle in ["/reference/standalone.js", "url: '/doc'", "withDefaultFonts: false"] {
        assert!(html.contains(needle), "page lacks {needle}");
    }
    assert!(!html.contains("cdn.") && !html.contains("https://"), "the page must not load anything from outside");

    // The script: exactly the vendored @scalar/api-reference bundle, plain or gzip.
    let recorded = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../waiaas-daemon/assets/scalar-standalone.js.sha256")).unwrap();
    let (sha, len) = recorded.trim().split_once(' ').unwrap();
    let plain = http.get(d.url("/reference/standalone.js")).send().await.unwrap();
    assert_eq!(plain.status(), 200);
    assert!(plain.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap().starts_with("application/javascript"));
    assert!(plain.headers().get(reqwest::header::CONTENT_ENCODING).is_none());
    let bytes = plain.bytes().await.unwrap();
    assert_eq!(bytes.len().to_string(), len);
    use sha2::Digest;
    assert_eq!(hex::encode(sha2::Sha256::digest(&bytes)), sha);
    let gz = http.get(d.url("/reference/standalone.js")).header("accept-encoding", "gzip, deflate, br").send().await.unwrap();
    assert_eq!(gz.headers()[reqwest::header::CONTENT_ENCODING], "gzip");
    let gz_len = gz.bytes().await.unwrap().len();
    assert!(gz_len < bytes.len() / 2, "gzip body {gz_len} bytes");

    let Some(chromium) = chromium() else {
        println!("SKIPPED the headless Chromium rendering: chromium is not installed (scripts/install-test-tools.sh installs it)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let url = d.url("/reference");
    // No internet: every host but this one fails to resolve, so anything the page tried to
    // load from outside would be missing.
    let common = |profile: &str| -> Vec<String> {
        vec![
            "--headless".into(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--no-first-run".into(),
            "--hide-scrollbars".into(),
            format!("--user-data-dir={}", tmp.path().join(profile).display()),
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1".into(),
            "--window-size=1400,1000".into(),
            "--virtual-time-budget=15000".into(),
        ]
    };
    let dump_dom = |profile: &'static str, url: String| {
        let mut args = common(profile);
        args.extend(["--dump-dom".to_string(), url]);
        let chromium = chromium.clone();
        async move {
            let out = tokio::task::spawn_blocking(move || Command::new(&chromium).args(&args).output().expect("run chromium")).await.unwrap();
            assert!(out.status.success(), "chromium --dump-dom failed: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stdout).to_string()
        }
    };
    // Scalar renders the sections near the viewport: the top of the page, then the page
    // opened at the send operation (its own deep link).
    let top = dump_dom("dom-top", url.clone()).await;
    for needle in [
        "WAIaaS API",
        "OpenAPI 3.1",
        "masterAuth",
        "sessionAuth",
        "ownerAuth",
        "X-Master-Password",
        "/v1/wallets",
        "/v1/wallets/{id}/owner",
        "#tag/transactions",
        "#tag/webhooks",
    ] {
        assert!(top.contains(needle), "rendered page lacks {needle} ({} bytes of DOM)", top.len());
    }
    let send = dump_dom("dom-send", format!("{url}#tag/transactions/POST/v1/transactions/send")).await;
    for needle in ["/v1/transactions/send", "Send a transaction", "/v1/transactions/simulate", "SendTransactionRequest", "Idempotency-Key"] {
        assert!(send.contains(needle), "rendered transactions section lacks {needle} ({} bytes of DOM)", send.len());
    }
    let dom_text = send;

    let shot = tmp.path().join("reference.png");
    let mut args = common("shot");
    args.extend([format!("--screenshot={}", shot.display()), url]);
    let chromium3 = chromium.clone();
    let out = tokio::task::spawn_blocking(move || Command::new(&chromium3).args(&args).output().expect("run chromium")).await.unwrap();
    assert!(out.status.success(), "chromium --screenshot failed: {}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    // A blank 1400x1000 page compresses to a few KB; the rendered reference is far larger.
    assert!(png.len() > 40_000, "screenshot is only {} bytes: blank page?", png.len());
    println!("screenshot: {} ({} bytes), DOM {} bytes", shot.display(), png.len(), dom_text.len());
    if let Some(keep) = std::env::var_os("WAIAAS_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}

/// The schemathesis run over the whole API (a few thousand requests; minutes). Not part of
/// the default run: `cargo test -p waiaas-e2e --test e2e openapi:: -- --ignored`.
#[test]
#[ignore]
fn schemathesis_fuzz_run_from_the_document() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let status = Command::new("bash").arg(root.join("scripts/fuzz-api.sh")).env("WAIAAS_BIN", waiaas_bin()).status().expect("run scripts/fuzz-api.sh");
    assert!(status.success(), "fuzz run failed");
}
