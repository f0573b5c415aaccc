//! `plugin_sql_roles`: on PostgreSQL, the login role each plugin's SQL runs
//! as (its name and password), shared by every replica. Only the host's
//! role can read it; plugin roles have no privilege on host tables.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum PluginSqlRoles {
    Table,
    Plugin,
    Role,
    Password,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PluginSqlRoles::Table)
                    .col(
                        ColumnDef::new(PluginSqlRoles::Plugin)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PluginSqlRoles::Role).string().not_null())
                    .col(ColumnDef::new(PluginSqlRoles::Password).string().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PluginSqlRoles::Table).to_owned())
            .await
    }
}
