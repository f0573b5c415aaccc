//! `plugin_files`: each plugin's named blobs (capability `files`), keyed by
//! (plugin, name), with their size kept beside them so quotas and listings
//! never read the content. In the database rather than the data folder, so
//! every replica on one PostgreSQL sees the same files.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum PluginFiles {
    Table,
    Plugin,
    Name,
    Size,
    Content,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PluginFiles::Table)
                    .col(ColumnDef::new(PluginFiles::Plugin).string().not_null())
                    .col(ColumnDef::new(PluginFiles::Name).string().not_null())
                    .col(ColumnDef::new(PluginFiles::Size).big_integer().not_null())
                    .col(ColumnDef::new(PluginFiles::Content).blob().not_null())
                    .col(
                        ColumnDef::new(PluginFiles::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(PluginFiles::Plugin)
                            .col(PluginFiles::Name),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PluginFiles::Table).to_owned())
            .await
    }
}
