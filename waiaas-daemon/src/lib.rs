//! The `waiaas` binary's library: the REST face ([`api`]), the CLI ([`cli`]) and the MCP
//! server ([`mcp`]).
//! All are thin: every rule lives in `waiaas-core`.

pub mod api;
pub mod cli;
pub mod mcp;
pub mod openapi;
pub mod output;
