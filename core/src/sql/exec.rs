//! Running a plugin's (namespaced) SQL: JSON parameters in, JSON rows out.

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, QueryResult, Statement,
    TransactionTrait, Value,
};
use serde_json::{Map, Value as Json};

use super::{namespace::Backend, namespaced};

/// The backend the namespace check parses for.
pub fn backend_of<C: ConnectionTrait>(conn: &C) -> Backend {
    match conn.get_database_backend() {
        DbBackend::Postgres => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

fn bind(params: &[Json]) -> Vec<Value> {
    params
        .iter()
        .map(|p| match p {
            // A typed NULL that both backends assign to any column type.
            Json::Null => Value::BigInt(None),
            Json::Bool(b) => Value::Bool(Some(*b)),
            Json::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => Value::BigInt(Some(i)),
                (None, Some(f)) => Value::Double(Some(f)),
                (None, None) => Value::String(Some(n.to_string())),
            },
            Json::String(s) => Value::String(Some(s.clone())),
            other => Value::String(Some(other.to_string())),
        })
        .collect()
}

/// One cell as JSON. sqlx decodes a type only from a matching column type,
/// so the first decode that works is the column's type; the common ones
/// (integer, text) come first because each failed attempt builds an error.
fn cell(row: &QueryResult, column: &str) -> Json {
    if let Ok(v) = row.try_get::<Option<i64>>("", column) {
        return v.map(Json::from).unwrap_or(Json::Null);
    }
    if let Ok(v) = row.try_get::<Option<String>>("", column) {
        return v.map(Json::from).unwrap_or(Json::Null);
    }
    if let Ok(v) = row.try_get::<Option<i32>>("", column) {
        return v.map(Json::from).unwrap_or(Json::Null);
    }
    if let Ok(v) = row.try_get::<Option<i16>>("", column) {
        return v.map(Json::from).unwrap_or(Json::Null);
    }
    if let Ok(v) = row.try_get::<Option<f64>>("", column) {
        return v.map(Json::from).unwrap_or(Json::Null);
    }
    if let Ok(v) = row.try_get::<Option<f32>>("", column) {
        return v.map(Json::from).unwrap_or(Json::Null);
    }
    if let Ok(v) = row.try_get::<Option<bool>>("", column) {
        return v.map(Json::from).unwrap_or(Json::Null);
    }
    if let Ok(v) = row.try_get::<Option<Json>>("", column) {
        return v.unwrap_or(Json::Null);
    }
    if let Ok(v) = row.try_get::<Option<chrono::DateTime<chrono::Utc>>>("", column) {
        return v.map(|t| Json::from(t.to_rfc3339())).unwrap_or(Json::Null);
    }
    if let Ok(v) = row.try_get::<Option<bool>>("", column) {
        return v.map(Json::from).unwrap_or(Json::Null);
    }
    if let Ok(Some(bytes)) = row.try_get::<Option<Vec<u8>>>("", column) {
        return Json::from(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>());
    }
    Json::Null
}

fn to_json(row: &QueryResult) -> Json {
    let mut obj = Map::new();
    for column in row.column_names() {
        let v = cell(row, &column);
        obj.insert(column, v);
    }
    Json::Object(obj)
}

/// What a plugin statement goes through before the database sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewriter {
    /// The namespace check and renaming (`sql::namespace`): always, except
    /// in the test that proves the database's own confinement.
    Namespace,
    /// Nothing: only `Db::bypass_sql_rewriter_for_tests` (a test-only
    /// feature) selects it.
    Bypassed,
}

fn statement<C: ConnectionTrait>(
    db: &C,
    slug: &str,
    sql: &str,
    params: &[Json],
    rewriter: Rewriter,
) -> Result<Statement, DbErr> {
    let sql = match rewriter {
        Rewriter::Namespace => {
            namespaced(sql, slug, backend_of(db)).map_err(|e| DbErr::Custom(e.to_string()))?
        }
        Rewriter::Bypassed => sql.to_string(),
    };
    Ok(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        bind(params),
    ))
}

/// Runs one statement; rows affected.
pub async fn exec<C: ConnectionTrait>(
    db: &C,
    slug: &str,
    sql: &str,
    params: &[Json],
    rewriter: Rewriter,
) -> Result<u64, DbErr> {
    let stmt = statement(db, slug, sql, params, rewriter)?;
    Ok(db.execute_raw(stmt).await?.rows_affected())
}

/// Runs one query; rows as JSON objects keyed by column name.
pub async fn query<C: ConnectionTrait>(
    db: &C,
    slug: &str,
    sql: &str,
    params: &[Json],
    rewriter: Rewriter,
) -> Result<Vec<Json>, DbErr> {
    let stmt = statement(db, slug, sql, params, rewriter)?;
    Ok(db.query_all_raw(stmt).await?.iter().map(to_json).collect())
}

/// Runs statements in one transaction; all or nothing.
pub async fn batch(
    db: &DatabaseConnection,
    slug: &str,
    statements: &[(String, Vec<Json>)],
    rewriter: Rewriter,
) -> Result<Vec<u64>, DbErr> {
    // Check every statement before touching the database.
    let prepared: Vec<Statement> = statements
        .iter()
        .map(|(sql, params)| statement(db, slug, sql, params, rewriter))
        .collect::<Result<_, _>>()?;
    let txn = db.begin().await?;
    let mut counts = Vec::with_capacity(prepared.len());
    for (i, stmt) in prepared.into_iter().enumerate() {
        match txn.execute_raw(stmt).await {
            Ok(r) => counts.push(r.rows_affected()),
            Err(e) => {
                txn.rollback().await?;
                return Err(DbErr::Custom(format!(
                    "statement {} of the batch failed, nothing was applied: {e}",
                    i + 1
                )));
            }
        }
    }
    txn.commit().await?;
    Ok(counts)
}
