//! Serving the description: `GET /doc` (the document), `GET /reference` (the Scalar page)
//! and the Scalar bundle it loads, embedded in the binary.

use super::document_json;
use crate::api::AppState;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::OnceLock;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Version of the npm package `@scalar/api-reference` whose `dist/browser/standalone.js` is
/// embedded (gzip-compressed) in `assets/`; `scripts/update-scalar.sh` replaces it.
pub const SCALAR_VERSION: &str = "1.76.0";
/// SHA-256 and length of the uncompressed `standalone.js` (checked by the e2e test).
pub const SCALAR_SHA256: &str = include_str!("../../assets/scalar-standalone.js.sha256");
static SCALAR_GZ: &[u8] = include_bytes!("../../assets/scalar-standalone.js.gz");

/// `/doc`, `/reference` and the script the reference page loads.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(doc)).routes(routes!(reference)).routes(routes!(reference_script))
}

/// The OpenAPI document of this daemon.
#[utoipa::path(get, path = "/doc", tag = "Docs", operation_id = "getOpenApiDocument", summary = "OpenAPI document (this one)",
    security(()),
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
async fn doc() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document_json()).into_response()
}

const REFERENCE_HTML: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>WAIaaS API reference</title>
</head>
<body>
  <div id="app"></div>
  <!-- Scalar API reference, served by this daemon (no CDN): works offline. -->
  <script src="/reference/standalone.js"></script>
  <script>
    Scalar.createApiReference('#app', {
      url: '/doc',
      withDefaultFonts: false,
      telemetry: false,
      agent: { disabled: true },
      mcp: { disabled: true },
      showDeveloperTools: 'never',
      metaData: { title: 'WAIaaS API reference' },
    })
  </script>
</body>
</html>
"#;

/// Interactive API reference (Scalar) over `GET /doc`.
#[utoipa::path(get, path = "/reference", tag = "Docs", operation_id = "getApiReference", summary = "Interactive API reference (HTML)",
    security(()),
    responses((status = 200, description = "HTML page (Scalar)", content_type = "text/html", body = String)))]
async fn reference() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], REFERENCE_HTML).into_response()
}

/// The uncompressed script, for the rare client that does not take gzip.
#[allow(clippy::expect_used, reason = "the bundle is compiled into the binary and checked by tests/openapi.rs")]
fn scalar_plain() -> &'static [u8] {
    static PLAIN: OnceLock<Vec<u8>> = OnceLock::new();
    PLAIN.get_or_init(|| {
        let mut out = Vec::with_capacity(5 << 20);
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(SCALAR_GZ), &mut out).expect("embedded Scalar bundle is valid gzip");
        out
    })
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|enc| {
        let mut parts = enc.split(';').map(str::trim);
        let name = parts.next().unwrap_or("");
        let q0 = parts.any(|p| p.replace(' ', "") == "q=0" || p.replace(' ', "") == "q=0.0");
        (name.eq_ignore_ascii_case("gzip") || name == "*") && !q0
    })
}

/// The Scalar bundle (`@scalar/api-reference` `dist/browser/standalone.js`), embedded.
#[utoipa::path(get, path = "/reference/standalone.js", tag = "Docs", operation_id = "getApiReferenceScript",
    summary = "Script of the reference page (Scalar standalone bundle, embedded)",
    security(()),
    responses((status = 200, description = "JavaScript (gzip-encoded when accepted)", content_type = "application/javascript", body = String)))]
async fn reference_script(headers: HeaderMap) -> Response {
    let mut res = if accepts_gzip(&headers) {
        let mut r = SCALAR_GZ.into_response();
        r.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        scalar_plain().into_response()
    };
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/javascript; charset=utf-8"));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    *res.status_mut() = StatusCode::OK;
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_negotiation() {
        let mut h = HeaderMap::new();
        assert!(!accepts_gzip(&h));
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip, deflate, br"));
        assert!(accepts_gzip(&h));
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("br, gzip;q=0"));
        assert!(!accepts_gzip(&h));
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        assert!(!accepts_gzip(&h));
    }

    #[test]
    fn embedded_bundle_is_the_recorded_one() {
        let plain = scalar_plain();
        let (_, len) = SCALAR_SHA256.split_once(' ').expect("'<sha256> <len>'");
        assert_eq!(plain.len(), len.trim().parse::<usize>().unwrap());
        assert!(plain.starts_with(b"(function(){"), "standalone bundle");
    }
}
