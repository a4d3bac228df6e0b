//! The route listing: `(METHOD, path)` of every route an axum router serves, parsed from its `Debug` output.

/// `(METHOD, path)` of every route an axum router serves, read from the router itself.
///
/// axum has no route listing API; its `Debug` output names every path (`Node { paths: {RouteId(n): "/p"} }`)
/// and, per route, the `Allow` header it would answer a wrong method with
/// (`RouteId(n): MethodRouter(MethodRouter { .. allow_header: Bytes(b"GET,HEAD,POST") })`).
/// Parsing that is brittle across axum versions, so it fails loudly (panics) when the shape is
/// not found rather than returning an empty list; axum is pinned by Cargo.lock.
#[allow(clippy::expect_used, clippy::panic, reason = "fails loudly on an axum whose Debug shape changed (see above)")]
pub fn routes_of<S>(router: &axum::Router<S>) -> Vec<(String, String)> {
    let dbg = format!("{router:?}");
    // Only the path router: the fallback router has internal catch-all routes of its own.
    let dbg = dbg.split("fallback_router:").next().unwrap_or("");
    let mut paths = std::collections::BTreeMap::new();
    let mut methods = std::collections::BTreeMap::new();
    let mut rest = dbg;
    while let Some(i) = rest.find("RouteId(") {
        rest = &rest[i + "RouteId(".len()..];
        let Some(close) = rest.find(')') else { break };
        let Ok(id) = rest[..close].parse::<u32>() else { continue };
        let after = &rest[close + 1..];
        let Some(after) = after.strip_prefix(": ") else { continue };
        if let Some(p) = after.strip_prefix('"') {
            let end = p.find('"').expect("closing quote of a route path");
            paths.insert(id, p[..end].to_string());
        } else if after.starts_with("MethodRouter(") {
            // This route's allow header is the first one after its start.
            let a = after.find("allow_header: ").expect("MethodRouter has allow_header");
            let v = &after[a + "allow_header: ".len()..];
            let list = v.strip_prefix("Bytes(b\"").and_then(|b| b.split('"').next()).unwrap_or("");
            methods.insert(id, list.split(',').filter(|m| !m.is_empty()).map(str::to_string).collect::<Vec<_>>());
        }
    }
    assert!(!paths.is_empty(), "could not read the routes from axum's Debug output (axum changed its format?)");
    let mut out = vec![];
    for (id, path) in paths {
        let ms = methods.get(&id).unwrap_or_else(|| panic!("no methods found for route {path} in axum's Debug output"));
        let has_get = ms.iter().any(|m| m == "GET");
        for m in ms {
            // axum answers HEAD wherever it answers GET.
            if m == "HEAD" && has_get {
                continue;
            }
            out.push((m.clone(), path.clone()));
        }
    }
    out.sort();
    out
}
