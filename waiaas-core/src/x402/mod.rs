//! x402: paying for HTTP resources. [`protocol`]: the v2 wire format, the choice of what to pay
//! and the EIP-3009 authorization; [`fetch`]: the outbound request with its SSRF rules;
//! [`pay`]: `POST /v1/x402/fetch`, the payment decided, signed and recorded.

pub mod fetch;
pub mod pay;
pub mod protocol;

pub use pay::{X402Fetch, X402Fetched, X402PaymentView};

#[cfg(test)]
mod tests;
