//! `plugin_storage`: the plugins' KV stores, keyed by (plugin, key); values are JSON text.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum PluginStorage {
    Table,
    Plugin,
    Key,
    Value,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PluginStorage::Table)
                    .col(ColumnDef::new(PluginStorage::Plugin).string().not_null())
                    .col(ColumnDef::new(PluginStorage::Key).string().not_null())
                    .col(ColumnDef::new(PluginStorage::Value).text().not_null())
                    .col(
                        ColumnDef::new(PluginStorage::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(PluginStorage::Plugin)
                            .col(PluginStorage::Key),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PluginStorage::Table).to_owned())
            .await
    }
}
