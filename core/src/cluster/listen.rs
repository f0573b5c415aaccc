//! Notifications between replicas: every change this replica announces is
//! published on [`CHANNEL`]; every change another replica publishes wakes
//! the follower (or the event reader) and reaches this replica's live feed.

use std::sync::Arc;

use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use super::Wakers;
use crate::{runtime::WeakRuntime, shared_state::CHANNEL};

/// Listens until the runtime is gone. A lost connection is made again
/// (by the listener), and the follower and reader are woken then, since
/// notifications sent meanwhile are lost.
pub(super) async fn run(url: String, runtime: WeakRuntime, wakers: Arc<Wakers>) {
    let mut listener: Option<PgListener> = None;
    loop {
        let Some(instance) = runtime.upgrade().map(|r| r.replica().instance.clone()) else {
            return;
        };
        let l = match listener.as_mut() {
            Some(l) => l,
            None => match connect(&url).await {
                Ok(l) => {
                    wakers.follow.notify_one();
                    wakers.events.notify_one();
                    listener.insert(l)
                }
                Err(e) => {
                    tracing::warn!("cluster: cannot listen for changes: {e}; again in 1 s");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        // Wakes now and then to notice a dropped runtime.
        let next = tokio::time::timeout(std::time::Duration::from_secs(1), l.try_recv()).await;
        match next {
            Err(_) => {}
            Ok(Ok(Some(n))) => {
                let Ok(note) = serde_json::from_str::<serde_json::Value>(n.payload()) else {
                    continue;
                };
                if note["kind"] == "event" {
                    // This replica's own cluster events too: it delivers
                    // them through the database like every other replica.
                    wakers.events.notify_one();
                } else if note["instance"] != instance.as_str() {
                    wakers.follow.notify_one();
                    if let Some(rt) = runtime.upgrade() {
                        rt.relay(note);
                    }
                }
            }
            Ok(Ok(None)) => {
                // Reconnected: what was sent meanwhile is lost.
                wakers.follow.notify_one();
                wakers.events.notify_one();
            }
            Ok(Err(e)) => {
                tracing::warn!("cluster: listening failed: {e}; connecting again");
                listener = None;
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    }
}

async fn connect(url: &str) -> Result<PgListener, sea_orm::sqlx::Error> {
    let mut l = PgListener::connect(url).await?;
    l.listen(CHANNEL).await?;
    Ok(l)
}

/// Publishes what this replica announces (not what it only followed).
pub(super) async fn publish(runtime: WeakRuntime) {
    let Some(rt) = runtime.upgrade() else { return };
    let mut changes = rt.changes();
    let (db, replica) = (rt.db().conn().clone(), rt.replica().clone());
    drop(rt);
    loop {
        let text = match changes.recv().await {
            Ok(text) => text,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                // Some were missed: the others compare everything.
                serde_json::json!({ "kind": "resync" }).to_string()
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        };
        let Ok(mut note) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        if note["followed"] == true {
            continue;
        }
        note["replica"] = replica.name.clone().into();
        note["instance"] = replica.instance.clone().into();
        let notify = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [CHANNEL.into(), note.to_string().into()],
        );
        if let Err(e) = db.execute_raw(notify).await {
            tracing::warn!(
                "cluster: cannot publish a change ({e}); the others see it at their next pass"
            );
        }
    }
}
