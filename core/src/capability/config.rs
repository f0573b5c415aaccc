//! Plugin configuration (every plugin may have one; no grant needed):
//! stored in `plugin_config`, removed with its data.

use sea_orm::DbErr;

use super::{HostCapability, Pending};
use crate::capabilities::Capabilities;

pub(crate) struct Config;

impl HostCapability for Config {
    fn name(&self) -> &'static str {
        "config"
    }
    fn granted(&self, _capabilities: &Capabilities) -> bool {
        true
    }
    fn purge<'a>(
        &'a self,
        conn: &'a sea_orm::DatabaseTransaction,
        slug: &'a str,
    ) -> Pending<'a, Result<u64, DbErr>> {
        Box::pin(super::kv::delete_rows(conn, "plugin_config", slug))
    }
}
