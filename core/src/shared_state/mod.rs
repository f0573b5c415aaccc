//! State several replicas share at the database (issue 13): who a replica
//! is, job ticks each claimed by one replica, bundles by digest, and events
//! emitted to the whole cluster.
//!
//! Only PostgreSQL is shared: with SQLite the host is one process (a second
//! process on the same data folder is refused at start, see
//! [`crate::private_files::lock_database`]), these tables stay empty and
//! nothing here is called. The statements are PostgreSQL's own (`$n`
//! placeholders, `ON CONFLICT`, `pg_notify`, advisory locks).

pub mod bundles;
pub mod events;
pub mod sign_in;
pub mod ticks;

use sea_orm::{DatabaseBackend, Statement, Value};

/// One process among the replicas.
///
/// `name` is the operator's (`plugboard serve --replica`, by default the
/// host name); it keys the replica's heartbeat, its event cursor and the
/// job runs it records, so it must be stable across restarts and unique
/// among live replicas. `instance` is new for every process: it tells a
/// replica's own notifications from the others', and a second live
/// process under the same name from a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replica {
    /// Stable name.
    pub name: String,
    /// This process's random id.
    pub instance: String,
}

impl Replica {
    /// A replica named `name` (a new instance id).
    pub fn named(name: impl Into<String>) -> Replica {
        let mut bytes = [0u8; 8];
        let _ = getrandom::fill(&mut bytes);
        Replica {
            name: name.into(),
            instance: hex::encode(bytes),
        }
    }

    /// Named after the machine (`HOSTNAME`, else `/etc/hostname`, else
    /// `replica`).
    pub fn from_host() -> Replica {
        let name = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "replica".into());
        Replica::named(name)
    }
}

/// The channel replicas notify each other on.
pub const CHANNEL: &str = "plugboard_changes";

/// The other live replicas (heartbeat within 3 s) whose last heartbeat
/// says `slug` is live there.
pub async fn live_elsewhere(
    db: &sea_orm::DatabaseConnection,
    replica: &Replica,
    slug: &str,
) -> Result<Vec<String>, sea_orm::DbErr> {
    use sea_orm::ConnectionTrait;
    let want = serde_json::json!([{ "slug": slug, "live": true }]).to_string();
    let rows = db
        .query_all_raw(pg(
            "SELECT name FROM cluster_replicas WHERE instance <> $1 \
             AND seen_at > now() - interval '3 seconds' AND plugins::jsonb @> $2::jsonb",
            [replica.instance.clone().into(), want.into()],
        ))
        .await?;
    rows.iter().map(|r| r.try_get("", "name")).collect()
}

/// A PostgreSQL statement with `$n` parameters.
pub(crate) fn pg(sql: &str, values: impl IntoIterator<Item = Value>) -> Statement {
    Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, values)
}
