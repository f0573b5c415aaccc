//! The events the host itself emits (since 1.7 as types): subscribe to
//! them by name or pattern in [`Plugin::subscriptions`](crate::Plugin::subscriptions)
//! and read the payload with [`Event::payload`](crate::Event::payload).
//! The host builds each payload from these types, so the names, fields and
//! the generated reference (`docs/guide/reference.md`) agree.
//!
//! ```
//! use plugboard_plugin_api::{platform::UserEvent, prelude::*};
//!
//! struct Welcome;
//! impl Plugin for Welcome {
//!     fn slug(&self) -> &str { "welcome" }
//!     fn version(&self) -> &str { "1.0.0" }
//!     fn subscriptions(&self) -> Vec<String> { vec!["user.created".into()] }
//!     fn on_event(&self, ctx: &Context, event: &Event) -> PluginResult {
//!         let user: UserEvent = event.payload()?;
//!         ctx.kv().set(&format!("welcomed:{}", user.id), &user.actor.username)
//!     }
//! }
//! let payload = r#"{"id":7,"username":"ann","role":"user",
//!                   "actor":{"id":null,"username":"system","role":"admin"}}"#;
//! let user: UserEvent = serde_json::from_str(payload).unwrap();
//! assert_eq!((user.id, user.actor.id), (7, None));
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

// The payload types are `#[non_exhaustive]`: a later minor may add a field
// without breaking a plugin (which reads them) or the host (which builds
// them with their constructors).

/// Who did what an event reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Actor {
    /// The account's id; `null` for the admin token and the host itself.
    pub id: Option<i64>,
    /// The account's name; `admin token` for the admin token, `system`
    /// for the host itself (a self-registered account is its own actor).
    pub username: String,
    /// The role it acted with (`admin`, `user`).
    pub role: String,
}

impl Actor {
    /// An actor.
    pub fn new(id: Option<i64>, username: impl Into<String>, role: impl Into<String>) -> Actor {
        Actor {
            id,
            username: username.into(),
            role: role.into(),
        }
    }

    /// The host itself (first start, command line).
    pub fn system() -> Actor {
        Actor {
            id: None,
            username: "system".into(),
            role: "admin".into(),
        }
    }
}

/// An account was created, updated, deleted, signed in or signed out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct UserEvent {
    /// The account's id.
    pub id: i64,
    /// Its name (after the change, for `user.updated`).
    pub username: String,
    /// Its role (after the change).
    pub role: String,
    /// Who did it.
    pub actor: Actor,
}

impl UserEvent {
    /// The event about account `id`, done by `actor`.
    pub fn new(
        id: i64,
        username: impl Into<String>,
        role: impl Into<String>,
        actor: Actor,
    ) -> Self {
        UserEvent {
            id,
            username: username.into(),
            role: role.into(),
            actor,
        }
    }
}

/// A plugin changed state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct PluginChanged {
    /// The plugin.
    pub slug: String,
}

impl PluginChanged {
    /// The event about plugin `slug`.
    pub fn new(slug: impl Into<String>) -> Self {
        PluginChanged { slug: slug.into() }
    }
}

/// The host started: every plugin that was active is active again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct SystemStarted {}

/// The host is stopping: delivered to subscribers before plugins are
/// disabled (with `emit_sync`: the host waits for them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct SystemStopping {}

/// One event the host emits: its name, when, and its payload's type.
#[derive(Debug, Clone, Copy)]
pub struct PlatformEvent {
    /// The event's name.
    pub name: &'static str,
    /// When the host emits it.
    pub when: &'static str,
    /// The payload's type name.
    pub payload: &'static str,
    /// The payload's JSON Schema.
    pub schema: fn() -> schemars::Schema,
}

fn schema<T: JsonSchema>() -> schemars::Schema {
    schemars::schema_for!(T)
}

/// Every event the host emits.
pub const PLATFORM_EVENTS: &[PlatformEvent] = &[
    PlatformEvent { name: "system.startup", when: "the host finished starting (after every plugin that was active is enabled again)", payload: "SystemStarted", schema: schema::<SystemStarted> },
    PlatformEvent { name: "system.shutdown", when: "the host is stopping; subscribers get it before plugins are disabled, and the host waits for them", payload: "SystemStopping", schema: schema::<SystemStopping> },
    PlatformEvent { name: "user.created", when: "an account was created (after the `user.before_create` filters and the `user.created` hooks)", payload: "UserEvent", schema: schema::<UserEvent> },
    PlatformEvent { name: "user.updated", when: "an account's name, role or password changed", payload: "UserEvent", schema: schema::<UserEvent> },
    PlatformEvent { name: "user.deleted", when: "an account was deleted", payload: "UserEvent", schema: schema::<UserEvent> },
    PlatformEvent { name: "user.login", when: "an account signed in", payload: "UserEvent", schema: schema::<UserEvent> },
    PlatformEvent { name: "user.logout", when: "an account signed out", payload: "UserEvent", schema: schema::<UserEvent> },
    PlatformEvent { name: "plugins.enabled", when: "a plugin was enabled (not at start: plugins that were active come back unannounced, then `system.startup`)", payload: "PluginChanged", schema: schema::<PluginChanged> },
    PlatformEvent { name: "plugins.disabled", when: "a plugin was disabled", payload: "PluginChanged", schema: schema::<PluginChanged> },
    PlatformEvent { name: "plugins.upgraded", when: "a plugin was updated, downgraded or rolled back (hot reload)", payload: "PluginChanged", schema: schema::<PluginChanged> },
    PlatformEvent { name: "plugins.uninstalled", when: "a plugin was uninstalled", payload: "PluginChanged", schema: schema::<PluginChanged> },
];
