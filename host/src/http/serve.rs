//! Serving the API (a tower service: the public edge or the admin router) on a TCP
//! listener, HTTP/1.1, under the `connections` limits: at most `max` connections at once
//! (more wait in the listen queue), a deadline for each request's head that also closes
//! keep-alive connections left idle, and a bound on the head's size (`431` beyond it). Stops
//! accepting when `stopped` resolves, then lets the open connections finish what they
//! started; the caller bounds that with the shutdown grace (dropping this future closes them
//! all). Every request carries its connection's peer address (axum's `ConnectInfo`), for
//! the rate limits.
//!
//! `axum::serve` offers none of these limits, which is why the accept loop is written here.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tower::{Service, ServiceExt};

use crate::config::ConnectionsConfig;

/// Serves `app` on `listener` until `stopped` resolves and the open connections are done.
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    limits: &ConnectionsConfig,
    stopped: impl Future<Output = ()>,
) where
    S: Service<Request<Incoming>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let slots = Arc::new(Semaphore::new(limits.max));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let header_timeout = Duration::from_millis(limits.header_read_timeout_ms);
    tokio::pin!(stopped);
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut stopped => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // wait a little rather than spin.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stopped => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request)
        });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .max_buf_size(limits.max_header_bytes)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        connections.spawn(async move {
            // A client that goes away or breaks the protocol ends only its connection.
            let _ = connection.await;
            drop(permit);
        });
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    graceful.shutdown().await;
    while connections.join_next().await.is_some() {}
}
