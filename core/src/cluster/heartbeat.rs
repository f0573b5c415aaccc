//! Each replica's heartbeat (`cluster_replicas`): when it was last seen,
//! which host version it is, what it runs (each plugin's version and
//! whether it is live here) and its call counters, for the admin's view of
//! every replica. Also where old ticks and events are pruned.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use serde::Serialize;

use super::{ClusterError, HEARTBEAT};
use crate::{
    runtime::{Runtime, WeakRuntime},
    shared_state::{events, pg, ticks},
};

/// One replica as the admin shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ReplicaView {
    /// Its name.
    pub name: String,
    /// Where it serves, as it says.
    pub address: Option<String>,
    /// Its host version.
    pub host_version: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// Its last heartbeat.
    pub seen_at: DateTime<Utc>,
    /// Whether it beat within the last three heartbeats.
    pub alive: bool,
    /// Each plugin it has loaded: `{slug, version, live}`.
    pub plugins: serde_json::Value,
    /// Its call counters per plugin: `{slug: {calls, errors, panics}}`.
    pub metrics: serde_json::Value,
}

/// Every replica that ever beat on this database, by name.
pub async fn replicas(db: &DatabaseConnection) -> Result<Vec<ReplicaView>, DbErr> {
    let rows = db
        .query_all_raw(pg(
            "SELECT name, address, host_version, started_at, seen_at, plugins, metrics, \
             seen_at > now() - make_interval(secs => $1) AS alive \
             FROM cluster_replicas ORDER BY name",
            [(HEARTBEAT.as_secs_f64() * 3.0).into()],
        ))
        .await?;
    rows.into_iter()
        .map(|r| {
            let json = |col: &str| -> Result<serde_json::Value, DbErr> {
                let text: String = r.try_get("", col)?;
                Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
            };
            Ok(ReplicaView {
                name: r.try_get("", "name")?,
                address: r.try_get("", "address")?,
                host_version: r.try_get("", "host_version")?,
                started_at: r.try_get("", "started_at")?,
                seen_at: r.try_get("", "seen_at")?,
                alive: r.try_get("", "alive")?,
                plugins: json("plugins")?,
                metrics: json("metrics")?,
            })
        })
        .collect()
}

/// Refuses a name another live process beats under; else takes it (a
/// restart under the same name takes over its row, cursor and history).
pub(super) async fn claim_name(runtime: &Runtime) -> Result<(), ClusterError> {
    let db = runtime.db().conn();
    let replica = runtime.replica();
    // One statement: two processes starting under one name cannot both
    // take it.
    let taken = db
        .query_one_raw(pg(
            "INSERT INTO cluster_replicas (name, instance, started_at, seen_at, address, host_version, plugins, metrics) \
             VALUES ($1, $2, now(), now(), NULL, $3, '[]', '{}') \
             ON CONFLICT (name) DO UPDATE SET instance = $2, started_at = now(), seen_at = now(), host_version = $3 \
             WHERE cluster_replicas.instance = $2 \
                OR cluster_replicas.seen_at <= now() - make_interval(secs => $4) \
             RETURNING name",
            [
                replica.name.clone().into(),
                replica.instance.clone().into(),
                env!("CARGO_PKG_VERSION").into(),
                (HEARTBEAT.as_secs_f64() * 3.0).into(),
            ],
        ))
        .await?;
    if taken.is_none() {
        return Err(ClusterError::NameInUse(replica.name.clone()));
    }
    Ok(())
}

/// Gives the name up (a clean stop): a process started under it next need
/// not wait for the heartbeat to age.
pub(super) async fn leave(db: &DatabaseConnection, replica: &crate::shared_state::Replica) {
    let done = db
        .execute_raw(pg(
            "UPDATE cluster_replicas SET seen_at = now() - interval '1 hour' \
             WHERE name = $1 AND instance = $2",
            [replica.name.clone().into(), replica.instance.clone().into()],
        ))
        .await;
    if let Err(e) = done {
        tracing::warn!("cluster: cannot give the replica name up: {e}");
    }
}

/// Beats every [`HEARTBEAT`], and soon after anything changes here (so the
/// admin's view of what each replica runs is current within milliseconds
/// of a change, not a heartbeat later).
pub(super) async fn run(runtime: WeakRuntime, address: Option<String>) {
    let Some(mut changes) = runtime.upgrade().map(|rt| rt.changes()) else {
        return;
    };
    let mut beats: u64 = 0;
    let mut lost = false;
    loop {
        let Some(rt) = runtime.upgrade() else { return };
        if *rt.stopping().borrow() {
            return;
        }
        match beat(&rt, address.as_deref()).await {
            Ok(true) => lost = false,
            Ok(false) => {
                if !lost {
                    tracing::error!(
                        replica = %rt.replica().name,
                        "cluster: another process took this replica's name (its heartbeat stopped for 3 s): give each replica its own --replica name"
                    );
                }
                lost = true;
            }
            Err(e) => tracing::warn!("cluster: heartbeat failed: {e}"),
        }
        if beats.is_multiple_of(60) {
            let db = rt.db().conn();
            let pruned = async {
                Ok::<_, DbErr>((
                    // A day and an hour: an `every` job's replicas fire at
                    // their own phases within its slot, so a claim must
                    // outlive the slot (intervals up to a day).
                    ticks::prune(db, std::time::Duration::from_secs(25 * 3600)).await?,
                    events::prune(db).await?,
                    crate::shared_state::sign_in::prune(db, crate::auth::limiter::FORGET_AFTER)
                        .await?,
                ))
            }
            .await;
            if let Err(e) = pruned {
                tracing::warn!("cluster: pruning failed: {e}");
            }
        }
        beats += 1;
        drop(rt);
        tokio::select! {
            _ = tokio::time::sleep(HEARTBEAT) => {}
            changed = changes.recv() => {
                if matches!(changed, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                    return;
                }
                // Let a burst of changes settle into one beat.
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                while changes.try_recv().is_ok() {}
            }
        }
    }
}

/// Writes the heartbeat; `false` when the name is no longer this process's.
async fn beat(rt: &Runtime, address: Option<&str>) -> Result<bool, DbErr> {
    let plugins: Vec<serde_json::Value> = rt
        .running()
        .into_iter()
        .map(|(slug, version, live)| serde_json::json!({ "slug": slug, "version": version, "live": live }))
        .collect();
    let metrics: serde_json::Map<String, serde_json::Value> = rt
        .entries()
        .iter()
        .map(|e| {
            let m = e.metrics().snapshot();
            (
                e.slug().to_string(),
                serde_json::json!({ "calls": m.calls, "errors": m.errors, "panics": m.panics }),
            )
        })
        .collect();
    let replica = rt.replica();
    rt.db()
        .conn()
        .execute_raw(pg(
            "UPDATE cluster_replicas SET seen_at = now(), address = $3, plugins = $4, metrics = $5 \
             WHERE name = $1 AND instance = $2",
            [
                replica.name.clone().into(),
                replica.instance.clone().into(),
                address.map(str::to_string).into(),
                serde_json::Value::from(plugins).to_string().into(),
                serde_json::Value::from(metrics).to_string().into(),
            ],
        ))
        .await
        .map(|r| r.rows_affected() == 1)
}
