//! Secrets in URLs never leave the process: RPC providers put API keys in the path
//! (`https://eth.example/v2/<key>`), the query (`?apikey=<key>`) or the user info, and
//! reqwest's error `Display` repeats the whole URL. Every error, simulation answer and log
//! line that names an outbound endpoint goes through [`url`] (one URL) or
//! [`http_error`] (a reqwest failure), which keep only the scheme, host and port.

/// `scheme://host[:port]` of `raw`; anything else (user info, path, query, fragment) is
/// dropped. A string that does not parse as a URL is not shown at all.
pub fn url(raw: &str) -> String {
    match reqwest::Url::parse(raw.trim()) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{}://{h}:{p}", u.scheme()),
            (Some(h), None) => format!("{}://{h}", u.scheme()),
            (None, _) => format!("{}://", u.scheme()),
        },
        Err(_) => "<unparsable URL>".into(),
    }
}

/// Every `scheme://...` URL inside free text replaced by [`url`] of it (for messages built
/// from text we do not control, such as an error's source chain).
pub fn urls_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        // The scheme: the letters (and + - .) right before "://".
        let head = &rest[..at];
        let scheme_len = head.chars().rev().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')).map(char::len_utf8).sum::<usize>();
        let start = at - scheme_len;
        let tail = &rest[at + 3..];
        let end = tail.find(|c: char| c.is_whitespace() || matches!(c, ')' | '(' | '"' | '\'' | '<' | '>' | ',' | '`')).unwrap_or(tail.len());
        out.push_str(&rest[..start]);
        if scheme_len == 0 {
            // Not a URL ("://" with no scheme): keep the separator, drop what follows it
            // up to the next delimiter rather than guess.
            out.push_str("://<redacted>");
        } else {
            out.push_str(&url(&rest[start..at + 3 + end]));
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// A reqwest failure as text without its URL: the error itself and its causes (connect
/// refused, timeout, TLS, ...), with any URL a cause mentions reduced to scheme and host.
pub fn http_error(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    urls_in(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_scheme_host_and_port_only() {
        assert_eq!(url("https://eth-mainnet.example.com/v2/SECRET-KEY-123"), "https://eth-mainnet.example.com");
        assert_eq!(url("http://127.0.0.1:8545/v2/SECRET-KEY-123"), "http://127.0.0.1:8545");
        assert_eq!(url("https://rpc.example/?apikey=QSECRET&x=1"), "https://rpc.example");
        assert_eq!(url("https://user:PASSWORD@rpc.example:8443/path#frag"), "https://rpc.example:8443");
        assert_eq!(url("http://[::1]:9/k/SECRET"), "http://[::1]:9");
        assert_eq!(url("not a url SECRET"), "<unparsable URL>");
    }

    #[test]
    fn urls_inside_text_are_redacted() {
        let t = "all RPC endpoints failed: error sending request for url (http://127.0.0.1:1/v2/SECRET-KEY-123?apikey=Q) and https://a.example/k/SECRET2, done";
        let r = urls_in(t);
        assert!(!r.contains("SECRET") && !r.contains("apikey"), "{r}");
        assert_eq!(r, "all RPC endpoints failed: error sending request for url (http://127.0.0.1:1) and https://a.example, done");
        assert_eq!(urls_in("no url here"), "no url here");
        assert_eq!(urls_in("odd ://SECRET x"), "odd ://<redacted> x");
        assert_eq!(urls_in("wss://h.example/SECRET"), "wss://h.example");
    }

    #[tokio::test]
    async fn reqwest_errors_lose_their_url_but_keep_the_cause() {
        // A closed port: bind, read the port, drop the listener.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let e = reqwest::Client::new().post(format!("http://127.0.0.1:{port}/v2/SECRET-KEY-123?apikey=QSECRET")).send().await.unwrap_err();
        assert!(e.to_string().contains("SECRET-KEY-123"), "reqwest's own Display shows the URL: {e}");
        let text = http_error(e);
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.to_lowercase().contains("connect"), "the cause is kept: {text}");
    }
}
