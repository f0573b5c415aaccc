//! `plugin_audit`: every lifecycle transition (plugin, from, to, actor, time, error).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum PluginAudit {
    Table,
    Id,
    Slug,
    FromState,
    ToState,
    Actor,
    At,
    Error,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PluginAudit::Table)
                    .col(
                        ColumnDef::new(PluginAudit::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PluginAudit::Slug).string().not_null())
                    .col(ColumnDef::new(PluginAudit::FromState).string().null())
                    .col(ColumnDef::new(PluginAudit::ToState).string().not_null())
                    .col(ColumnDef::new(PluginAudit::Actor).string().not_null())
                    .col(
                        ColumnDef::new(PluginAudit::At)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(PluginAudit::Error).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_plugin_audit_slug")
                    .table(PluginAudit::Table)
                    .col(PluginAudit::Slug)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PluginAudit::Table).to_owned())
            .await
    }
}
