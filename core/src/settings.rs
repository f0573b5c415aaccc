//! Host settings (the `settings` table, key → JSON value), changed by admins
//! in the shell's Settings page. One today: `self_registration`.

use sea_orm::{
    sea_query::{Expr, ExprTrait, OnConflict, Query},
    ConnectionTrait, DbErr,
};
use serde::{Deserialize, Serialize};

use crate::runtime::Runtime;

/// The host settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Whether anyone may create an account (role `user`) for themselves
    /// with `POST /api/auth/register`. Off by default.
    #[serde(default)]
    pub self_registration: bool,
}

const SELF_REGISTRATION: &str = "self_registration";

/// The current settings (defaults for what was never set).
pub async fn get(rt: &Runtime) -> Result<Settings, DbErr> {
    let conn = rt.db().conn();
    let row = conn
        .query_one_raw(
            conn.get_database_backend().build(
                Query::select()
                    .column("value")
                    .from("settings")
                    .and_where(Expr::col("key").eq(SELF_REGISTRATION)),
            ),
        )
        .await?;
    let self_registration = match row {
        Some(r) => serde_json::from_str(&r.try_get::<String>("", "value")?).unwrap_or(false),
        None => false,
    };
    Ok(Settings { self_registration })
}

/// Stores `settings`.
pub async fn set(rt: &Runtime, settings: &Settings) -> Result<(), DbErr> {
    let conn = rt.db().conn();
    // One statement both databases accept (SQLite ≥ 3.24, PostgreSQL ≥ 9.5).
    conn.execute_raw(
        conn.get_database_backend().build(
            Query::insert()
                .into_table("settings")
                .columns(["key", "value"])
                .values_panic([
                    SELF_REGISTRATION.into(),
                    serde_json::json!(settings.self_registration)
                        .to_string()
                        .into(),
                ])
                .on_conflict(OnConflict::column("key").update_column("value").to_owned()),
        ),
    )
    .await?;
    Ok(())
}
