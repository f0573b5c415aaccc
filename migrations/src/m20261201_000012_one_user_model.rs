//! One user model: the `users` rows (the accounts the user hooks fired on)
//! move into `accounts` (the accounts that sign in), and `users` is dropped.
//!
//! * `accounts` gains `updated_at` (filled with `created_at` for existing
//!   rows).
//! * A `users` row keeps its id (plugins saw it in hook and event payloads).
//!   It gets no password (`password_hash` is empty; such an account cannot
//!   sign in until an admin sets a password).
//! * A `users` row and an account with the same name are one person: one
//!   row with the user's id and the account's password, role and
//!   must-change flag; the account's sessions follow it.
//! * An account whose id a `users` row takes gets a new id above every id in
//!   use; its sessions follow it.
//! * `settings` (key → JSON value) holds host settings such as
//!   self-registration.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm_migration::{
    prelude::*,
    sea_orm::{ConnectionTrait, DatabaseBackend, Statement, Value},
};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Settings {
    Table,
    Key,
    Value,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    Role,
    CreatedAt,
    UpdatedAt,
}

/// `sql` with `?` placeholders, numbered for PostgreSQL.
fn stmt(backend: DatabaseBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = if backend == DatabaseBackend::Postgres {
        let mut n = 0;
        sql.chars()
            .map(|c| {
                if c == '?' {
                    n += 1;
                    format!("${n}")
                } else {
                    c.to_string()
                }
            })
            .collect()
    } else {
        sql.to_string()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

struct OldUser {
    id: i64,
    username: String,
    role: String,
    created_at: sea_orm::prelude::ChronoDateTimeUtc,
    updated_at: sea_orm::prelude::ChronoDateTimeUtc,
}

struct OldAccount {
    id: i64,
    username: String,
    password_hash: String,
    role: String,
    must_change_password: bool,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(ColumnDef::new(Accounts::UpdatedAt).timestamp_with_time_zone())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Settings::Table)
                    .col(
                        ColumnDef::new(Settings::Key)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Settings::Value).text().not_null())
                    .to_owned(),
            )
            .await?;

        let db = manager.get_connection();
        let b = db.get_database_backend();
        let users = db
            .query_all_raw(stmt(
                b,
                "SELECT id, username, role, created_at, updated_at FROM users ORDER BY id",
                vec![],
            ))
            .await?
            .iter()
            .map(|r| {
                Ok(OldUser {
                    id: r.try_get("", "id")?,
                    username: r.try_get("", "username")?,
                    role: r.try_get("", "role")?,
                    created_at: r.try_get("", "created_at")?,
                    updated_at: r.try_get("", "updated_at")?,
                })
            })
            .collect::<Result<Vec<_>, DbErr>>()?;
        let accounts = db
            .query_all_raw(stmt(
                b,
                "SELECT id, username, password_hash, role, must_change_password FROM accounts ORDER BY id",
                vec![],
            ))
            .await?
            .iter()
            .map(|r| {
                Ok(OldAccount {
                    id: r.try_get("", "id")?,
                    username: r.try_get("", "username")?,
                    password_hash: r.try_get("", "password_hash")?,
                    role: r.try_get("", "role")?,
                    must_change_password: r.try_get("", "must_change_password")?,
                })
            })
            .collect::<Result<Vec<_>, DbErr>>()?;

        let user_ids: BTreeSet<i64> = users.iter().map(|u| u.id).collect();
        let mut next_id = users
            .iter()
            .map(|u| u.id)
            .chain(accounts.iter().map(|a| a.id))
            .max()
            .unwrap_or(0)
            + 1;
        // The account of each user name, taken out of `accounts` to be
        // written back under the user's id.
        let mut merged: BTreeMap<String, OldAccount> = BTreeMap::new();
        let by_name: BTreeMap<&str, i64> =
            users.iter().map(|u| (u.username.as_str(), u.id)).collect();
        for account in accounts {
            if let Some(&user_id) = by_name.get(account.username.as_str()) {
                db.execute_raw(stmt(
                    b,
                    "UPDATE sessions SET account_id = ? WHERE account_id = ?",
                    vec![user_id.into(), account.id.into()],
                ))
                .await?;
                db.execute_raw(stmt(
                    b,
                    "DELETE FROM accounts WHERE id = ?",
                    vec![account.id.into()],
                ))
                .await?;
                merged.insert(account.username.clone(), account);
            } else if user_ids.contains(&account.id) {
                let new_id = next_id;
                next_id += 1;
                for sql in [
                    "UPDATE accounts SET id = ? WHERE id = ?",
                    "UPDATE sessions SET account_id = ? WHERE account_id = ?",
                ] {
                    db.execute_raw(stmt(b, sql, vec![new_id.into(), account.id.into()]))
                        .await?;
                }
            }
        }
        for user in users {
            let (hash, role, must_change) = match merged.remove(&user.username) {
                Some(a) => (a.password_hash, a.role, a.must_change_password),
                None => (String::new(), user.role, false),
            };
            db.execute_raw(stmt(
                b,
                "INSERT INTO accounts (id, username, password_hash, role, must_change_password, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                vec![
                    user.id.into(),
                    user.username.into(),
                    hash.into(),
                    role.into(),
                    must_change.into(),
                    user.created_at.into(),
                    user.updated_at.into(),
                ],
            ))
            .await?;
        }
        db.execute_raw(stmt(
            b,
            "UPDATE accounts SET updated_at = created_at WHERE updated_at IS NULL",
            vec![],
        ))
        .await?;
        if b == DatabaseBackend::Postgres {
            // Rows were written with explicit ids: move the sequence past them.
            db.execute_raw(stmt(
                b,
                "SELECT setval(pg_get_serial_sequence('accounts', 'id'), (SELECT COALESCE(MAX(id), 0) + 1 FROM accounts), false)",
                vec![],
            ))
            .await?;
        }
        manager
            .drop_table(Table::drop().table(Users::Table).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Every account becomes a `users` row again (accounts keep theirs).
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(
                        ColumnDef::new(Users::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Users::Username)
                            .string()
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Users::Role).string().not_null())
                    .col(
                        ColumnDef::new(Users::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Users::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_raw(stmt(
            db.get_database_backend(),
            "INSERT INTO users (id, username, role, created_at, updated_at) SELECT id, username, role, created_at, COALESCE(updated_at, created_at) FROM accounts",
            vec![],
        ))
        .await?;
        manager
            .drop_table(Table::drop().table(Settings::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .drop_column(Accounts::UpdatedAt)
                    .to_owned(),
            )
            .await
    }
}
