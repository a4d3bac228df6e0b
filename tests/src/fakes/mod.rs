//! Local stand-ins for third-party SaaS that speak its real wire protocol (the only fakes the
//! suite allows): the Telegram Bot API ([`telegram`]) and the Discord and Slack incoming
//! webhooks ([`webhooks`]), the 0x Swap API ([`zerox`]).

pub mod telegram;
pub mod webhooks;
pub mod zerox;

/// Serve `app` on a free port of 127.0.0.1 for the rest of the test's runtime; its base URL.
pub async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}
