//! SQL in a plugin's namespace.
//!
//! [`namespace`] is the isolation check: it parses one statement and renames
//! every table, index and CTE name it contains into the plugin's namespace
//! (`entries` → `plugin_guestbook__entries`), refusing anything that could name
//! something outside it. The renaming is a bijection on names, so a query means
//! within the namespace exactly what it meant as written, and no name a plugin
//! can write reaches another plugin's or the host's tables.

mod cache;
pub mod exec;
mod functions;
pub mod migrate;
mod namespace;
pub(crate) mod sandbox;

pub use cache::namespaced;
pub use functions::allowed_function;
pub use namespace::{namespace, table_name, table_prefix, Backend, SqlRefusal};
