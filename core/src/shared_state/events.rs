//! Events emitted to the cluster: rows of `cluster_events`, numbered in
//! commit order, which every replica delivers to its own subscribers and
//! remembers how far it got (`cluster_cursors`), so a replica that restarts
//! goes on where it stopped.
//!
//! Rows are numbered in commit order because each insert takes one
//! transaction-scoped advisory lock before it draws its id: a reader that
//! has seen id `n` can never later find a smaller id committed (with
//! concurrent inserts drawing ids freely, `n+1` could commit before `n`
//! and a cursor past it would skip `n` for good). The cost is that cluster
//! emits are serialised at the database (`scripts/bench cluster`).

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};

use super::{pg, Replica, CHANNEL};

/// The advisory lock key that orders cluster emits ("plgbevts").
const ORDER_LOCK: i64 = 0x706c_6762_6576_7473;

/// At most this many events are kept; older ones are pruned, and a
/// replica whose cursor is behind them counts them as dropped.
pub const KEEP: i64 = 10_000;

/// An event as stored.
#[derive(Debug, Clone)]
pub struct ClusterEvent {
    /// Its number (commit order).
    pub id: i64,
    /// The replica it was emitted on.
    pub origin: String,
    /// The plugin that emitted it.
    pub emitter: String,
    /// Its name.
    pub name: String,
    /// Its JSON payload.
    pub payload: String,
}

/// Stores an event and notifies every replica; returns its number.
pub async fn append(
    db: &DatabaseConnection,
    replica: &Replica,
    emitter: &str,
    name: &str,
    payload: &str,
) -> Result<i64, DbErr> {
    let txn = db.begin().await?;
    txn.execute_raw(pg("SELECT pg_advisory_xact_lock($1)", [ORDER_LOCK.into()]))
        .await?;
    let row = txn
        .query_one_raw(pg(
            "INSERT INTO cluster_events (origin, emitter, name, payload, created_at) \
             VALUES ($1, $2, $3, $4, now()) RETURNING id",
            [
                replica.name.clone().into(),
                emitter.into(),
                name.into(),
                payload.into(),
            ],
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("INSERT … RETURNING gave no row".into()))?;
    let id: i64 = row.try_get("", "id")?;
    let note = serde_json::json!({ "kind": "event", "id": id, "instance": replica.instance });
    txn.execute_raw(pg(
        "SELECT pg_notify($1, $2)",
        [CHANNEL.into(), note.to_string().into()],
    ))
    .await?;
    txn.commit().await?;
    Ok(id)
}

/// Up to `limit` events after `after`, in order.
pub async fn after(
    db: &DatabaseConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<ClusterEvent>, DbErr> {
    let rows = db
        .query_all_raw(pg(
            "SELECT id, origin, emitter, name, payload FROM cluster_events \
             WHERE id > $1 ORDER BY id LIMIT $2",
            [after.into(), limit.into()],
        ))
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok(ClusterEvent {
                id: r.try_get("", "id")?,
                origin: r.try_get("", "origin")?,
                emitter: r.try_get("", "emitter")?,
                name: r.try_get("", "name")?,
                payload: r.try_get("", "payload")?,
            })
        })
        .collect()
}

/// The newest event's number (0 when there is none).
pub async fn newest(db: &DatabaseConnection) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(pg(
            "SELECT COALESCE(MAX(id), 0) AS id FROM cluster_events",
            [],
        ))
        .await?;
    Ok(row.map(|r| r.try_get("", "id")).transpose()?.unwrap_or(0))
}

/// Where `replica` stopped delivering (`None`: it never delivered).
pub async fn cursor(db: &DatabaseConnection, replica: &str) -> Result<Option<i64>, DbErr> {
    let row = db
        .query_one_raw(pg(
            "SELECT last_event_id FROM cluster_cursors WHERE replica = $1",
            [replica.into()],
        ))
        .await?;
    row.map(|r| r.try_get("", "last_event_id")).transpose()
}

/// Records that `replica` delivered everything up to `id`.
pub async fn advance(db: &DatabaseConnection, replica: &str, id: i64) -> Result<(), DbErr> {
    db.execute_raw(pg(
        "INSERT INTO cluster_cursors (replica, last_event_id, updated_at) VALUES ($1, $2, now()) \
         ON CONFLICT (replica) DO UPDATE SET last_event_id = GREATEST(cluster_cursors.last_event_id, $2), \
         updated_at = now()",
        [replica.into(), id.into()],
    ))
    .await
    .map(|_| ())
}

/// Keeps the newest [`KEEP`] events.
pub async fn prune(db: &DatabaseConnection) -> Result<u64, DbErr> {
    db.execute_raw(pg(
        "DELETE FROM cluster_events WHERE id <= (SELECT COALESCE(MAX(id), 0) FROM cluster_events) - $1",
        [KEEP.into()],
    ))
    .await
    .map(|r| r.rows_affected())
}
