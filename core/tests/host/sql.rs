//! Namespaced SQL run against a real SQLite file: the rewritten statements
//! work, and the host's own tables stay out of reach.

use plugboard_core::{
    db::{sqlite_url, Db},
    sql::{namespace, Backend},
};
use sea_orm::{ConnectionTrait, Statement};

use crate::support::tempdir;

#[test]
fn rewritten_statements_run_and_cannot_reach_host_tables() {
    let dir = tempdir();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = Db::open(&sqlite_url(&dir.path().join("t.db"))).await.unwrap();
        let conn = db.conn();
        let run = |sql: &str| {
            let sql = namespace(sql, "gb", Backend::Sqlite).unwrap();
            async move { conn.execute_unprepared(&sql).await }
        };
        run("CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL)").await.unwrap();
        run("CREATE TABLE entries (id INTEGER PRIMARY KEY, author_id INTEGER REFERENCES authors(id), body TEXT)")
            .await
            .unwrap();
        run("CREATE INDEX by_author ON entries (author_id)").await.unwrap();
        run("INSERT INTO authors (id, name) VALUES (1, 'ann'), (2, 'bo')").await.unwrap();
        run("INSERT INTO entries (author_id, body) VALUES (1, 'hi'), (1, 'again'), (2, 'yo')").await.unwrap();
        run("UPDATE entries SET body = upper(body) WHERE author_id = 2").await.unwrap();

        let query = namespace(
            "WITH counts AS (SELECT author_id, count(*) AS n FROM entries GROUP BY author_id) \
             SELECT authors.name, counts.n FROM authors JOIN counts ON counts.author_id = authors.id \
             WHERE authors.id IN (SELECT author_id FROM entries WHERE body = 'YO' OR body = 'hi') ORDER BY authors.name",
            "gb",
            Backend::Sqlite,
        )
        .unwrap();
        let rows = conn.query_all_raw(Statement::from_string(conn.get_database_backend(), query)).await.unwrap();
        let got: Vec<(String, i64)> = rows
            .iter()
            .map(|r| (r.try_get::<String>("", "name").unwrap(), r.try_get::<i64>("", "n").unwrap()))
            .collect();
        assert_eq!(got, vec![("ann".to_string(), 2), ("bo".to_string(), 1)]);

        // The physical tables carry the prefix.
        let tables = conn
            .query_all_raw(Statement::from_string(
                conn.get_database_backend(),
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'plugin_gb__%' ORDER BY name",
            ))
            .await
            .unwrap();
        let names: Vec<String> = tables.iter().map(|r| r.try_get("", "name").unwrap()).collect();
        assert_eq!(names, ["plugin_gb__authors", "plugin_gb__entries"]);

        // `users` means the plugin's own (absent) table, never the host's.
        let err = run("SELECT * FROM users").await.unwrap_err();
        assert!(err.to_string().contains("no such table: plugin_gb__users"), "{err}");
        run("DROP TABLE entries").await.unwrap();
    });
}

mod through_plugins {
    use plugboard_plugin_api::builtin;
    use serde_json::json;

    use crate::support::{
        databases,
        sql_probe::{BadMigration, SqlProbe},
        tempdir, Host, Options,
    };

    fn options(database_url: Option<String>) -> Options {
        Options {
            builtins: crate::support::probes(&[
                || builtin(SqlProbe("sql-a")),
                || builtin(SqlProbe("sql-b")),
                || builtin(BadMigration),
            ]),
            database_url,
            ..Options::default()
        }
    }

    #[test]
    fn plugins_use_their_own_tables_with_parameters_and_atomic_batches() {
        for (db, url) in databases() {
            eprintln!("database: {db}");
            own_tables_parameters_and_batches(url);
        }
    }

    fn own_tables_parameters_and_batches(url: Option<String>) {
        let dir = tempdir();
        let host = Host::start_with(dir.path(), options(url.clone()));
        let exec = |slug: &str, sql: &str, params: serde_json::Value| {
            host.admin(
                "POST",
                &format!("/api/plugins/{slug}/exec"),
                Some(json!({"sql": sql, "params": params})),
            )
        };
        let query = |slug: &str, sql: &str, params: serde_json::Value| {
            host.admin(
                "POST",
                &format!("/api/plugins/{slug}/query"),
                Some(json!({"sql": sql, "params": params})),
            )
        };
        // Migrations ran on enable: the table has the column from 0002.
        let (s, v) = exec(
            "sql-a",
            "INSERT INTO notes (body, rank) VALUES (?, ?)",
            json!(["a's note", 1]),
        );
        assert_eq!((s, v), (200, json!({"rows_affected": 1})));
        exec(
            "sql-b",
            "INSERT INTO notes (body) VALUES (?)",
            json!(["b's note"]),
        );
        let (_, rows) = query(
            "sql-a",
            "SELECT body, rank FROM notes WHERE rank = ?",
            json!([1]),
        );
        assert_eq!(rows, json!([{"body": "a's note", "rank": 1}]));
        let (_, rows) = query("sql-b", "SELECT body FROM notes", json!([]));
        assert_eq!(
            rows,
            json!([{"body": "b's note"}]),
            "each plugin sees only its own notes"
        );

        // Reaching another plugin's table is refused with the reason.
        let (s, v) = query(
            "sql-a",
            "SELECT * FROM notes JOIN plugin_sql_b_notes b ON 1 = 1",
            json!([]),
        );
        assert_eq!(s, 422, "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("SQL refused"),
            "{v}"
        );
        let (s, _) = exec("sql-a", "DELETE FROM notes; DROP TABLE notes", json!([]));
        assert_eq!(s, 422);

        // A batch whose second statement fails applies nothing.
        let (s, v) = host.admin(
            "POST",
            "/api/plugins/sql-a/batch",
            Some(json!([
                {"sql": "INSERT INTO notes (body) VALUES (?)", "params": ["lost"]},
                {"sql": "INSERT INTO notes (id, body) VALUES (1, 'duplicate key')"}
            ])),
        );
        assert_eq!(s, 422, "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("nothing was applied"),
            "{v}"
        );
        let (_, rows) = query("sql-a", "SELECT count(*) AS n FROM notes", json!([]));
        assert_eq!(rows, json!([{"n": 1}]));
        let (s, v) = host.admin(
            "POST",
            "/api/plugins/sql-a/batch",
            Some(json!([
                {"sql": "INSERT INTO notes (body) VALUES (?)", "params": ["kept"]},
                {"sql": "UPDATE notes SET rank = 7"}
            ])),
        );
        assert_eq!((s, v), (200, json!([1, 2])));
    }

    #[test]
    fn every_statement_reaching_outside_is_refused_through_a_plugin_and_changes_nothing() {
        for (db, url) in databases() {
            eprintln!("database: {db}");
            refusals_through_a_plugin(url);
        }
    }

    /// Each case of `core/tests/data/sql-refusals.tsv`, sent by a plugin to a
    /// real database, both as a statement and as a query: 422 naming the
    /// reason, and afterwards both plugins' rows and the host are unchanged.
    fn refusals_through_a_plugin(url: Option<String>) {
        let dir = tempdir();
        let host = Host::start_with(dir.path(), options(url));
        for (slug, body) in [("sql-a", "a's"), ("sql-b", "b's")] {
            let (s, _) = host.admin(
                "POST",
                &format!("/api/plugins/{slug}/exec"),
                Some(json!({"sql": "INSERT INTO notes (body) VALUES (?)", "params": [body]})),
            );
            assert_eq!(s, 200);
        }
        let states = || {
            let (_, v) = host.admin("GET", "/api/admin/plugins", None);
            let plugins = v["plugins"].as_array().unwrap().iter();
            plugins
                .map(|p| {
                    (
                        p["slug"].clone(),
                        p["state"].clone(),
                        p["generation"].clone(),
                    )
                })
                .collect::<Vec<_>>()
        };
        let states_before = states();
        for (needle, sql) in sql_refusal_cases() {
            for endpoint in ["exec", "query"] {
                let (s, v) = host.admin(
                    "POST",
                    &format!("/api/plugins/sql-a/{endpoint}"),
                    Some(json!({"sql": sql, "params": []})),
                );
                let message = v["error"]["message"].as_str().unwrap_or_default();
                assert_eq!(s, 422, "{endpoint} {sql:?} was not refused: {v}");
                assert!(
                    message.contains("SQL refused") && message.contains(needle),
                    "{endpoint} {sql:?} refused for the wrong reason: {message}"
                );
            }
        }
        for (slug, body) in [("sql-a", "a's"), ("sql-b", "b's")] {
            let (_, rows) = host.admin(
                "POST",
                &format!("/api/plugins/{slug}/query"),
                Some(json!({"sql": "SELECT body FROM notes", "params": []})),
            );
            assert_eq!(rows, json!([{ "body": body }]), "{slug}'s rows changed");
        }
        assert_eq!(
            states(),
            states_before,
            "a refusal changed a plugin's state"
        );
    }

    include!("../data/sql_refusals.rs");

    #[test]
    fn a_failing_migration_rolls_back_and_leaves_the_plugin_errored_with_its_id() {
        for (db, url) in databases() {
            eprintln!("database: {db}");
            failing_migration(url);
        }
    }

    fn failing_migration(url: Option<String>) {
        let dir = tempdir();
        let host = Host::start_with(dir.path(), options(url.clone()));
        let (_, p) = host.admin("GET", "/api/admin/plugins/bad-migration", None);
        assert_eq!(p["state"], "errored", "{p}");
        let err = p["last_error"].as_str().unwrap();
        assert!(
            err.starts_with("migrations: migration 0002_broken failed:"),
            "{err}"
        );
        assert!(err.contains("missing_table"), "{err}");
        // 0001 applied; 0002 left nothing behind (its CREATE TABLE was rolled back).
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let url =
            url.unwrap_or_else(|| plugboard_core::db::sqlite_url(&dir.path().join("plugboard.db")));
        rt.block_on(async {
            use sea_orm::{ConnectionTrait, DbBackend, Statement};
            let conn = sea_orm::Database::connect(url).await.unwrap();
            let catalog = match conn.get_database_backend() {
                DbBackend::Postgres => {
                    "SELECT table_name::text AS name FROM information_schema.tables \
                     WHERE table_name LIKE 'plugin_bad_migration_%' ORDER BY 1"
                }
                _ => "SELECT name FROM sqlite_master WHERE name LIKE 'plugin_bad_migration_%' ORDER BY name",
            };
            let rows = conn
                .query_all_raw(Statement::from_string(conn.get_database_backend(), catalog))
                .await
                .unwrap();
            let names: Vec<String> = rows.iter().map(|r| r.try_get("", "name").unwrap()).collect();
            assert_eq!(names, ["plugin_bad_migration__t"]);
            let applied = plugboard_core::sql::migrate::applied(&conn, "bad-migration").await.unwrap();
            assert_eq!(applied.into_iter().collect::<Vec<_>>(), ["0001_ok"]);
        });
    }

    #[test]
    fn migrations_are_not_applied_twice_across_restarts() {
        for (db, url) in databases() {
            eprintln!("database: {db}");
            migrations_once(url);
        }
    }

    fn migrations_once(url: Option<String>) {
        let dir = tempdir();
        {
            let host = Host::start_with(dir.path(), options(url.clone()));
            let (s, _) = host.admin(
                "POST",
                "/api/plugins/sql-a/exec",
                Some(json!({"sql": "INSERT INTO notes (body) VALUES ('survives')"})),
            );
            assert_eq!(s, 200);
            host.stop();
        }
        let host = Host::start_with(dir.path(), options(url.clone()));
        assert_eq!(
            host.state("sql-a"),
            "active",
            "re-enabling did not re-run 0001 (CREATE TABLE would fail)"
        );
        let (_, rows) = host.admin(
            "POST",
            "/api/plugins/sql-a/query",
            Some(json!({"sql": "SELECT body FROM notes"})),
        );
        assert_eq!(rows, json!([{"body": "survives"}]));
    }
}
