//! `plugin_job_runs`: every run of a plugin's scheduled job.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum PluginJobRuns {
    Table,
    Id,
    Plugin,
    Job,
    StartedAt,
    DurationMs,
    Outcome,
    Error,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PluginJobRuns::Table)
                    .col(
                        ColumnDef::new(PluginJobRuns::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PluginJobRuns::Plugin).string().not_null())
                    .col(ColumnDef::new(PluginJobRuns::Job).string().not_null())
                    .col(
                        ColumnDef::new(PluginJobRuns::StartedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PluginJobRuns::DurationMs)
                            .double()
                            .not_null(),
                    )
                    .col(ColumnDef::new(PluginJobRuns::Outcome).string().not_null())
                    .col(ColumnDef::new(PluginJobRuns::Error).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_plugin_job_runs_plugin_job")
                    .table(PluginJobRuns::Table)
                    .col(PluginJobRuns::Plugin)
                    .col(PluginJobRuns::Job)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PluginJobRuns::Table).to_owned())
            .await
    }
}
