//! The three auths: master (admin), session (agent) and, later, owner.

pub mod master;
pub mod token;

pub use master::MasterAuth;
pub use token::{token_hash, JwtSecrets};
