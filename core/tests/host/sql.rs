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
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'plugin_gb_%' ORDER BY name",
            ))
            .await
            .unwrap();
        let names: Vec<String> = tables.iter().map(|r| r.try_get("", "name").unwrap()).collect();
        assert_eq!(names, ["plugin_gb_authors", "plugin_gb_entries"]);

        // `users` means the plugin's own (absent) table, never the host's.
        let err = run("SELECT * FROM users").await.unwrap_err();
        assert!(err.to_string().contains("no such table: plugin_gb_users"), "{err}");
        run("DROP TABLE entries").await.unwrap();
    });
}
