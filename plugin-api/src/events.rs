//! Events: what a plugin receives for its subscriptions, and how it emits.

use serde::{de::DeserializeOwned, Serialize};

use crate::{
    context::Context,
    error::{ErrorKind, PluginError},
};

/// An event delivered to a plugin: a dotted name and a JSON payload.
///
/// ```
/// use plugboard_plugin_api::Event;
/// let e = Event::new("user.created", r#"{"id": 7, "username": "zoe"}"#);
/// assert!(e.name().starts_with("user."));
/// let v: serde_json::Value = e.payload().unwrap();
/// assert_eq!(v["username"], "zoe");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    name: &'a str,
    payload: &'a str,
}

impl<'a> Event<'a> {
    /// An event (the host builds these).
    pub fn new(name: &'a str, payload: &'a str) -> Self {
        Self { name, payload }
    }
    /// The event's name, e.g. `user.created` or `plugin.guestbook.signed`.
    pub fn name(&self) -> &'a str {
        self.name
    }
    /// The payload's JSON text.
    pub fn payload_json(&self) -> &'a str {
        self.payload
    }
    /// The payload as a `T`.
    pub fn payload<T: DeserializeOwned>(&self) -> Result<T, PluginError> {
        serde_json::from_str(self.payload).map_err(|e| {
            PluginError::invalid(format!(
                "event {} has an unexpected payload: {e}",
                self.name
            ))
        })
    }
}

/// Whether event `name` matches `pattern`: `*` (every event), `prefix.*`
/// (names below `prefix.`), or an exact name — the host's own matcher
/// (`plugboard_manifest::pattern`), so a plugin filters exactly as the host
/// subscribes. A pattern that is not one of those matches nothing.
///
/// ```
/// use plugboard_plugin_api::event_matches;
/// assert!(event_matches("user.*", "user.created"));
/// assert!(!event_matches("user.*", "users.created"));
/// assert!(event_matches("*", "plugin.guestbook.signed"));
/// assert!(event_matches("user.login", "user.login"));
/// assert!(!event_matches("user.*.x", "user.a.x"));
/// ```
pub fn event_matches(pattern: &str, name: &str) -> bool {
    plugboard_manifest::pattern::matches(pattern, name)
}

/// A subscriber's failure reported by a synchronous emit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct EventFailure {
    /// The subscriber.
    pub plugin: String,
    /// Its error.
    pub error: String,
}

/// Emitting events in the plugin's own namespace, `plugin.{slug}.…`.
pub struct Events<'a> {
    pub(crate) ctx: &'a Context<'a>,
}

impl Events<'_> {
    fn send<T: Serialize + ?Sized>(
        &self,
        name: &str,
        payload: &T,
        wait: bool,
    ) -> Result<Vec<EventFailure>, PluginError> {
        let f = self.ctx.vtable.emit().ok_or_else(|| {
            PluginError::new(
                ErrorKind::Unsupported,
                "this host has no event bus (added in plugin-api 1.2.0)",
            )
        })?;
        let payload = serde_json::to_string(payload)
            .map_err(|e| PluginError::failed(format!("cannot encode payload: {e}")))?;
        let out: String = f(
            self.ctx.handle.data,
            name.into(),
            payload.as_str().into(),
            wait,
        )
        .into_result()?
        .into();
        serde_json::from_str(&out).map_err(|e| PluginError::failed(format!("bad emit answer: {e}")))
    }
    /// Queues the event for every subscriber and returns at once.
    pub fn emit<T: Serialize + ?Sized>(&self, name: &str, payload: &T) -> Result<(), PluginError> {
        self.send(name, payload, false).map(|_| ())
    }
    /// Delivers the event to every subscriber, in order, and returns their
    /// failures (a subscriber's failure never fails the emit).
    pub fn emit_sync<T: Serialize + ?Sized>(
        &self,
        name: &str,
        payload: &T,
    ) -> Result<Vec<EventFailure>, PluginError> {
        self.send(name, payload, true)
    }
}
