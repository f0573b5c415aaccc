//! The error a plugin returns from a hook, a route or a lifecycle call.

use std::fmt;

use abi_stable::{std_types::RString, StableAbi};

/// Why a call into a plugin did not succeed.
///
/// An open set: a transparent integer with named constants, so a value from
/// a newer side (a kind added after this crate was built) is an ordinary
/// value, never undefined behaviour. Match the kinds you handle and treat the
/// rest like [`ErrorKind::Failed`]:
///
/// ```
/// use plugboard_plugin_api::ErrorKind;
///
/// fn status(kind: ErrorKind) -> u16 {
///     match kind {
///         ErrorKind::Invalid => 422,
///         ErrorKind::NotFound => 404,
///         _ => 500, // Failed, Panicked, … and kinds added later
///     }
/// }
/// let newer = ErrorKind::from_raw(200);
/// assert!(!newer.is_known());
/// assert_eq!(status(newer), 500);
/// assert_eq!(format!("{newer:?}"), "ErrorKind(200)");
/// assert_eq!(format!("{:?}", ErrorKind::NotFound), "NotFound");
/// ```
///
/// Plugins built against plugin-api 1.0–1.5 saw a closed `#[repr(u8)]`
/// enum of the first six kinds at the same place (same size and values);
/// the host checks their layout against that frozen shape
/// ([`abi::v1`](crate::abi::v1)) and never hands them a kind they do not
/// know (it becomes `Failed`, see [`PluginError::for_peer`]).
#[repr(transparent)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorKind(u8);

#[allow(non_upper_case_globals)]
impl ErrorKind {
    /// The plugin reported an error.
    pub const Failed: ErrorKind = ErrorKind(0);
    /// The plugin panicked; the panic was caught at the boundary.
    pub const Panicked: ErrorKind = ErrorKind(1);
    /// A filter hook refused the operation (for example `before_user_create`).
    pub const Refused: ErrorKind = ErrorKind(2);
    /// The plugin asked for something the host does not provide.
    pub const Unsupported: ErrorKind = ErrorKind(3);
    /// The caller gave bad input (a route's `422`).
    pub const Invalid: ErrorKind = ErrorKind(4);
    /// Something the plugin asked for does not exist (a route's `404`).
    pub const NotFound: ErrorKind = ErrorKind(5);

    /// How many kinds plugin-api 1.0–1.5 knew (`0..6`); a peer built against
    /// those versions reads the field as a closed enum of these values.
    pub const KNOWN_TO_V1: u8 = 6;
    /// The kinds this build of the crate names.
    const NAMES: [&'static str; 6] = [
        "Failed",
        "Panicked",
        "Refused",
        "Unsupported",
        "Invalid",
        "NotFound",
    ];

    /// The kind with this numeric value, known here or not.
    pub const fn from_raw(value: u8) -> Self {
        Self(value)
    }
    /// The numeric value that crosses the boundary.
    pub const fn raw(self) -> u8 {
        self.0
    }
    /// Whether this build of the crate names the kind.
    pub const fn is_known(self) -> bool {
        (self.0 as usize) < Self::NAMES.len()
    }
    /// The kind's name, if this build knows it.
    pub fn name(self) -> Option<&'static str> {
        Self::NAMES.get(self.0 as usize).copied()
    }
}

impl fmt::Debug for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "ErrorKind({})", self.0),
        }
    }
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
    /// The kind of error (possibly one this build does not name: see
    /// [`ErrorKind`]).
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// This error as a peer that knows only the first `known` kinds can read
    /// it: a kind it does not know becomes [`ErrorKind::Failed`], with the
    /// message kept.
    ///
    /// ```
    /// use plugboard_plugin_api::{ErrorKind, PluginError};
    /// let newer = PluginError::new(ErrorKind::from_raw(9), "too slow");
    /// let seen = newer.for_peer(ErrorKind::KNOWN_TO_V1);
    /// assert_eq!(seen.kind(), ErrorKind::Failed);
    /// assert_eq!(seen.message(), "too slow");
    /// ```
    pub fn for_peer(mut self, known: u8) -> Self {
        if self.kind.0 >= known {
            self.kind = ErrorKind::Failed;
        }
        self
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
