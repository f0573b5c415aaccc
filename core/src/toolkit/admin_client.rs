//! A client of a Plugboard server's admin API (bearer token, JSON in and
//! out), for the tools that drive a host from beside it: `plugboard dev`
//! and the test host.

use std::time::Duration;

use serde_json::Value;

/// Why an admin call gave no JSON answer.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The server answered with an error status.
    #[error("{method} {path}: {status} {body}")]
    Api {
        /// The method.
        method: String,
        /// The path.
        path: String,
        /// The HTTP status.
        status: u16,
        /// The answer (`{"error": {"code", "message"}}`), boxed: errors
        /// stay small.
        body: Box<Value>,
    },
    /// No answer.
    #[error("{0}")]
    Transport(String),
}

/// The admin API of the server at a base URL, with its token.
pub struct AdminClient {
    base: String,
    token: String,
    agent: ureq::Agent,
}

impl AdminClient {
    /// A client of the server at `base` (`http://host:port`).
    pub fn new(base: &str, token: &str) -> AdminClient {
        AdminClient {
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(600)))
                .build()
                .into(),
        }
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// One call: the JSON answer (a body that is not JSON comes as a
    /// string), or the server's error.
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, AdminError> {
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/json")
            .body(body.map(|b| b.to_string()).unwrap_or_default())
            .map_err(|e| AdminError::Transport(e.to_string()))?;
        let response = self
            .agent
            .run(request)
            .map_err(|e| AdminError::Transport(format!("{method} {path}: {e}")))?;
        let status = response.status().as_u16();
        let text = response.into_body().read_to_string().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if (200..300).contains(&status) {
            Ok(body)
        } else {
            Err(AdminError::Api {
                method: method.into(),
                path: path.into(),
                status,
                body: Box::new(body),
            })
        }
    }
}
