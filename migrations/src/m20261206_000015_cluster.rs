//! What several replicas on one PostgreSQL database share (issue 13):
//!
//! * `plugins.bundle_sha256`: which bundle each installed plugin runs, so a
//!   replica can tell that its copy is another version;
//! * `plugin_bundles`: installed bundles by digest, with the catalog entry
//!   they were verified against, so a replica that has never seen a plugin
//!   verifies and loads the same bytes;
//! * `cluster_replicas`: each replica's heartbeat and what it runs;
//! * `cluster_job_ticks`: one row per job tick, claimed by exactly one replica;
//! * `cluster_events` and `cluster_cursors`: events emitted to the cluster,
//!   and how far each replica has delivered them;
//! * `plugin_job_runs.replica`: which replica ran a job.
//!
//! The tables exist on SQLite too (one process; they stay empty there).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Plugins {
    Table,
    BundleSha256,
}

#[derive(DeriveIden)]
enum PluginJobRuns {
    Table,
    Replica,
}

#[derive(DeriveIden)]
enum PluginBundles {
    Table,
    Sha256,
    Slug,
    Version,
    Entry,
    Size,
    Content,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ClusterReplicas {
    Table,
    Name,
    Instance,
    StartedAt,
    SeenAt,
    Address,
    HostVersion,
    Plugins,
    Metrics,
}

#[derive(DeriveIden)]
enum ClusterJobTicks {
    Table,
    Plugin,
    Job,
    Tick,
    Replica,
    Instance,
    ClaimedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum ClusterEvents {
    Table,
    Id,
    Origin,
    Emitter,
    Name,
    Payload,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ClusterCursors {
    Table,
    Replica,
    LastEventId,
    UpdatedAt,
}

fn time(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Plugins::Table)
                    .add_column(ColumnDef::new(Plugins::BundleSha256).string().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(PluginJobRuns::Table)
                    .add_column(ColumnDef::new(PluginJobRuns::Replica).string().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PluginBundles::Table)
                    .col(
                        ColumnDef::new(PluginBundles::Sha256)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PluginBundles::Slug).string().not_null())
                    .col(ColumnDef::new(PluginBundles::Version).string().not_null())
                    .col(ColumnDef::new(PluginBundles::Entry).text().not_null())
                    .col(ColumnDef::new(PluginBundles::Size).big_integer().not_null())
                    .col(ColumnDef::new(PluginBundles::Content).blob().not_null())
                    .col(time(PluginBundles::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ClusterReplicas::Table)
                    .col(
                        ColumnDef::new(ClusterReplicas::Name)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ClusterReplicas::Instance)
                            .string()
                            .not_null(),
                    )
                    .col(time(ClusterReplicas::StartedAt))
                    .col(time(ClusterReplicas::SeenAt))
                    .col(ColumnDef::new(ClusterReplicas::Address).string().null())
                    .col(
                        ColumnDef::new(ClusterReplicas::HostVersion)
                            .string()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ClusterReplicas::Plugins).text().not_null())
                    .col(ColumnDef::new(ClusterReplicas::Metrics).text().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ClusterJobTicks::Table)
                    .col(ColumnDef::new(ClusterJobTicks::Plugin).string().not_null())
                    .col(ColumnDef::new(ClusterJobTicks::Job).string().not_null())
                    .col(
                        ColumnDef::new(ClusterJobTicks::Tick)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ClusterJobTicks::Replica).string().not_null())
                    .col(
                        ColumnDef::new(ClusterJobTicks::Instance)
                            .string()
                            .not_null(),
                    )
                    .col(time(ClusterJobTicks::ClaimedAt))
                    .col(
                        ColumnDef::new(ClusterJobTicks::FinishedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(ClusterJobTicks::Plugin)
                            .col(ClusterJobTicks::Job)
                            .col(ClusterJobTicks::Tick),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ClusterEvents::Table)
                    .col(
                        ColumnDef::new(ClusterEvents::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(ClusterEvents::Origin).string().not_null())
                    .col(ColumnDef::new(ClusterEvents::Emitter).string().not_null())
                    .col(ColumnDef::new(ClusterEvents::Name).string().not_null())
                    .col(ColumnDef::new(ClusterEvents::Payload).text().not_null())
                    .col(time(ClusterEvents::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ClusterCursors::Table)
                    .col(
                        ColumnDef::new(ClusterCursors::Replica)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ClusterCursors::LastEventId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(time(ClusterCursors::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ClusterCursors::Table.into_iden(),
            ClusterEvents::Table.into_iden(),
            ClusterJobTicks::Table.into_iden(),
            ClusterReplicas::Table.into_iden(),
            PluginBundles::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(PluginJobRuns::Table)
                    .drop_column(PluginJobRuns::Replica)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Plugins::Table)
                    .drop_column(Plugins::BundleSha256)
                    .to_owned(),
            )
            .await
    }
}
