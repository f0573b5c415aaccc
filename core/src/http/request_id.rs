//! Request ids: each request gets one (the client's `X-Request-Id` when it
//! is a sane token, else a new one), echoed in the response's
//! `X-Request-Id`, and current for the task that handles the request, so
//! that every plugin call it makes is traced with it
//! ([`crate::exec::request_id`]).

use std::sync::Arc;

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
};

const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Whether a client's id is kept: 1–64 characters of `[A-Za-z0-9._-]`.
fn acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A new id: this process's random 64-bit prefix and a counter (unique
/// per process, cheap: no system call per request, unlike a random UUID).
fn fresh() -> Arc<str> {
    use std::sync::{
        atomic::{AtomicU64, Ordering},
        OnceLock,
    };
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    format!("{prefix:016x}-{:x}", NEXT.fetch_add(1, Ordering::Relaxed)).into()
}

/// The middleware (`App::wrap(from_fn(request_id::assign))`).
pub async fn assign(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id: Arc<str> = match req.headers().get(&HEADER).and_then(|v| v.to_str().ok()) {
        Some(id) if acceptable(id) => id.into(),
        _ => fresh(),
    };
    let mut res = crate::exec::with_request_id(Arc::clone(&id), next.call(req)).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HEADER, value);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_sane_ids_are_kept() {
        assert!(super::acceptable("4bf92f3577b34da6-a3ce929d0e0e4736"));
        assert!(!super::acceptable(""));
        assert!(!super::acceptable("a b"));
        assert!(!super::acceptable("x\r\nSet-Cookie: y"));
        assert!(!super::acceptable(&"a".repeat(65)));
    }
}
