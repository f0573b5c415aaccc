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
        let db = Db::open(&sqlite_url(&dir.path().join("t.db")), &dir.path().join("plugin-sql"))
            .await
            .unwrap();
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

    per_database! {
        fn plugins_use_their_own_tables_with_parameters_and_atomic_batches(db, url) {
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

    per_database! {
        fn every_statement_reaching_outside_is_refused_through_a_plugin_and_changes_nothing(db, url) {
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
    fn the_database_refuses_what_the_rewriter_would_have_on_sqlite() {
        database_refuses_with_the_rewriter_bypassed(None);
    }

    #[test]
    fn the_database_refuses_what_the_rewriter_would_have_on_postgres() {
        database_refuses_with_the_rewriter_bypassed(
            Some(crate::support::fresh_postgres_database()),
        );
    }

    /// The cases of `core/tests/data/sql-containment.tsv` for this database,
    /// with the placeholders filled in.
    fn containment_cases(postgres: bool, host_db: &str, host_role: &str) -> Vec<String> {
        include_str!("../data/sql-containment.tsv")
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| {
                let (db, sql) = l.split_once('\t').expect("database<TAB>sql");
                let wanted = db == "any" || (db == "postgres") == postgres;
                wanted.then(|| {
                    sql.replace("{host_db}", host_db)
                        .replace("{host_role}", host_role)
                })
            })
            .collect()
    }

    /// With the namespace rewriter switched off (a test-only feature), a
    /// plugin sends statements with physical names, as an injection that
    /// slipped past the rewriter would: the database refuses every one, and
    /// afterwards the host, the other plugin and the plugin itself are as
    /// they were. Statements that only change the session (`RESET ROLE`,
    /// `SET search_path`) are sent too; they succeed, and change nothing a
    /// later statement can reach. Then every case of the rewriter's own
    /// list (`sql-refusals.tsv`) is sent as written: the database refuses
    /// each, except a named few it runs inside the plugin's own place.
    fn database_refuses_with_the_rewriter_bypassed(url: Option<String>) {
        let postgres = url.is_some();
        let dir = tempdir();
        let mut opts = options(url.clone());
        opts.sql_rewriter_bypassed = true;
        let host = Host::start_with(dir.path(), opts);
        let sql = |slug: &str, endpoint: &str, sql: &str| {
            host.admin(
                "POST",
                &format!("/api/plugins/{slug}/{endpoint}"),
                Some(json!({"sql": sql, "params": []})),
            )
        };
        // The plugins' own tables under their physical names: still usable.
        for (slug, table, body) in [
            ("sql-a", "plugin_sql_a__notes", "from-a"),
            ("sql-b", "plugin_sql_b__notes", "from-b"),
        ] {
            let (s, v) = sql(
                slug,
                "exec",
                &format!("INSERT INTO {table} (body) VALUES ('{body}')"),
            );
            assert_eq!(s, 200, "{v}");
        }
        let (_, users_before) = host.admin("GET", "/api/admin/users", None);
        let (_, plugins_before) = host.admin("GET", "/api/admin/plugins", None);
        let host_db = dir.path().join("plugboard.db").display().to_string();
        let host_role = match &url {
            Some(url) => url
                .split("://")
                .nth(1)
                .and_then(|rest| rest.split([':', '@']).next())
                .unwrap()
                .to_string(),
            None => String::new(),
        };
        // Session-level escapes: harmless on a connection that logged in as
        // the plugin's role. Sent first so later cases run after them.
        if postgres {
            for escape in [
                "RESET ROLE",
                "SET search_path = public",
                "SELECT set_config('search_path', 'public', false)",
                "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
            ] {
                for _ in 0..4 {
                    sql("sql-a", "exec", escape);
                }
            }
        }
        let cases = containment_cases(postgres, &host_db, &host_role);
        assert!(
            cases.len() >= if postgres { 40 } else { 20 },
            "{}",
            cases.len()
        );
        for case in &cases {
            for endpoint in ["exec", "query"] {
                let (s, v) = sql("sql-a", endpoint, case);
                assert_ne!(s, 200, "the database let {endpoint} {case:?} through: {v}");
                let message = v["error"]["message"].as_str().unwrap_or_default();
                assert!(
                    !message.contains("SQL refused"),
                    "the rewriter ran although bypassed: {message}"
                );
            }
        }
        // The rewriter's own list, sent as written (short names, so most
        // name nothing that exists): the database refuses each one, except
        // these, which it runs inside the plugin's own place.
        let contained: &[&str] = if postgres {
            &[
                // A long table name in the plugin's own schema.
                "CREATE TABLE a_very_long_table_name_that_goes_on_and_on_and_on_for_ever (id INT)",
                // A temporary table of the plugin's own session.
                "CREATE TEMPORARY TABLE t (id INT)",
                // Session settings of the plugin's own role.
                "SET search_path = public",
                "SET search_path TO public",
                "RESET ROLE",
                // `none` is the session user: the plugin's own role.
                "SELECT \"set_config\"('role', 'none', false)",
                // PostgreSQL's catalogs are readable by every role: names
                // and types of the host's tables, never their rows.
                "SELECT * FROM information_schema.tables",
                "SELECT * FROM pg_catalog.pg_tables",
                "SELECT * FROM pg_tables",
                "SELECT * FROM (TABLE pg_roles) r",
                // Needs no privilege: the engine cannot bound time; the
                // rewriter refuses it (and call deadlines are issue 12).
                "SELECT \"pg_sleep\"(10)",
            ]
        } else {
            &[
                // The schema of the plugin's own file: its own tables only.
                "SELECT * FROM sqlite_master",
                "SELECT * FROM sqlite_schema",
            ]
        };
        let mut let_through = Vec::new();
        for (_, case) in sql_refusal_cases() {
            let endpoints: &[&str] = if case.contains("pg_sleep") {
                &["exec"]
            } else {
                &["exec", "query"]
            };
            for endpoint in endpoints {
                let (s, v) = sql("sql-a", endpoint, case);
                if s == 200 && !contained.contains(&case) {
                    let_through.push(format!(
                        "{endpoint} {case:?}: {}",
                        v.to_string().chars().take(80).collect::<String>()
                    ));
                }
            }
        }
        assert!(
            let_through.is_empty(),
            "the database let these through:\n{}",
            let_through.join("\n")
        );
        // Nothing outside the plugin changed, and its own data is intact.
        // (On PostgreSQL sql-a moved some of its own sessions' search path
        // to `public` above, so it names its schema.)
        for (slug, table, body) in [
            ("sql-a", "plugin_sql_a.plugin_sql_a__notes", "from-a"),
            ("sql-b", "plugin_sql_b.plugin_sql_b__notes", "from-b"),
        ] {
            let table = if postgres {
                table
            } else {
                table.split_once('.').unwrap().1
            };
            let (s, rows) = sql(slug, "query", &format!("SELECT body FROM {table}"));
            assert_eq!((s, rows), (200, json!([{ "body": body }])), "{slug}");
        }
        let (_, users_after) = host.admin("GET", "/api/admin/users", None);
        assert_eq!(users_after, users_before);
        let (_, plugins_after) = host.admin("GET", "/api/admin/plugins", None);
        let states = |v: &serde_json::Value| {
            v["plugins"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p["slug"].clone(), p["state"].clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(states(&plugins_after), states(&plugins_before));
        assert!(!std::path::Path::new(&format!("{host_db}.copy")).exists());
        // The host still works: create and delete a user (a foreign key from
        // a plugin table to a host table would make the delete fail).
        let (s, v) = host.admin(
            "POST",
            "/api/admin/users",
            Some(json!({"username": "after-the-attack"})),
        );
        assert_eq!(s, 201, "{v}");
        let id = v["id"].as_i64().unwrap();
        let (s, v) = host.admin("DELETE", &format!("/api/admin/users/{id}"), None);
        assert!(s == 200 || s == 204, "{s} {v}");
    }

    per_database! {
        fn columns_can_be_added_renamed_and_dropped_on_both_databases(db, url) {
        eprintln!("database: {db}");
        alter_columns(url);
        }
    }

    /// `ALTER TABLE` re-parses the schema inside SQLite (internal functions,
    /// the temp schema table): the confined connection still allows it on
    /// the plugin's own table.
    fn alter_columns(url: Option<String>) {
        let dir = tempdir();
        let host = Host::start_with(dir.path(), options(url));
        let exec = |sql: &str| {
            host.admin(
                "POST",
                "/api/plugins/sql-a/exec",
                Some(json!({"sql": sql, "params": []})),
            )
        };
        for sql in [
            "INSERT INTO notes (body, rank) VALUES ('one', 1)",
            "ALTER TABLE notes ADD COLUMN extra TEXT",
            "ALTER TABLE notes RENAME COLUMN rank TO score",
            "ALTER TABLE notes DROP COLUMN extra",
        ] {
            let (s, v) = exec(sql);
            assert_eq!(s, 200, "{sql}: {v}");
        }
        let (s, rows) = host.admin(
            "POST",
            "/api/plugins/sql-a/query",
            Some(json!({"sql": "SELECT body, score FROM notes"})),
        );
        assert_eq!((s, rows), (200, json!([{"body": "one", "score": 1}])));
    }

    #[test]
    fn a_statement_that_never_ends_is_stopped_at_its_deadline_on_sqlite() {
        runaway_statement(None, "interrupted");
    }

    #[test]
    fn a_statement_that_never_ends_is_stopped_at_its_deadline_on_postgres() {
        runaway_statement(
            Some(crate::support::fresh_postgres_database()),
            "statement timeout",
        );
    }

    /// A recursive CTE that never ends passes the rewriter (it names only
    /// its own CTE and `count`): the database stops it at the 30 s
    /// statement deadline with an error, and the plugin's pool is usable
    /// afterwards.
    fn runaway_statement(url: Option<String>, reason: &str) {
        let dir = tempdir();
        // The route's deadline is longer than the statement's (30 s), so
        // the database's answer reaches the client.
        let host = Host::start_with(
            dir.path(),
            Options {
                limits: plugboard_core::exec::CallLimits {
                    deadline: std::time::Duration::from_secs(60),
                    ..Default::default()
                },
                ..options(url)
            },
        );
        let bearer = format!("Bearer {}", crate::support::TOKEN);
        // No client timeout: the test waits for the server's answer.
        let (s, _, v) = crate::support::send(
            &host,
            "POST",
            "/api/plugins/sql-a/query",
            &[("authorization", &bearer)],
            Some(json!({"sql": "WITH RECURSIVE c (x) AS (SELECT 1 UNION ALL \
                SELECT x + 1 FROM c) SELECT count(*) AS n FROM c"})),
        );
        assert_eq!(s, 422, "{v}");
        let message = v["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(reason), "{message}");
        let (s, v) = host.admin(
            "POST",
            "/api/plugins/sql-a/query",
            Some(json!({"sql": "SELECT count(*) AS n FROM notes"})),
        );
        assert_eq!((s, v), (200, json!([{"n": 0}])));
    }

    #[test]
    fn tables_an_earlier_version_kept_among_the_hosts_move_on_sqlite() {
        legacy_tables_move(None);
    }

    #[test]
    fn tables_an_earlier_version_kept_among_the_hosts_move_on_postgres() {
        legacy_tables_move(Some(crate::support::fresh_postgres_database()));
    }

    /// A database as the previous release left it: the host's tables, and
    /// the plugin's table (`plugin_sql_a__notes`, with an index and rows)
    /// beside them, its migrations recorded. At start the table moves into
    /// the plugin's own place with its rows; the migrations do not run
    /// again; nothing of it is left among the host's tables.
    fn legacy_tables_move(url: Option<String>) {
        use plugboard_migrations::{Migrator, MigratorTrait};
        use sea_orm::{ConnectionTrait, Statement};
        let dir = tempdir();
        let host_url = url
            .clone()
            .unwrap_or_else(|| plugboard_core::db::sqlite_url(&dir.path().join("plugboard.db")));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let catalog = if url.is_some() {
            "SELECT tablename::text AS name FROM pg_tables WHERE schemaname = 'public' \
             AND tablename LIKE 'plugin_sql_a%'"
        } else {
            "SELECT name FROM sqlite_master WHERE name LIKE 'plugin_sql_a%'"
        };
        rt.block_on(async {
            let conn = sea_orm::Database::connect(host_url.clone()).await.unwrap();
            Migrator::up(&conn, None).await.unwrap();
            let id_column = if url.is_some() {
                "id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
            } else {
                "id INTEGER PRIMARY KEY"
            };
            for sql in [
                format!("CREATE TABLE plugin_sql_a__notes ({id_column}, body TEXT NOT NULL, rank INTEGER)"),
                "CREATE INDEX plugin_sql_a__by_rank ON plugin_sql_a__notes (rank)".to_string(),
                "INSERT INTO plugin_sql_a__notes (body, rank) VALUES ('kept one', 1), ('kept two', 2)".to_string(),
                "INSERT INTO plugin_migrations (plugin, id, applied_at) VALUES \
                 ('sql-a', '0001_notes', CURRENT_TIMESTAMP), ('sql-a', '0002_notes_rank', CURRENT_TIMESTAMP)"
                    .to_string(),
            ] {
                conn.execute_unprepared(&sql).await.unwrap();
            }
            conn.close().await.unwrap();
        });
        let host = Host::start_with(dir.path(), options(url.clone()));
        assert_eq!(host.state("sql-a"), "active");
        let (s, rows) = host.admin(
            "POST",
            "/api/plugins/sql-a/query",
            Some(json!({"sql": "SELECT body, rank FROM notes ORDER BY rank"})),
        );
        assert_eq!(
            (s, rows),
            (
                200,
                json!([{"body": "kept one", "rank": 1}, {"body": "kept two", "rank": 2}])
            )
        );
        // New rows get fresh ids after the moved ones.
        let (s, v) = host.admin(
            "POST",
            "/api/plugins/sql-a/exec",
            Some(json!({"sql": "INSERT INTO notes (body) VALUES ('new')"})),
        );
        assert_eq!(s, 200, "{v}");
        let (_, rows) = host.admin(
            "POST",
            "/api/plugins/sql-a/query",
            Some(json!({"sql": "SELECT id FROM notes WHERE body = 'new'"})),
        );
        assert_eq!(rows, json!([{"id": 3}]));
        assert_eq!(
            host.runtime.db().plugin_tables("sql-a").unwrap(),
            ["plugin_sql_a__notes"]
        );
        host.stop();
        rt.block_on(async {
            let conn = sea_orm::Database::connect(host_url.clone()).await.unwrap();
            let left = conn
                .query_all_raw(Statement::from_string(conn.get_database_backend(), catalog))
                .await
                .unwrap();
            assert!(
                left.is_empty(),
                "{} plugin objects left among the host's",
                left.len()
            );
        });
        // A second start finds nothing more to move and keeps the rows.
        let host = Host::start_with(dir.path(), options(url));
        let (_, rows) = host.admin(
            "POST",
            "/api/plugins/sql-a/query",
            Some(json!({"sql": "SELECT count(*) AS n FROM notes"})),
        );
        assert_eq!(rows, json!([{"n": 3}]));
    }

    #[test]
    fn a_plugins_sqlite_file_is_its_own_and_readable_by_the_owner_only() {
        let dir = tempdir();
        let host = Host::start_with(dir.path(), options(None));
        let (s, v) = host.admin(
            "POST",
            "/api/plugins/sql-a/exec",
            Some(json!({"sql": "INSERT INTO notes (body) VALUES ('x')"})),
        );
        assert_eq!(s, 200, "{v}");
        let file = dir.path().join("plugin-sql").join("sql-a.db");
        assert!(file.exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
            let dir_mode = std::fs::metadata(file.parent().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(dir_mode & 0o077, 0, "{dir_mode:o}");
        }
        assert_eq!(
            host.runtime.db().plugin_tables("sql-a").unwrap(),
            ["plugin_sql_a__notes"]
        );
        // The host's file holds no plugin table.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let url = plugboard_core::db::sqlite_url(&dir.path().join("plugboard.db"));
        rt.block_on(async {
            use sea_orm::{ConnectionTrait, Statement};
            let conn = sea_orm::Database::connect(url).await.unwrap();
            let rows = conn
                .query_all_raw(Statement::from_string(
                    conn.get_database_backend(),
                    "SELECT name FROM sqlite_master WHERE name LIKE 'plugin\\_%\\_\\_%' ESCAPE '\\'",
                ))
                .await
                .unwrap();
            assert!(rows.is_empty(), "{} plugin tables in the host's file", rows.len());
        });
    }

    per_database! {
        fn a_failing_migration_rolls_back_and_leaves_the_plugin_errored_with_its_id(db, url) {
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
        assert_eq!(
            host.runtime.db().plugin_tables("bad-migration").unwrap(),
            ["plugin_bad_migration__t"]
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let url =
            url.unwrap_or_else(|| plugboard_core::db::sqlite_url(&dir.path().join("plugboard.db")));
        rt.block_on(async {
            let conn = sea_orm::Database::connect(url).await.unwrap();
            let applied = plugboard_core::sql::migrate::applied(&conn, "bad-migration")
                .await
                .unwrap();
            assert_eq!(applied.into_iter().collect::<Vec<_>>(), ["0001_ok"]);
        });
    }

    per_database! {
        fn migrations_are_not_applied_twice_across_restarts(db, url) {
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
