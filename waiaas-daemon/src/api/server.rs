//! The HTTP server loop: `axum::serve` without its one gap, the read timeouts. A client
//! that opens connections and trickles header bytes (slowloris) would hold each one open
//! for ever; here every connection has `daemon.header_read_timeout` to send its headers
//! (hyper closes it otherwise; an idle keep-alive connection waiting for its next request is
//! closed after the same time), and [`super::body_guard`] gives the body
//! `daemon.body_read_timeout`. On shutdown no new connection is accepted, open ones finish
//! their request in flight (idle keep-alive connections close at once), and whatever is
//! still open at the drain deadline the shutdown future returns is dropped.

use axum::extract::{ConnectInfo, Request};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceExt;
use waiaas_core::config::DaemonConfig;

/// Serve `app` on `listener` until `shutdown` completes, then drain until the instant it
/// returned.
pub async fn serve(listener: TcpListener, app: Router, config: &DaemonConfig, shutdown: impl Future<Output = tokio::time::Instant>) -> std::io::Result<()> {
    let header_timeout = Duration::from_secs(config.header_read_timeout);
    // Every connection task holds a clone of `open`; `closed` resolves when all are gone.
    let (open, mut closed) = tokio::sync::mpsc::channel::<()>(1);
    // Flips once, to true, when the server stops (every receiver is cloned before that).
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    let drain_until = loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and the like: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            until = &mut shutdown => break until,
        };
        let service = app.clone().map_request(move |mut req: Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            req
        });
        let (open, mut stopping) = (open.clone(), stopping.clone());
        tokio::spawn(async move {
            let mut builder = Builder::new(TokioExecutor::new());
            builder.http1().timer(TokioTimer::new()).header_read_timeout(header_timeout);
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service));
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(%peer, "connection closed: {e}");
                    }
                }
                _ = stopping.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(open);
        });
    };
    // From here new connections are refused (the listening socket is closed).
    drop(listener);
    let _ = stop.send(true);
    drop(open);
    if tokio::time::timeout_at(drain_until, closed.recv()).await.is_err() {
        tracing::warn!("connections still open at the drain deadline (daemon.shutdown_timeout); closing them");
    }
    Ok(())
}
