//! The HTTP API: shared state, and the router that merges each resource's `routes()` behind
//! the edge every request passes through first (`edge.rs`: request ids, tenant selection,
//! CORS), then `observe.rs` (metrics by route). Handlers parse (with `extract.rs`, and
//! `client.rs` for the client's address) and answer (with `conditional.rs` and `error.rs`);
//! each calls one `Service` operation.

mod accept;
mod admin;
mod avatars;
mod client;
mod conditional;
mod edge;
mod error;
mod extract;
mod gravatar;
mod health;
mod media;
mod observe;
pub mod openapi;
pub mod serve;
mod time;
mod ui;
mod upload;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;

pub use edge::Edge;
pub use error::ApiError;

use crate::service::Service;
use crate::tenant::reload::LiveTenants;

/// What every handler can reach. Routing clones it for every request, so it is one `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] shares.
pub struct Shared {
    pub service: Service,
    pub tenants: Arc<LiveTenants>,
    /// The token that opens the admin routes on the public listener, if any.
    pub admin_token: Option<String>,
    /// Peers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How long an upload's body may take to arrive.
    pub body_read_timeout: Duration,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The whole API, for the public listener.
pub fn app(state: AppState) -> Edge {
    edge::wrap(routes(state.clone()).with_state(state.clone()), state)
}

/// The admin surface alone, for the admin listener.
pub fn admin_app(state: AppState) -> Router {
    admin::routes()
        .fallback(not_found)
        .layer(observe::ObserveLayer)
        .with_state(state)
}

/// The routes, for a request whose tenant is already chosen.
fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .merge(health::routes())
        .merge(openapi::routes())
        .merge(admin::guarded(state))
        .merge(media::routes())
        .merge(gravatar::routes())
        .merge(ui::routes())
        .merge(avatars::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(observe::ObserveLayer)
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "no such endpoint; see GET /",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "this method is not allowed here; see GET /",
    )
}
