//! Shared by the replicas on one PostgreSQL database (issue 13):
//!
//! * `sign_in_failures`: the sign-in limiter's counters (per account and
//!   address pair, per address, per account), so guesses spread over
//!   several replicas are counted together;
//! * `install_jobs`: every install job and its progress, whichever replica
//!   runs it.
//!
//! On SQLite (one process) they stay empty.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum SignInFailures {
    Table,
    Kind,
    Key,
    Count,
    LastAt,
}

#[derive(DeriveIden)]
enum InstallJobs {
    Table,
    Id,
    Replica,
    Job,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SignInFailures::Table)
                    .col(ColumnDef::new(SignInFailures::Kind).string().not_null())
                    .col(ColumnDef::new(SignInFailures::Key).string().not_null())
                    .col(ColumnDef::new(SignInFailures::Count).integer().not_null())
                    .col(
                        ColumnDef::new(SignInFailures::LastAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(SignInFailures::Kind)
                            .col(SignInFailures::Key),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(InstallJobs::Table)
                    .col(
                        ColumnDef::new(InstallJobs::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(InstallJobs::Replica).string().not_null())
                    .col(ColumnDef::new(InstallJobs::Job).text().not_null())
                    .col(
                        ColumnDef::new(InstallJobs::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(InstallJobs::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(SignInFailures::Table).to_owned())
            .await
    }
}
