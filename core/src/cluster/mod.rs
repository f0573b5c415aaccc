//! Several replicas on one PostgreSQL database (issue 13).
//!
//! ```text
//!  replica A: admin enables x ─▶ CAS in `plugins` ─▶ announce ─▶ publish ─▶ NOTIFY plugboard_changes
//!                                                                               │
//!  replica B: listen ◀──────────────────────────────────────────────────────────┘
//!     ├─▶ relay to B's live feed (browsers on B see it)
//!     └─▶ wake follow: adopt recorded bundles (marketplace), then
//!         Runtime::follow_database (enable/disable/withdraw/configure here)
//!  and every `reconcile_every` (2 s) and after the listener reconnects:
//!  the same pass, so a missed notification costs one period at most.
//! ```
//!
//! The database is the only truth; notifications only make replicas look
//! sooner. Besides following, each replica writes a heartbeat with what it
//! runs (`cluster_replicas`, shown by the admin), delivers the events
//! plugins emit to the cluster ([`crate::shared_state::events`]), and
//! prunes old job ticks and events. Cron ticks are claimed by the
//! scheduler itself ([`crate::shared_state::ticks`]).
//!
//! Started by `plugboard serve` (and by tests) with [`Cluster::start`] when
//! the database is PostgreSQL; on SQLite there is one process and nothing
//! to follow.

mod deliver;
mod follow;
mod heartbeat;
mod listen;

use std::{sync::Arc, time::Duration};

pub use heartbeat::{replicas, ReplicaView};

use crate::{background::Background, marketplace::Marketplace, runtime::Runtime};

/// Why a cluster could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The database failed.
    #[error("cluster: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// Another live process uses this replica's name.
    #[error(
        "replica name {0:?} is in use by another live process (its heartbeat is recent); \
         give each replica its own --replica name"
    )]
    NameInUse(String),
    /// The background runtime could not start.
    #[error("cluster: cannot start its runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// Wakes the follower and the event reader.
#[derive(Default)]
pub(crate) struct Wakers {
    follow: tokio::sync::Notify,
    events: tokio::sync::Notify,
}

/// This replica's part in the cluster: running while the value lives.
pub struct Cluster {
    _tasks: Background,
    db: sea_orm::DatabaseConnection,
    replica: crate::shared_state::Replica,
}

/// How often the heartbeat is written; a replica unseen for three is shown
/// as gone.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

impl Cluster {
    /// Joins the cluster when the database is shared (`Ok(None)` on
    /// SQLite): checks that no live process uses this replica's name,
    /// writes the first heartbeat, then listens, follows, delivers cluster
    /// events and beats in the background. `address` is shown to admins.
    pub async fn start(
        runtime: &Runtime,
        marketplace: &Marketplace,
        address: Option<String>,
    ) -> Result<Option<Cluster>, ClusterError> {
        let Some(url) = runtime
            .config()
            .database_url
            .clone()
            .filter(|_| runtime.db().is_shared())
        else {
            return Ok(None);
        };
        heartbeat::claim_name(runtime).await?;
        let tasks = Background::new("plugboard-cluster", 1)?;
        let wakers = Arc::new(Wakers::default());
        let weak = runtime.downgrade();
        tasks.spawn(listen::run(url, weak.clone(), Arc::clone(&wakers)));
        tasks.spawn(listen::publish(weak.clone()));
        tasks.spawn(follow::run(
            weak.clone(),
            marketplace.clone(),
            Arc::clone(&wakers),
        ));
        tasks.spawn(deliver::run(weak.clone(), Arc::clone(&wakers)));
        tasks.spawn(heartbeat::run(weak, address));
        Ok(Some(Cluster {
            _tasks: tasks,
            db: runtime.db().conn().clone(),
            replica: runtime.replica().clone(),
        }))
    }

    /// Leaves the cluster cleanly: gives the replica's name up, so a
    /// restart under it need not wait for its heartbeat to age.
    pub async fn leave(self) {
        let Cluster {
            _tasks,
            db,
            replica,
        } = self;
        // No beat after this one.
        drop(_tasks);
        heartbeat::leave(&db, &replica).await;
    }
}
