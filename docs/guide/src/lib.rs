//! The plugin author's guide, as a crate: each chapter (`docs/guide/*.md`)
//! is the documentation of one module here, so `cargo test -p
//! plugboard-guide` compiles and runs every Rust block in it as a doc test.
//! `reference.md` is generated from the types ([`reference`]).

#[doc = include_str!("../README.md")]
pub mod index {}

#[doc = include_str!("../01-first-plugin.md")]
pub mod first_plugin {}

#[doc = include_str!("../02-routes-and-access.md")]
pub mod routes_and_access {}

#[doc = include_str!("../03-storage.md")]
pub mod storage {}

#[doc = include_str!("../04-events-jobs-config.md")]
pub mod events_jobs_config {}

#[doc = include_str!("../05-ui-and-outbound.md")]
pub mod ui_and_outbound {}

#[doc = include_str!("../06-testing-and-dev.md")]
pub mod testing_and_dev {}

#[doc = include_str!("../07-publishing-and-updating.md")]
pub mod publishing_and_updating {}

#[doc = include_str!("../08-compatibility.md")]
pub mod compatibility {}

#[doc = include_str!("../reference.md")]
pub mod hooks_and_events {}

pub mod reference;
