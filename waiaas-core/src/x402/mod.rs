//! x402: paying for HTTP resources (issue "x402"). Built so far: the v2 wire format, the
//! choice of what to pay and the EIP-3009 authorization ([`protocol`]); the outbound request with
//! its SSRF rules ([`fetch`]). Not yet: the fetch route, the policy decision and reservation
//! of the payment, the Solana signer, recording.

pub mod fetch;
pub mod protocol;
