//! sea-orm entities for the host's tables (created by `plugboard-migrations`).

pub(crate) mod plugin;
pub(crate) mod plugin_audit;
pub(crate) mod plugin_job_run;
pub(crate) mod plugin_migration;
pub(crate) mod plugin_storage;
pub(crate) mod role_permission;
pub(crate) mod user;
