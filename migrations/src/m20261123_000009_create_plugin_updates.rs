//! The update queue: drift between an installed plugin and what the
//! catalogs offer, one row per offered version; at most one `pending` row
//! per plugin (a partial unique index).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum PluginUpdates {
    Table,
    Id,
    Slug,
    FromVersion,
    FromSha256,
    ToVersion,
    ToSha256,
    SourceId,
    State,
    Error,
    DetectedAt,
    DecidedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PluginUpdates::Table)
                    .col(
                        ColumnDef::new(PluginUpdates::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PluginUpdates::Slug).string().not_null())
                    .col(
                        ColumnDef::new(PluginUpdates::FromVersion)
                            .string()
                            .not_null(),
                    )
                    .col(ColumnDef::new(PluginUpdates::FromSha256).string().null())
                    .col(ColumnDef::new(PluginUpdates::ToVersion).string().not_null())
                    .col(ColumnDef::new(PluginUpdates::ToSha256).string().not_null())
                    .col(
                        ColumnDef::new(PluginUpdates::SourceId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(PluginUpdates::State).string().not_null())
                    .col(ColumnDef::new(PluginUpdates::Error).text().null())
                    .col(
                        ColumnDef::new(PluginUpdates::DetectedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PluginUpdates::DecidedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        // Same syntax on SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX plugin_updates_one_pending ON plugin_updates (slug) WHERE state = 'pending'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PluginUpdates::Table).to_owned())
            .await
    }
}
