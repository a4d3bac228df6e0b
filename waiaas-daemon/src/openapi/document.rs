//! The document builder: its frame ([`base`]), the finishing pass over the merged routers
//! ([`finish`]) and the serialized document served at `GET /doc`.

use super::ErrorResponse;
use std::sync::OnceLock;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};

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
            ("Wallet Apps", "The owner's wallet app on a phone, reached through the push relay (approvals and alerts)"),
            ("x402", "Paying for HTTP resources (HTTP 402, x402 v2)"),
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
