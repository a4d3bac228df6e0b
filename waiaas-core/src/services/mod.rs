//! The engine's services. Each owns one part of the engine's behaviour and holds only what it
//! needs: the store sub-trait of its rows ([`crate::store`]), the configuration, the clock and
//! the handles of the services it calls. A service knows nothing of [`crate::Engine`], the
//! facade that holds them all and delegates its public operations to them.
//!
//! Today: [`audit`] (the audit log), [`autostop`] (the AutoStop rules), [`backup`] (encrypted
//! backups and their listing, restore and inspection), [`chains`] (the
//! chain adapter of each network), [`killswitch`] (the kill switch and its cascade), [`master`]
//! (masterAuth and the master password change),
//! [`notify`] (notification channels, webhooks, audit log queries), [`owners`] (owner
//! registration and the proofs of owner actions), [`policies`] (policy administration and
//! the policy gate), [`sessions`] (and sessionAuth), [`settings`] (runtime settings),
//! [`signer`] (the one keystore gate, with the keystore inside it), [`tokens`] (the token
//! registry) and [`wallets`]. The rest of the engine (the transaction pipeline and queries,
//! synchronous signing, owner approvals, the admin status views) is still written
//! as `impl Engine` blocks in its own module and moves here one service at a time.

pub mod audit;
pub mod autostop;
pub mod backup;
pub mod chains;
pub mod killswitch;
pub mod master;
pub mod notify;
pub mod owners;
pub mod policies;
pub mod sessions;
pub mod settings;
pub mod signer;
pub mod signing;
pub mod tokens;
pub mod wallets;
