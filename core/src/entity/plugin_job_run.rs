//! `plugin_job_runs`: recorded runs of plugin jobs.
#![allow(missing_docs, unreachable_pub)]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "plugin_job_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub plugin: String,
    pub job: String,
    pub started_at: ChronoDateTimeUtc,
    pub duration_ms: f64,
    pub outcome: String,
    pub error: Option<String>,
    pub replica: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
