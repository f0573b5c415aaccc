//! Schema migrations for the host's own tables, one migration per file.
//!
//! Run them with [`Migrator::up`](sea_orm_migration::MigratorTrait::up); the
//! host does so on every start.

use sea_orm_migration::prelude::*;

mod m20261122_000001_create_plugins;
mod m20261122_000002_create_plugin_audit;
mod m20261122_000003_create_plugin_storage;
mod m20261122_000004_create_users;
mod m20261122_000005_create_plugin_migrations;
mod m20261122_000006_create_plugin_job_runs;
mod m20261122_000007_create_plugin_config;
mod m20261123_000008_create_marketplace;
mod m20261123_000009_create_plugin_updates;
mod m20261123_000010_create_accounts;
mod m20261201_000011_create_role_permissions;
mod m20261201_000012_one_user_model;
mod m20261201_000013_create_plugin_sql_roles;
mod m20261201_000014_create_plugin_files;
mod m20261206_000015_cluster;
mod m20261206_000016_shared_sign_in_and_installs;
mod m20261207_000017_updates_needing_approval;

pub use sea_orm_migration::MigratorTrait;

/// The host's migrations, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_plugins::Migration),
            Box::new(m20261122_000002_create_plugin_audit::Migration),
            Box::new(m20261122_000003_create_plugin_storage::Migration),
            Box::new(m20261122_000004_create_users::Migration),
            Box::new(m20261122_000005_create_plugin_migrations::Migration),
            Box::new(m20261122_000006_create_plugin_job_runs::Migration),
            Box::new(m20261122_000007_create_plugin_config::Migration),
            Box::new(m20261123_000008_create_marketplace::Migration),
            Box::new(m20261123_000009_create_plugin_updates::Migration),
            Box::new(m20261123_000010_create_accounts::Migration),
            Box::new(m20261201_000011_create_role_permissions::Migration),
            Box::new(m20261201_000012_one_user_model::Migration),
            Box::new(m20261201_000013_create_plugin_sql_roles::Migration),
            Box::new(m20261201_000014_create_plugin_files::Migration),
            Box::new(m20261206_000015_cluster::Migration),
            Box::new(m20261206_000016_shared_sign_in_and_installs::Migration),
            Box::new(m20261207_000017_updates_needing_approval::Migration),
        ]
    }
}
