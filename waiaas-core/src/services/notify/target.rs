//! Where an outgoing webhook may go. A webhook URL is chosen by whoever holds the master
//! password, but it is also the daemon making requests from inside its own network: a URL
//! pointing at loopback, a private or link-local network, or a cloud metadata endpoint turns
//! the daemon into a proxy into places the operator never meant to expose (SSRF).
//!
//! [`classify`] names what an address is; [`check_url`] refuses a target at creation
//! (IP literal, well-known names, and the addresses the name resolves to now);
//! [`GuardedResolver`] repeats the check at delivery on the addresses the connection will
//! actually use, so a name that resolved to a public address at creation and to a private
//! one later (DNS rebinding) is refused too. Loopback, private and link-local targets are
//! allowed only with `security.webhook_allow_private = true` (e.g. a receiver on the same
//! host); metadata endpoints, unspecified, multicast and broadcast addresses never are.

use crate::error::{Error, Result};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why an address is not an ordinary public one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restricted {
    Loopback,
    /// RFC 1918, carrier-grade NAT (100.64/10), IPv6 unique local (fc00::/7).
    Private,
    /// 169.254/16, fe80::/10.
    LinkLocal,
    /// Cloud instance metadata (169.254.169.254, fd00:ec2::254, metadata.google.internal, ...).
    Metadata,
    /// 0.0.0.0/8, `::` (reach the local host on most systems).
    Unspecified,
    /// Multicast, broadcast, 240/4.
    Reserved,
}

impl Restricted {
    fn describe(self) -> &'static str {
        match self {
            Restricted::Loopback => "a loopback address",
            Restricted::Private => "a private network address",
            Restricted::LinkLocal => "a link-local address",
            Restricted::Metadata => "a cloud metadata endpoint",
            Restricted::Unspecified => "an unspecified address",
            Restricted::Reserved => "a multicast, broadcast or reserved address",
        }
    }

    /// Whether `security.webhook_allow_private` can allow it.
    fn allowable(self) -> bool {
        matches!(self, Restricted::Loopback | Restricted::Private | Restricted::LinkLocal)
    }
}

/// What `ip` is, or `None` for an ordinary (public) address.
pub fn classify(ip: IpAddr) -> Option<Restricted> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Restricted> {
    let o = ip.octets();
    // 169.254.169.254 (AWS, GCP, Azure, ...), 169.254.170.2 (ECS task metadata),
    // 100.100.100.200 (Alibaba Cloud).
    if ip == Ipv4Addr::new(169, 254, 169, 254) || ip == Ipv4Addr::new(169, 254, 170, 2) || ip == Ipv4Addr::new(100, 100, 100, 200) {
        return Some(Restricted::Metadata);
    }
    Some(match o {
        [0, ..] => Restricted::Unspecified,
        [127, ..] => Restricted::Loopback,
        [10, ..] | [192, 168, ..] => Restricted::Private,
        [172, b, ..] if (16..=31).contains(&b) => Restricted::Private,
        [100, b, ..] if (64..=127).contains(&b) => Restricted::Private,
        [169, 254, ..] => Restricted::LinkLocal,
        [a, ..] if a >= 224 => Restricted::Reserved,
        _ => return None,
    })
}

fn classify_v6(ip: Ipv6Addr) -> Option<Restricted> {
    if ip.is_loopback() {
        return Some(Restricted::Loopback);
    }
    if ip.is_unspecified() {
        return Some(Restricted::Unspecified);
    }
    // IPv4 carried in IPv6: mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d).
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let s = ip.segments();
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return classify_v4(Ipv4Addr::new(a, b, c, d));
    }
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        return Some(Restricted::Metadata);
    }
    match s[0] {
        x if x & 0xfe00 == 0xfc00 => Some(Restricted::Private),
        x if x & 0xffc0 == 0xfe80 => Some(Restricted::LinkLocal),
        x if x & 0xff00 == 0xff00 => Some(Restricted::Reserved),
        _ => None,
    }
}

/// Host names that are restricted whatever they resolve to.
fn classify_name(host: &str) -> Option<Restricted> {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    if h == "localhost" || h.ends_with(".localhost") {
        return Some(Restricted::Loopback);
    }
    if ["metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"].contains(&h.as_str()) {
        return Some(Restricted::Metadata);
    }
    None
}

fn refusal(host: &str, what: Restricted, allow_private: bool) -> Option<String> {
    if allow_private && what.allowable() {
        return None;
    }
    let hint = if what.allowable() { " (set security.webhook_allow_private = true to allow targets on your own network)" } else { "" };
    Some(format!("webhook target '{host}' is {}; refused{hint}", what.describe()))
}

/// Check an address the daemon is about to connect to.
pub fn check_ip(ip: IpAddr, allow_private: bool) -> std::result::Result<(), String> {
    match classify(ip).and_then(|what| refusal(&ip.to_string(), what, allow_private)) {
        Some(msg) => Err(msg),
        None => Ok(()),
    }
}

/// The checks that need no DNS: scheme, IP literal hosts and well-known names.
pub fn check_url_static(url: &reqwest::Url, allow_private: bool) -> std::result::Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err("webhook URL must be http(s)".into());
    }
    let what = match url.host() {
        None => return Err("webhook URL has no host".into()),
        Some(url::Host::Ipv4(v4)) => classify_v4(v4).map(|w| (v4.to_string(), w)),
        Some(url::Host::Ipv6(v6)) => classify_v6(v6).map(|w| (v6.to_string(), w)),
        Some(url::Host::Domain(d)) => classify_name(d).map(|w| (d.to_string(), w)),
    };
    match what.and_then(|(host, w)| refusal(&host, w, allow_private)) {
        Some(msg) => Err(msg),
        None => Ok(()),
    }
}

/// Every check of a webhook URL: [`check_url_static`], then every address its host
/// resolves to now. A name that does not resolve is accepted here (delivery checks again).
pub async fn check_url(raw: &str, allow_private: bool) -> Result<()> {
    let invalid = |m: String| Error::validation("url", m);
    let url = reqwest::Url::parse(raw).map_err(|e| invalid(format!("not a URL: {e}")))?;
    check_url_static(&url, allow_private).map_err(invalid)?;
    if let (Some(url::Host::Domain(d)), Some(port)) = (url.host(), url.port_or_known_default()) {
        if let Ok(addrs) = tokio::net::lookup_host((d, port)).await {
            for a in addrs {
                check_ip(a.ip(), allow_private).map_err(|m| invalid(format!("{m} (the name {d} resolves to {})", a.ip())))?;
            }
        }
    }
    Ok(())
}

/// The DNS resolver of the webhook client: resolves with the system resolver and refuses the
/// name when any address it returns is restricted, so the connection can only be made to
/// addresses that passed the check.
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            if let Some(msg) = classify_name(&host).and_then(|w| refusal(&host, w, allow_private)) {
                return Err(msg.into());
            }
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            for a in &addrs {
                check_ip(a.ip(), allow_private).map_err(|m| format!("{m} (the name {host} resolves to {})", a.ip()))?;
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// An HTTP client for targets an operator configured (webhooks, notification channels):
/// every address checked on connection ([`GuardedResolver`]), no redirects (a 3xx is an
/// answer, not a hop to an unchecked place), no proxy, `timeout` per request.
pub fn guarded_client(allow_private: bool, timeout: std::time::Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(std::sync::Arc::new(GuardedResolver { allow_private }))
        .build()
        .map_err(Error::internal_from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Option<Restricted> {
        classify(s.parse().unwrap())
    }

    #[test]
    fn classifies_every_restricted_range() {
        use Restricted::*;
        for (ip, want) in [
            ("127.0.0.1", Some(Loopback)),
            ("127.255.0.9", Some(Loopback)),
            ("::1", Some(Loopback)),
            ("10.1.2.3", Some(Private)),
            ("172.16.0.1", Some(Private)),
            ("172.31.255.255", Some(Private)),
            ("192.168.1.1", Some(Private)),
            ("100.64.0.1", Some(Private)),
            ("fc00::1", Some(Private)),
            ("fd12:3456::1", Some(Private)),
            ("169.254.1.1", Some(LinkLocal)),
            ("fe80::1", Some(LinkLocal)),
            ("febf::1", Some(LinkLocal)),
            ("169.254.169.254", Some(Metadata)),
            ("fd00:ec2::254", Some(Metadata)),
            ("0.0.0.0", Some(Unspecified)),
            ("::", Some(Unspecified)),
            ("224.0.0.1", Some(Reserved)),
            ("255.255.255.255", Some(Reserved)),
            ("ff02::1", Some(Reserved)),
            // IPv4 inside IPv6 is judged as the IPv4 address.
            ("::ffff:127.0.0.1", Some(Loopback)),
            ("::ffff:169.254.169.254", Some(Metadata)),
            ("64:ff9b::a00:1", Some(Private)),
            // Public, and the neighbours of the private ranges.
            ("8.8.8.8", None),
            ("172.15.255.255", None),
            ("172.32.0.1", None),
            ("100.63.255.255", None),
            ("100.128.0.1", None),
            ("11.0.0.1", None),
            ("2001:4860:4860::8888", None),
            ("fec0::1", None),
            ("::ffff:8.8.8.8", None),
        ] {
            assert_eq!(c(ip), want, "{ip}");
        }
    }

    #[test]
    fn allow_private_never_allows_metadata() {
        let u = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(check_url_static(&u("http://127.0.0.1:9/hook"), false).unwrap_err().contains("loopback"));
        assert!(check_url_static(&u("http://127.0.0.1:9/hook"), true).is_ok());
        assert!(check_url_static(&u("http://[::1]:9/"), false).is_err());
        assert!(check_url_static(&u("http://localhost:9/"), false).is_err());
        assert!(check_url_static(&u("http://192.168.0.10/"), false).unwrap_err().contains("webhook_allow_private"));
        for m in [
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00:ec2::254]/",
            "http://metadata.google.internal/computeMetadata/v1/",
            "http://METADATA.GOOGLE.INTERNAL./",
        ] {
            let e = check_url_static(&u(m), true).unwrap_err();
            assert!(e.contains("metadata") && !e.contains("webhook_allow_private"), "{m}: {e}");
        }
        assert!(check_url_static(&u("https://hooks.example.com/x"), false).is_ok());
        assert!(check_url_static(&u("http://8.8.8.8/"), false).is_ok());
    }

    #[tokio::test]
    async fn names_are_checked_on_what_they_resolve_to() {
        // "localhost" is refused by name; a name in /etc/hosts for loopback by address.
        assert!(check_url("http://localhost:1/", false).await.is_err());
        let r = GuardedResolver { allow_private: false };
        let e = reqwest::dns::Resolve::resolve(&r, "localhost".parse().unwrap()).await.err().unwrap();
        assert!(e.to_string().contains("loopback"), "{e}");
        let ok = reqwest::dns::Resolve::resolve(&GuardedResolver { allow_private: true }, "localhost".parse().unwrap()).await;
        assert!(ok.is_ok());
        // A name that is not special but resolves to a restricted address (this machine's
        // host name: loopback from /etc/hosts here, a private address in a container) is
        // refused on the address, which is what stops DNS rebinding at delivery.
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string();
        let addrs: Vec<IpAddr> = tokio::net::lookup_host((host.as_str(), 0)).await.map(|a| a.map(|a| a.ip()).collect()).unwrap_or_default();
        if !addrs.is_empty() && addrs.iter().all(|a| classify(*a).is_some_and(Restricted::allowable)) {
            assert!(classify_name(&host).is_none(), "{host} is checked by address, not by name");
            let e = reqwest::dns::Resolve::resolve(&r, host.parse().unwrap()).await.err().expect("refused");
            assert!(e.to_string().contains(&format!("the name {host} resolves to")), "{e}");
            assert!(check_url(&format!("http://{host}:9/hook"), false).await.is_err());
            assert!(reqwest::dns::Resolve::resolve(&GuardedResolver { allow_private: true }, host.parse().unwrap()).await.is_ok());
        }
    }
}
