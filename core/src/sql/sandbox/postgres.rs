//! PostgreSQL: a schema and a login role per plugin.
//!
//! Why a *login* role rather than `SET ROLE` on the host's connections:
//! `SET ROLE` only changes the current role, and any statement can change
//! it back (`RESET ROLE`, or `SELECT set_config('role', 'none', false)` in
//! the middle of a query, which no parser of ours has to see). On a
//! connection that logged in as the plugin's role, the *session* user is
//! that role, and there is no way back to the host's.
//!
//! The host's role needs `CREATEROLE` (to create and drop plugin roles and
//! grant itself membership in them) and `CREATE` on its database (to create
//! the schemas); it must not be a superuser, or plugin roles could be given
//! more than they should. Each plugin role has `LOGIN`, no other attribute,
//! a random password kept in `plugin_sql_roles`, and owns only its schema.

use std::{str::FromStr, time::Duration};

use sea_orm::{
    sqlx::postgres::PgConnectOptions, ConnectOptions, ConnectionTrait, Database,
    DatabaseConnection, DbBackend, DbErr, Statement,
};
use sha2::{Digest, Sha256};

/// A plugin's pool size; plugin code is synchronous, so this bounds the
/// calls of one plugin that wait on the database at once.
const MAX_CONNECTIONS: u32 = 4;

/// The longest any one plugin statement may run, in milliseconds.
const STATEMENT_TIMEOUT_MS: &str = "30000";

/// The longest identifier PostgreSQL keeps.
const MAX_IDENTIFIER: usize = 63;

/// Provisions and opens plugin roles and schemas.
pub(super) struct Roles {
    /// The host's database URL; a plugin's connections use it with the
    /// plugin role's name and password instead of the host's.
    url: String,
    /// A short digest of the database's name: roles belong to the whole
    /// cluster, schemas to one database, so two databases on one server
    /// (tests, staging beside production) never share a plugin role.
    tag: String,
}

fn custom(e: impl std::fmt::Display) -> DbErr {
    DbErr::Custom(e.to_string())
}

fn short_digest(text: &str, hex_chars: usize) -> String {
    let mut h = hex::encode(Sha256::digest(text.as_bytes()));
    h.truncate(hex_chars);
    h
}

fn stmt(sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

impl Roles {
    pub(super) async fn new(host: &DatabaseConnection, url: &str) -> Result<Self, DbErr> {
        PgConnectOptions::from_str(url).map_err(custom)?;
        let row = host
            .query_one_raw(stmt("SELECT current_database()::text AS name", vec![]))
            .await?
            .ok_or_else(|| custom("current_database() returned nothing"))?;
        let name: String = row.try_get("", "name")?;
        let row = host
            .query_one_raw(stmt(
                "SELECT current_user::text AS role, \
                 current_setting('server_version_num')::int AS version",
                vec![],
            ))
            .await?
            .ok_or_else(|| custom("current_user returned nothing"))?;
        let (host_role, version): (String, i32) =
            (row.try_get("", "role")?, row.try_get("", "version")?);
        if version < 150_000 {
            // Before 15, a role could grant and revoke membership in itself
            // (and so cut the host off a plugin's schema), and PUBLIC could
            // create objects in `public`.
            return Err(custom(format!(
                "plugin SQL needs PostgreSQL 15 or newer to be confined (server version {version})"
            )));
        }
        if host_role.starts_with("plugin_") || host_role.starts_with("pb_") {
            // Its `"$user"` schema would come first in the host's own path.
            return Err(custom(format!(
                "the host's database role {host_role:?} is named like a plugin's role or schema; \
                 use another name"
            )));
        }
        // `public` holds the host's tables: no other role may create there
        // (PostgreSQL 15's default; older databases granted it to PUBLIC)
        // or even look up names in it, so a plugin cannot make its objects
        // depend on the host's (a column of a host table's row type would
        // block the host's own migrations). Only the schema's owner may
        // change this; elsewhere, warn.
        // PostgreSQL answers a REVOKE it may not do with a warning, not an
        // error; so look at what PUBLIC holds afterwards, and refuse to run
        // plugins with a database that cannot keep them out.
        host.execute_unprepared("REVOKE ALL ON SCHEMA public FROM PUBLIC")
            .await?;
        let still = host
            .query_one_raw(stmt(
                "SELECT count(*)::bigint AS n FROM pg_namespace n, \
                 aclexplode(COALESCE(n.nspacl, acldefault('n', n.nspowner))) a \
                 WHERE n.nspname = 'public' AND a.grantee = 0",
                vec![],
            ))
            .await?
            .map(|r| r.try_get::<i64>("", "n"))
            .transpose()?
            .unwrap_or(0);
        if still > 0 {
            return Err(custom(
                "plugin SQL cannot be confined: every role may still use schema public, and the \
                 host's role cannot change that; the host's role must own the database (or \
                 schema public), see README (\"Plugin SQL is confined by the database\")",
            ));
        }
        Ok(Self {
            url: url.to_string(),
            tag: short_digest(&name, 8),
        })
    }

    /// The role of `slug` in this database: `pb_<tag>_<slug>`.
    pub(super) fn role(&self, slug: &str) -> String {
        let name = format!("pb_{}_{}", self.tag, slug.replace('-', "_"));
        if name.len() <= MAX_IDENTIFIER {
            name
        } else {
            format!("pb_{}_{}", self.tag, short_digest(slug, 32))
        }
    }

    /// The schema of `slug`: `plugin_<slug>`.
    pub(super) fn schema(slug: &str) -> String {
        let name = format!("plugin_{}", slug.replace('-', "_"));
        if name.len() <= MAX_IDENTIFIER {
            name
        } else {
            format!("plugin_{}", short_digest(slug, 32))
        }
    }

    /// Makes sure `slug`'s role and schema exist; its role and password.
    pub(super) async fn provision(
        &self,
        host: &DatabaseConnection,
        slug: &str,
    ) -> Result<(String, String), DbErr> {
        if !crate::slug::Slug::is_valid(slug) {
            return Err(custom(format!("invalid plugin slug {slug:?}")));
        }
        let (role, schema) = (self.role(slug), Self::schema(slug));
        // One credential per plugin, whichever replica comes first.
        host.execute_raw(stmt(
            "INSERT INTO plugin_sql_roles (plugin, role, password) VALUES ($1, $2, $3) \
             ON CONFLICT (plugin) DO NOTHING",
            vec![
                slug.into(),
                role.as_str().into(),
                crate::auth::random_hex(32).into(),
            ],
        ))
        .await?;
        let row = host
            .query_one_raw(stmt(
                "SELECT role, password FROM plugin_sql_roles WHERE plugin = $1",
                vec![slug.into()],
            ))
            .await?
            .ok_or_else(|| custom("plugin role vanished"))?;
        let password: String = row.try_get("", "password")?;
        // Names are `[a-z0-9_]` (slug checked above, tag is hex), the
        // password is hex: nothing here needs quoting.
        debug_assert!(password.chars().all(|c| c.is_ascii_hexdigit()));
        let ddl = [
            format!(
                "DO $$ BEGIN CREATE ROLE {role} LOGIN; \
                 EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            ),
            format!(
                "ALTER ROLE {role} WITH LOGIN NOCREATEDB NOCREATEROLE NOINHERIT \
                 CONNECTION LIMIT {limit} PASSWORD '{password}'",
                limit = MAX_CONNECTIONS * 4
            ),
            format!("GRANT {role} TO CURRENT_USER"),
            format!("CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {role}"),
            format!("ALTER SCHEMA {schema} OWNER TO {role}"),
            format!("REVOKE ALL ON SCHEMA {schema} FROM PUBLIC"),
        ];
        for sql in ddl {
            host.execute_unprepared(&sql).await.map_err(|e| {
                custom(format!(
                    "setting up the SQL role of plugin {slug} failed (the host's database \
                     role needs CREATEROLE and CREATE on the database): {e}"
                ))
            })?;
        }
        Ok((role, password))
    }

    /// Opens a pool of connections logged in as `slug`'s role, with the
    /// search path pinned to its schema.
    pub(super) async fn open(
        &self,
        host: &DatabaseConnection,
        slug: &str,
    ) -> Result<DatabaseConnection, DbErr> {
        let (role, password) = self.provision(host, slug).await?;
        let schema = Self::schema(slug);
        let mut opts = ConnectOptions::new(self.url.clone());
        opts.max_connections(MAX_CONNECTIONS)
            .min_connections(0)
            .idle_timeout(Duration::from_secs(60))
            .acquire_timeout(Duration::from_secs(10))
            .sqlx_logging(false)
            .map_sqlx_postgres_opts(move |o| {
                // A statement or an open transaction of the plugin's cannot
                // hold the database for ever (call deadlines: issue 12).
                o.username(&role).password(&password).options([
                    ("search_path", schema.as_str()),
                    ("statement_timeout", STATEMENT_TIMEOUT_MS),
                    ("idle_in_transaction_session_timeout", STATEMENT_TIMEOUT_MS),
                ])
            });
        Database::connect(opts)
            .await
            .map_err(|e| custom(format!("connecting as plugin {slug}'s role: {e}")))
    }

    /// The names of the tables in `slug`'s schema.
    pub(super) async fn tables(
        &self,
        host: &DatabaseConnection,
        slug: &str,
    ) -> Result<Vec<String>, DbErr> {
        let rows = host
            .query_all_raw(stmt(
                "SELECT tablename::text AS name FROM pg_tables WHERE schemaname = $1 \
                 ORDER BY tablename",
                vec![Self::schema(slug).into()],
            ))
            .await?;
        rows.iter()
            .map(|r| r.try_get::<String>("", "name"))
            .collect()
    }

    /// Drops `slug`'s schema with everything in it, then its role and its
    /// credential.
    pub(super) async fn remove(&self, host: &DatabaseConnection, slug: &str) -> Result<(), DbErr> {
        if !crate::slug::Slug::is_valid(slug) {
            return Err(custom(format!("invalid plugin slug {slug:?}")));
        }
        let (role, schema) = (self.role(slug), Self::schema(slug));
        // Sessions of the plugin's that outlived its pool (a statement still
        // running) would hold locks the DROP waits for.
        host.execute_raw(stmt(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE usename = $1 AND datname = current_database()",
            vec![role.as_str().into()],
        ))
        .await?;
        host.execute_unprepared(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .await?;
        let exists = host
            .query_one_raw(stmt(
                "SELECT 1 AS one FROM pg_roles WHERE rolname = $1",
                vec![role.as_str().into()],
            ))
            .await?
            .is_some();
        if exists {
            host.execute_unprepared(&format!("DROP OWNED BY {role}"))
                .await?;
            if let Err(e) = host.execute_unprepared(&format!("DROP ROLE {role}")).await {
                // Still owning something in another database of the cluster.
                tracing::warn!(plugin = slug, "role {role} kept: {e}");
            }
        }
        host.execute_raw(stmt(
            "DELETE FROM plugin_sql_roles WHERE plugin = $1",
            vec![slug.into()],
        ))
        .await?;
        Ok(())
    }
}
