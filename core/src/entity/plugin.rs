//! `plugins`: persisted lifecycle state per plugin.
#![allow(missing_docs, unreachable_pub)]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plugins")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub slug: String,
    pub version: String,
    pub kind: String,
    pub state: String,
    pub last_error: Option<String>,
    pub error_at: Option<ChronoDateTimeUtc>,
    pub row_version: i64,
    pub installed_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
    pub bundle_sha256: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
