//! Updates that ask for more than the running version wait as
//! `needs_approval` (issue 15): the "one open update per plugin" index
//! covers them as well as `pending` ones, and a row records what an admin
//! approved (`approved_asks`, a JSON list of ask ids) for which bundle
//! (`approved_sha256`), so that an approval covers that offer only.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["approved_asks", "approved_sha256"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new("plugin_updates"))
                        .add_column(ColumnDef::new(Alias::new(column)).text().null())
                        .to_owned(),
                )
                .await?;
        }
        // Same syntax on SQLite and PostgreSQL.
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX plugin_updates_one_pending")
            .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX plugin_updates_one_open ON plugin_updates (slug) \
             WHERE state IN ('pending', 'needs_approval')",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX plugin_updates_one_open")
            .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX plugin_updates_one_pending ON plugin_updates (slug) WHERE state = 'pending'",
        )
        .await?;
        Ok(())
    }
}
