//! Persistence of lifecycle state: every transition is a conditional update on
//! (state, row_version) at the database, so when several callers (or several
//! replicas) race, exactly one wins; every transition is audited in the same
//! database transaction.

use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::{Expr, ExprTrait},
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};
use serde::Serialize;

use super::state::{PluginState, Transition};
use crate::entity::{plugin, plugin_audit};

/// Errors of lifecycle operations.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// No plugin with that slug.
    #[error("no plugin named {0:?}")]
    NotFound(String),
    /// The transition is not allowed from the plugin's current state (or
    /// another caller changed the state first).
    #[error("invalid transition: cannot {transition} plugin {slug:?} while it is {from}")]
    InvalidTransition {
        /// The plugin.
        slug: String,
        /// Its state when the transition was refused.
        from: PluginState,
        /// What was asked.
        transition: Transition,
    },
    /// The stored state is not one this host knows.
    #[error("plugin {slug:?} has a corrupt state: {message}")]
    Corrupt {
        /// The plugin.
        slug: String,
        /// What is wrong.
        message: String,
    },
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

/// A plugin's persisted lifecycle record.
#[derive(Debug, Clone, Serialize)]
pub struct PluginRecord {
    /// The slug.
    pub slug: String,
    /// The version last seen.
    pub version: String,
    /// `builtin` or `dynamic`.
    pub kind: String,
    /// The state.
    pub state: PluginState,
    /// The last error, when `Errored`.
    pub last_error: Option<String>,
    /// When the last error happened.
    pub error_at: Option<DateTime<Utc>>,
    /// Incremented on every change.
    pub row_version: i64,
    /// First seen.
    pub installed_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// The SHA-256 of the bundle it runs, when installed from a catalog
    /// (every replica runs this one: see `crate::cluster`).
    pub bundle_sha256: Option<String>,
}

impl TryFrom<plugin::Model> for PluginRecord {
    type Error = LifecycleError;
    fn try_from(m: plugin::Model) -> Result<Self, Self::Error> {
        let state = m.state.parse().map_err(|message| LifecycleError::Corrupt {
            slug: m.slug.clone(),
            message,
        })?;
        Ok(PluginRecord {
            slug: m.slug,
            version: m.version,
            kind: m.kind,
            state,
            last_error: m.last_error,
            error_at: m.error_at,
            row_version: m.row_version,
            installed_at: m.installed_at,
            updated_at: m.updated_at,
            bundle_sha256: m.bundle_sha256,
        })
    }
}

/// One audited transition.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    /// Sequence number.
    pub id: i64,
    /// The plugin.
    pub slug: String,
    /// State before (none when first recorded).
    pub from: Option<String>,
    /// State after.
    pub to: String,
    /// Who asked (`admin`, `system`, `fault-policy`, …).
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The error that caused it, if any.
    pub error: Option<String>,
}

/// The lifecycle table and its audit trail.
#[derive(Clone)]
pub struct LifecycleStore {
    conn: DatabaseConnection,
}

impl LifecycleStore {
    /// A store over `conn` (migrated).
    pub fn new(conn: DatabaseConnection) -> Self {
        Self { conn }
    }

    /// Records a plugin the first time it is seen (state `Installed`) and keeps
    /// its version current, unless it runs a recorded bundle (then the
    /// bundle's version is the truth, whatever this replica's folder
    /// holds); returns its record.
    pub async fn ensure(
        &self,
        slug: &str,
        version: &str,
        kind: &str,
    ) -> Result<PluginRecord, LifecycleError> {
        if let Some(m) = plugin::Entity::find_by_id(slug).one(&self.conn).await? {
            if m.bundle_sha256.is_none() && (m.version != version || m.kind != kind) {
                plugin::Entity::update_many()
                    .col_expr(plugin::Column::Version, Expr::value(version))
                    .col_expr(plugin::Column::Kind, Expr::value(kind))
                    .col_expr(plugin::Column::UpdatedAt, Expr::value(Utc::now()))
                    .filter(plugin::Column::Slug.eq(slug))
                    .exec(&self.conn)
                    .await?;
            }
        } else {
            self.insert_installed(slug, version, kind, None, "system")
                .await?;
        }
        self.get(slug).await
    }

    /// [`LifecycleStore::ensure`] for one process, where the plugin's folder
    /// is the truth: its version, kind and bundle (`None`: copied by hand)
    /// are recorded whatever was recorded before (the folder may have been
    /// replaced by hand since).
    pub async fn ensure_from_folder(
        &self,
        slug: &str,
        version: &str,
        kind: &str,
        bundle: Option<&str>,
    ) -> Result<PluginRecord, LifecycleError> {
        let bundle = bundle.map(str::to_ascii_lowercase);
        if let Some(m) = plugin::Entity::find_by_id(slug).one(&self.conn).await? {
            if m.version != version || m.kind != kind || m.bundle_sha256 != bundle {
                plugin::Entity::update_many()
                    .col_expr(plugin::Column::Version, Expr::value(version))
                    .col_expr(plugin::Column::Kind, Expr::value(kind))
                    .col_expr(plugin::Column::BundleSha256, Expr::value(bundle))
                    .col_expr(plugin::Column::UpdatedAt, Expr::value(Utc::now()))
                    .filter(plugin::Column::Slug.eq(slug))
                    .exec(&self.conn)
                    .await?;
            }
        } else {
            self.insert_installed(slug, version, kind, bundle, "system")
                .await?;
        }
        self.get(slug).await
    }

    /// Records a plugin `actor` installs from bundle `sha256`, before it
    /// is loaded (so the audit names who installed it); nothing if it is
    /// recorded already.
    pub async fn record_installed(
        &self,
        slug: &str,
        version: &str,
        kind: &str,
        sha256: &str,
        actor: &str,
    ) -> Result<(), LifecycleError> {
        self.insert_installed(
            slug,
            version,
            kind,
            Some(sha256.to_ascii_lowercase()),
            actor,
        )
        .await
    }

    /// Records a plugin seen for the first time (`Installed`, audited);
    /// nothing if another caller recorded it first.
    async fn insert_installed(
        &self,
        slug: &str,
        version: &str,
        kind: &str,
        bundle: Option<String>,
        actor: &str,
    ) -> Result<(), LifecycleError> {
        let now = Utc::now();
        let txn = self.conn.begin().await?;
        let inserted = plugin::Entity::insert(plugin::ActiveModel {
            slug: Set(slug.to_string()),
            version: Set(version.to_string()),
            kind: Set(kind.to_string()),
            state: Set(PluginState::Installed.as_str().to_string()),
            last_error: Set(None),
            error_at: Set(None),
            row_version: Set(1),
            installed_at: Set(now),
            updated_at: Set(now),
            bundle_sha256: Set(bundle),
        })
        .on_conflict_do_nothing()
        .exec_without_returning(&txn)
        .await?;
        if matches!(inserted, sea_orm::TryInsertResult::Inserted(1)) {
            audit_row(slug, None, PluginState::Installed, actor, None)
                .insert(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Records that `slug` now runs `version` (an update or a rollback),
    /// with an audit row carrying `note`; the state does not change.
    pub async fn record_version(
        &self,
        slug: &str,
        version: &str,
        actor: &str,
        note: &str,
    ) -> Result<PluginRecord, LifecycleError> {
        let current = self.get(slug).await?;
        let txn = self.conn.begin().await?;
        plugin::Entity::update_many()
            .col_expr(plugin::Column::Version, Expr::value(version))
            .col_expr(
                plugin::Column::RowVersion,
                Expr::col(plugin::Column::RowVersion).add(1),
            )
            .col_expr(plugin::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(plugin::Column::Slug.eq(slug))
            .exec(&txn)
            .await?;
        audit_row(slug, Some(current.state), current.state, actor, Some(note))
            .insert(&txn)
            .await?;
        txn.commit().await?;
        self.get(slug).await
    }

    /// Records that `slug` runs the bundle with digest `sha256` (`None`:
    /// a folder copied by hand), without changing its row version.
    pub async fn set_bundle(&self, slug: &str, sha256: Option<&str>) -> Result<(), LifecycleError> {
        plugin::Entity::update_many()
            .col_expr(
                plugin::Column::BundleSha256,
                Expr::value(sha256.map(str::to_ascii_lowercase)),
            )
            .filter(plugin::Column::Slug.eq(slug))
            .exec(&self.conn)
            .await?;
        Ok(())
    }

    /// Adds an audit row for `slug` carrying `note` on `conn` (a
    /// transaction of the caller's); the state does not change.
    pub(crate) async fn audit_note<C: sea_orm::ConnectionTrait>(
        &self,
        conn: &C,
        slug: &str,
        actor: &str,
        note: &str,
    ) -> Result<(), LifecycleError> {
        let current = self.get(slug).await?;
        audit_row(slug, Some(current.state), current.state, actor, Some(note))
            .insert(conn)
            .await?;
        Ok(())
    }

    /// The record of `slug`.
    pub async fn get(&self, slug: &str) -> Result<PluginRecord, LifecycleError> {
        plugin::Entity::find_by_id(slug)
            .one(&self.conn)
            .await?
            .ok_or_else(|| LifecycleError::NotFound(slug.to_string()))?
            .try_into()
    }

    /// Every record, each row read on its own: a row this host cannot read
    /// (say, a state written by a newer version) is its slug and the error,
    /// and does not hide the others.
    pub async fn list_each(
        &self,
    ) -> Result<Vec<(String, Result<PluginRecord, LifecycleError>)>, LifecycleError> {
        Ok(plugin::Entity::find()
            .all(&self.conn)
            .await?
            .into_iter()
            .map(|m| (m.slug.clone(), m.try_into()))
            .collect())
    }

    /// Every record, by slug.
    pub async fn list(&self) -> Result<Vec<PluginRecord>, LifecycleError> {
        plugin::Entity::find()
            .order_by_asc(plugin::Column::Slug)
            .all(&self.conn)
            .await?
            .into_iter()
            .map(TryInto::try_into)
            .collect()
    }

    /// Applies `transition` with a compare-and-swap on the current state and
    /// row version, and audits it. `error` is recorded on `Fail`.
    pub async fn transition(
        &self,
        slug: &str,
        transition: Transition,
        actor: &str,
        error: Option<&str>,
    ) -> Result<PluginRecord, LifecycleError> {
        let current = self.get(slug).await?;
        let target =
            current
                .state
                .apply(transition)
                .ok_or_else(|| LifecycleError::InvalidTransition {
                    slug: slug.to_string(),
                    from: current.state,
                    transition,
                })?;
        let now = Utc::now();
        let failing = transition == Transition::Fail;
        let txn = self.conn.begin().await?;
        let mut update = plugin::Entity::update_many()
            .col_expr(plugin::Column::State, Expr::value(target.as_str()))
            .col_expr(
                plugin::Column::RowVersion,
                Expr::col(plugin::Column::RowVersion).add(1),
            )
            .col_expr(plugin::Column::UpdatedAt, Expr::value(now));
        if failing {
            update = update
                .col_expr(
                    plugin::Column::LastError,
                    Expr::value(error.map(str::to_string)),
                )
                .col_expr(plugin::Column::ErrorAt, Expr::value(Some(now)));
        } else if target != PluginState::Errored {
            update = update
                .col_expr(
                    plugin::Column::LastError,
                    Expr::value(Option::<String>::None),
                )
                .col_expr(
                    plugin::Column::ErrorAt,
                    Expr::value(Option::<DateTime<Utc>>::None),
                );
        }
        let result = update
            .filter(plugin::Column::Slug.eq(slug))
            .filter(plugin::Column::State.eq(current.state.as_str()))
            .filter(plugin::Column::RowVersion.eq(current.row_version))
            .exec(&txn)
            .await?;
        if result.rows_affected != 1 {
            txn.rollback().await?;
            // Someone else changed the row first: report against what is there now.
            let now_state = self.get(slug).await?.state;
            return Err(LifecycleError::InvalidTransition {
                slug: slug.to_string(),
                from: now_state,
                transition,
            });
        }
        audit_row(slug, Some(current.state), target, actor, error)
            .insert(&txn)
            .await?;
        txn.commit().await?;
        self.get(slug).await
    }

    /// Replaces the last error of a plugin that is already `Errored` (a
    /// new reason it must stay out of service, e.g. crash quarantine), with
    /// an audit row; `InvalidTransition` for any other state.
    pub async fn amend_error(
        &self,
        slug: &str,
        actor: &str,
        error: &str,
    ) -> Result<PluginRecord, LifecycleError> {
        let now = Utc::now();
        let txn = self.conn.begin().await?;
        let result = plugin::Entity::update_many()
            .col_expr(
                plugin::Column::LastError,
                Expr::value(Some(error.to_string())),
            )
            .col_expr(plugin::Column::ErrorAt, Expr::value(Some(now)))
            .col_expr(plugin::Column::UpdatedAt, Expr::value(now))
            .col_expr(
                plugin::Column::RowVersion,
                Expr::col(plugin::Column::RowVersion).add(1),
            )
            .filter(plugin::Column::Slug.eq(slug))
            .filter(plugin::Column::State.eq(PluginState::Errored.as_str()))
            .exec(&txn)
            .await?;
        if result.rows_affected != 1 {
            txn.rollback().await?;
            return Err(LifecycleError::InvalidTransition {
                slug: slug.to_string(),
                from: self.get(slug).await?.state,
                transition: Transition::Fail,
            });
        }
        audit_row(
            slug,
            Some(PluginState::Errored),
            PluginState::Errored,
            actor,
            Some(error),
        )
        .insert(&txn)
        .await?;
        txn.commit().await?;
        self.get(slug).await
    }

    /// Forgets a plugin that is `PendingUninstall`: its row goes, and the
    /// audit trail records `uninstalled` (with `note`, e.g. what data was
    /// removed). The audit trail itself is kept.
    pub async fn remove(
        &self,
        slug: &str,
        actor: &str,
        note: Option<&str>,
    ) -> Result<(), LifecycleError> {
        let txn = self.conn.begin().await?;
        let result = plugin::Entity::delete_many()
            .filter(plugin::Column::Slug.eq(slug))
            .filter(plugin::Column::State.eq(PluginState::PendingUninstall.as_str()))
            .exec(&txn)
            .await?;
        if result.rows_affected != 1 {
            txn.rollback().await?;
            let from = self.get(slug).await?.state;
            return Err(LifecycleError::InvalidTransition {
                slug: slug.to_string(),
                from,
                transition: Transition::Uninstall,
            });
        }
        let mut row = audit_row(
            slug,
            Some(PluginState::PendingUninstall),
            PluginState::PendingUninstall,
            actor,
            note,
        );
        row.to_state = Set("uninstalled".to_string());
        row.insert(&txn).await?;
        txn.commit().await?;
        Ok(())
    }

    /// The audit trail, newest first, optionally for one plugin.
    pub async fn audit(
        &self,
        slug: Option<&str>,
        limit: u64,
    ) -> Result<Vec<AuditEntry>, LifecycleError> {
        let mut q = plugin_audit::Entity::find().order_by_desc(plugin_audit::Column::Id);
        if let Some(slug) = slug {
            q = q.filter(plugin_audit::Column::Slug.eq(slug));
        }
        Ok(q.limit(limit)
            .all(&self.conn)
            .await?
            .into_iter()
            .map(|m| AuditEntry {
                id: m.id,
                slug: m.slug,
                from: m.from_state,
                to: m.to_state,
                actor: m.actor,
                at: m.at,
                error: m.error,
            })
            .collect())
    }
}

fn audit_row(
    slug: &str,
    from: Option<PluginState>,
    to: PluginState,
    actor: &str,
    error: Option<&str>,
) -> plugin_audit::ActiveModel {
    plugin_audit::ActiveModel {
        slug: Set(slug.to_string()),
        from_state: Set(from.map(|s| s.as_str().to_string())),
        to_state: Set(to.as_str().to_string()),
        actor: Set(actor.to_string()),
        at: Set(Utc::now()),
        error: Set(error.map(str::to_string)),
        ..Default::default()
    }
}
