//! The `network` capability: the hosts a plugin may reach with outbound
//! HTTP (checked at each request in `scope.rs`).

use super::{HostCapability, Pending};
use crate::capabilities::Capabilities;

pub(crate) struct Network;

impl HostCapability for Network {
    fn name(&self) -> &'static str {
        "network"
    }
    fn granted(&self, capabilities: &Capabilities) -> bool {
        !capabilities.network.is_empty()
    }
    fn describe<'a>(
        &'a self,
        _host: &'a super::Host<'a>,
        _slug: &'a str,
        capabilities: &'a crate::capabilities::Capabilities,
    ) -> Pending<'a, Result<Option<serde_json::Value>, sea_orm::DbErr>> {
        let hosts = capabilities.network.clone();
        Box::pin(
            async move { Ok((!hosts.is_empty()).then(|| serde_json::json!({ "hosts": hosts }))) },
        )
    }
}
