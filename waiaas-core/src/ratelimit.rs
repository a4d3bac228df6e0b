//! Request rate limits: sliding 60-second windows per key (client IP, session, sending
//! session). The client IP comes from the socket, and `X-Forwarded-For` is believed only
//! from configured trusted proxies; a session counts under its session id
//! ([`Engine::session_rate_key`]), never under the text of its header, so respelling the
//! header or presenting a renewed token does not open a fresh window.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One limiter: at most `per_minute` hits per key in any 60 s window.
pub struct RateLimiter {
    per_minute: u32,
    hits: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter { per_minute, hits: Mutex::new(HashMap::new()) }
    }

    /// Count a hit for `key`; `Err(seconds)` (Retry-After) when over the limit.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let window = Duration::from_secs(60);
        let mut map = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        let q = map.entry(key.to_string()).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
            q.pop_front();
        }
        if let Some(oldest) = q.front().filter(|_| q.len() >= self.per_minute as usize) {
            return Err((window - now.duration_since(*oldest)).as_secs().max(1));
        }
        q.push_back(now);
        Ok(())
    }
}

/// The client address: the socket peer, or, when the peer is a trusted proxy, the last
/// `X-Forwarded-For` entry the proxy appended (entries to its left are client-supplied).
pub fn client_ip(peer: std::net::IpAddr, forwarded_for: Option<&str>, trusted_proxies: &[String]) -> String {
    let peer_s = peer.to_string();
    if !trusted_proxies.contains(&peer_s) {
        return peer_s;
    }
    forwarded_for
        .and_then(|h| h.split(',').map(str::trim).rfind(|s| !s.is_empty()))
        .and_then(|s| s.parse::<std::net::IpAddr>().ok())
        .map(|ip| ip.to_string())
        .unwrap_or(peer_s)
}

impl crate::Engine {
    /// The key an `Authorization` header counts under in the per-session limits: the
    /// session id of a token this daemon signed, whatever the spelling of the header and
    /// for every token the session is issued. `None` when the header carries no such token
    /// (sessionAuth refuses the request; the per-IP limit still counts it). Cheap: one
    /// HMAC, no store access.
    pub fn session_rate_key(&self, authorization: &str) -> Option<String> {
        let token = crate::auth::bearer_token(authorization)?;
        let claims = self.jwt().ok()?.verify(token, crate::now()).ok()?;
        Some(claims.sub)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_limit_and_retry_after() {
        let l = RateLimiter::new(3);
        for _ in 0..3 {
            l.check("a").unwrap();
        }
        let retry = l.check("a").unwrap_err();
        assert!((1..=60).contains(&retry));
        l.check("b").unwrap();
        assert!(RateLimiter::new(0).check("x").is_ok());
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let peer: std::net::IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(client_ip(peer, Some("1.2.3.4"), &[]), "127.0.0.1");
        let trusted = vec!["127.0.0.1".to_string()];
        assert_eq!(client_ip(peer, Some("9.9.9.9, 1.2.3.4"), &trusted), "1.2.3.4");
        assert_eq!(client_ip(peer, Some("garbage"), &trusted), "127.0.0.1");
    }
}
