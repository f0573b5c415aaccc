//! KV get / set and a namespaced SQL query through a plugin's context,
//! against the same operation done directly with sea-orm on the same
//! database, in one run; and the SQL namespace check on its own.
//!
//! The plugin path is the whole path a plugin's call takes: the `Context`
//! vtable, the capability check, the bridge to the database runtime, the
//! namespace check (remembered per statement text), sea-orm, and JSON in
//! and out. The direct path is a
//! loop of sea-orm calls on one async task. SQLite always; PostgreSQL too
//! when `PLUGBOARD_TEST_POSTGRES_URL` is set (`scripts/bench storage` does).
//!
//! Run with `scripts/bench storage`.

#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::time::Instant;

use plugboard_core::{
    fault::FaultPolicy,
    sql::{namespace, namespaced, Backend},
    Runtime, RuntimeConfig,
};
use plugboard_plugin_api::{builtin, prelude::*};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{json, Value};

const OPS: u32 = 5_000;
const ROWS: i64 = 1_000;
/// Each (plugin, direct) pair is measured this many times, alternating;
/// the medians are compared.
const ROUNDS: usize = 11;

struct Store;

impl Plugin for Store {
    fn slug(&self) -> &str {
        "store"
    }
    fn version(&self) -> &str {
        "1.0.0"
    }
    fn migrations(&self) -> Vec<Migration> {
        vec![Migration::new(
            "0001_items",
            &["CREATE TABLE items (id BIGINT PRIMARY KEY, body TEXT NOT NULL)"],
        )]
    }
}

fn per_sec(ops: u32, f: &dyn Fn()) -> f64 {
    let t = Instant::now();
    f();
    f64::from(ops) / t.elapsed().as_secs_f64()
}

/// Median ops/s of `plugin` and of `direct`, run alternately ROUNDS times.
fn compare(plugin: &dyn Fn(), direct: &dyn Fn()) -> (f64, f64) {
    let (mut p, mut d): (Vec<f64>, Vec<f64>) = (0..ROUNDS)
        .map(|_| (per_sec(OPS, plugin), per_sec(OPS, direct)))
        .unzip();
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(&mut p), median(&mut d))
}

fn stmt(backend: DbBackend, sqlite: &str, pg: &str, values: Vec<sea_orm::Value>) -> Statement {
    let sql = if backend == DbBackend::Postgres {
        pg
    } else {
        sqlite
    };
    Statement::from_sql_and_values(backend, sql, values)
}

fn run(label: &str, database_url: Option<String>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = RuntimeConfig::new(dir.path());
    config.database_url = database_url;
    let runtime = rt.block_on(async {
        Runtime::start(
            config,
            &[common::builtin_with(
                "store",
                json!({"kv": true, "sql": true}),
                || builtin(Store),
            )],
        )
        .await
        .unwrap()
    });
    let entry = runtime.plugin("store").unwrap();
    let conn = runtime.db().conn().clone();
    let backend = conn.get_database_backend();
    let policy = FaultPolicy::default();
    let value = json!({"n": 1, "name": "a value of a few bytes"});
    let value_text = value.to_string();

    // Seed: one KV key and ROWS items.
    entry
        .call(policy, false, |_, ctx| {
            ctx.kv().set("k", &value)?;
            for id in 0..ROWS {
                ctx.sql().exec(
                    "INSERT INTO items (id, body) VALUES (?, ?)",
                    &[id.into(), format!("item {id}").into()],
                )?;
            }
            Ok(())
        })
        .unwrap();

    let (plugin_get, direct_get) = compare(
        &|| {
            entry
                .call(policy, false, |_, ctx| {
                    for _ in 0..OPS {
                        let v: Option<Value> = ctx.kv().get("k")?;
                        assert!(v.is_some());
                    }
                    Ok(())
                })
                .unwrap()
        },
        &|| {
            rt.block_on(async {
                for _ in 0..OPS {
                    let row = conn
                        .query_one_raw(stmt(
                            backend,
                            "SELECT value FROM plugin_storage WHERE plugin = ? AND key = ?",
                            "SELECT value FROM plugin_storage WHERE plugin = $1 AND key = $2",
                            vec!["store".into(), "k".into()],
                        ))
                        .await
                        .unwrap()
                        .unwrap();
                    let text: String = row.try_get("", "value").unwrap();
                    let _: Value = serde_json::from_str(&text).unwrap();
                }
            })
        },
    );
    let (plugin_set, direct_set) = compare(
        &|| {
            entry
                .call(policy, false, |_, ctx| {
                    for i in 0..OPS {
                        ctx.kv().set("s", &json!({"i": i}))?;
                    }
                    Ok(())
                })
                .unwrap()
        },
        &|| {
            rt.block_on(async {
            for i in 0..OPS {
                let text = json!({"i": i}).to_string();
                conn.execute_raw(stmt(
                    backend,
                    "INSERT INTO plugin_storage (plugin, key, value, updated_at) VALUES (?, ?, ?, ?) \
                     ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                    "INSERT INTO plugin_storage (plugin, key, value, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                    vec!["store".into(), "s2".into(), text.into(), chrono::Utc::now().into()],
                ))
                .await
                .unwrap();
            }
        })
        },
    );
    let query = "SELECT id, body FROM items WHERE id = ?";
    // The direct side reads the plugin's table where it lives: the plugin's
    // own SQLite file, or its schema on PostgreSQL.
    let sql_conn = if backend == DbBackend::Postgres {
        conn.clone()
    } else {
        let file = dir.path().join("plugin-sql").join("store.db");
        rt.block_on(sea_orm::Database::connect(plugboard_core::db::sqlite_url(
            &file,
        )))
        .unwrap()
    };
    let (plugin_sql, direct_sql) = compare(
        &|| {
            entry
                .call(policy, false, |_, ctx| {
                    for i in 0..OPS {
                        let rows: Vec<Value> =
                            ctx.sql().query(query, &[(i64::from(i) % ROWS).into()])?;
                        assert_eq!(rows.len(), 1);
                    }
                    Ok(())
                })
                .unwrap()
        },
        &|| {
            rt.block_on(async {
                for i in 0..OPS {
                    let rows = sql_conn
                        .query_all_raw(stmt(
                            backend,
                            "SELECT id, body FROM plugin_store__items WHERE id = ?",
                            "SELECT id, body FROM plugin_store.plugin_store__items WHERE id = $1",
                            vec![(i64::from(i) % ROWS).into()],
                        ))
                        .await
                        .unwrap();
                    let id: i64 = rows[0].try_get("", "id").unwrap();
                    let body: String = rows[0].try_get("", "body").unwrap();
                    let _ = json!({"id": id, "body": body});
                }
            })
        },
    );
    let checks: u32 = 100_000;
    let b = if backend == DbBackend::Postgres {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let t = Instant::now();
    for _ in 0..checks {
        std::hint::black_box(namespace(std::hint::black_box(query), "store", b).unwrap());
    }
    let check_us = t.elapsed().as_secs_f64() * 1e6 / f64::from(checks);
    let t = Instant::now();
    for _ in 0..checks {
        std::hint::black_box(namespaced(std::hint::black_box(query), "store", b).unwrap());
    }
    let cached_us = t.elapsed().as_secs_f64() * 1e6 / f64::from(checks);

    println!(
        "storage on {label}, {OPS} operations each, median of {ROUNDS} alternating rounds (ops/s, plugin context vs direct sea-orm):"
    );
    for (name, p, d) in [
        ("kv get", plugin_get, direct_get),
        ("kv set", plugin_set, direct_set),
        ("sql query by id", plugin_sql, direct_sql),
    ] {
        println!(
            "  {name:<16} plugin {p:>9.0}  direct {d:>9.0}  ratio {:>5.1} %",
            100.0 * p / d
        );
    }
    println!(
        "  namespace check on its own ({query:?}): {check_us:.2} µs per statement = {:.1} % of one plugin query; \
         remembered (what a repeated statement pays): {cached_us:.3} µs",
        100.0 * check_us / (1e6 / plugin_sql)
    );
    let _ = value_text;
    drop(runtime);
}

fn main() {
    run("SQLite (file)", None);
    if let Ok(url) = std::env::var("PLUGBOARD_TEST_POSTGRES_URL") {
        run("PostgreSQL", Some(common::fresh_postgres_database(&url)));
    }
}
