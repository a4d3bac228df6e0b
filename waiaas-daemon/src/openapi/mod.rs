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
//!    documented. Do not use `.route(..)`: the completeness test (`tests/tests/e2e/openapi.rs`)
//!    compares [`crate::api::served_routes`] (read from the axum router itself) with the
//!    document and fails on any route that is served but not documented, or the reverse.

mod document;
mod reference;
mod route_list;
mod schemas;

pub use document::{base, document_json, finish};
pub use reference::{routes, SCALAR_SHA256, SCALAR_VERSION};
pub use route_list::routes_of;
pub use schemas::*;
