//! The outbound HTTP request of an x402 fetch, made safe for a daemon that holds keys: the
//! agent names the URL, so the URL must not become a way into the daemon's own network.
//!
//! Every hop (the first request and each redirect, at most [`Outbound::max_redirects`]):
//! - the caller's check of the host (the X402_ALLOWED_DOMAINS policy) passes;
//! - `https` only, unless the host is in `x402.allow_insecure_hosts` (a test-only escape
//!   hatch: then `http` and loopback/private addresses are allowed for that host);
//! - no userinfo (`https://user:pass@host`);
//! - the host's addresses are resolved here and each is classified
//!   ([`crate::services::notify::target::classify`]): loopback, private, link-local, metadata,
//!   unspecified and reserved addresses are refused (`X402_SSRF_BLOCKED`), and the connection
//!   is **pinned** to the addresses checked (no second lookup a rebinding DNS could answer);
//! - the caller's headers go only to the origin they were meant for (not across a redirect to
//!   another origin); 303, and 301/302 of a non-GET, continue as GET without a body.
//!
//! The body is read up to [`Outbound::max_body`] bytes and the whole exchange is bounded by
//! [`Outbound::timeout`].

use crate::error::{Error, ErrorCode, Result};
use crate::services::notify::target::classify;
use reqwest::{Method, Url};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Limits and exceptions of outbound x402 requests.
#[derive(Debug, Clone)]
pub struct Outbound {
    /// Hosts reachable over plain http and on private addresses (tests only).
    pub insecure_hosts: Vec<String>,
    pub timeout: Duration,
    pub max_body: usize,
    pub max_redirects: usize,
}

impl Default for Outbound {
    fn default() -> Self {
        Outbound { insecure_hosts: vec![], timeout: Duration::from_secs(30), max_body: 10 * 1024 * 1024, max_redirects: 3 }
    }
}

/// A request as the agent asked for it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// What the server answered (after redirects).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The URL that answered.
    pub url: String,
    /// The method that reached it (a 303, or a 301/302 of a non-GET, turned the request into a
    /// GET without its body).
    pub method: Method,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

fn blocked(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::X402_SSRF_BLOCKED, msg)
}

/// The URL's host, lower case, without an IPv6 literal's brackets.
pub(crate) fn host_of(url: &Url) -> Result<String> {
    let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| blocked("the URL has no host"))?.to_ascii_lowercase();
    Ok(host.trim_start_matches('[').trim_end_matches(']').to_string())
}

impl Outbound {
    fn insecure(&self, host: &str) -> bool {
        self.insecure_hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    /// The URL's scheme, userinfo and host, checked; returns the host.
    pub fn check_url(&self, url: &Url) -> Result<String> {
        let host = host_of(url)?;
        match url.scheme() {
            "https" => {}
            "http" if self.insecure(&host) => {}
            s => return Err(blocked(format!("only https URLs are fetched (got {s}://)"))),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(blocked("URLs with credentials (user:password@) are refused"));
        }
        Ok(host)
    }

    /// The addresses `host` resolves to, each checked (all of them: a name with one private
    /// address among public ones is refused).
    async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>> {
        let addrs: Vec<SocketAddr> = match host.parse::<std::net::IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| Error::new(ErrorCode::X402_SERVER_ERROR, format!("cannot resolve {host}: {e}")))?
                .collect(),
        };
        if addrs.is_empty() {
            return Err(Error::new(ErrorCode::X402_SERVER_ERROR, format!("{host} has no address")));
        }
        if !self.insecure(host) {
            for a in &addrs {
                if let Some(r) = classify(a.ip()) {
                    return Err(blocked(format!("{host} resolves to {} ({r:?}): refused", a.ip())));
                }
            }
        }
        Ok(addrs)
    }

    /// Send `req`, following redirects under the rules of the module doc; `allow_host` is
    /// asked about every host before anything is sent to it.
    pub async fn fetch(&self, req: &Request, allow_host: &(dyn Fn(&str) -> Result<()> + Send + Sync)) -> Result<Response> {
        let started = Instant::now();
        let first = Url::parse(&req.url).map_err(|e| Error::validation("url", format!("not a URL: {e}")))?;
        let (mut url, mut method, mut body) = (first.clone(), req.method.clone(), req.body.clone());
        for hop in 0..=self.max_redirects {
            // The policy's answer first: it names what the operator would change.
            allow_host(&host_of(&url)?)?;
            let host = self.check_url(&url)?;
            let port = url.port_or_known_default().unwrap_or(443);
            let addrs = self.resolve(&host, port).await?;
            let left = self.timeout.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Err(Error::new(ErrorCode::X402_SERVER_ERROR, "the resource did not answer in time"));
            }
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .resolve_to_addrs(&host, &addrs)
                .timeout(left)
                .build()
                .map_err(Error::internal_from)?;
            let mut rb = client.request(method.clone(), url.clone());
            if url.origin() == first.origin() {
                for (k, v) in &req.headers {
                    rb = rb.header(k, v);
                }
            }
            if let Some(b) = &body {
                rb = rb.body(b.clone());
            }
            let mut resp = rb.send().await.map_err(|e| {
                let why =
                    if e.is_timeout() { format!("no answer within {} s (x402.request_timeout)", self.timeout.as_secs()) } else { e.without_url().to_string() };
                Error::new(ErrorCode::X402_SERVER_ERROR, format!("the resource is unreachable: {why}"))
            })?;
            let status = resp.status();
            if status.is_redirection() {
                let Some(loc) = resp.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()) else {
                    return Err(Error::new(ErrorCode::X402_SERVER_ERROR, format!("redirect {} without a Location", status.as_u16())));
                };
                if hop == self.max_redirects {
                    return Err(Error::new(ErrorCode::X402_SERVER_ERROR, format!("more than {} redirects", self.max_redirects)));
                }
                url = url.join(loc).map_err(|e| Error::new(ErrorCode::X402_SERVER_ERROR, format!("bad redirect target: {e}")))?;
                if status.as_u16() == 303 || (matches!(status.as_u16(), 301 | 302) && method != Method::GET) {
                    (method, body) = (Method::GET, None);
                }
                continue;
            }
            let headers = resp.headers().iter().filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_ascii_lowercase(), v.to_string()))).collect();
            let mut out = Vec::new();
            while let Some(chunk) =
                resp.chunk().await.map_err(|e| Error::new(ErrorCode::X402_SERVER_ERROR, format!("reading the answer: {}", e.without_url())))?
            {
                if out.len() + chunk.len() > self.max_body {
                    return Err(Error::new(ErrorCode::X402_SERVER_ERROR, format!("the answer is larger than {} bytes", self.max_body)));
                }
                out.extend_from_slice(&chunk);
            }
            return Ok(Response { status: status.as_u16(), headers, body: out, url: url.to_string(), method });
        }
        Err(Error::new(ErrorCode::X402_SERVER_ERROR, format!("more than {} redirects", self.max_redirects)))
    }
}

#[cfg(test)]
mod tests;
