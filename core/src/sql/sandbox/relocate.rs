//! Moving plugin tables that an earlier version kept among the host's own
//! (`plugin_{slug}__*` in the host's database file, or in PostgreSQL's
//! `public` schema) into each plugin's own place, data kept. Runs at every
//! start; finds nothing once done. Each step can be repeated after a crash.

use std::collections::BTreeMap;

use sea_orm::{
    sqlx::{self, Connection as _, Executor as _},
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement,
};

use super::{postgres::Roles, slug_of_table, sqlite::Files};

fn custom(e: impl std::fmt::Display) -> DbErr {
    DbErr::Custom(e.to_string())
}

/// Runs one statement the host wrote (names taken from the database's own
/// catalog, quoted), on a raw SQLite connection.
async fn run(conn: &mut sqlx::SqliteConnection, sql: String) -> Result<(), sqlx::Error> {
    conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql)))
        .await
        .map(|_| ())
}

/// The same on a PostgreSQL connection.
async fn run_pg(conn: &mut sqlx::PgConnection, sql: String) -> Result<(), sqlx::Error> {
    conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql)))
        .await
        .map(|_| ())
}

/// Plugin tables found among the host's, grouped by slug.
fn by_slug(names: Vec<String>) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for name in names {
        if let Some(slug) = slug_of_table(&name) {
            map.entry(slug).or_default().push(name);
        }
    }
    map
}

/// SQLite: copy each table's definition, indexes and rows into the
/// plugin's file, then drop it from the host's.
pub(super) async fn sqlite(host: &DatabaseConnection, files: &Files) -> Result<usize, DbErr> {
    let rows = host
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT type, name, tbl_name, sql FROM sqlite_master \
             WHERE tbl_name LIKE 'plugin\\_%\\_\\_%' ESCAPE '\\' AND sql IS NOT NULL \
             ORDER BY type DESC, name",
        ))
        .await?;
    // (type, name, table, sql); tables first ("table" > "index").
    let mut objects: Vec<(String, String, String, String)> = Vec::new();
    for r in &rows {
        objects.push((
            r.try_get::<String>("", "type")?,
            r.try_get::<String>("", "name")?,
            r.try_get::<String>("", "tbl_name")?,
            r.try_get::<String>("", "sql")?,
        ));
    }
    let tables = by_slug(
        objects
            .iter()
            .filter(|o| o.0 == "table")
            .map(|o| o.1.clone())
            .collect(),
    );
    let pool = host.get_sqlite_connection_pool();
    let mut moved = 0;
    for (slug, names) in tables {
        let path = files.create(&slug)?;
        // The definitions, created in the plugin's file by an unconfined
        // connection of the host's (the authorizer is for plugin code).
        {
            let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&path);
            let mut dest = sqlx::SqliteConnection::connect_with(&opts)
                .await
                .map_err(custom)?;
            for (_, name, table, sql) in objects.iter().filter(|o| names.contains(&o.2)) {
                let exists = sqlx::query("SELECT 1 FROM sqlite_master WHERE name = ?")
                    .bind(name)
                    .fetch_optional(&mut dest)
                    .await
                    .map_err(custom)?
                    .is_some();
                if !exists {
                    run(&mut dest, sql.clone())
                        .await
                        .map_err(|e| custom(format!("moving {table} of plugin {slug}: {e}")))?;
                }
            }
            let _ = dest.close().await;
        }
        // The rows, then the host's copy dropped, in one transaction of a
        // connection that has the plugin's file attached.
        let mut conn = pool.acquire().await.map_err(custom)?;
        sqlx::query("ATTACH DATABASE ? AS plugin_dest")
            .bind(path.to_string_lossy().into_owned())
            .execute(&mut *conn)
            .await
            .map_err(custom)?;
        let result = async {
            conn.execute("BEGIN IMMEDIATE").await?;
            conn.execute("PRAGMA defer_foreign_keys = ON").await?;
            for name in &names {
                // Names match `plugin_[a-z0-9_]+__…` from sqlite_master.
                let q = format!("\"{}\"", name.replace('"', "\"\""));
                run(&mut conn, format!("DELETE FROM plugin_dest.{q}")).await?;
                run(
                    &mut conn,
                    format!("INSERT INTO plugin_dest.{q} SELECT * FROM main.{q}"),
                )
                .await?;
            }
            for name in &names {
                let q = format!("\"{}\"", name.replace('"', "\"\""));
                run(&mut conn, format!("DROP TABLE main.{q}")).await?;
            }
            conn.execute("COMMIT").await?;
            Ok::<_, sqlx::Error>(())
        }
        .await;
        if result.is_err() {
            let _ = conn.execute("ROLLBACK").await;
        }
        let _ = conn.execute("DETACH DATABASE plugin_dest").await;
        result.map_err(|e| custom(format!("moving the tables of plugin {slug}: {e}")))?;
        tracing::info!(plugin = %slug, tables = ?names, "plugin tables moved into the plugin's own database file");
        moved += names.len();
    }
    Ok(moved)
}

/// PostgreSQL: move each table (with its indexes and owned sequences) into
/// the plugin's schema and give it to the plugin's role.
pub(super) async fn postgres(host: &DatabaseConnection, roles: &Roles) -> Result<usize, DbErr> {
    let rows = host
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT tablename::text AS name FROM pg_tables WHERE schemaname = 'public' \
             AND tablename LIKE 'plugin\\_%\\_\\_%' ESCAPE '\\' ORDER BY tablename",
        ))
        .await?;
    let names = rows
        .iter()
        .map(|r| r.try_get::<String>("", "name"))
        .collect::<Result<Vec<_>, _>>()?;
    let mut moved = 0;
    for (slug, tables) in by_slug(names) {
        let (role, _) = roles.provision(host, &slug).await?;
        let schema = Roles::schema(&slug);
        let pool = host.get_postgres_connection_pool();
        let mut tx = pool.begin().await.map_err(custom)?;
        for table in &tables {
            // Names are `plugin_[a-z0-9_]+__…` from pg_tables.
            let q = format!("\"{}\"", table.replace('"', "\"\""));
            for sql in [
                format!("ALTER TABLE public.{q} SET SCHEMA {schema}"),
                format!("ALTER TABLE {schema}.{q} OWNER TO {role}"),
            ] {
                run_pg(&mut tx, sql)
                    .await
                    .map_err(|e| custom(format!("moving {table} of plugin {slug}: {e}")))?;
            }
        }
        tx.commit().await.map_err(custom)?;
        tracing::info!(plugin = %slug, ?tables, "plugin tables moved into the plugin's own schema");
        moved += tables.len();
    }
    Ok(moved)
}
