//! `role_permissions`: which role holds which permission a plugin declares
//! (granted by an admin; admins hold every permission without a row).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum RolePermissions {
    Table,
    Plugin,
    Permission,
    Role,
    GrantedBy,
    GrantedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RolePermissions::Table)
                    .col(ColumnDef::new(RolePermissions::Plugin).string().not_null())
                    .col(
                        ColumnDef::new(RolePermissions::Permission)
                            .string()
                            .not_null(),
                    )
                    .col(ColumnDef::new(RolePermissions::Role).string().not_null())
                    .col(
                        ColumnDef::new(RolePermissions::GrantedBy)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RolePermissions::GrantedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(RolePermissions::Plugin)
                            .col(RolePermissions::Permission)
                            .col(RolePermissions::Role),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RolePermissions::Table).to_owned())
            .await
    }
}
