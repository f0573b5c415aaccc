//! The request a plugin call serves, for traces: `http::request_id` sets
//! it for the task that handles each request; every plugin call made from
//! that task (its route, the hooks and filters it fires) runs in a span
//! `plugin_call{plugin, call, request_id}`, and a plugin's own log lines,
//! written on the call's thread inside that span, carry both.

use std::sync::Arc;

use super::CallPoint;

tokio::task_local! {
    static REQUEST_ID: Arc<str>;
}

/// Runs `f` with `id` as the current request id.
pub async fn with_request_id<F: std::future::Future>(id: Arc<str>, f: F) -> F::Output {
    REQUEST_ID.scope(id, f).await
}

/// The request id of the task calling, if it serves a request.
pub fn request_id() -> Option<Arc<str>> {
    REQUEST_ID.try_with(Arc::clone).ok()
}

/// The span of one call into a plugin.
pub(super) fn span(point: &CallPoint, request_id: Option<&str>) -> tracing::Span {
    tracing::info_span!(
        "plugin_call",
        plugin = %point.slug(),
        call = %point.label(),
        request_id = %request_id.unwrap_or("-"),
    )
}
