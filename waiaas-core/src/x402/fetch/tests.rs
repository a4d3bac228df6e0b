use super::*;
use axum::extract::Request as AxumRequest;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response as AxumResponse};
use axum::routing::any;
use axum::Router;

/// A resource server on 127.0.0.1 that answers by path: `/ok`, `/echo-headers`,
/// `/redirect?to=<url>`, `/loop`, `/big`.
async fn server() -> String {
    async fn handle(req: AxumRequest) -> AxumResponse {
        let path = req.uri().path().to_string();
        let query = req.uri().query().unwrap_or_default().to_string();
        match path.as_str() {
            "/ok" => (StatusCode::OK, [("x-kind", "ok")], format!("{} ok", req.method())).into_response(),
            "/echo-headers" => {
                let auth = req.headers().get("x-api-key").and_then(|v| v.to_str().ok()).unwrap_or("none").to_string();
                (StatusCode::OK, auth).into_response()
            }
            "/redirect" => {
                let to = query.strip_prefix("to=").unwrap_or("/ok").replace("%3A", ":").replace("%2F", "/");
                (StatusCode::FOUND, [("location", to)]).into_response()
            }
            "/see-other" => (StatusCode::SEE_OTHER, [("location", "/ok")]).into_response(),
            "/loop" => (StatusCode::FOUND, [("location", "/loop")]).into_response(),
            "/big" => (StatusCode::OK, "x".repeat(5000)).into_response(),
            _ => StatusCode::NOT_FOUND.into_response(),
        }
    }
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, Router::new().fallback(any(handle))).await.unwrap() });
    format!("http://{addr}")
}

fn get(url: &str) -> Request {
    Request { method: Method::GET, url: url.into(), headers: vec![], body: None }
}

fn any_host(_: &str) -> Result<()> {
    Ok(())
}

fn test_outbound() -> Outbound {
    Outbound { insecure_hosts: vec!["127.0.0.1".into()], max_body: 1000, ..Default::default() }
}

#[tokio::test]
async fn an_allowed_insecure_test_host_is_fetched_over_a_real_socket() {
    let base = server().await;
    let r = test_outbound().fetch(&get(&format!("{base}/ok")), &any_host).await.unwrap();
    assert_eq!((r.status, r.body.as_slice(), r.header("X-Kind")), (200, &b"GET ok"[..], Some("ok")));
    let post = Request { method: Method::POST, url: format!("{base}/ok"), headers: vec![], body: Some("{}".into()) };
    assert_eq!(test_outbound().fetch(&post, &any_host).await.unwrap().body, b"POST ok");
}

#[tokio::test]
async fn plain_http_loopback_credentials_and_private_names_are_refused() {
    let base = server().await;
    let strict = Outbound::default();
    for url in [
        format!("{base}/ok"),                    // http, and loopback
        "https://127.0.0.1/ok".to_string(),      // loopback literal
        "https://169.254.169.254/latest".into(), // cloud metadata
        "https://[::1]/ok".into(),
        "https://10.1.2.3/ok".into(),
        "https://localhost/ok".into(), // a name that resolves to loopback
        "ftp://example.com/file".into(),
    ] {
        let e = strict.fetch(&get(&url), &any_host).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::X402_SSRF_BLOCKED, "{url}: {}", e.message);
    }
    let e = test_outbound().fetch(&get(&base.replace("http://", "http://user:pw@")), &any_host).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::X402_SSRF_BLOCKED);
    assert!(e.message.contains("credentials"), "{}", e.message);
}

#[tokio::test]
async fn every_redirect_hop_is_checked_again() {
    let base = server().await;
    let o = test_outbound();
    // Followed when the next hop passes: 303 turns into a GET.
    let post = Request { method: Method::POST, url: format!("{base}/see-other"), headers: vec![], body: Some("x".into()) };
    assert_eq!(o.fetch(&post, &any_host).await.unwrap().body, b"GET ok");
    // The host check is asked again at the redirect target.
    let target = base.replace("127.0.0.1", "localhost");
    let only_ip = |h: &str| if h == "127.0.0.1" { Ok(()) } else { Err(Error::new(ErrorCode::X402_DOMAIN_NOT_ALLOWED, format!("{h} not allowed"))) };
    let e = o.fetch(&get(&format!("{base}/redirect?to={target}/ok")), &only_ip).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::X402_DOMAIN_NOT_ALLOWED, "{}", e.message);
    // And the address rules: localhost is not in the insecure list.
    let e = o.fetch(&get(&format!("{base}/redirect?to={target}/ok")), &any_host).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::X402_SSRF_BLOCKED, "{}", e.message);
    let e = o.fetch(&get(&format!("{base}/loop")), &any_host).await.unwrap_err();
    assert!(e.message.contains("more than 3 redirects"), "{}", e.message);
}

#[tokio::test]
async fn headers_stay_with_their_origin_and_bodies_are_capped() {
    let base = server().await;
    let o = Outbound { insecure_hosts: vec!["127.0.0.1".into(), "localhost".into()], ..test_outbound() };
    let with_key = |url: String| Request { method: Method::GET, url, headers: vec![("x-api-key".into(), "secret".into())], body: None };
    assert_eq!(o.fetch(&with_key(format!("{base}/echo-headers")), &any_host).await.unwrap().body, b"secret");
    let other_origin = base.replace("127.0.0.1", "localhost");
    let r = o.fetch(&with_key(format!("{base}/redirect?to={other_origin}/echo-headers")), &any_host).await.unwrap();
    assert_eq!(r.body, b"none", "the caller's headers do not follow a redirect to another origin");
    let e = o.fetch(&get(&format!("{base}/big")), &any_host).await.unwrap_err();
    assert!(e.message.contains("larger than 1000 bytes"), "{}", e.message);
}
