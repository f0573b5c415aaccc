//! The `files` capability: each plugin's named blobs (`ctx.files()`),
//! stored by [`crate::file_store`]. Declared in `plugin.json` as
//! `"capabilities": { "files": true }`; removed with the plugin's data
//! (`?data=remove`); listed with sizes in the admin's plugin detail.

use sea_orm::DbErr;

use crate::file_store::list;
pub use crate::file_store::{FileError, FileLimits, StoredFile, NAME};

/// The capability, for the lifecycle loop (see [`super::ALL`]).
pub(crate) struct Files;

impl super::HostCapability for Files {
    fn name(&self) -> &'static str {
        NAME
    }
    fn granted(&self, capabilities: &crate::capabilities::Capabilities) -> bool {
        capabilities.files
    }
    fn purge<'a>(
        &'a self,
        conn: &'a sea_orm::DatabaseTransaction,
        slug: &'a str,
    ) -> super::Pending<'a, Result<u64, DbErr>> {
        Box::pin(super::kv::delete_rows(conn, "plugin_files", slug))
    }
    fn describe<'a>(
        &'a self,
        host: &'a super::Host<'a>,
        slug: &'a str,
        _capabilities: &'a crate::capabilities::Capabilities,
    ) -> super::Pending<'a, Result<Option<serde_json::Value>, DbErr>> {
        Box::pin(async move {
            let files = list(host.db.conn(), slug, "").await.map_err(|e| match e {
                FileError::Db(e) => e,
                other => DbErr::Custom(other.to_string()),
            })?;
            if files.is_empty() {
                return Ok(None);
            }
            let total: u64 = files.iter().map(|f| f.size).sum();
            Ok(Some(serde_json::json!({
                "count": files.len(),
                "total_bytes": total,
                "quota_bytes": host.files.quota,
                "max_files": host.files.max_files,
                "files": files,
            })))
        })
    }
}
