//! Platform hooks: what a plugin can be told about, and the order it is told in.
//!
//! A plugin declares the hooks it implements with [`HookSpec`]s (from
//! [`Plugin::hooks`](crate::Plugin::hooks)); the host calls only declared hooks.
//! For each hook the host orders the plugins by `priority` (lower first), then
//! by the `before` / `after` constraints, then by slug, so the order is the same
//! on every start and on every replica.

use abi_stable::{
    std_types::{RStr, RString, RVec},
    StableAbi,
};
use serde::Serialize;

/// A platform hook.
///
/// *Action* hooks notify; the *filter* hook [`Hook::BeforeUserCreate`] may
/// transform the new user or refuse it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "&'static str")]
pub enum Hook {
    /// Filter: before a user is created; may change the user or refuse it.
    BeforeUserCreate,
    /// A user was created.
    UserCreated,
    /// A user was updated.
    UserUpdated,
    /// A user was deleted.
    UserDeleted,
    /// A user signed in.
    UserLogin,
    /// A user signed out.
    UserLogout,
    /// The host finished starting.
    SystemStartup,
    /// The host is shutting down.
    SystemShutdown,
    /// Another plugin was installed, enabled or disabled.
    PluginLifecycle,
}

impl Hook {
    /// Every hook, in a fixed order.
    pub const ALL: [Hook; 9] = [
        Hook::BeforeUserCreate,
        Hook::UserCreated,
        Hook::UserUpdated,
        Hook::UserDeleted,
        Hook::UserLogin,
        Hook::UserLogout,
        Hook::SystemStartup,
        Hook::SystemShutdown,
        Hook::PluginLifecycle,
    ];

    /// The hook's stable name (`user.created`, …), used on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Hook::BeforeUserCreate => "user.before_create",
            Hook::UserCreated => "user.created",
            Hook::UserUpdated => "user.updated",
            Hook::UserDeleted => "user.deleted",
            Hook::UserLogin => "user.login",
            Hook::UserLogout => "user.logout",
            Hook::SystemStartup => "system.startup",
            Hook::SystemShutdown => "system.shutdown",
            Hook::PluginLifecycle => "plugin.lifecycle",
        }
    }

    /// The hook with this name.
    ///
    /// ```
    /// use plugboard_plugin_api::prelude::Hook;
    /// assert_eq!(Hook::from_name("user.created"), Some(Hook::UserCreated));
    /// assert_eq!(Hook::from_name("user.exploded"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Hook> {
        Hook::ALL.into_iter().find(|h| h.name() == name)
    }

    /// When the host calls it, in words (for references and tools).
    pub fn when(self) -> &'static str {
        match self {
            Hook::BeforeUserCreate => "before an account is created: the filter may change its name or role, or refuse it (`Err` with kind `Refused`)",
            Hook::UserCreated => "an account was created",
            Hook::UserUpdated => "an account's name, role or password changed",
            Hook::UserDeleted => "an account was deleted",
            Hook::UserLogin => "an account signed in",
            Hook::UserLogout => "an account signed out",
            Hook::SystemStartup => "the host finished starting",
            Hook::SystemShutdown => "the host is shutting down (before plugins are disabled)",
            Hook::PluginLifecycle => {
                "another plugin was enabled, disabled, upgraded or uninstalled (not at start: \
                 plugins that were active come back unannounced, then `system.startup`)"
            }
        }
    }

    /// What the plugin's method receives, by type name.
    pub fn argument(self) -> &'static str {
        match self {
            Hook::BeforeUserCreate => "&mut NewUser",
            Hook::UserCreated
            | Hook::UserUpdated
            | Hook::UserDeleted
            | Hook::UserLogin
            | Hook::UserLogout => "&User",
            Hook::SystemStartup | Hook::SystemShutdown => "(nothing)",
            Hook::PluginLifecycle => "&PluginEvent",
        }
    }

    /// The [`Plugin`](crate::Plugin) method the host calls for it.
    pub fn method(self) -> &'static str {
        match self {
            Hook::BeforeUserCreate => "before_user_create",
            Hook::UserCreated => "on_user_created",
            Hook::UserUpdated => "on_user_updated",
            Hook::UserDeleted => "on_user_deleted",
            Hook::UserLogin => "on_user_login",
            Hook::UserLogout => "on_user_logout",
            Hook::SystemStartup => "on_system_startup",
            Hook::SystemShutdown => "on_system_shutdown",
            Hook::PluginLifecycle => "on_plugin_event",
        }
    }

    /// Whether the hook may veto or transform (a filter) rather than notify.
    pub fn is_filter(self) -> bool {
        matches!(self, Hook::BeforeUserCreate)
    }
}

impl From<Hook> for &'static str {
    fn from(h: Hook) -> Self {
        h.name()
    }
}

/// A plugin's declaration that it implements a hook, with its ordering wishes.
///
/// ```
/// use plugboard_plugin_api::prelude::*;
///
/// let spec = HookSpec::new(Hook::BeforeUserCreate).priority(-10).before("audit");
/// assert_eq!(spec.hook(), Some(Hook::BeforeUserCreate));
/// assert_eq!(spec.priority_value(), -10);
/// ```
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct HookSpec {
    hook: RString,
    priority: i32,
    before: RVec<RString>,
    after: RVec<RString>,
}

impl HookSpec {
    /// Implements `hook` with priority 0 and no constraints.
    pub fn new(hook: Hook) -> Self {
        Self {
            hook: hook.name().into(),
            priority: 0,
            before: RVec::new(),
            after: RVec::new(),
        }
    }
    /// Sets the priority: lower runs first (default 0).
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }
    /// Runs before the plugin `slug` (if it implements the same hook).
    pub fn before(mut self, slug: &str) -> Self {
        self.before.push(slug.into());
        self
    }
    /// Runs after the plugin `slug` (if it implements the same hook).
    pub fn after(mut self, slug: &str) -> Self {
        self.after.push(slug.into());
        self
    }
    /// The hook, or `None` if this host does not know its name (a newer plugin).
    pub fn hook(&self) -> Option<Hook> {
        Hook::from_name(&self.hook)
    }
    /// The hook's name as declared.
    pub fn hook_name(&self) -> &str {
        &self.hook
    }
    /// The declared priority.
    pub fn priority_value(&self) -> i32 {
        self.priority
    }
    /// Plugins this one must run before.
    pub fn before_slugs(&self) -> impl Iterator<Item = &str> {
        self.before.iter().map(|s| s.as_str())
    }
    /// Plugins this one must run after.
    pub fn after_slugs(&self) -> impl Iterator<Item = &str> {
        self.after.iter().map(|s| s.as_str())
    }
}

/// A user account, as hooks see it.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user's id.
    pub id: i64,
    /// The user name.
    pub username: RString,
    /// The role (`admin`, `user`, …).
    pub role: RString,
}

/// A user about to be created; a `before_user_create` filter may change it.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// The requested user name.
    pub username: RString,
    /// The requested role.
    pub role: RString,
}

/// Another plugin changed state.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginEvent<'a> {
    /// `enabled`, `disabled`, `upgraded` or `uninstalled`.
    pub kind: RStr<'a>,
    /// The plugin the event is about.
    pub slug: RStr<'a>,
}

/// One call of a hook, with its data: what the host dispatches.
#[derive(Debug)]
pub enum HookCall<'a> {
    /// See [`Hook::BeforeUserCreate`].
    BeforeUserCreate(&'a mut NewUser),
    /// See [`Hook::UserCreated`].
    UserCreated(&'a User),
    /// See [`Hook::UserUpdated`].
    UserUpdated(&'a User),
    /// See [`Hook::UserDeleted`].
    UserDeleted(&'a User),
    /// See [`Hook::UserLogin`].
    UserLogin(&'a User),
    /// See [`Hook::UserLogout`].
    UserLogout(&'a User),
    /// See [`Hook::SystemStartup`].
    SystemStartup,
    /// See [`Hook::SystemShutdown`].
    SystemShutdown,
    /// See [`Hook::PluginLifecycle`].
    PluginLifecycle(PluginEvent<'a>),
}

impl HookCall<'_> {
    /// Which hook this call is for.
    pub fn hook(&self) -> Hook {
        match self {
            HookCall::BeforeUserCreate(_) => Hook::BeforeUserCreate,
            HookCall::UserCreated(_) => Hook::UserCreated,
            HookCall::UserUpdated(_) => Hook::UserUpdated,
            HookCall::UserDeleted(_) => Hook::UserDeleted,
            HookCall::UserLogin(_) => Hook::UserLogin,
            HookCall::UserLogout(_) => Hook::UserLogout,
            HookCall::SystemStartup => Hook::SystemStartup,
            HookCall::SystemShutdown => Hook::SystemShutdown,
            HookCall::PluginLifecycle(_) => Hook::PluginLifecycle,
        }
    }
}

/// The lifecycle phases a plugin is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// After the library is loaded, before anything else.
    Load,
    /// The plugin is being enabled: its routes and hooks go live after this.
    Enable,
    /// The plugin is being disabled.
    Disable,
    /// The plugin is being unloaded.
    Unload,
}
