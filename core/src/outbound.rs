//! Outbound HTTP made by the host for a plugin (`ctx.http()`), within the
//! hosts its manifest declares under `capabilities.network`.
//!
//! Redirects are not followed (a 3xx is returned to the plugin), so a
//! declared host cannot bounce a request to an undeclared one. Timeouts are
//! capped at [`MAX_TIMEOUT`], response bodies at [`MAX_BODY`].

use std::time::Duration;

use plugboard_plugin_api::{OutboundRequest, OutboundResponse};
use ureq::http;

/// The longest a plugin may wait for one request.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(30);
/// The timeout when the plugin gives none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest response body read.
pub const MAX_BODY: u64 = 1 << 20;

/// Why a request was not made or failed.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// The URL is not an absolute `http(s)` URL with a host.
    #[error("bad URL {url:?}: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The method or a header is not acceptable.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Connecting, sending or reading failed.
    #[error("{method} {url}: {reason}")]
    Transport {
        /// The method.
        method: String,
        /// The URL.
        url: String,
        /// The cause.
        reason: String,
    },
}

/// The host of an absolute `http`/`https` URL.
///
/// ```
/// use plugboard_core::outbound::host_of;
/// assert_eq!(host_of("http://127.0.0.1:8080/x").unwrap(), "127.0.0.1");
/// assert_eq!(host_of("https://Hooks.Example.com/in").unwrap(), "hooks.example.com");
/// assert!(host_of("file:///etc/passwd").is_err());
/// assert!(host_of("/relative").is_err());
/// ```
pub fn host_of(url: &str) -> Result<String, OutboundError> {
    let bad = |reason: &str| OutboundError::BadUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(bad("only http:// and https:// URLs are allowed"));
    }
    let uri: http::Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| bad(&e.to_string()))?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        _ => return Err(bad("only http:// and https:// URLs are allowed")),
    }
    let host = uri.host().ok_or_else(|| bad("no host"))?;
    Ok(host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase())
}

/// A blocking HTTP client shared by all plugins.
pub struct Client {
    agent: ureq::Agent,
}

impl Default for Client {
    fn default() -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(DEFAULT_TIMEOUT))
            .user_agent(concat!("plugboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Self { agent }
    }
}

impl Client {
    /// Sends `req` (whose host the caller has already checked).
    pub fn send(&self, req: &OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        let method = http::Method::from_bytes(req.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| OutboundError::BadRequest(format!("method {:?}", req.method)))?;
        if !matches!(
            method,
            http::Method::GET
                | http::Method::POST
                | http::Method::PUT
                | http::Method::PATCH
                | http::Method::DELETE
                | http::Method::HEAD
        ) {
            return Err(OutboundError::BadRequest(format!(
                "method {method} is not allowed"
            )));
        }
        let mut builder = http::Request::builder()
            .method(method.clone())
            .uri(&req.url);
        for (name, value) in &req.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let request = builder
            .body(req.body.clone())
            .map_err(|e| OutboundError::BadRequest(e.to_string()))?;
        // Never past the plugin call's own deadline.
        let timeout = crate::exec::bounded(
            req.timeout_ms
                .map(|ms| Duration::from_millis(ms.into()).min(MAX_TIMEOUT))
                .unwrap_or(DEFAULT_TIMEOUT),
        )
        .max(Duration::from_millis(1));
        let request = self
            .agent
            .configure_request(request)
            .timeout_global(Some(timeout))
            .build();
        let transport = |reason: String| OutboundError::Transport {
            method: method.to_string(),
            url: req.url.clone(),
            reason,
        };
        let mut response = self
            .agent
            .run(request)
            .map_err(|e| transport(e.to_string()))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_string()
            .map_err(|e| transport(format!("reading the body: {e}")))?;
        Ok(OutboundResponse {
            status,
            headers,
            body,
        })
    }
}
