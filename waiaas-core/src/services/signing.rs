//! The state the engine keeps for sign requests to the owner's wallet app
//! ([`crate::signing_sdk`], which holds the behaviour): plain data, so the engine can hold it
//! without depending on that module.

/// An HTTP client for the push relay, the requests a worker is polling in this process, and
/// whether the feature's notification channels were registered
/// ([`crate::Engine::enable_sign_requests`]).
pub(crate) struct SigningState {
    pub(crate) http: reqwest::Client,
    pub(crate) polling: std::sync::Mutex<std::collections::HashSet<String>>,
    pub(crate) enabled: std::sync::atomic::AtomicBool,
}

impl Default for SigningState {
    fn default() -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap_or_default();
        SigningState { http, polling: Default::default(), enabled: Default::default() }
    }
}
