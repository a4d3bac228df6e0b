//! The `waiaas` binary's library: the REST face ([`api`]) and the CLI ([`cli`]).
//! Both are thin: every rule lives in `waiaas-core`.

pub mod api;
pub mod cli;
