//! `plugin_migrations`: applied plugin SQL migrations.
#![allow(missing_docs, unreachable_pub)]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plugin_migrations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub plugin: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub applied_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
