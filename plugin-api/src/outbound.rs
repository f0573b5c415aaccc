//! Outbound HTTP (since plugin-api 1.3): the host makes the request for the
//! plugin, so a dynamic plugin needs no HTTP client or async runtime of its
//! own, and the host can enforce the plugin's declared `network` capability.

use serde::{Deserialize, Serialize};

use crate::{
    context::{into_result, unsupported, Context},
    error::PluginError,
};

/// An HTTP request a plugin asks the host to make.
///
/// ```
/// use plugboard_plugin_api::OutboundRequest;
/// let req = OutboundRequest::post_json("http://127.0.0.1:9000/hook", &serde_json::json!({"a": 1}))
///     .unwrap()
///     .header("x-signature", "abc")
///     .timeout_ms(2_000);
/// assert_eq!(req.method, "POST");
/// assert_eq!(req.body, r#"{"a":1}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundRequest {
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: String,
    /// An `http://` or `https://` URL whose host the plugin declared.
    pub url: String,
    /// Extra headers.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The body (UTF-8 text; empty for none).
    #[serde(default)]
    pub body: String,
    /// Give up after this long (the host caps it; default 10 s).
    #[serde(default)]
    pub timeout_ms: Option<u32>,
}

impl OutboundRequest {
    /// A request with no body.
    pub fn new(method: &str, url: &str) -> Self {
        Self {
            method: method.to_string(),
            url: url.to_string(),
            headers: Vec::new(),
            body: String::new(),
            timeout_ms: None,
        }
    }
    /// A `POST` of `value` as JSON (`content-type: application/json`).
    pub fn post_json<T: Serialize + ?Sized>(url: &str, value: &T) -> Result<Self, PluginError> {
        let body = serde_json::to_string(value)
            .map_err(|e| PluginError::failed(format!("cannot encode the body: {e}")))?;
        let mut req = Self::new("POST", url).header("content-type", "application/json");
        req.body = body;
        Ok(req)
    }
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
    /// Sets the timeout.
    pub fn timeout_ms(mut self, ms: u32) -> Self {
        self.timeout_ms = Some(ms);
        self
    }
}

/// The answer to an [`OutboundRequest`]: any status, including 4xx and 5xx.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundResponse {
    /// The HTTP status.
    pub status: u16,
    /// Response headers (names in lower case).
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The body as text (the host caps its size).
    #[serde(default)]
    pub body: String,
}

impl OutboundResponse {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Outbound HTTP for the calling plugin; see [`Context::http`].
///
/// The plugin's manifest must declare the target host under
/// `capabilities.network`; other hosts are refused. A connection failure or
/// timeout is an `Err`; an HTTP error status is an `Ok` response.
///
/// ```no_run
/// use plugboard_plugin_api::prelude::*;
///
/// fn notify(ctx: &Context) -> PluginResult<bool> {
///     let res = ctx.http().post_json("https://hooks.example.com/in", &serde_json::json!({"hello": 1}))?;
///     Ok(res.is_success())
/// }
/// ```
pub struct Http<'a> {
    pub(crate) ctx: &'a Context<'a>,
}

impl Http<'_> {
    /// Sends `request` and waits for the answer.
    pub fn send(&self, request: &OutboundRequest) -> Result<OutboundResponse, PluginError> {
        let f = self
            .ctx
            .vtable
            .http_send()
            .ok_or_else(|| unsupported("outbound http", "1.3.0"))?;
        let text = serde_json::to_string(request)
            .map_err(|e| PluginError::failed(format!("cannot encode the request: {e}")))?;
        let out: String = into_result(f(self.ctx.handle.data, text.as_str().into()))?.into();
        serde_json::from_str(&out)
            .map_err(|e| PluginError::failed(format!("bad answer from the host: {e}")))
    }
    /// `POST`s `value` as JSON to `url`.
    pub fn post_json<T: Serialize + ?Sized>(
        &self,
        url: &str,
        value: &T,
    ) -> Result<OutboundResponse, PluginError> {
        self.send(&OutboundRequest::post_json(url, value)?)
    }
}
