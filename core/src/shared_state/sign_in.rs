//! The sign-in limiter's failure counters, shared by the replicas (see
//! `crate::auth::limiter`): one row per (kind, key) in `sign_in_failures`,
//! kind `pair` (account and address), `address` or `account`.
//!
//! An attempt is decided and counted in one transaction under a lock per
//! address, so concurrent guesses from one address on several replicas see
//! the counts the earlier ones left, as they do within one process.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};

use super::pg;

/// A live counter: failures, and how long ago the last one was.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counter {
    /// Failures not yet forgotten.
    pub count: u32,
    /// Since the last failure (`Duration::MAX` when none).
    pub since: Duration,
}

/// The three counters of one attempt.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    /// This account from this address.
    pub pair: Counter,
    /// This address, any account.
    pub address: Counter,
    /// This account, from anywhere.
    pub account: Counter,
}

fn pair_key(account: &str, address: &str) -> String {
    format!("{account}\u{1f}{address}")
}

/// Reads the counts of (`account`, `address`) (failures older than
/// `forget` are forgotten) and asks `decide`; when it answers `Ok`, counts
/// the attempt as a failure. `decide`'s `Err` (a wait in seconds) is
/// returned as is, nothing counted.
pub async fn admit(
    db: &DatabaseConnection,
    account: &str,
    address: &str,
    forget: Duration,
    decide: impl FnOnce(&Counts) -> Result<(), u64>,
) -> Result<Result<(), u64>, DbErr> {
    let pair = pair_key(account, address);
    let txn = db.begin().await?;
    txn.execute_raw(pg(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        [format!("plugboard-sign-in:{address}").into()],
    ))
    .await?;
    let rows = txn
        .query_all_raw(pg(
            "SELECT kind, count, EXTRACT(EPOCH FROM (now() - last_at))::float8 AS since \
             FROM sign_in_failures WHERE (kind = 'pair' AND key = $1) \
             OR (kind = 'address' AND key = $2) OR (kind = 'account' AND key = $3)",
            [pair.clone().into(), address.into(), account.into()],
        ))
        .await?;
    let mut counts = Counts {
        pair: Counter {
            count: 0,
            since: Duration::MAX,
        },
        address: Counter {
            count: 0,
            since: Duration::MAX,
        },
        account: Counter {
            count: 0,
            since: Duration::MAX,
        },
    };
    for row in rows {
        let kind: String = row.try_get("", "kind")?;
        let count: i32 = row.try_get("", "count")?;
        let since = Duration::from_secs_f64(row.try_get::<f64>("", "since")?.max(0.0));
        let counter = Counter {
            count: if since > forget {
                0
            } else {
                count.max(0) as u32
            },
            since,
        };
        match kind.as_str() {
            "pair" => counts.pair = counter,
            "address" => counts.address = counter,
            _ => counts.account = counter,
        }
    }
    if let Err(wait) = decide(&counts) {
        txn.rollback().await?;
        return Ok(Err(wait));
    }
    for (kind, key) in [
        ("pair", pair),
        ("address", address.to_string()),
        ("account", account.to_string()),
    ] {
        txn.execute_raw(pg(
            "INSERT INTO sign_in_failures (kind, key, count, last_at) VALUES ($1, $2, 1, now()) \
             ON CONFLICT (kind, key) DO UPDATE SET count = CASE \
               WHEN sign_in_failures.last_at < now() - make_interval(secs => $3) THEN 1 \
               ELSE sign_in_failures.count + 1 END, last_at = now()",
            [kind.into(), key.into(), forget.as_secs_f64().into()],
        ))
        .await?;
    }
    txn.commit().await?;
    Ok(Ok(()))
}

/// Takes an attempt back: one failure less on each counter, or (the
/// password was right) the pair's failures forgotten.
pub async fn refund(
    db: &DatabaseConnection,
    account: &str,
    address: &str,
    forget_pair: bool,
) -> Result<(), DbErr> {
    let pair = pair_key(account, address);
    if forget_pair {
        db.execute_raw(pg(
            "DELETE FROM sign_in_failures WHERE kind = 'pair' AND key = $1",
            [pair.clone().into()],
        ))
        .await?;
    }
    let mut keys = vec![
        ("address", address.to_string()),
        ("account", account.to_string()),
    ];
    if !forget_pair {
        keys.push(("pair", pair));
    }
    for (kind, key) in keys {
        db.execute_raw(pg(
            "UPDATE sign_in_failures SET count = count - 1 WHERE kind = $1 AND key = $2 AND count > 0",
            [kind.into(), key.clone().into()],
        ))
        .await?;
        db.execute_raw(pg(
            "DELETE FROM sign_in_failures WHERE kind = $1 AND key = $2 AND count <= 0",
            [kind.into(), key.into()],
        ))
        .await?;
    }
    Ok(())
}

/// Forgets counters older than `forget`.
pub async fn prune(db: &DatabaseConnection, forget: Duration) -> Result<u64, DbErr> {
    db.execute_raw(pg(
        "DELETE FROM sign_in_failures WHERE last_at < now() - make_interval(secs => $1)",
        [forget.as_secs_f64().into()],
    ))
    .await
    .map(|r| r.rows_affected())
}
