//! Email (not upstream): every notification as one plain-text mail over SMTP, for operators
//! who would rather read alerts in a mailbox than in a chat app.
//!
//! Settings (`[notifications]`, read at start):
//! - `smtp_host` (with `smtp_to`, turns the channel on), `smtp_port` (default 587, or 465
//!   with `smtp_security = "tls"`);
//! - `smtp_security`: `starttls` (default; the upgrade is required, never skipped when the
//!   server does not offer it), `tls` (implicit TLS, "SMTPS") or `none` (plain text: only
//!   for a loopback `smtp_host`, e.g. a local relay; a password never crosses a network in
//!   clear);
//! - `smtp_username` and `smtp_password` (both or neither; AUTH PLAIN or LOGIN, only ever
//!   over TLS unless the host is loopback; the password is never logged nor put in an error);
//! - `smtp_from` (required) and `smtp_to` (comma-separated), each `addr@example.com` or
//!   `Name <addr@example.com>`;
//! - an extra CA to trust besides the system's roots (`SSL_CERT_FILE` / `SSL_CERT_DIR` when
//!   set, like every outbound TLS client here), for a mail server with a private CA:
//!   `smtp_ca_file` (a path, in `config.toml`) or `smtp_ca` (the PEM itself, which is what
//!   the environment's `WAIAAS_NOTIFICATIONS_SMTP_CA_FILE=/path` sets, see [`crate::config`]).
//!
//! The host is checked like webhook targets ([`crate::services::notify::target`]): a
//! loopback, private or link-local host only with `security.webhook_allow_private`, a
//! metadata endpoint never; at every attempt on the addresses the name resolves to, and the
//! connection goes to an address that passed (TLS still verifies the certificate against
//! the name).
//!
//! The mail: `Subject: [WAIaaS] <title>`, the body, a blank line, the fields as
//! `Label: value` lines and the event's time; `Message-ID: <DELIVERY@INSTALLATION.waiaas>`
//! (the delivery id with `:` as `.`, the same for every attempt at an event, so a redelivery
//! after a crash reads as the same mail; the installation's id keeps two installations'
//! mails apart), `X-WAIaaS-Event` and `X-WAIaaS-Delivery`.
//!
//! Outcomes: network, connection and TLS errors, timeouts (10 s per step) and transient
//! (4xx) replies are retried; permanent (5xx) replies, and client-side refusals (the server
//! offers no STARTTLS or no usable AUTH mechanism, a host the guard refuses) are not.

use super::{setting, Attempt, Channel, Message};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::services::notify::target;
use async_trait::async_trait;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::net::IpAddr;
use std::time::{Duration, UNIX_EPOCH};
use zeroize::Zeroizing;

/// Connect, TLS handshake and every SMTP command each.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// A whole attempt (resolution, every address tried, the mail handed over).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);
const EVENT_HEADER: HeaderName = HeaderName::new_from_ascii_str("X-WAIaaS-Event");
const DELIVERY_HEADER: HeaderName = HeaderName::new_from_ascii_str("X-WAIaaS-Delivery");

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain connection upgraded with STARTTLS before anything else is said (required).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS: loopback hosts only.
    None,
}

/// The email channel: where and how to send, checked once at start.
pub struct EmailChannel {
    host: String,
    port: u16,
    security: Security,
    username: String,
    password: Zeroizing<String>,
    from: Mailbox,
    to: Vec<Mailbox>,
    /// The verification settings (roots, server name); `None` with [`Security::None`].
    tls: Option<TlsParameters>,
    allow_private: bool,
}

impl std::fmt::Debug for EmailChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailChannel")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &if self.password.is_empty() { "" } else { "<set>" })
            .field("from", &self.from.to_string())
            .field("to", &self.to.iter().map(Mailbox::to_string).collect::<Vec<_>>())
            .finish()
    }
}

fn invalid(key: &str, message: impl Into<String>) -> Error {
    Error::validation(&format!("notifications.{key}"), message)
}

/// `addr@example.com` or `Name <addr@example.com>`, and nothing after it (lettre's parser
/// stops at the end of a mailbox and ignores the rest).
fn mailbox(key: &str, raw: &str) -> Result<Mailbox> {
    let raw = raw.trim();
    let bad = || invalid(key, format!("'{raw}' is not a mailbox (addr@example.com or Name <addr@example.com>)"));
    let m: Mailbox = raw.parse().map_err(|_| bad())?;
    let whole = if raw.contains('<') { raw.ends_with('>') } else { raw == m.email.to_string() };
    if !whole {
        return Err(bad());
    }
    Ok(m)
}

/// Whether the host names the local machine itself (a literal loopback address or `localhost`).
fn is_loopback_host(host: &str) -> bool {
    match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => {
            let h = host.trim_end_matches('.').to_ascii_lowercase();
            h == "localhost" || h.ends_with(".localhost")
        }
    }
}

/// The SSRF guard's message, about an SMTP host rather than a webhook.
fn guard_message(msg: String) -> String {
    msg.replacen("webhook target", "SMTP host", 1)
}

impl EmailChannel {
    /// The channel from `[notifications] smtp_*`: `None` without `smtp_host`, a validation
    /// error naming the setting when one is wrong.
    pub fn from_config(config: &Config) -> Result<Option<EmailChannel>> {
        let n = |k: &str| setting(config, "notifications", k);
        let host = n("smtp_host");
        if host.is_empty() {
            return Ok(None);
        }
        let ip = host.parse::<IpAddr>().ok();
        if ip.is_none() && (host.contains([':', '/', '@', '?', '#', '[', ']']) || host.chars().any(char::is_whitespace)) {
            return Err(invalid("smtp_host", "must be a host name or an IP address (the port is smtp_port)"));
        }
        let security = match n("smtp_security").to_ascii_lowercase().as_str() {
            "" | "starttls" => Security::StartTls,
            "tls" => Security::Tls,
            "none" => Security::None,
            _ => return Err(invalid("smtp_security", "must be starttls, tls or none")),
        };
        let port = match n("smtp_port").as_str() {
            "" if security == Security::Tls => 465,
            "" => 587,
            raw => raw.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| invalid("smtp_port", "must be a port number (1-65535)"))?,
        };
        let allow_private = config.security.webhook_allow_private;
        let as_url = match ip {
            Some(IpAddr::V6(v6)) => format!("https://[{v6}]/"),
            _ => format!("https://{host}/"),
        };
        let url = reqwest::Url::parse(&as_url).map_err(|_| invalid("smtp_host", "must be a host name or an IP address"))?;
        target::check_url_static(&url, allow_private).map_err(|m| invalid("smtp_host", guard_message(m)))?;
        if security == Security::None && !is_loopback_host(&host) {
            return Err(invalid(
                "smtp_security",
                "none (no TLS) is allowed only for a loopback smtp_host (127.0.0.1, ::1, localhost): mail and password would cross the network in clear; use starttls or tls",
            ));
        }
        let username = n("smtp_username");
        let password = Zeroizing::new(n("smtp_password"));
        if username.is_empty() != password.is_empty() {
            let missing = if username.is_empty() { "smtp_username" } else { "smtp_password" };
            return Err(invalid(missing, "smtp_username and smtp_password are set together or not at all"));
        }
        let from = n("smtp_from");
        if from.is_empty() {
            return Err(invalid("smtp_from", "is required with smtp_host (the sender, e.g. WAIaaS <alerts@example.com>)"));
        }
        let from = mailbox("smtp_from", &from)?;
        let to = n("smtp_to").split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| mailbox("smtp_to", s)).collect::<Result<Vec<_>>>()?;
        if to.is_empty() {
            return Err(invalid("smtp_to", "is required with smtp_host (one or more comma-separated addresses)"));
        }
        let tls = match security {
            Security::None => None,
            Security::StartTls | Security::Tls => Some(tls_parameters(&host, extra_ca(&n("smtp_ca"), &n("smtp_ca_file"))?.as_deref())?),
        };
        Ok(Some(EmailChannel { host, port, security, username, password, from, to, tls, allow_private }))
    }

    /// The mail for `m`.
    pub fn render(&self, m: &Message) -> std::result::Result<lettre::Message, String> {
        let mut b = lettre::Message::builder()
            .from(self.from.clone())
            .subject(subject(m))
            .message_id(Some(message_id(m)))
            .date(UNIX_EPOCH + Duration::from_secs(m.timestamp.max(0) as u64))
            .raw_header(HeaderValue::new(EVENT_HEADER, header_text(&m.event)))
            .raw_header(HeaderValue::new(DELIVERY_HEADER, header_text(&m.delivery_id)))
            .header(ContentType::TEXT_PLAIN);
        for to in &self.to {
            b = b.to(to.clone());
        }
        b.body(text(m)).map_err(|e| e.to_string())
    }

    /// A transport to `ip` (the host's address that passed the guard) for one attempt.
    fn transport(&self, ip: IpAddr) -> AsyncSmtpTransport<Tokio1Executor> {
        let tls = match (&self.tls, self.security) {
            (Some(p), Security::StartTls) => Tls::Required(p.clone()),
            (Some(p), Security::Tls) => Tls::Wrapper(p.clone()),
            _ => Tls::None,
        };
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(ip.to_string()).port(self.port).tls(tls).timeout(Some(STEP_TIMEOUT));
        if !self.username.is_empty() {
            b = b.credentials(Credentials::new(self.username.clone(), self.password.to_string()));
        }
        b.build()
    }

    /// `text` without the password (a server could echo what it was sent).
    fn scrub(&self, text: String) -> String {
        if self.password.len() >= 3 && text.contains(self.password.as_str()) {
            text.replace(self.password.as_str(), "<redacted>")
        } else {
            text
        }
    }

    async fn attempt(&self, m: &Message) -> Attempt {
        let mail = match self.render(m) {
            Ok(mail) => mail,
            Err(e) => return Attempt::Refused(format!("the mail could not be built: {e}")),
        };
        let server = format!("{}:{}", self.host, self.port);
        let ips: Vec<IpAddr> = match tokio::time::timeout(STEP_TIMEOUT, tokio::net::lookup_host((self.host.as_str(), self.port))).await {
            Ok(Ok(addrs)) => {
                let mut ips: Vec<IpAddr> = vec![];
                for a in addrs {
                    if !ips.contains(&a.ip()) {
                        ips.push(a.ip());
                    }
                }
                ips
            }
            Ok(Err(e)) => return Attempt::Retry { error: format!("smtp {server}: cannot resolve the host: {e}"), after: None },
            Err(_) => return Attempt::Retry { error: format!("smtp {server}: resolving the host timed out"), after: None },
        };
        if ips.is_empty() {
            return Attempt::Retry { error: format!("smtp {server}: the host resolves to no address"), after: None };
        }
        for ip in &ips {
            if let Err(msg) = target::check_ip(*ip, self.allow_private) {
                return Attempt::Refused(format!("{} (the name {} resolves to {ip})", guard_message(msg), self.host));
            }
            if self.security == Security::None && !ip.is_loopback() {
                return Attempt::Refused(format!("smtp {server}: resolves to {ip}, not a loopback address, and smtp_security is none"));
            }
        }
        let mut last = None;
        for ip in ips {
            match self.transport(ip).send(mail.clone()).await {
                Ok(_) => return Attempt::Sent,
                Err(e) => {
                    // A connection or network error (no SMTP reply, no TLS or client-side
                    // refusal): the host's next address may answer. (Should the connection
                    // have broken after the data went out, the mail may arrive twice, with the
                    // same Message-ID, as after any retry.)
                    let unreachable = e.status().is_none() && !e.is_tls() && !e.is_client() && !e.is_response();
                    last = Some(e);
                    if !unreachable {
                        break;
                    }
                }
            }
        }
        match last {
            Some(e) => self.outcome(&server, &e),
            None => Attempt::Retry { error: format!("smtp {server}: not sent"), after: None },
        }
    }

    /// 4xx, network, connection and TLS errors → retry; 5xx and client-side refusals → refused.
    fn outcome(&self, server: &str, e: &lettre::transport::smtp::Error) -> Attempt {
        let error = self.scrub(format!("smtp {server}: {e}"));
        if e.is_permanent() || e.is_client() {
            Attempt::Refused(error)
        } else {
            Attempt::Retry { error, after: None }
        }
    }
}

/// The extra CA's PEM: `smtp_ca` (the PEM itself) or the file `smtp_ca_file` names.
fn extra_ca(pem: &str, file: &str) -> Result<Option<Vec<u8>>> {
    match (pem.is_empty(), file.is_empty()) {
        (true, true) => Ok(None),
        (false, false) => Err(invalid("smtp_ca", "set smtp_ca (the PEM) or smtp_ca_file (its path), not both")),
        (false, true) => Ok(Some(pem.as_bytes().to_vec())),
        (true, false) => std::fs::read(file).map(Some).map_err(|e| invalid("smtp_ca_file", format!("cannot read {file}: {e}"))),
    }
}

/// TLS verification for `host`: the system's roots plus `ca`.
fn tls_parameters(host: &str, ca: Option<&[u8]>) -> Result<TlsParameters> {
    let mut b = TlsParameters::builder(host.to_string());
    if let Some(pem) = ca {
        let key = "smtp_ca_file";
        if !String::from_utf8_lossy(pem).contains("-----BEGIN CERTIFICATE-----") {
            return Err(invalid(key, "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"));
        }
        let cert = Certificate::from_pem(pem).map_err(|e| invalid(key, format!("not a PEM certificate: {e}")))?;
        b = b.add_root_certificate(cert);
    }
    b.build_rustls().map_err(|e| invalid("smtp_ca_file", format!("TLS settings: {e}")))
}

/// `[WAIaaS] <title>`.
pub fn subject(m: &Message) -> String {
    format!("[WAIaaS] {}", m.title)
}

/// `<DELIVERY@ORIGIN.waiaas>`: the delivery id and the installation's id, each with `:` (and
/// anything else a Message-ID cannot hold) as `.`. Stable for an event (a redelivery is
/// recognisable), distinct across installations (a mail server that drops repeated ids
/// never drops another installation's alert).
pub fn message_id(m: &Message) -> String {
    let clean =
        |s: &str| s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '.' }).collect::<String>().trim_matches('.').to_string();
    format!("<{}@{}.waiaas>", clean(&m.delivery_id), clean(&m.origin))
}

/// A header value as printable ASCII on one line.
fn header_text(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' }).collect()
}

/// The body, a blank line, `Label: value` per field, and the event's time.
pub fn text(m: &Message) -> String {
    let mut s = m.body.trim_end().to_string();
    s.push_str("\n\n");
    for (label, value) in &m.fields {
        s.push_str(&format!("{label}: {value}\n"));
    }
    s.push_str(&format!("Time: {}\n", crate::clock::iso_ms(m.timestamp * 1000)));
    s
}

#[async_trait]
impl Channel for EmailChannel {
    fn kind(&self) -> &'static str {
        "email"
    }

    async fn send(&self, m: &Message) -> Attempt {
        match tokio::time::timeout(ATTEMPT_TIMEOUT, self.attempt(m)).await {
            Ok(a) => a,
            Err(_) => Attempt::Retry { error: format!("smtp {}:{}: timed out after {} s", self.host, self.port, ATTEMPT_TIMEOUT.as_secs()), after: None },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    /// A self-signed CA certificate (public; its key was thrown away), for the extra-CA setting.
    const CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBkTCCATegAwIBAgIUabk2wIJx3lBeidCwbqnyCwK2hs4wCgYIKoZIzj0EAwIw
HjEcMBoGA1UEAwwTV0FJYWFTIHVuaXQgdGVzdCBDQTAeFw0yNjEyMDcwMzU0Mjda
Fw0zNjEyMDQwMzU0MjdaMB4xHDAaBgNVBAMME1dBSWFhUyB1bml0IHRlc3QgQ0Ew
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATUnsKAp0YNCGH1qIDdinDFXGrPiRU4
0bMsZEUn0u30MIt5OKc6YS7v874NEJwkdsVmG0Www57TyflkNg9gQSj4o1MwUTAd
BgNVHQ4EFgQUylrvCUNdx4+PrqjCQ2+Nnyg3cSYwHwYDVR0jBBgwFoAUylrvCUNd
x4+PrqjCQ2+Nnyg3cSYwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBF
AiBKQx+06tSrBr5RcnybAKuUh0d9KZVtIIRxMsLe+Yr+tQIhANShibaFkMrIX2Sz
Fv5KX/7STeOFtiaRscLHRmHu5YdW
-----END CERTIFICATE-----
";
    const PASSWORD: &str = "hunter2-smtp-secret";

    /// `[notifications]` from `keys` (TOML values), `security.webhook_allow_private` as given.
    fn config(keys: &[(&str, &str)], allow_private: bool) -> Config {
        let mut toml = format!("[security]\nwebhook_allow_private = {allow_private}\n[notifications]\n");
        for (k, v) in keys {
            toml.push_str(&format!("{k} = {v}\n"));
        }
        Config::from_toml(&toml, &[]).unwrap().config
    }

    fn base<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut keys = vec![("smtp_host", "\"smtp.example.com\""), ("smtp_from", "\"WAIaaS <alerts@example.com>\""), ("smtp_to", "\"ops@example.com\"")];
        for (k, v) in extra {
            keys.retain(|(key, _)| key != k);
            keys.push((k, v));
        }
        keys
    }

    fn channel(extra: &[(&str, &str)], allow_private: bool) -> Result<Option<EmailChannel>> {
        EmailChannel::from_config(&config(&base(extra), allow_private))
    }

    /// The field and message of a validation error.
    fn refused(extra: &[(&str, &str)], allow_private: bool) -> (String, String) {
        let e = channel(extra, allow_private).unwrap_err();
        let issue = &e.details.as_ref().unwrap()["issues"][0];
        (issue["path"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect::<Vec<_>>().join("."), issue["message"].as_str().unwrap().to_string())
    }

    /// The channels' test message, as the email channel's delivery.
    fn message() -> Message {
        Message {
            delivery_id: "email:7".into(),
            wallet_id: Some("w1".into()),
            fields: vec![("Wallet".into(), "ops-wallet".into()), ("Network".into(), "ethereum-sepolia".into())],
            ..crate::channels::tests::message()
        }
    }

    #[test]
    fn settings_default_to_starttls_on_587_and_implicit_tls_on_465() {
        assert!(EmailChannel::from_config(&config(&[], false)).unwrap().is_none(), "no smtp_host, no channel");
        let c = channel(&[], false).unwrap().unwrap();
        assert_eq!((c.host.as_str(), c.port, c.security), ("smtp.example.com", 587, Security::StartTls));
        assert!(c.tls.is_some() && c.username.is_empty());
        let c = channel(&[("smtp_security", "\"tls\"")], false).unwrap().unwrap();
        assert_eq!((c.port, c.security), (465, Security::Tls));
        let c = channel(&[("smtp_security", "\"STARTTLS\""), ("smtp_port", "2525")], false).unwrap().unwrap();
        assert_eq!((c.port, c.security), (2525, Security::StartTls));
        // A port given as text (the environment's form) reads the same.
        assert_eq!(channel(&[("smtp_port", "\"2526\"")], false).unwrap().unwrap().port, 2526);
        for bad in ["0", "70000", "\"abc\""] {
            assert_eq!(refused(&[("smtp_port", bad)], false).0, "notifications.smtp_port", "{bad}");
        }
        assert_eq!(refused(&[("smtp_security", "\"ssl\"")], false), ("notifications.smtp_security".into(), "must be starttls, tls or none".into()));
        for bad in ["\"smtp.example.com:587\"", "\"smtp://smtp.example.com\"", "\"user@smtp.example.com\"", "\"smtp example.com\""] {
            assert_eq!(refused(&[("smtp_host", bad)], false).0, "notifications.smtp_host", "{bad}");
        }
    }

    #[test]
    fn plain_smtp_is_refused_unless_the_host_is_loopback() {
        let (field, msg) = refused(&[("smtp_security", "\"none\"")], false);
        assert_eq!(field, "notifications.smtp_security");
        assert!(msg.contains("loopback") && msg.contains("in clear"), "{msg}");
        let (field, _) = refused(&[("smtp_security", "\"none\""), ("smtp_host", "\"10.1.2.3\"")], true);
        assert_eq!(field, "notifications.smtp_security", "a private address is not loopback");
        for host in ["\"127.0.0.1\"", "\"::1\"", "\"localhost\""] {
            let c = channel(&[("smtp_security", "\"none\""), ("smtp_host", host)], true).unwrap().unwrap();
            assert_eq!((c.security, c.tls.is_none()), (Security::None, true), "{host}");
        }
    }

    #[test]
    fn loopback_and_private_hosts_need_allow_private_and_metadata_is_never_allowed() {
        for host in ["\"127.0.0.1\"", "\"localhost\"", "\"10.0.0.5\"", "\"192.168.1.20\"", "\"fd00::1\""] {
            let (field, msg) = refused(&[("smtp_host", host)], false);
            assert_eq!(field, "notifications.smtp_host", "{host}");
            assert!(msg.starts_with("SMTP host") && msg.contains("security.webhook_allow_private"), "{msg}");
            assert!(channel(&[("smtp_host", host)], true).unwrap().is_some(), "{host} with allow_private");
        }
        for host in ["\"169.254.169.254\"", "\"metadata.google.internal\"", "\"0.0.0.0\""] {
            assert_eq!(refused(&[("smtp_host", host)], true).0, "notifications.smtp_host", "{host}");
        }
    }

    #[test]
    fn credentials_go_together_and_the_password_is_a_masked_secret() {
        assert_eq!(refused(&[("smtp_username", "\"alerts\"")], false).0, "notifications.smtp_password");
        assert_eq!(refused(&[("smtp_password", "\"x-secret\"")], false).0, "notifications.smtp_username");
        let e = channel(&[("smtp_password", "\"x-secret\"")], false).unwrap_err();
        assert!(!format!("{e:?}").contains("x-secret"), "the error does not carry the password");
        let c = channel(&[("smtp_username", "\"alerts\""), ("smtp_password", "\"hunter2-smtp-secret\"")], false).unwrap().unwrap();
        let shown = format!("{c:?}");
        assert!(shown.contains("alerts") && shown.contains("<set>") && !shown.contains(PASSWORD), "{shown}");
        assert!(crate::config::is_secret("smtp_password"), "GET /v1/admin/settings masks it");
        assert_eq!(c.scrub(format!("535 bad credentials for alerts/{PASSWORD}")), "535 bad credentials for alerts/<redacted>");
    }

    #[test]
    fn sender_and_recipients_are_mailboxes() {
        assert_eq!(refused(&[("smtp_from", "\"\"")], false).0, "notifications.smtp_from");
        for bad in ["\"not an address\"", "\"alerts@example.com trailing\"", "\"WAIaaS <alerts@example.com\"", "\"@example.com\""] {
            assert_eq!(refused(&[("smtp_from", bad)], false).0, "notifications.smtp_from", "{bad}");
        }
        let c = channel(&[("smtp_from", "\"alerts@example.com\""), ("smtp_to", "\"a@example.com, Ops Team <b@example.org>,\"")], false).unwrap().unwrap();
        assert_eq!(c.from.to_string(), "alerts@example.com");
        assert_eq!(c.to.iter().map(|m| m.email.to_string()).collect::<Vec<_>>(), ["a@example.com", "b@example.org"]);
        let (field, msg) = refused(&[("smtp_to", "\"a@example.com, nope\"")], false);
        assert_eq!(field, "notifications.smtp_to");
        assert!(msg.contains("'nope'"), "{msg}");
        assert_eq!(refused(&[("smtp_to", "\" , \"")], false).0, "notifications.smtp_to");
    }

    #[test]
    fn an_extra_ca_is_read_from_a_file_or_given_as_pem() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ca.pem");
        std::fs::write(&file, CA_PEM).unwrap();
        let path = format!("{:?}", file.to_str().unwrap());
        assert!(channel(&[("smtp_ca_file", path.as_str())], false).unwrap().is_some());
        let pem = format!("{CA_PEM:?}");
        assert!(channel(&[("smtp_ca", pem.as_str())], false).unwrap().is_some());
        assert_eq!(refused(&[("smtp_ca", pem.as_str()), ("smtp_ca_file", path.as_str())], false).0, "notifications.smtp_ca");
        assert_eq!(refused(&[("smtp_ca_file", "\"/nonexistent/ca.pem\"")], false).0, "notifications.smtp_ca_file");
        std::fs::write(&file, "not a certificate").unwrap();
        assert_eq!(refused(&[("smtp_ca_file", path.as_str())], false).0, "notifications.smtp_ca_file");
        std::fs::write(&file, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").unwrap();
        assert_eq!(refused(&[("smtp_ca_file", path.as_str())], false).0, "notifications.smtp_ca_file");
    }

    #[test]
    fn the_mail_has_the_subject_ids_body_fields_and_time() {
        let c = channel(&[("smtp_to", "\"a@example.com, b@example.org\"")], false).unwrap().unwrap();
        let m = message();
        assert_eq!(subject(&m), "[WAIaaS] Transaction Delayed");
        assert_eq!(message_id(&m), "<email.7@0194f1c2-0000-7000-8000-000000000001.waiaas>");
        assert_eq!(
            message_id(&Message { delivery_id: "email:test-0194f1c2-aaaa".into(), ..message() }),
            "<email.test-0194f1c2-aaaa@0194f1c2-0000-7000-8000-000000000001.waiaas>"
        );
        assert_ne!(message_id(&m), message_id(&Message { origin: "another-installation".into(), ..message() }), "two installations never share an id");
        assert_eq!(text(&m), "TRANSFER of 0.5 ETH to 0xabc.\nDelay: 60s\n\nWallet: ops-wallet\nNetwork: ethereum-sepolia\nTime: 2023-11-14T22:13:20.000Z\n");
        let raw = String::from_utf8(c.render(&m).unwrap().formatted()).unwrap().replace("\r\n", "\n");
        let (head, body) = raw.split_once("\n\n").unwrap();
        let headers: Vec<&str> = head.lines().collect();
        for h in [
            "From: WAIaaS <alerts@example.com>",
            "To: a@example.com, b@example.org",
            "Subject: [WAIaaS] Transaction Delayed",
            "Message-ID: <email.7@0194f1c2-0000-7000-8000-000000000001.waiaas>",
            "X-WAIaaS-Event: TX_QUEUED",
            "X-WAIaaS-Delivery: email:7",
            "Date: Tue, 14 Nov 2023 22:13:20 +0000",
            "Content-Type: text/plain; charset=utf-8",
        ] {
            assert!(headers.contains(&h), "{h} in\n{head}");
        }
        assert_eq!(body, text(&m));
        // Header injection through a title is not possible: the subject stays one header.
        let evil = Message { title: "hi\r\nBcc: thief@evil.example".into(), ..message() };
        let raw = String::from_utf8(c.render(&evil).unwrap().formatted()).unwrap();
        assert!(!raw.contains("\r\nBcc:"), "{raw}");
    }

    /// A scripted SMTP server on 127.0.0.1 (no TLS): `reply(command)` answers each command
    /// line; DATA is read to its end and answered `250`. Returns the port and the lines it got.
    async fn scripted_server(reply: fn(&str) -> String) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (r, mut w) = tcp.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 scripted ESMTP\r\n").await.unwrap();
                let mut in_data = false;
                while let Ok(Some(line)) = lines.next_line().await {
                    log.lock().unwrap().push(line.clone());
                    let answer = if in_data {
                        if line != "." {
                            continue;
                        }
                        in_data = false;
                        "250 queued".to_string()
                    } else if line.starts_with("DATA") {
                        in_data = true;
                        "354 go on".to_string()
                    } else {
                        reply(&line)
                    };
                    w.write_all(format!("{answer}\r\n").as_bytes()).await.unwrap();
                    if line.starts_with("QUIT") {
                        break;
                    }
                }
            }
        });
        (port, seen)
    }

    fn loopback_channel(port: u16, with_auth: bool) -> EmailChannel {
        let port = port.to_string();
        let mut keys = vec![("smtp_host", "\"127.0.0.1\"".to_string()), ("smtp_security", "\"none\"".into()), ("smtp_port", port)];
        keys.extend([("smtp_from", "\"alerts@example.com\"".into()), ("smtp_to", "\"ops@example.com\"".into())]);
        if with_auth {
            keys.extend([("smtp_username", "\"alerts\"".into()), ("smtp_password", format!("\"{PASSWORD}\""))]);
        }
        let keys: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (*k, v.as_str())).collect();
        EmailChannel::from_config(&config(&keys, true)).unwrap().unwrap()
    }

    fn ehlo_or(line: &str, other: &str) -> String {
        if line.starts_with("EHLO") {
            "250-scripted\r\n250 AUTH PLAIN LOGIN".into()
        } else if line.starts_with("QUIT") {
            "221 bye".into()
        } else {
            other.into()
        }
    }

    #[tokio::test]
    async fn a_mail_accepted_by_the_server_is_sent_with_its_headers() {
        let (port, seen) = scripted_server(|l| ehlo_or(l, "250 ok")).await;
        assert_eq!(loopback_channel(port, false).send(&message()).await, Attempt::Sent);
        let seen = seen.lock().unwrap().clone();
        assert!(seen.contains(&"MAIL FROM:<alerts@example.com>".to_string()), "{seen:?}");
        assert!(seen.contains(&"RCPT TO:<ops@example.com>".to_string()), "{seen:?}");
        for h in [
            "Subject: [WAIaaS] Transaction Delayed",
            "Message-ID: <email.7@0194f1c2-0000-7000-8000-000000000001.waiaas>",
            "X-WAIaaS-Delivery: email:7",
            "Wallet: ops-wallet",
        ] {
            assert!(seen.iter().any(|l| l == h), "{h} in {seen:?}");
        }
    }

    #[tokio::test]
    async fn transient_replies_are_retried_and_permanent_ones_refused() {
        let (port, _) = scripted_server(|l| ehlo_or(l, if l.starts_with("MAIL") { "451 4.3.0 try again later" } else { "250 ok" })).await;
        match loopback_channel(port, false).send(&message()).await {
            Attempt::Retry { error, after: None } => assert!(error.contains("451") && error.contains("try again later"), "{error}"),
            other => panic!("{other:?}"),
        }
        let (port, _) = scripted_server(|l| ehlo_or(l, if l.starts_with("RCPT") { "550 5.1.1 no such user" } else { "250 ok" })).await;
        match loopback_channel(port, false).send(&message()).await {
            Attempt::Refused(error) => assert!(error.contains("550") && error.contains("no such user"), "{error}"),
            other => panic!("{other:?}"),
        }
        // Nobody listening: a network error, retried.
        let free = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
        match loopback_channel(free, false).send(&message()).await {
            Attempt::Retry { error, .. } => assert!(error.contains(&format!("127.0.0.1:{free}")), "{error}"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_rejected_login_is_refused_without_the_password_even_when_the_server_echoes_it() {
        // The server answers AUTH with what it decoded: username and password.
        let (port, seen) = scripted_server(|l| match l.strip_prefix("AUTH PLAIN ") {
            Some(b64) => {
                let decoded = base64::engine::general_purpose::STANDARD.decode(b64.trim()).unwrap_or_default();
                format!("535 5.7.8 bad credentials {}", String::from_utf8_lossy(&decoded).replace('\0', "/"))
            }
            None => ehlo_or(l, "250 ok"),
        })
        .await;
        match loopback_channel(port, true).send(&message()).await {
            Attempt::Refused(error) => {
                assert!(error.contains("535") && error.contains("bad credentials"), "{error}");
                assert!(!error.contains(PASSWORD), "{error}");
            }
            other => panic!("{other:?}"),
        }
        assert!(seen.lock().unwrap().iter().any(|l| l.starts_with("AUTH PLAIN ")), "the login was tried");
    }

    #[tokio::test]
    async fn starttls_is_required_not_skipped_when_the_server_does_not_offer_it() {
        // A server that offers no STARTTLS: the channel does not fall back to plain text.
        let (port, seen) = scripted_server(|l| ehlo_or(l, "250 ok")).await;
        let port = port.to_string();
        let keys = base(&[("smtp_host", "\"127.0.0.1\""), ("smtp_port", port.as_str())]);
        let c = EmailChannel::from_config(&config(&keys, true)).unwrap().unwrap();
        match c.send(&message()).await {
            Attempt::Refused(error) => assert!(error.contains("STARTTLS"), "{error}"),
            other => panic!("{other:?}"),
        }
        assert!(!seen.lock().unwrap().iter().any(|l| l.starts_with("MAIL")), "nothing sent in clear");
    }
}
