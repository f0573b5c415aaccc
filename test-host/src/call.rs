//! One request to a plugin route, as a client would send it: method, path,
//! who is calling, headers and body; and what came back.

use serde::{de::DeserializeOwned, Serialize};

use crate::host::TestHost;

/// Who sends a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum As {
    /// Nobody signed in.
    Anonymous,
    /// A signed-in account with role `user` (created on first use).
    User(String),
    /// A signed-in account with role `admin` (created on first use).
    Admin(String),
    /// The operator's admin bearer token (scripts, the CLI).
    Token,
}

/// A request being built; [`Call::send`] sends it.
///
/// Made by [`TestHost::get`], [`TestHost::post`], … with a path below the
/// plugin's prefix (`/entries`, `/entries/3?full=1`). Without a caller it
/// is anonymous.
#[must_use = "a request does nothing until `send` is called"]
pub struct Call<'h> {
    pub(crate) host: &'h TestHost,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) caller: As,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Option<(Vec<u8>, String)>,
}

impl Call<'_> {
    /// Sends it as the account `username` with role `user` (a browser
    /// session: cookie and CSRF token, as the admin shell sends them). The
    /// account is created on first use; it holds the plugin permissions
    /// granted to the `user` role ([`TestHost::grant`]).
    pub fn as_user(mut self, username: &str) -> Self {
        self.caller = As::User(username.to_string());
        self
    }

    /// Sends it as the account `username` with role `admin` (created on
    /// first use). Admins hold every permission the plugin declares.
    pub fn as_admin(mut self, username: &str) -> Self {
        self.caller = As::Admin(username.to_string());
        self
    }

    /// Sends it with the operator's admin bearer token.
    pub fn with_admin_token(mut self) -> Self {
        self.caller = As::Token;
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Sends `value` as a JSON body.
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Self {
        let bytes = serde_json::to_vec(value)
            .unwrap_or_else(|e| panic!("cannot encode the JSON body: {e}"));
        self.body(bytes, "application/json")
    }

    /// Sends `bytes` with this content type.
    pub fn body(mut self, bytes: impl Into<Vec<u8>>, content_type: &str) -> Self {
        self.body = Some((bytes.into(), content_type.to_string()));
        self
    }

    /// Sends the request over HTTP to the host and waits for the answer.
    ///
    /// # Panics
    /// When the host cannot be reached at all (it is in-process, so that is
    /// a broken test, not a plugin's answer): every status, 4xx and 5xx
    /// included, is a [`TestResponse`].
    pub fn send(self) -> TestResponse {
        self.host.send(self)
    }
}

/// What the host answered.
#[derive(Debug, Clone)]
pub struct TestResponse {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl TestResponse {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// A header's value (names are case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    ///
    /// # Panics
    /// When the body is not JSON of that shape (with the body in the message).
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "the response ({}) is not the JSON expected: {e}; body: {}",
                self.status,
                self.text()
            )
        })
    }

    /// The host's error code (`invalid`, `forbidden`, `plugin_panicked`, …)
    /// when the body is an error (`{"error": {"code", "message"}}`).
    pub fn error_code(&self) -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        Some(v.get("error")?.get("code")?.as_str()?.to_string())
    }

    /// The host's error message, when the body is an error.
    pub fn error_message(&self) -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        Some(v.get("error")?.get("message")?.as_str()?.to_string())
    }
}
