//! The end-to-end suite: one test binary (one link of the whole stack instead of one per
//! file), one module per concern. Every test drives the real `waiaas` binary, real local
//! chains (anvil, solana-test-validator) and real sockets; see each module's docs.
//!
//! `cargo test -p waiaas-e2e --test e2e <module>::` runs one module.

mod admin_routes;
mod admin_ui;
mod auth_matrix;
mod cli;
mod client_modes;
mod client_owner;
mod crash_recovery;
mod defi_actions;
mod defi_contracts;
mod email_channel;
mod evm_send;
mod evm_sign;
mod fee_cap;
mod foundation;
mod gate_semantics;
mod gate_semantics_solana;
mod gate_valuation;
mod incoming;
mod keys_at_rest;
mod kill_switch;
mod mcp;
mod node_outage;
mod notify_channels;
mod openapi;
mod operability;
mod operator_lockout;
mod owner_control;
mod phone_approval;
mod policy_gate;
mod postgres_daemon;
mod rate_limits;
mod response_shapes;
mod rust_example;
mod signing_gate;
mod small_holes;
mod solana_send;
mod telegram_bot;
mod tls;
mod x402_evm;
mod x402_solana;
