//! The marketplace's state: catalog sources (with the last good copy of
//! each catalog) and trusted publisher keys.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum CatalogSources {
    Table,
    Id,
    Location,
    AllowUnsigned,
    AddedAt,
    SyncedAt,
    LastError,
    Catalog,
}

#[derive(DeriveIden)]
enum TrustedKeys {
    Table,
    KeyId,
    PublicKey,
    Name,
    AddedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CatalogSources::Table)
                    .col(
                        ColumnDef::new(CatalogSources::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(CatalogSources::Location)
                            .string()
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(CatalogSources::AllowUnsigned)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CatalogSources::AddedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CatalogSources::SyncedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(CatalogSources::LastError).text().null())
                    .col(ColumnDef::new(CatalogSources::Catalog).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TrustedKeys::Table)
                    .col(
                        ColumnDef::new(TrustedKeys::KeyId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(TrustedKeys::PublicKey).string().not_null())
                    .col(ColumnDef::new(TrustedKeys::Name).string().not_null())
                    .col(
                        ColumnDef::new(TrustedKeys::AddedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TrustedKeys::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(CatalogSources::Table).to_owned())
            .await
    }
}
