//! The persisted plugin lifecycle: states, legal transitions, and the
//! compare-and-swap store that records them with an audit trail.

mod state;
mod store;

pub use state::{PluginState, Transition};
pub use store::{AuditEntry, LifecycleError, LifecycleStore, PluginRecord};
