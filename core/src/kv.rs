//! Namespaced KV storage in `plugin_storage`, keyed by (plugin, key); values
//! are JSON text. Every function takes the plugin's slug from the caller's
//! scope, never from the plugin, so a plugin can only reach its own rows.

use chrono::Utc;
use sea_orm::{
    sea_query::{Expr, ExprTrait, LikeExpr, OnConflict},
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, Statement,
};

use crate::entity::plugin_storage::{self, Column, Entity};

/// Longest key accepted.
pub const MAX_KEY_LEN: usize = 512;

fn check_key(key: &str) -> Result<(), DbErr> {
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(DbErr::Custom(format!(
            "KV keys must be 1 to {MAX_KEY_LEN} bytes long"
        )));
    }
    Ok(())
}

/// The JSON text under `key`.
///
/// One indexed read of one column, written out rather than built with
/// sea-query: this is the hottest storage call plugins make.
pub async fn get<C: ConnectionTrait>(
    db: &C,
    plugin: &str,
    key: &str,
) -> Result<Option<String>, DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "SELECT value FROM plugin_storage WHERE plugin = $1 AND key = $2",
        _ => "SELECT value FROM plugin_storage WHERE plugin = ? AND key = ?",
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [plugin.into(), key.into()],
        ))
        .await?;
    row.map(|r| r.try_get::<String>("", "value")).transpose()
}

/// Stores `value` (JSON text, validated) under `key`.
pub async fn set<C: ConnectionTrait>(
    db: &C,
    plugin: &str,
    key: &str,
    value: &str,
) -> Result<(), DbErr> {
    check_key(key)?;
    serde_json::from_str::<serde::de::IgnoredAny>(value)
        .map_err(|e| DbErr::Custom(format!("KV values must be JSON: {e}")))?;
    Entity::insert(plugin_storage::ActiveModel {
        plugin: Set(plugin.to_string()),
        key: Set(key.to_string()),
        value: Set(value.to_string()),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::columns([Column::Plugin, Column::Key])
            .update_columns([Column::Value, Column::UpdatedAt])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Deletes `key`; whether it existed.
pub async fn delete<C: ConnectionTrait>(db: &C, plugin: &str, key: &str) -> Result<bool, DbErr> {
    let r = Entity::delete_many()
        .filter(Column::Plugin.eq(plugin))
        .filter(Column::Key.eq(key))
        .exec(db)
        .await?;
    Ok(r.rows_affected > 0)
}

/// The keys starting with `prefix`, sorted (`%` and `_` in the prefix are literal).
pub async fn keys<C: ConnectionTrait>(
    db: &C,
    plugin: &str,
    prefix: &str,
) -> Result<Vec<String>, DbErr> {
    let escaped: String = prefix
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    Entity::find()
        .select_only()
        .column(Column::Key)
        .filter(Column::Plugin.eq(plugin))
        .filter(Expr::col(Column::Key).like(LikeExpr::new(format!("{escaped}%")).escape('\\')))
        .order_by_asc(Column::Key)
        .into_tuple::<String>()
        .all(db)
        .await
}

/// Deletes every key of `plugin`; how many.
pub async fn clear<C: ConnectionTrait>(db: &C, plugin: &str) -> Result<u64, DbErr> {
    Ok(Entity::delete_many()
        .filter(Column::Plugin.eq(plugin))
        .exec(db)
        .await?
        .rows_affected)
}
