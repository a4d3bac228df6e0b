//! The three auths: master (operator), session (agent) and owner (signed messages).

pub mod master;
pub mod owner;
pub mod token;

pub use master::MasterAuth;
pub use token::{token_hash, JwtSecrets};
