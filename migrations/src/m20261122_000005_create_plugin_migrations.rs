//! `plugin_migrations`: which of each plugin's own SQL migrations are applied.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum PluginMigrations {
    Table,
    Plugin,
    Id,
    AppliedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PluginMigrations::Table)
                    .col(ColumnDef::new(PluginMigrations::Plugin).string().not_null())
                    .col(ColumnDef::new(PluginMigrations::Id).string().not_null())
                    .col(
                        ColumnDef::new(PluginMigrations::AppliedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(PluginMigrations::Plugin)
                            .col(PluginMigrations::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PluginMigrations::Table).to_owned())
            .await
    }
}
