//! {{name}}: a Plugboard plugin with one route.

use plugboard_plugin_api::prelude::*;
use serde_json::json;

/// The plugin. The host makes one instance (`export_plugin!` below) and
/// calls it from many threads.
#[derive(Default)]
pub struct {{struct_name}};

impl {{struct_name}} {
    /// `GET /hello`: greets the caller.
    fn hello(&self, ctx: &Context, _req: &Request) -> PluginResult<Response> {
        let name = match ctx.caller() {
            Caller::Account(account) => account.username.clone(),
            _ => "stranger".to_string(),
        };
        Ok(Response::json(&json!({ "hello": name })))
    }
}

impl Plugin for {{struct_name}} {
    fn slug(&self) -> &str {
        "{{slug}}"
    }

    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }

    fn routes(&self) -> Vec<Route<Self>> {
        vec![Route::get("/hello", Self::hello)]
    }
}

export_plugin!({{struct_name}});
