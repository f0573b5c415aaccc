//! Host settings (the `settings` table, key → JSON value), changed by admins
//! in the shell's Settings page. One today: `self_registration`.

use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};

use crate::{marketplace::sources::stmt, runtime::Runtime};

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
        .query_one_raw(stmt(
            conn.get_database_backend(),
            "SELECT value FROM settings WHERE key = ?",
            vec![SELF_REGISTRATION.into()],
        ))
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
    let b = conn.get_database_backend();
    // One statement both databases accept (SQLite ≥ 3.24, PostgreSQL ≥ 9.5).
    conn.execute_raw(stmt(
        b,
        "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        vec![
            SELF_REGISTRATION.into(),
            serde_json::json!(settings.self_registration).to_string().into(),
        ],
    ))
    .await?;
    Ok(())
}
