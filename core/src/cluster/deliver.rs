//! Delivering cluster events here: read what was appended after this
//! replica's cursor, in order, hand it to the local event bus (each
//! subscriber's bounded queue: a full queue drops and counts, as for any
//! event), then move the cursor. A replica restarted goes on from its
//! cursor; one seen for the first time starts at the newest event. Events
//! pruned before a replica read them are counted as dropped.

use std::sync::Arc;

use super::Wakers;
use crate::{runtime::WeakRuntime, shared_state::events};

const BATCH: i64 = 256;

pub(super) async fn run(runtime: WeakRuntime, wakers: Arc<Wakers>) {
    let mut cursor: Option<i64> = None;
    loop {
        let Some(rt) = runtime.upgrade() else { return };
        if *rt.stopping().borrow() {
            return;
        }
        let db = rt.db().conn().clone();
        let name = rt.replica().name.clone();
        let result: Result<bool, sea_orm::DbErr> = async {
            let at = match cursor {
                Some(at) => at,
                None => match events::cursor(&db, &name).await? {
                    Some(at) => at,
                    None => {
                        let newest = events::newest(&db).await?;
                        events::advance(&db, &name, newest).await?;
                        newest
                    }
                },
            };
            cursor = Some(at);
            let batch = events::after(&db, at, BATCH).await?;
            let Some(last) = batch.last().map(|e| e.id) else {
                return Ok(false);
            };
            if let Some(first) = batch.first() {
                if first.id > at + 1 {
                    // Pruned before this replica read them.
                    rt.events().count_dropped((first.id - at - 1) as u64);
                }
            }
            for event in &batch {
                rt.events().emit(&event.name, &event.payload);
            }
            events::advance(&db, &name, last).await?;
            cursor = Some(last);
            Ok(batch.len() as i64 == BATCH)
        }
        .await;
        drop(rt);
        match result {
            Ok(true) => continue, // more waiting
            Ok(false) => {}
            Err(e) => {
                tracing::warn!("cluster: cannot deliver cluster events: {e}");
                cursor = None;
            }
        }
        tokio::select! {
            _ = wakers.events.notified() => {}
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
        }
    }
}
