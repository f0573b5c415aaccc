//! The plugin author's tools that run beside a host: `plugin new`
//! ([`scaffold`]) and the `dev` loop ([`dev`]). (`plugin check`, `pack` and
//! `sign` are in [`crate::marketplace`], beside the install checks they
//! share.)

pub mod admin_client;
pub mod dev;
pub mod scaffold;
