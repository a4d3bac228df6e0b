//! x402: paying for HTTP resources. [`protocol`]: the v2 wire format, the choice of what to pay,
//! the EIP-3009 authorization (EVM) and the Solana payment header; [`fetch`]: the outbound
//! request with its SSRF rules; [`pay`]: `POST /v1/x402/fetch`, the payment decided, signed
//! and recorded. The Solana transaction itself is built by the chain adapter
//! (`ChainAdapter::x402_transfer`).

pub mod fetch;
pub mod pay;
pub mod protocol;

pub use pay::{X402Fetch, X402Fetched, X402PaymentView};

#[cfg(test)]
mod tests;
