//! Why a test host could not do what was asked.

/// A test host's error. A plugin's own errors are not these: they come back
/// as responses ([`TestResponse`](crate::TestResponse)) exactly as the
/// server would send them.
#[derive(Debug, thiserror::Error)]
pub enum TestHostError {
    /// No `plugin.json` where the test host looked.
    #[error("cannot read the manifest {path}: {source}")]
    Manifest {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The host did not start (data folder, database, a manifest the host
    /// refuses).
    #[error("the host did not start: {0}")]
    Start(String),
    /// The plugin did not become active: the host's reason, word for word
    /// (a capability the manifest does not grant, a failing migration, an
    /// `on_enable` error, a slug or version that differs from the code's…).
    #[error("plugin {slug:?} is {state}, not active: {reason}")]
    NotActive {
        /// The plugin.
        slug: String,
        /// Its state (`errored`, `installed`, …).
        state: String,
        /// Why, as the host recorded it.
        reason: String,
    },
    /// The host refused an admin action (configuration that fails its
    /// schema, a permission the manifest does not declare…): the HTTP
    /// status and the host's error body.
    #[error("the host answered {status}: {body}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The error as JSON (`{"error": {"code", "message"}}`).
        body: serde_json::Value,
    },
    /// The job clock could not be moved.
    #[error("jobs: {0}")]
    Jobs(String),
    /// A database or host call failed.
    #[error("{0}")]
    Host(String),
}
