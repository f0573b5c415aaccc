//! `activity`: keeps a short log of what happened to users and plugins
//! (action hooks) and serves it at `GET /api/plugins/activity/recent`.

use plugboard_plugin_api::prelude::*;
use serde::{Deserialize, Serialize};

/// The plugin.
pub struct Activity;

/// One logged event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Event {
    /// The hook name (`user.created`, `plugin.lifecycle`, …).
    pub hook: String,
    /// What it was about.
    pub subject: String,
}

/// Events kept.
pub const CAPACITY: usize = 100;
const LOG_KEY: &str = "log";

impl Activity {
    fn record(ctx: &Context, hook: Hook, subject: String) -> PluginResult {
        let kv = ctx.kv();
        let mut log: Vec<Event> = kv.get(LOG_KEY)?.unwrap_or_default();
        log.push(Event {
            hook: hook.name().to_string(),
            subject,
        });
        if log.len() > CAPACITY {
            let excess = log.len() - CAPACITY;
            log.drain(..excess);
        }
        kv.set(LOG_KEY, &log)
    }

    fn recent(&self, ctx: &Context, _req: &Request) -> PluginResult<Response> {
        let mut log: Vec<Event> = ctx.kv().get(LOG_KEY)?.unwrap_or_default();
        log.reverse();
        Ok(Response::json(&serde_json::json!({ "events": log })))
    }
}

impl Plugin for Activity {
    fn slug(&self) -> &str {
        "activity"
    }
    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }
    fn hooks(&self) -> Vec<HookSpec> {
        [
            Hook::UserCreated,
            Hook::UserUpdated,
            Hook::UserDeleted,
            Hook::UserLogin,
            Hook::UserLogout,
            Hook::PluginLifecycle,
        ]
        .into_iter()
        .map(HookSpec::new)
        .collect()
    }
    fn routes(&self) -> Vec<Route<Self>> {
        vec![Route::get("/recent", Self::recent)]
    }
    fn on_user_created(&self, ctx: &Context, user: &User) -> PluginResult {
        Self::record(ctx, Hook::UserCreated, user.username.to_string())
    }
    fn on_user_updated(&self, ctx: &Context, user: &User) -> PluginResult {
        Self::record(ctx, Hook::UserUpdated, user.username.to_string())
    }
    fn on_user_deleted(&self, ctx: &Context, user: &User) -> PluginResult {
        Self::record(ctx, Hook::UserDeleted, user.username.to_string())
    }
    fn on_user_login(&self, ctx: &Context, user: &User) -> PluginResult {
        Self::record(ctx, Hook::UserLogin, user.username.to_string())
    }
    fn on_user_logout(&self, ctx: &Context, user: &User) -> PluginResult {
        Self::record(ctx, Hook::UserLogout, user.username.to_string())
    }
    fn on_plugin_event(&self, ctx: &Context, event: &PluginEvent) -> PluginResult {
        Self::record(
            ctx,
            Hook::PluginLifecycle,
            format!("{} {}", event.slug, event.kind),
        )
    }
}
