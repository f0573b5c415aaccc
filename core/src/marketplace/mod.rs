//! The marketplace: signed plugin bundles, catalogs, and installing from
//! them.
//!
//! | module | concern |
//! |---|---|
//! | [`author`] | pack, sign, catalog add (the CLI) |
//! | [`bundle`] | the `.tar.gz` format: packing, safe extraction |
//! | [`signing`] | publisher keys, ed25519 signatures over the bundle's SHA-256 |
//! | [`catalog`] | the catalog document and its entries |
//! | [`install`] | the install pipeline |

pub mod author;
pub mod bundle;
pub mod catalog;
pub mod install;
pub mod signing;
