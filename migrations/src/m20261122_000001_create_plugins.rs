//! `plugins`: one row per known plugin with its persisted lifecycle state.
//! `row_version` makes every state change a compare-and-swap.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Plugins {
    Table,
    Slug,
    Version,
    Kind,
    State,
    LastError,
    ErrorAt,
    RowVersion,
    InstalledAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Plugins::Table)
                    .col(
                        ColumnDef::new(Plugins::Slug)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Plugins::Version).string().not_null())
                    .col(ColumnDef::new(Plugins::Kind).string().not_null())
                    .col(ColumnDef::new(Plugins::State).string().not_null())
                    .col(ColumnDef::new(Plugins::LastError).text().null())
                    .col(
                        ColumnDef::new(Plugins::ErrorAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(Plugins::RowVersion).big_integer().not_null())
                    .col(
                        ColumnDef::new(Plugins::InstalledAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Plugins::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Plugins::Table).to_owned())
            .await
    }
}
