//! The error a plugin returns from a hook, a route or a lifecycle call.

use std::fmt;

use abi_stable::{std_types::RString, StableAbi};

/// Why a call into a plugin did not succeed.
///
/// The numeric values are part of the ABI: new kinds may be added, and a host
/// reads an unknown value as [`ErrorKind::Failed`].
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The plugin reported an error.
    Failed = 0,
    /// The plugin panicked; the panic was caught at the boundary.
    Panicked = 1,
    /// A filter hook refused the operation (for example `before_user_create`).
    Refused = 2,
    /// The plugin asked for something the host does not provide.
    Unsupported = 3,
    /// The caller gave bad input (a route's `422`).
    Invalid = 4,
    /// Something the plugin asked for does not exist (a route's `404`).
    NotFound = 5,
}

/// An error crossing the plugin boundary: a kind and a human-readable message.
///
/// ```
/// use plugboard_plugin_api::prelude::*;
///
/// let err = PluginError::failed("database is read-only");
/// assert_eq!(err.kind(), ErrorKind::Failed);
/// assert_eq!(err.to_string(), "database is read-only");
/// ```
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct PluginError {
    kind: ErrorKind,
    message: RString,
}

impl PluginError {
    /// An error of the given kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: RString::from(message.into()),
        }
    }
    /// The plugin failed to do what was asked.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Failed, message)
    }
    /// A filter hook refuses the operation; the message reaches the caller.
    pub fn refused(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Refused, message)
    }
    /// The request or input was not valid (answered as `422`).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }
    /// The thing asked for does not exist (answered as `404`).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    /// A panic caught at the boundary, with the panic's message.
    pub fn panicked(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Panicked, message)
    }
    /// The kind of error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PluginError {}

impl From<serde_json::Error> for PluginError {
    fn from(e: serde_json::Error) -> Self {
        Self::invalid(format!("invalid JSON: {e}"))
    }
}

/// The result type of every plugin entry point.
pub type PluginResult<T = ()> = Result<T, PluginError>;
