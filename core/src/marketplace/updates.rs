//! The update queue: drift between the installed plugins and the catalogs.
//!
//! Drift is a catalog entry for an installed dynamic plugin, for this
//! platform, with a newer version, or with the installed version but another
//! digest than the installed bundle's ([`BundleInfo`]). Detection (after a
//! sync) keeps at most one `pending` row per plugin — pointed at the newest
//! offer — and never proposes again an offer the operator dismissed, nor an
//! older version. Applying installs through the same pipeline and
//! hot-reloads the plugin; a failure is recorded on the row, which stays
//! pending, and the running version is untouched.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::{Expr, ExprTrait, Order, Query},
    ConnectionTrait, DbErr, StatementBuilder,
};
use serde::Serialize;

use super::{
    catalog::{current_platform, newer, CatalogEntry},
    consent::{self, Ask},
    install::{BundleInfo, InstallError},
    jobs::Progress,
    sources::{Source, Sources},
};
use crate::{registry::PluginKind, runtime::Swapped, slug::Slug};

/// One row of the queue.
#[derive(Debug, Clone, Serialize)]
pub struct Update {
    /// Its id.
    pub id: i64,
    /// The plugin.
    pub slug: String,
    /// The version installed when it was detected.
    pub from_version: String,
    /// The installed bundle's digest, when known.
    pub from_sha256: Option<String>,
    /// The version offered.
    pub to_version: String,
    /// The offered bundle's digest.
    pub to_sha256: String,
    /// The catalog source offering it.
    pub source_id: i64,
    /// `pending`, `needs_approval` (it asks for more than the running
    /// version: see [`Update::asks_added`]), `applied` or `dismissed`.
    pub state: String,
    /// Why the last attempt to apply it failed.
    pub error: Option<String>,
    /// When it was detected (or last re-targeted).
    pub detected_at: DateTime<Utc>,
    /// When it was applied or dismissed.
    pub decided_at: Option<DateTime<Utc>>,
    /// What the offered version asks for that the running one did not
    /// (filled in by [`super::Marketplace::updates`] for open rows).
    #[serde(default)]
    pub asks_added: Vec<Ask>,
    /// The ask ids an admin approved for this row's offer (empty when the
    /// row now points at another bundle than the one approved).
    pub approved: Vec<String>,
}

/// Why an update could not be applied or dismissed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// No such row.
    #[error("no update {0}")]
    NotFound(i64),
    /// The offered version asks for more than the running one and no
    /// admin approved it yet.
    #[error("update {id} asks for more than the running version and needs an admin's approval first: {}", super::consent::words(asks))]
    NeedsApproval {
        /// The row.
        id: i64,
        /// What it asks for beyond the running version.
        asks: Vec<Ask>,
    },
    /// The row now offers another bundle than the one the caller saw.
    #[error(
        "update {id} now offers {version}, another bundle than the one shown: look at it again"
    )]
    Retargeted {
        /// The row.
        id: i64,
        /// What it offers now.
        version: String,
    },
    /// The row is not pending.
    #[error("update {id} is {state}, not pending")]
    NotPending {
        /// The row.
        id: i64,
        /// Its state.
        state: String,
    },
    /// The source no longer offers that bundle.
    #[error("no catalog source offers {slug} {version} with digest {sha256} any more")]
    Withdrawn {
        /// The plugin.
        slug: String,
        /// The version.
        version: String,
        /// The digest.
        sha256: String,
    },
    /// The pipeline or the hot reload refused; the running version is unchanged.
    #[error(transparent)]
    Install(#[from] InstallError),
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

const TABLE: &str = "plugin_updates";
const COLUMNS: [&str; 13] = [
    "id",
    "slug",
    "from_version",
    "from_sha256",
    "to_version",
    "to_sha256",
    "source_id",
    "state",
    "error",
    "detected_at",
    "decided_at",
    "approved_asks",
    "approved_sha256",
];

/// The states of a row still to decide (at most one per plugin).
const OPEN: [&str; 2] = ["pending", "needs_approval"];

fn is_open(state: &str) -> bool {
    OPEN.contains(&state)
}

/// The offer a row points at, in `sources`.
fn offer_of<'a>(sources: &'a [Source], row: &Update) -> Option<(&'a Source, &'a CatalogEntry)> {
    Sources::offers(sources)
        .filter(|(s, _)| s.id == row.source_id)
        .find(|(_, e)| {
            e.slug == row.slug
                && e.version == row.to_version
                && e.sha256.eq_ignore_ascii_case(&row.to_sha256)
        })
}

/// `column = value` (bound, never spliced into the SQL text).
fn is(column: &'static str, value: impl Into<sea_orm::Value>) -> Expr {
    Expr::col(column).eq(value.into())
}

impl super::Marketplace {
    /// The rows matching every condition of `filter`, by id in `order`.
    async fn update_rows(&self, filter: Vec<Expr>, order: Order) -> Result<Vec<Update>, DbErr> {
        let mut query = Query::select();
        query.columns(COLUMNS).from(TABLE).order_by("id", order);
        for condition in filter {
            query.and_where(condition);
        }
        let conn = self.runtime().db().conn();
        let rows = conn
            .query_all_raw(conn.get_database_backend().build(&query))
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Update {
                    id: r.try_get("", "id")?,
                    slug: r.try_get("", "slug")?,
                    from_version: r.try_get("", "from_version")?,
                    from_sha256: r.try_get("", "from_sha256")?,
                    to_version: r.try_get("", "to_version")?,
                    to_sha256: r.try_get("", "to_sha256")?,
                    source_id: r.try_get("", "source_id")?,
                    state: r.try_get("", "state")?,
                    error: r.try_get("", "error")?,
                    detected_at: r.try_get("", "detected_at")?,
                    decided_at: r.try_get("", "decided_at")?,
                    asks_added: Vec::new(),
                    approved: {
                        let asks: Option<String> = r.try_get("", "approved_asks")?;
                        let sha: Option<String> = r.try_get("", "approved_sha256")?;
                        let to: String = r.try_get("", "to_sha256")?;
                        // An approval covers the bundle approved, only.
                        match (asks, sha) {
                            (Some(asks), Some(sha)) if sha.eq_ignore_ascii_case(&to) => {
                                serde_json::from_str(&asks).unwrap_or_default()
                            }
                            _ => Vec::new(),
                        }
                    },
                })
            })
            .collect()
    }

    async fn exec(&self, statement: &impl StatementBuilder) -> Result<u64, DbErr> {
        let conn = self.runtime().db().conn();
        Ok(conn
            .execute_raw(conn.get_database_backend().build(statement))
            .await?
            .rows_affected())
    }

    /// The queue, newest first (stale sources synced and drift detected
    /// first).
    pub async fn updates(&self) -> Result<Vec<Update>, DbErr> {
        let sources = self.sources().sync(false).await?;
        self.detect_updates(&sources).await?;
        let mut rows = self.update_rows(vec![], Order::Desc).await?;
        for row in rows.iter_mut().filter(|r| is_open(&r.state)) {
            if let Some((_, entry)) = offer_of(&sources, row) {
                row.asks_added =
                    consent::added(&self.running_asks(&row.slug), &consent::of_entry(entry));
            }
        }
        Ok(rows)
    }

    /// What the running (else the installed) version of `slug` asks for.
    pub(super) fn running_asks(&self, slug: &str) -> Vec<Ask> {
        match self.runtime().plugin(slug) {
            Some(p) => consent::of_manifest(p.manifest()),
            None => crate::slug::Slug::parse(slug)
                .ok()
                .and_then(|slug| {
                    use crate::manifest::ManifestFile as _;
                    crate::manifest::Manifest::read(&self.runtime().config().plugin_dir(&slug)).ok()
                })
                .map(|m| consent::of_manifest(&m))
                .unwrap_or_default(),
        }
    }

    /// Approves an update that asks for more than the running version, for
    /// the bundle the admin saw (`to_sha256`: a row re-targeted to another
    /// offer since is refused): it becomes `pending` (to apply), the row
    /// records what was approved for that bundle, and the audit who
    /// approved what.
    pub async fn approve_update(
        &self,
        id: i64,
        to_sha256: &str,
        actor: &str,
    ) -> Result<Update, UpdateError> {
        let row = self.row(id).await?;
        if row.state != "needs_approval" {
            return Err(UpdateError::NotPending {
                id,
                state: row.state,
            });
        }
        if !row.to_sha256.eq_ignore_ascii_case(to_sha256) {
            return Err(UpdateError::Retargeted {
                id,
                version: row.to_version,
            });
        }
        let sources = self.sources().list().await?;
        let Some((_, entry)) = offer_of(&sources, &row) else {
            return Err(UpdateError::Withdrawn {
                slug: row.slug,
                version: row.to_version,
                sha256: row.to_sha256,
            });
        };
        let more = consent::added(&self.running_asks(&row.slug), &consent::of_entry(entry));
        let ids: Vec<&str> = more.iter().map(|a| a.id.as_str()).collect();
        let changed = self
            .exec(
                Query::update()
                    .table(TABLE)
                    .values([
                        ("state", "pending".into()),
                        (
                            "approved_asks",
                            serde_json::to_string(&ids).unwrap_or_default().into(),
                        ),
                        ("approved_sha256", row.to_sha256.to_lowercase().into()),
                    ])
                    .and_where(is("id", id))
                    .and_where(is("state", "needs_approval"))
                    .and_where(is("to_sha256", row.to_sha256.clone())),
            )
            .await?;
        if changed == 1 && !more.is_empty() {
            self.audit_consent(
                &row.slug,
                actor,
                &format!("by approving the update to {}", row.to_version),
                &more,
            )
            .await?;
        }
        let mut row = self.row(id).await?;
        row.asks_added = more;
        Ok(row)
    }

    async fn row(&self, id: i64) -> Result<Update, UpdateError> {
        self.update_rows(vec![is("id", id)], Order::Asc)
            .await?
            .into_iter()
            .next()
            .ok_or(UpdateError::NotFound(id))
    }

    /// The open rows (pending, or waiting for approval), without syncing.
    pub async fn pending_updates(&self) -> Result<Vec<Update>, DbErr> {
        self.update_rows(vec![Expr::col("state").is_in(OPEN)], Order::Asc)
            .await
    }

    /// Compares every installed dynamic plugin with the synced catalogs and
    /// records drift (see the module docs).
    pub async fn detect_updates(&self, sources: &[Source]) -> Result<(), DbErr> {
        let platform = current_platform();
        let records = self
            .runtime()
            .store()
            .list()
            .await
            .map_err(|e| DbErr::Custom(e.to_string()))?;
        let dynamic: Vec<_> = records
            .iter()
            .filter(|r| r.kind == PluginKind::Dynamic.as_str())
            .filter_map(|r| Some((Slug::parse(&r.slug).ok()?, r)))
            .collect();
        // One pass over the catalogs, keeping only the installed plugins'
        // offers (by reference).
        let mut offers_of: HashMap<&str, Vec<(i64, &CatalogEntry)>> = dynamic
            .iter()
            .map(|(slug, _)| (slug.as_str(), Vec::new()))
            .collect();
        for (source, entry) in Sources::offers(sources) {
            if entry.platform != platform {
                continue;
            }
            if let Some(list) = offers_of.get_mut(entry.slug.as_str()) {
                list.push((source.id, entry));
            }
        }
        for (slug, record) in &dynamic {
            let offers = offers_of.get(slug.as_str()).map_or(&[][..], Vec::as_slice);
            let bundle = BundleInfo::read(&self.runtime().config().plugin_dir(slug));
            let installed_sha = bundle.as_ref().map(|b| b.sha256.to_lowercase());
            let drifts = |e: &CatalogEntry| {
                newer(&e.version, &record.version)
                    || (e.version == record.version
                        && installed_sha
                            .as_ref()
                            .is_some_and(|s| *s != e.sha256.to_lowercase()))
            };
            let best = offers.iter().filter(|(_, e)| drifts(e)).max_by(|a, b| {
                semver::Version::parse(&a.1.version)
                    .ok()
                    .cmp(&semver::Version::parse(&b.1.version).ok())
            });
            let pending = self
                .update_rows(
                    vec![
                        is("slug", record.slug.clone()),
                        Expr::col("state").is_in(OPEN),
                    ],
                    Order::Asc,
                )
                .await?;
            let Some((source_id, offer)) = best else {
                // Applied by other means (install, rollback): close it.
                for p in pending.iter().filter(|p| {
                    p.to_version == record.version
                        && installed_sha.as_deref() == Some(&p.to_sha256.to_lowercase())
                }) {
                    self.exec(
                        Query::update()
                            .table(TABLE)
                            .values([
                                ("state", "applied".into()),
                                ("decided_at", Utc::now().into()),
                            ])
                            .and_where(is("id", p.id)),
                    )
                    .await?;
                }
                continue;
            };
            let sha = offer.sha256.to_lowercase();
            // An offer asking for more than the running version waits for
            // an admin's approval.
            let needed =
                consent::added(&self.running_asks(slug.as_str()), &consent::of_entry(offer));
            let state = |approved: &[String]| {
                if needed.iter().all(|a| approved.contains(&a.id)) {
                    "pending"
                } else {
                    "needs_approval"
                }
            };
            let dismissed = self
                .update_rows(
                    vec![
                        is("slug", record.slug.clone()),
                        is("state", "dismissed"),
                        is("to_version", offer.version.clone()),
                        is("to_sha256", sha.clone()),
                    ],
                    Order::Asc,
                )
                .await?;
            if !dismissed.is_empty() {
                continue;
            }
            match pending.first() {
                // The same offer: judged again against what runs now (a
                // rollback may have made it ask for more than approved).
                Some(p) if p.to_version == offer.version && p.to_sha256 == sha => {
                    let now = state(&p.approved);
                    if now != p.state {
                        self.exec(
                            Query::update()
                                .table(TABLE)
                                .values([("state", now.into())])
                                .and_where(is("id", p.id))
                                .and_where(is("to_sha256", sha.clone())),
                        )
                        .await?;
                    }
                }
                Some(p) => {
                    self.exec(
                        Query::update()
                            .table(TABLE)
                            .values([
                                ("from_version", record.version.clone().into()),
                                ("from_sha256", installed_sha.clone().into()),
                                ("to_version", offer.version.clone().into()),
                                ("to_sha256", sha.into()),
                                ("source_id", (*source_id).into()),
                                ("state", state(&[]).into()),
                                ("error", Expr::null()),
                                ("detected_at", Utc::now().into()),
                            ])
                            .and_where(is("id", p.id)),
                    )
                    .await?;
                }
                None => {
                    // The partial unique index makes a concurrent detector's
                    // second insert fail; that is the "one pending" rule.
                    let inserted = self
                        .exec(
                            Query::insert()
                                .into_table(TABLE)
                                .columns([
                                    "slug",
                                    "from_version",
                                    "from_sha256",
                                    "to_version",
                                    "to_sha256",
                                    "source_id",
                                    "state",
                                    "detected_at",
                                ])
                                .values_panic([
                                    record.slug.clone().into(),
                                    record.version.clone().into(),
                                    installed_sha.clone().into(),
                                    offer.version.clone().into(),
                                    sha.into(),
                                    (*source_id).into(),
                                    state(&[]).into(),
                                    Utc::now().into(),
                                ]),
                        )
                        .await;
                    match inserted {
                        Ok(_) => {}
                        Err(e)
                            if matches!(
                                e.sql_err(),
                                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                            ) =>
                        {
                            tracing::debug!(plugin = %record.slug, "update already queued: {e}");
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(())
    }

    /// The row `id` if it may be applied now: pending, and its offer asks
    /// for nothing beyond what runs and what was approved for its bundle
    /// (judged again here: what runs may have changed since detection).
    async fn pending_update(&self, id: i64) -> Result<Update, UpdateError> {
        let row = self.row(id).await?;
        if !is_open(&row.state) {
            return Err(UpdateError::NotPending {
                id,
                state: row.state,
            });
        }
        let sources = self.sources().list().await?;
        let asks: Vec<Ask> = offer_of(&sources, &row)
            .map(|(_, e)| consent::added(&self.running_asks(&row.slug), &consent::of_entry(e)))
            .unwrap_or_default()
            .into_iter()
            .filter(|a| !row.approved.contains(&a.id))
            .collect();
        if row.state == "needs_approval" || !asks.is_empty() {
            return Err(UpdateError::NeedsApproval { id, asks });
        }
        Ok(row)
    }

    /// Applies a pending update: the offered bundle goes through the install
    /// pipeline and the plugin is hot-reloaded. A failure is recorded on the
    /// row (still pending) and returned; the running version is unchanged.
    pub async fn apply_update(
        &self,
        id: i64,
        actor: &str,
        progress: Progress,
    ) -> Result<Swapped, UpdateError> {
        let row = self.pending_update(id).await?;
        let sources = self.sources().list().await?;
        let found = offer_of(&sources, &row).map(|(s, e)| (s.clone(), e.clone()));
        let Some((source, entry)) = found else {
            return Err(UpdateError::Withdrawn {
                slug: row.slug,
                version: row.to_version,
                sha256: row.to_sha256,
            });
        };
        let mut trust = self.sources().policy_for(&source).await?;
        // The bundle may ask for what the running version had and what an
        // admin approved for this bundle: no more.
        let mut allowed: std::collections::BTreeSet<String> = self
            .running_asks(&row.slug)
            .into_iter()
            .map(|a| a.id)
            .collect();
        allowed.extend(row.approved.iter().cloned());
        trust.asks = Some(allowed);
        let result = self
            .update_with_progress(&entry, &source.location, &trust, false, actor, progress)
            .await;
        match result {
            Ok(swapped) => {
                self.exec(
                    Query::update()
                        .table(TABLE)
                        .values([
                            ("state", "applied".into()),
                            ("error", Expr::null()),
                            ("decided_at", Utc::now().into()),
                        ])
                        .and_where(is("id", id))
                        .and_where(is("to_sha256", row.to_sha256.clone())),
                )
                .await?;
                Ok(swapped)
            }
            Err(e) => {
                self.exec(
                    Query::update()
                        .table(TABLE)
                        .values([("error", e.to_string().into())])
                        .and_where(is("id", id)),
                )
                .await?;
                Err(e.into())
            }
        }
    }

    /// Dismisses a pending update: that offer is not proposed again.
    pub async fn dismiss_update(&self, id: i64) -> Result<Update, UpdateError> {
        let row = self.row(id).await?;
        if !is_open(&row.state) {
            return Err(UpdateError::NotPending {
                id,
                state: row.state,
            });
        }
        self.exec(
            Query::update()
                .table(TABLE)
                .values([
                    ("state", "dismissed".into()),
                    ("decided_at", Utc::now().into()),
                ])
                .and_where(is("id", id))
                .and_where(Expr::col("state").is_in(OPEN)),
        )
        .await?;
        self.row(id).await
    }
}
