//! HTTP request and response types that cross the plugin boundary as they are.
//!
//! Both are `#[repr(C)]` and FFI-safe: the host builds a [`Request`] that borrows
//! the incoming request's bytes, and the plugin returns a [`Response`].

use abi_stable::{
    std_types::{RSlice, RStr, RString, RVec, Tuple2},
    StableAbi,
};
use serde::{de::DeserializeOwned, Serialize};

use crate::error::PluginError;

/// An HTTP method a plugin route can answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Method {
    /// The method's name in upper case, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
    /// Parses a method name (upper case); `None` for any other method.
    ///
    /// ```
    /// use plugboard_plugin_api::prelude::Method;
    /// assert_eq!(Method::parse("PATCH"), Some(Method::Patch));
    /// assert_eq!(Method::parse("TRACE"), None);
    /// ```
    pub fn parse(name: &str) -> Option<Method> {
        Some(match name {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            _ => return None,
        })
    }
}

/// A request to one of the plugin's routes.
///
/// The path is relative to the plugin's prefix: for
/// `GET /api/plugins/guestbook/entries/7`, [`Request::path`] is `/entries/7` and
/// `param("id")` is `"7"` for the route `/entries/{id}`.
///
/// ```
/// use plugboard_plugin_api::prelude::*;
/// use abi_stable::std_types::{RStr, Tuple2};
///
/// let params = [Tuple2(RStr::from("id"), RStr::from("7"))];
/// let req = Request::new("GET", "/entries/7", "full=1", &[], &params, b"");
/// assert_eq!(req.method(), Some(Method::Get));
/// assert_eq!(req.param("id"), Some("7"));
/// assert_eq!(req.query_param("full"), Some("1".to_string()));
/// ```
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct Request<'a> {
    method: RStr<'a>,
    path: RStr<'a>,
    query: RStr<'a>,
    headers: RSlice<'a, Tuple2<RStr<'a>, RStr<'a>>>,
    params: RSlice<'a, Tuple2<RStr<'a>, RStr<'a>>>,
    body: RSlice<'a, u8>,
}

impl<'a> Request<'a> {
    /// Builds a request (the host does this; tests of plugins may too).
    /// Header names are expected in lower case.
    pub fn new(
        method: &'a str,
        path: &'a str,
        query: &'a str,
        headers: &'a [Tuple2<RStr<'a>, RStr<'a>>],
        params: &'a [Tuple2<RStr<'a>, RStr<'a>>],
        body: &'a [u8],
    ) -> Self {
        Self {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            headers: headers.into(),
            params: params.into(),
            body: body.into(),
        }
    }
    /// The method, if it is one of [`Method`]'s.
    pub fn method(&self) -> Option<Method> {
        Method::parse(self.method.as_str())
    }
    /// The path below the plugin's prefix, starting with `/`.
    pub fn path(&self) -> &'a str {
        self.path.as_str()
    }
    /// The raw query string, without `?`.
    pub fn query(&self) -> &'a str {
        self.query.as_str()
    }
    /// The first value of a query parameter, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query
            .as_str()
            .split('&')
            .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| percent_decode(v))
    }
    /// A header's value; `name` is matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .as_slice()
            .iter()
            .find(|Tuple2(k, _)| k.as_str().eq_ignore_ascii_case(name))
            .map(|Tuple2(_, v)| v.as_str())
    }
    /// A path parameter captured by the route pattern (`{id}`).
    pub fn param(&self, name: &str) -> Option<&'a str> {
        self.params
            .as_slice()
            .iter()
            .find(|Tuple2(k, _)| k.as_str() == name)
            .map(|Tuple2(_, v)| v.as_str())
    }
    /// The body bytes.
    pub fn body(&self) -> &'a [u8] {
        self.body.as_slice()
    }
    /// The body parsed as JSON; a parse error becomes [`PluginError::invalid`].
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, PluginError> {
        Ok(serde_json::from_slice(self.body.as_slice())?)
    }
}

fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi * 16 + lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A plugin route's answer.
///
/// ```
/// use plugboard_plugin_api::prelude::*;
///
/// let res = Response::json(&serde_json::json!({"ok": true})).with_status(201);
/// assert_eq!(res.status(), 201);
/// assert_eq!(res.body(), br#"{"ok":true}"#);
/// assert_eq!(res.header("content-type"), Some("application/json"));
/// ```
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    headers: RVec<Tuple2<RString, RString>>,
    body: RVec<u8>,
}

impl Response {
    /// An empty response with the given status.
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: RVec::new(),
            body: RVec::new(),
        }
    }
    /// `200` with a JSON body.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Self::empty(200)
                .with_header("content-type", "application/json")
                .with_body(body),
            Err(e) => {
                Self::text(format!("cannot encode the response as JSON: {e}")).with_status(500)
            }
        }
    }
    /// `200` with a plain-text body.
    pub fn text(text: impl Into<String>) -> Self {
        Self::empty(200)
            .with_header("content-type", "text/plain; charset=utf-8")
            .with_body(text.into().into_bytes())
    }
    /// Sets the status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }
    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push(Tuple2(
            RString::from(name.into()),
            RString::from(value.into()),
        ));
        self
    }
    /// Sets the body.
    pub fn with_body(mut self, body: Vec<u8>) -> Self {
        self.body = RVec::from(body);
        self
    }
    /// The status.
    pub fn status(&self) -> u16 {
        self.status
    }
    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|Tuple2(k, _)| k.as_str().eq_ignore_ascii_case(name))
            .map(|Tuple2(_, v)| v.as_str())
    }
    /// All headers, in order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers
            .iter()
            .map(|Tuple2(k, v)| (k.as_str(), v.as_str()))
    }
    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}
