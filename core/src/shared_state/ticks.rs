//! Each job tick runs on exactly one replica: the replicas that fire for a
//! tick race to insert its row in `cluster_job_ticks`, and the one whose
//! insert lands runs it. A tick is the schedule's own second (cron) or the
//! interval's slot since the epoch (`every`), so every replica names the
//! same tick the same way (clocks synchronised to well under a second).
//! A run not finished when the next tick comes makes that tick `skipped`
//! on whichever replica claimed it, unless the replica that claimed it is
//! gone (no heartbeat from that process for 3 s: it died holding it) or
//! the run is older than the job's deadline.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

use super::{pg, Replica};

/// What a replica may do with a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This replica won the tick: run it.
    Run,
    /// This replica won the tick but an earlier run is still going
    /// somewhere: record it skipped.
    Skip,
    /// Another replica has the tick.
    Taken,
}

/// The tick a firing at `now` belongs to: the start of the `every_secs`
/// slot it falls in, or (`None`) the whole second. Cron jobs name their
/// tick by the schedule's own latest instant instead (a late firing still
/// names the tick it was for), see `crate::scheduler`.
pub fn tick_of(now: DateTime<Utc>, every_secs: Option<u64>) -> i64 {
    let secs = now.timestamp();
    match every_secs {
        Some(d) if d > 1 => secs - secs.rem_euclid(d as i64),
        _ => secs,
    }
}

/// Claims `tick` of `plugin`'s `job` for `replica`.
pub async fn claim(
    db: &DatabaseConnection,
    replica: &Replica,
    plugin: &str,
    job: &str,
    tick: i64,
    deadline: std::time::Duration,
) -> Result<Claim, DbErr> {
    let won = db
        .execute_raw(pg(
            "INSERT INTO cluster_job_ticks (plugin, job, tick, replica, instance, claimed_at) \
             VALUES ($1, $2, $3, $4, $5, now()) ON CONFLICT DO NOTHING",
            [
                plugin.into(),
                job.into(),
                tick.into(),
                replica.name.clone().into(),
                replica.instance.clone().into(),
            ],
        ))
        .await?
        .rows_affected()
        == 1;
    if !won {
        return Ok(Claim::Taken);
    }
    let busy = db
        .query_one_raw(pg(
            "SELECT 1 FROM cluster_job_ticks t WHERE t.plugin = $1 AND t.job = $2 AND t.tick < $3 \
             AND t.finished_at IS NULL AND t.claimed_at > now() - make_interval(secs => $4) \
             AND EXISTS (SELECT 1 FROM cluster_replicas r WHERE r.name = t.replica \
                         AND r.instance = t.instance AND r.seen_at > now() - make_interval(secs => 3)) \
             LIMIT 1",
            [
                plugin.into(),
                job.into(),
                tick.into(),
                deadline.as_secs_f64().into(),
            ],
        ))
        .await?
        .is_some();
    Ok(if busy { Claim::Skip } else { Claim::Run })
}

/// Marks `tick` done (its run ended, or it was skipped).
pub async fn finish(
    db: &DatabaseConnection,
    plugin: &str,
    job: &str,
    tick: i64,
) -> Result<(), DbErr> {
    db.execute_raw(pg(
        "UPDATE cluster_job_ticks SET finished_at = now() \
         WHERE plugin = $1 AND job = $2 AND tick = $3",
        [plugin.into(), job.into(), tick.into()],
    ))
    .await
    .map(|_| ())
}

/// Forgets ticks older than `keep` (run by each replica's housekeeping).
pub async fn prune(db: &DatabaseConnection, keep: std::time::Duration) -> Result<u64, DbErr> {
    db.execute_raw(pg(
        "DELETE FROM cluster_job_ticks WHERE claimed_at < now() - make_interval(secs => $1)",
        [keep.as_secs_f64().into()],
    ))
    .await
    .map(|r| r.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_name_a_tick_alike_whenever_in_its_second_or_slot_they_fire() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        let a = at("2026-12-06T10:00:05.001Z");
        let b = at("2026-12-06T10:00:05.900Z");
        assert_eq!(tick_of(a, None), tick_of(b, None));
        assert_eq!(tick_of(a, Some(1)), tick_of(b, None));
        assert_ne!(
            tick_of(a, None),
            tick_of(at("2026-12-06T10:00:06.001Z"), None)
        );
        // Every 10 s: slots start at multiples of ten seconds.
        assert_eq!(
            tick_of(at("2026-12-06T10:00:01Z"), Some(10)),
            tick_of(at("2026-12-06T10:00:09.9Z"), Some(10))
        );
        assert_eq!(tick_of(at("2026-12-06T10:00:10Z"), Some(10)) % 10, 0);
    }
}
