//! The marketplace: signed plugin bundles, catalogs, and installing from
//! them.
//!
//! | module | concern |
//! |---|---|
//! | [`author`] | pack, sign, catalog add (the CLI) |
//! | [`browse`] | the admin's view: listings, search, install by slug |
//! | [`bundle`] | the `.tar.gz` format: packing, safe extraction |
//! | [`download`] | where a bundle may come from (checked first), reading it |
//! | [`signing`] | publisher keys, ed25519 signatures over the bundle's SHA-256 |
//! | [`catalog`] | the catalog document and its entries |
//! | [`install`] | the install pipeline |
//! | [`jobs`] | install jobs and their progress |
//! | [`listing`] | the catalog view's answer and search |
//! | [`schema`] | JSON Schemas of the manifest and the catalog |
//! | `service` | [`Marketplace`]: the service the rest hangs off |
//! | [`sources`] | catalog sources (synced, last good copy kept) and trusted keys |

pub mod author;
pub mod browse;
pub mod bundle;
pub mod catalog;
pub mod check;
pub mod consent;
pub mod deps;
pub mod detail;
pub mod download;
pub mod install;
pub mod jobs;
pub mod listing;
mod replicate;
pub mod schema;
mod service;
pub mod signing;
pub mod sources;
pub mod updates;

pub use service::Marketplace;
