//! The API's own description: an OpenAPI 3.1 document generated from the route and type
//! definitions (utoipa), served at `GET /doc`, and an interactive reference at
//! `GET /reference` (Scalar, served from the binary: no CDN, works offline).
//!
//! # How to add or change a route (the pattern every handler in `api/` follows)
//!
//! 1. Annotate the handler. Path, method, tag, auth, parameters, body and success responses
//!    all live in one attribute next to the code:
//!
//!    ```ignore
//!    #[utoipa::path(post, path = "/v1/admin/things/{id}/poke", tag = "Admin", operation_id = "pokeThing",
//!        summary = "Poke a thing",
//!        security(("masterAuth" = [])),                  // see "Auth" below
//!        params(("id" = String, Path, description = "Thing id")),
//!        request_body = PokeRequest,                     // a type deriving ToSchema
//!        responses((status = 200, description = "Poked", body = PokeResponse)))]
//!    async fn poke(State(s): State<AppState>, _m: Master, Path(id): Path<String>, Body(b): Body<PokeRequest>) -> ApiResult<Json<PokeResponse>> { .. }
//!    ```
//!
//!    - `operation_id` must be unique in the whole document (camelCase, upstream style).
//!    - `tag`: one of the tags described in [`base`] (a new tag is declared automatically;
//!      give it a description there).
//!    - Auth: `security(("masterAuth" = []))`, `security(("sessionAuth" = []))`, master *or*
//!      session: `security(("masterAuth" = []), ("sessionAuth" = []))`, owner (all three
//!      headers): `security(("ownerAuth" = [], "ownerAddress" = [], "ownerMessage" = []))`,
//!      public: `security(())`. Every operation must say one of these (the e2e test checks).
//!    - Query strings: a struct deriving `utoipa::IntoParams` with
//!      `#[into_params(parameter_in = Query)]`, listed as `params(MyQuery)`.
//!    - Error responses need not be listed: [`finish`] adds `default` (the upstream error body,
//!      [`ErrorResponse`]) to every operation, and 401 to every authenticated one. List a
//!      specific error status only when it says something the route is known for.
//!    - A handler that returns `serde_json::Value` still needs a body type: describe the shape
//!      with a doc-only struct deriving `ToSchema` (below in this file, field names from
//!      upstream's openapi for the same path), e.g. `body = KillSwitchActivated`.
//!    - Request/response types of `waiaas-core` derive `ToSchema` behind its `openapi`
//!      feature: `#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = UpstreamName))]`.
//! 2. Register it in the module's `routes() -> OpenApiRouter<AppState>` with
//!    `.routes(routes!(handler))` (several handlers of one path: `routes!(list, create)`).
//!    `routes!` takes the path from the annotation, so a route cannot be served without being
//!    documented. Do not use `.route(..)`: the completeness test (`tests/tests/openapi.rs`)
//!    compares [`crate::api::served_routes`] (read from the axum router itself) with the
//!    document and fails on any route that is served but not documented, or the reverse.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::OnceLock;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::AppState;

/// Version of the npm package `@scalar/api-reference` whose `dist/browser/standalone.js` is
/// embedded (gzip-compressed) in `assets/`; `scripts/update-scalar.sh` replaces it.
pub const SCALAR_VERSION: &str = "1.76.0";
/// SHA-256 and length of the uncompressed `standalone.js` (checked by the e2e test).
pub const SCALAR_SHA256: &str = include_str!("../assets/scalar-standalone.js.sha256");
static SCALAR_GZ: &[u8] = include_bytes!("../assets/scalar-standalone.js.gz");

/// `/doc`, `/reference` and the script the reference page loads.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(doc)).routes(routes!(reference)).routes(routes!(reference_script))
}

/// The document's frame: title, version, security schemes and tags. Paths come from the
/// routers merged onto it.
pub fn base() -> OpenApi {
    let mut api = utoipa::openapi::OpenApiBuilder::new()
        .info(
            utoipa::openapi::InfoBuilder::new()
                .title("WAIaaS API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "AI Agent Wallet-as-a-Service REST API.\n\n\
                     Three auths: **masterAuth** (operator: `X-Master-Password`), **sessionAuth** (agent: \
                     `Authorization: Bearer wai_sess_<JWT>`), **ownerAuth** (wallet owner: `X-Owner-Address`, \
                     `X-Owner-Message` = base64 of a SIWE/EIP-4361 text carrying a nonce from `GET /v1/nonce`, \
                     `X-Owner-Signature`). Every error is the flat body `ErrorResponse` \
                     (`{code, message, retryable, details?, requestId?, hint?}`).",
                ))
                .license(Some(utoipa::openapi::LicenseBuilder::new().name("MIT").identifier(Some("MIT")).build()))
                .build(),
        )
        .build();
    let components = api.components.get_or_insert_with(Default::default);
    let header_key = |name: &str, description: &str| SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(name, description)));
    components.add_security_scheme("masterAuth", header_key("X-Master-Password", "The operator's master password (admin routes)."));
    components.add_security_scheme(
        "sessionAuth",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("wai_sess_<JWT>")
                .description(Some("An agent's session token, `wai_sess_` + HS256 JWT, from `POST /v1/sessions`."))
                .build(),
        ),
    );
    components.add_security_scheme(
        "ownerAuth",
        header_key(
            "X-Owner-Signature",
            "ownerAuth: the owner's signature of `X-Owner-Message` (EVM: 0x EIP-191 personal_sign; Solana: base64 Ed25519). \
             Always sent together with `X-Owner-Address` (ownerAddress) and `X-Owner-Message` (ownerMessage).",
        ),
    );
    components.add_security_scheme("ownerAddress", header_key("X-Owner-Address", "ownerAuth: the wallet owner's address, as registered."));
    components.add_security_scheme(
        "ownerMessage",
        header_key(
            "X-Owner-Message",
            "ownerAuth: base64 of the signed SIWE (EIP-4361) message: nonce from `GET /v1/nonce`, this daemon's host as domain, \
             `Expiration Time` at most an hour away, `Request ID` naming the one action (`approve:<txId>`, `reject:<txId>`, \
             `verify:<walletId>`, `kill-switch:activate`, `kill-switch:recover`).",
        ),
    );
    api.tags = Some(
        [
            ("Health", "Liveness"),
            ("Auth", "Owner nonces"),
            ("Wallets", "Wallet lifecycle and owners (operator)"),
            ("Sessions", "Agent sessions (operator)"),
            ("Wallet", "The agent's view of its wallet"),
            ("Transactions", "Send, simulate, sign, list; owner approval"),
            ("Tokens", "Token registry"),
            ("Policies", "Policy engine rules"),
            ("Utils", "Helpers"),
            ("Discovery", "What a session can see and do"),
            ("Owner", "Actions of a wallet owner"),
            ("Admin", "Operator: kill switch, secrets, audit log"),
            ("Webhooks", "Signed notifications of audit events"),
            ("Actions", "Action providers"),
            ("MCP", "Session tokens for MCP clients"),
            ("Skills", "Guides for agents, shipped in the binary"),
            ("Docs", "This document and its reference page"),
        ]
        .into_iter()
        .map(|(name, d)| utoipa::openapi::tag::TagBuilder::new().name(name).description(Some(d)).build())
        .collect(),
    );
    api
}

/// Complete a document merged from the routers: every operation gets the error body as its
/// `default` response and, when authenticated, a 401; shared schemas are registered.
pub fn finish(mut api: OpenApi) -> OpenApi {
    let error_ref = || ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorResponse"))).build();
    // The body extractor reads an empty body as `{}`: a body whose schema requires nothing
    // may be left out.
    let schemas = serde_json::to_value(api.components.as_ref().map(|c| &c.schemas)).unwrap_or_default();
    let requires_nothing = |schema: &serde_json::Value| {
        let resolved = match schema.get("$ref").and_then(|r| r.as_str()).and_then(|r| r.strip_prefix("#/components/schemas/")) {
            Some(name) => schemas.get(name).cloned().unwrap_or_default(),
            None => schema.clone(),
        };
        resolved.get("type").and_then(|t| t.as_str()) == Some("object") && resolved.get("required").and_then(|r| r.as_array()).is_none_or(|r| r.is_empty())
    };
    for item in api.paths.paths.values_mut() {
        for op in [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch, &mut item.head, &mut item.options, &mut item.trace]
            .into_iter()
            .flatten()
        {
            let secured =
                op.security.iter().flatten().any(|r| serde_json::to_value(r).ok().and_then(|v| v.as_object().map(|o| !o.is_empty())).unwrap_or(false));
            let public = op.security.iter().flatten().any(|r| serde_json::to_value(r).ok().and_then(|v| v.as_object().map(|o| o.is_empty())).unwrap_or(false));
            if let Some(utoipa::openapi::RefOr::T(body)) = op.request_body.as_mut() {
                let schema = body.content.get("application/json").and_then(|c| serde_json::to_value(c).ok()).map(|c| c["schema"].clone());
                if schema.as_ref().is_some_and(requires_nothing) {
                    body.required = Some(utoipa::openapi::Required::False);
                }
            }
            let responses = &mut op.responses.responses;
            if secured && !public {
                responses.entry("401".into()).or_insert_with(|| {
                    ResponseBuilder::new()
                        .description("Missing or wrong credentials (INVALID_MASTER_PASSWORD, INVALID_TOKEN, TOKEN_EXPIRED, SESSION_REVOKED, INVALID_SIGNATURE, INVALID_NONCE)")
                        .content("application/json", error_ref())
                        .build()
                        .into()
                });
            }
            responses.entry("default".into()).or_insert_with(|| {
                ResponseBuilder::new()
                    .description("Any error: the upstream flat error body (status from the code table)")
                    .content("application/json", error_ref())
                    .build()
                    .into()
            });
        }
    }
    // A tag used by an operation but not described in `base` is still declared (at the end).
    let used: Vec<String> = api
        .paths
        .paths
        .values()
        .flat_map(|i| [&i.get, &i.put, &i.post, &i.delete, &i.patch, &i.head, &i.options, &i.trace])
        .flatten()
        .flat_map(|op| op.tags.iter().flatten().cloned())
        .collect();
    let tags = api.tags.get_or_insert_with(Vec::new);
    for t in used {
        if !tags.iter().any(|d| d.name == t) {
            tags.push(utoipa::openapi::tag::TagBuilder::new().name(t).build());
        }
    }
    let components = api.components.get_or_insert_with(Default::default);
    components.schemas.insert("ErrorResponse".into(), <ErrorResponse as utoipa::PartialSchema>::schema());
    api
}

/// The document as served by `GET /doc`.
#[allow(clippy::expect_used, reason = "the document is plain data built in this binary: serializing it cannot fail (tests/openapi.rs serves it)")]
pub fn document_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| crate::api::openapi().to_pretty_json().expect("OpenAPI document serializes"))
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

// ---------------------------------------------------------------------------------------
// Doc-only schemas: shapes of bodies that handlers build as `serde_json::Value` (or parse
// from one). Field names follow upstream's openapi for the same path; the e2e fuzz run
// checks every response against them.
// ---------------------------------------------------------------------------------------

/// The error body of every failure (upstream's flat `ErrorResponse`).
#[derive(ToSchema, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorResponse {
    /// Machine-readable code, e.g. `WALLET_NOT_FOUND` (147 upstream codes).
    pub code: String,
    pub message: String,
    pub retryable: bool,
    /// Extra data; validation failures carry `issues: [{path, message}]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
    /// The request's `X-Request-Id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// An English recovery hint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

#[allow(dead_code)]
mod doc_types {
    use utoipa::ToSchema;

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct MasterPasswordChangeResponse {
        pub message: String,
        /// Key files re-encrypted under the new password.
        pub wallets_re_encrypted: u64,
        pub settings_re_encrypted: u64,
        pub credentials_re_encrypted: u64,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct RotateSecretResponse {
        pub rotated_at: i64,
        pub message: String,
    }

    #[derive(ToSchema)]
    pub struct ShutdownResponse {
        pub message: String,
    }

    /// `POST /v1/admin/kill-switch` and `POST /v1/owner/kill-switch`.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct KillSwitchActivateResponse {
        /// `SUSPENDED`.
        pub state: String,
        pub activated_at: Option<i64>,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct KillSwitchEscalateResponse {
        /// `LOCKED`.
        pub state: String,
        pub escalated_at: i64,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct RecoverResponse {
        /// `ACTIVE`.
        pub state: String,
        pub recovered_at: i64,
    }

    /// A cancelled transaction.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct TxCancelResponse {
        pub id: String,
        /// `CANCELLED`.
        pub status: String,
    }

    /// A transaction rejected by the operator or the owner.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct TxRejectResponse {
        pub id: String,
        /// `CANCELLED`.
        pub status: String,
        pub rejected_at: i64,
    }

    /// A transaction approved by its owner.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct TxApproveResponse {
        pub id: String,
        /// `EXECUTING`.
        pub status: String,
        pub approved_at: i64,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct WalletOwnerResponse {
        pub id: String,
        pub name: String,
        #[schema(value_type = waiaas_core::network::Chain)]
        pub chain: String,
        pub network: String,
        #[schema(value_type = waiaas_core::network::Environment)]
        pub environment: String,
        pub public_key: String,
        #[schema(value_type = waiaas_core::store::WalletStatus)]
        pub status: String,
        pub owner_address: Option<String>,
        pub owner_verified: bool,
        /// `NONE`, `GRACE` or `LOCKED`.
        pub owner_state: String,
        pub approval_method: Option<String>,
        pub wallet_type: Option<String>,
        pub warning: Option<String>,
        pub updated_at: i64,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct OwnerVerifyResponse {
        /// `LOCKED`.
        pub owner_state: String,
        pub owner_address: String,
        pub owner_verified: bool,
    }

    // --- POST /v1/transactions/send and /simulate -------------------------------------

    /// Amount in the asset's smallest units (decimal string).
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct TokenRef {
        /// Token contract (EVM) or mint (Solana); or give `assetId`.
        pub address: Option<String>,
        /// 0..18; looked up in the token registry when omitted.
        #[schema(minimum = 0, maximum = 18)]
        pub decimals: Option<u8>,
        #[schema(min_length = 1, max_length = 10)]
        pub symbol: Option<String>,
        /// CAIP-19 id.
        pub asset_id: Option<String>,
    }

    /// A native transfer. `type` may be omitted (legacy body `{to, amount, memo?}`).
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct TransferRequest {
        /// Recipient (EVM 0x address or Solana base58).
        #[schema(example = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")]
        pub to: String,
        /// Smallest units (XOR `humanAmount`).
        #[schema(pattern = r"^\d+$", example = "1000")]
        pub amount: Option<String>,
        /// Decimal amount in whole units (XOR `amount`).
        pub human_amount: Option<String>,
        #[schema(max_length = 256)]
        pub memo: Option<String>,
        pub wallet_id: Option<String>,
        /// Network id (`ethereum-sepolia`, …), CAIP-2 id, or `mainnet|devnet|testnet` (Solana).
        #[schema(value_type = Option<waiaas_core::network::NetworkId>, example = "ethereum-sepolia")]
        pub network: Option<String>,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct TokenTransferRequest {
        pub to: String,
        #[schema(pattern = r"^\d+$")]
        pub amount: Option<String>,
        pub human_amount: Option<String>,
        pub token: TokenRef,
        #[schema(max_length = 256)]
        pub memo: Option<String>,
        pub wallet_id: Option<String>,
        #[schema(value_type = Option<waiaas_core::network::NetworkId>)]
        pub network: Option<String>,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct AccountMeta {
        pub pubkey: String,
        pub is_signer: bool,
        pub is_writable: bool,
    }

    /// EVM: `to` + `calldata` (0x hex) + `value`; Solana: `programId` + `instructionData`
    /// (base64) + `accounts`.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct ContractCallRequest {
        pub to: Option<String>,
        pub calldata: Option<String>,
        /// Wei (EVM only).
        #[schema(pattern = r"^\d+$")]
        pub value: Option<String>,
        pub program_id: Option<String>,
        pub instruction_data: Option<String>,
        pub accounts: Option<Vec<AccountMeta>>,
        pub wallet_id: Option<String>,
        #[schema(value_type = Option<waiaas_core::network::NetworkId>)]
        pub network: Option<String>,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct ApproveRequest {
        pub spender: String,
        pub token: TokenRef,
        #[schema(pattern = r"^\d+$")]
        pub amount: Option<String>,
        pub human_amount: Option<String>,
        pub wallet_id: Option<String>,
        #[schema(value_type = Option<waiaas_core::network::NetworkId>)]
        pub network: Option<String>,
    }

    /// Solana only: 2..20 instructions, each a TRANSFER, TOKEN_TRANSFER, CONTRACT_CALL or
    /// APPROVE body (with or without its `type`), signed and sent as one transaction.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct BatchRequest {
        #[schema(min_items = 2, max_items = 20, value_type = Vec<Object>)]
        pub instructions: Vec<serde_json::Value>,
        pub wallet_id: Option<String>,
        #[schema(value_type = Option<waiaas_core::network::NetworkId>)]
        pub network: Option<String>,
    }

    /// A transaction to send (or simulate), by `type`.
    #[derive(ToSchema)]
    #[serde(tag = "type")]
    pub enum SendTransactionRequest {
        #[serde(rename = "TRANSFER")]
        Transfer(TransferRequest),
        #[serde(rename = "TOKEN_TRANSFER")]
        TokenTransfer(TokenTransferRequest),
        #[serde(rename = "CONTRACT_CALL")]
        ContractCall(ContractCallRequest),
        #[serde(rename = "APPROVE")]
        Approve(ApproveRequest),
        #[serde(rename = "BATCH")]
        Batch(BatchRequest),
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct SimulatedPolicy {
        /// `INSTANT`, `NOTIFY`, `DELAY` or `APPROVAL`.
        pub tier: String,
        pub allowed: bool,
        pub reason: Option<String>,
        pub delay_seconds: Option<u64>,
        pub approval_reason: Option<String>,
        pub downgraded: bool,
        pub cumulative_warning: Option<String>,
        pub error_code: Option<String>,
        /// Every rule that contributed, in evaluation order.
        #[schema(value_type = Vec<Object>)]
        pub reasons: Vec<serde_json::Value>,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct SimulatedFee {
        pub estimated_fee: String,
        pub fee_symbol: String,
        pub fee_decimals: u8,
        #[schema(value_type = Option<f64>)]
        pub fee_usd: Option<()>,
        pub needs_ata_creation: Option<bool>,
        pub ata_rent_cost: Option<String>,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct SimulationWarning {
        pub code: String,
        pub message: String,
        /// `info`, `warning` or `error`.
        pub severity: String,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct ChainSimulation {
        pub success: bool,
        pub logs: Vec<String>,
        pub units_consumed: Option<u64>,
        pub error: Option<String>,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct SimulationMeta {
        pub chain: String,
        pub network: String,
        pub transaction_type: String,
        pub duration_ms: u64,
    }

    /// `POST /v1/transactions/simulate`: the policy decision and the chain's dry run.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct DryRunSimulationResult {
        pub success: bool,
        pub policy: SimulatedPolicy,
        pub fee: Option<SimulatedFee>,
        #[schema(value_type = Vec<Object>)]
        pub balance_changes: Vec<serde_json::Value>,
        pub warnings: Vec<SimulationWarning>,
        pub simulation: ChainSimulation,
        pub meta: SimulationMeta,
    }

    // --- GET /v1/wallet/balance ------------------------------------------------------

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct NetworkBalance {
        pub network: String,
        pub balance: Option<String>,
        pub decimals: Option<u8>,
        pub symbol: Option<String>,
        pub balance_formatted: Option<String>,
        /// Set instead of the balance when the network could not be read.
        pub error: Option<String>,
    }

    /// `network=all`: one entry per network of the wallet's environment.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct WalletBalancesResponse {
        pub wallet_id: String,
        #[schema(value_type = waiaas_core::network::Chain)]
        pub chain: String,
        #[schema(value_type = waiaas_core::network::Environment)]
        pub environment: String,
        pub balances: Vec<NetworkBalance>,
    }

    /// One network, or every network with `network=all`.
    #[derive(ToSchema)]
    #[serde(untagged)]
    pub enum BalanceResponse {
        One(waiaas_core::transactions::BalanceView),
        All(WalletBalancesResponse),
    }

    // --- GET /v1/connect-info ----------------------------------------------------------

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct ConnectSession {
        pub id: String,
        /// 0 = unlimited.
        pub expires_at: i64,
        /// `api` or `mcp`.
        pub source: String,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct ConnectWallet {
        pub id: String,
        pub name: String,
        #[schema(value_type = waiaas_core::network::Chain)]
        pub chain: String,
        #[schema(value_type = waiaas_core::network::Environment)]
        pub environment: String,
        pub address: String,
        #[schema(value_type = waiaas_core::store::WalletStatus)]
        pub status: String,
        /// `NONE`, `GRACE` or `LOCKED`.
        pub owner_state: String,
        pub available_networks: Vec<String>,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct ConnectPolicy {
        #[serde(rename = "type")]
        #[schema(value_type = waiaas_core::policy::PolicyType)]
        pub policy_type: String,
        #[schema(value_type = Object)]
        pub rules: serde_json::Value,
        pub priority: i64,
        pub network: Option<String>,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct DefaultDeny {
        pub token_transfers: bool,
        pub contract_calls: bool,
        pub token_approvals: bool,
        pub x402_domains: bool,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct ConnectDaemon {
        pub version: String,
        pub base_url: String,
    }

    /// What the session can see and do, and a prompt for the model.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct ConnectInfoResponse {
        pub session: ConnectSession,
        pub wallets: Vec<ConnectWallet>,
        /// Policies that apply, by wallet id.
        pub policies: std::collections::BTreeMap<String, Vec<ConnectPolicy>>,
        pub capabilities: Vec<String>,
        pub default_deny: DefaultDeny,
        pub daemon: ConnectDaemon,
        /// Always null here (no RPC proxy).
        #[schema(value_type = Option<Object>)]
        pub rpc_proxy: Option<serde_json::Value>,
        /// CAIP-2 ids.
        pub supported_chain_ids: Vec<String>,
        pub prompt: String,
    }

    // --- Audit log and webhooks --------------------------------------------------------

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct AuditLogEntry {
        pub id: i64,
        pub timestamp: i64,
        pub event_type: String,
        pub actor: String,
        pub wallet_id: Option<String>,
        pub session_id: Option<String>,
        pub tx_id: Option<String>,
        #[schema(value_type = Object)]
        pub details: serde_json::Value,
        /// `info`, `warning` or `critical`.
        pub severity: String,
        pub ip_address: Option<String>,
    }

    /// `GET /v1/audit-logs`: newest first, `nextCursor` = id to continue from.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct AuditLogResponse {
        pub data: Vec<AuditLogEntry>,
        pub next_cursor: Option<i64>,
        pub has_more: bool,
        /// With `include_total=true`.
        #[schema(required = false)]
        pub total: Option<i64>,
    }

    #[derive(ToSchema)]
    pub struct WebhookListResponse {
        pub data: Vec<waiaas_core::notify::webhook::WebhookView>,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct WebhookLogEntry {
        pub id: String,
        pub webhook_id: String,
        pub event_type: String,
        /// `success` or `failed`.
        pub status: String,
        pub http_status: Option<i64>,
        pub attempt: i64,
        pub error: Option<String>,
        /// Milliseconds.
        pub request_duration: Option<i64>,
        pub created_at: i64,
    }

    #[derive(ToSchema)]
    pub struct WebhookLogsResponse {
        pub data: Vec<WebhookLogEntry>,
    }
}

pub use doc_types::*;

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
