//! Capabilities: what a plugin's manifest says it uses.
//!
//! ```json
//! "capabilities": {
//!   "kv": true, "sql": true, "routes": true, "cron": true, "ui": false,
//!   "events": { "emit": ["plugin.guestbook.*"], "subscribe": ["user.*"] },
//!   "network": ["hooks.example.com", "*.example.org", "127.0.0.1"]
//! }
//! ```
//!
//! Anything left out is not granted. The host checks at each call (KV,
//! SQL, emit, outbound HTTP) and, when the plugin is enabled, what its code
//! declares (routes, jobs, subscriptions, migrations; [`Declared`]). A
//! refusal names the missing capability ([`CapabilityDenied`]).
//!
//! A manifest written before `capabilities` existed has none: it is read as
//! **inferred** ([`Capabilities::inferred`]): what its code declares, plus
//! `kv` (its own namespace), never emit or network.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::pattern::{Pattern, PatternError};

/// The capabilities a plugin declares.
#[derive(Debug, Clone, Default, PartialEq, Eq, schemars::JsonSchema, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// Its key-value store.
    #[serde(default)]
    pub kv: bool,
    /// Its SQL tables (and migrations).
    #[serde(default)]
    pub sql: bool,
    /// HTTP routes under `/api/plugins/{slug}/`.
    #[serde(default)]
    pub routes: bool,
    /// Scheduled jobs.
    #[serde(default)]
    pub cron: bool,
    /// Contributions to the browser UI.
    #[serde(default)]
    pub ui: bool,
    /// Its own named files (`ctx.files()`, since plugin-api 1.6).
    #[serde(default)]
    pub files: bool,
    /// Events it may emit and subscribe to.
    #[serde(default)]
    pub events: EventCapabilities,
    /// Hosts it may reach with outbound HTTP: a name, `*.domain`, or `*`.
    #[serde(default)]
    pub network: Vec<String>,
    /// Not written by the author: the manifest has no `capabilities`, and
    /// these were inferred from what the plugin declares
    /// ([`Capabilities::inferred`]). Never read from or written to JSON.
    #[serde(skip)]
    pub inferred: bool,
}

/// Event patterns (`name`, `prefix.*`, `*`) a plugin may emit and subscribe to.
#[derive(Debug, Clone, Default, PartialEq, Eq, schemars::JsonSchema, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventCapabilities {
    /// Patterns of the events it emits; all inside `plugin.{slug}.`.
    #[serde(default)]
    pub emit: Vec<String>,
    /// Patterns of the events it subscribes to.
    #[serde(default)]
    pub subscribe: Vec<String>,
    /// Patterns of its emitted events that go to **every replica** (several
    /// replicas on one PostgreSQL database): each subscriber on each
    /// replica receives them once, in the order this plugin emitted them,
    /// through the database. Each must also be covered by `emit`. Other
    /// events stay on the replica that emits them. With one process
    /// (SQLite) they are delivered like any other event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster: Vec<String>,
}

/// One capability, as named in refusals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// `kv`
    Kv,
    /// `sql`
    Sql,
    /// `routes`
    Routes,
    /// `cron`
    Cron,
    /// `ui`
    Ui,
    /// `files`
    Files,
    /// `events.emit` covering this name.
    Emit(String),
    /// `events.subscribe` covering this pattern.
    Subscribe(String),
    /// `network` covering this host.
    Network(String),
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Capability::Kv => f.write_str("`kv`"),
            Capability::Sql => f.write_str("`sql`"),
            Capability::Routes => f.write_str("`routes`"),
            Capability::Cron => f.write_str("`cron`"),
            Capability::Ui => f.write_str("`ui`"),
            Capability::Files => f.write_str("`files`"),
            Capability::Emit(n) => write!(f, "`events.emit` for {n:?}"),
            Capability::Subscribe(p) => write!(f, "`events.subscribe` for {p:?}"),
            Capability::Network(h) => write!(f, "`network` for host {h:?}"),
        }
    }
}

/// A use of something the manifest does not declare.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("missing capability {capability} (not declared in the manifest of plugin {slug:?})")]
pub struct CapabilityDenied {
    /// The plugin.
    pub slug: String,
    /// What it would need.
    pub capability: Capability,
}

/// Why a `capabilities` declaration is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapabilitiesError {
    /// An `events.cluster` entry is not covered by `events.emit`.
    #[error("capabilities.events.cluster: {0:?} is not covered by events.emit")]
    ClusterNotEmitted(String),
    /// An `events.emit` entry is not a pattern.
    #[error("capabilities.events.emit: {0}")]
    EmitPattern(PatternError),
    /// An `events.emit` entry reaches outside `plugin.{slug}.`.
    #[error(
        "capabilities.events.emit: {pattern:?} is outside the plugin's namespace {namespace}*"
    )]
    EmitOutside {
        /// The entry.
        pattern: String,
        /// `plugin.{slug}.`
        namespace: String,
    },
    /// An `events.subscribe` entry is not a pattern.
    #[error("capabilities.events.subscribe: {0}")]
    SubscribePattern(PatternError),
    /// A `network` entry is not a host name, `*.domain` or `*`.
    #[error("capabilities.network: {0:?} is not a host name, `*.domain` or `*`")]
    Network(String),
}

/// What a plugin declares, to check against its capabilities when it is
/// enabled (and to infer capabilities from, for a manifest without them).
#[derive(Debug, Default, Clone, Copy)]
pub struct Declared<'a> {
    /// How many routes its code serves.
    pub routes: usize,
    /// How many jobs its code schedules.
    pub jobs: usize,
    /// How many migrations its code declares.
    pub migrations: usize,
    /// Its code's subscription patterns.
    pub subscriptions: &'a [String],
    /// How many UI contributions its manifest declares.
    pub ui: usize,
}

impl Capabilities {
    /// The capabilities of a plugin whose manifest has no `capabilities`
    /// (written for a host older than them): each thing it declares —
    /// routes → `routes`, jobs → `cron`, subscriptions → `events.subscribe`
    /// of those patterns, migrations → `sql`, UI contributions → `ui` — plus
    /// `kv` (the one service every plugin-api version had, confined to the
    /// plugin's own namespace). Never emit, never network. Marked
    /// [`inferred`](Capabilities::inferred).
    ///
    /// ```
    /// use plugboard_manifest::capabilities::{Capabilities, Declared};
    /// let subs = vec!["user.*".to_string()];
    /// let caps = Capabilities::inferred(&Declared { routes: 1, subscriptions: &subs, ..Default::default() });
    /// assert!(caps.inferred && caps.kv && caps.routes && !caps.sql && !caps.cron);
    /// assert!(caps.allows_subscription("user.created") && !caps.allows_emit("plugin.a.b"));
    /// assert!(caps.check_declared("a", &Declared { routes: 1, subscriptions: &subs, ..Default::default() }).is_ok());
    /// ```
    pub fn inferred(declared: &Declared<'_>) -> Capabilities {
        Capabilities {
            kv: true,
            sql: declared.migrations > 0,
            routes: declared.routes > 0,
            cron: declared.jobs > 0,
            ui: declared.ui > 0,
            // Files came with plugin-api 1.6, after capabilities were required.
            files: false,
            events: EventCapabilities {
                emit: Vec::new(),
                subscribe: declared.subscriptions.to_vec(),
                cluster: Vec::new(),
            },
            network: Vec::new(),
            inferred: true,
        }
    }

    /// Whether these were inferred (the manifest has no `capabilities`).
    pub fn is_inferred(&self) -> bool {
        self.inferred
    }

    /// Checks the declaration itself for `slug`: patterns parse, emits stay in
    /// the plugin's namespace, network entries are host names.
    ///
    /// ```
    /// use plugboard_manifest::capabilities::Capabilities;
    /// let mut caps = Capabilities::default();
    /// caps.events.emit.push("user.*".into());
    /// assert!(caps.validate("blog").unwrap_err().to_string().contains("plugin.blog."));
    /// ```
    pub fn validate(&self, slug: &str) -> Result<(), CapabilitiesError> {
        let own = format!("plugin.{slug}.");
        for p in &self.events.emit {
            let pattern = Pattern::parse(p).map_err(CapabilitiesError::EmitPattern)?;
            let inside = match &pattern {
                Pattern::All => false,
                Pattern::Exact(n) => n.starts_with(&own),
                Pattern::Prefix(pre) => pre.starts_with(&own) || *pre == own,
            };
            if !inside {
                return Err(CapabilitiesError::EmitOutside {
                    pattern: p.clone(),
                    namespace: own,
                });
            }
        }
        for p in &self.events.subscribe {
            Pattern::parse(p).map_err(CapabilitiesError::SubscribePattern)?;
        }
        for p in &self.events.cluster {
            let pattern = Pattern::parse(p).map_err(CapabilitiesError::EmitPattern)?;
            let covered = match &pattern {
                Pattern::Exact(n) => self.allows_emit(n),
                Pattern::Prefix(pre) => self.events.emit.iter().any(|e| {
                    Pattern::parse(e).is_ok_and(|e| match e {
                        Pattern::All => true,
                        Pattern::Exact(_) => false,
                        Pattern::Prefix(q) => pre.starts_with(q.as_str()),
                    })
                }),
                Pattern::All => false,
            };
            if !covered {
                return Err(CapabilitiesError::ClusterNotEmitted(p.clone()));
            }
        }
        for h in &self.network {
            let name = h.strip_prefix("*.").unwrap_or(h);
            let ok = h == "*"
                || (!name.is_empty()
                    && name.split('.').all(|label| {
                        !label.is_empty()
                            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    }));
            if !ok {
                return Err(CapabilitiesError::Network(h.clone()));
            }
        }
        Ok(())
    }

    /// Whether `name` (which it may emit) goes to every replica.
    pub fn emits_to_cluster(&self, name: &str) -> bool {
        self.events
            .cluster
            .iter()
            .filter_map(|p| Pattern::parse(p).ok())
            .any(|p| p.matches(name))
    }

    /// Whether emitting `name` is declared.
    pub fn allows_emit(&self, name: &str) -> bool {
        self.events
            .emit
            .iter()
            .filter_map(|p| Pattern::parse(p).ok())
            .any(|p| p.matches(name))
    }

    /// Whether subscribing with `pattern` is covered by a declared pattern.
    ///
    /// ```
    /// use plugboard_manifest::capabilities::Capabilities;
    /// let mut caps = Capabilities::default();
    /// caps.events.subscribe.push("user.*".into());
    /// assert!(caps.allows_subscription("user.created"));
    /// assert!(caps.allows_subscription("user.*"));
    /// assert!(!caps.allows_subscription("*"));
    /// assert!(!caps.allows_subscription("plugin.other.x"));
    /// ```
    pub fn allows_subscription(&self, pattern: &str) -> bool {
        let Ok(wanted) = Pattern::parse(pattern) else {
            return false;
        };
        self.events
            .subscribe
            .iter()
            .filter_map(|p| Pattern::parse(p).ok())
            .any(|declared| declared.covers(&wanted))
    }

    /// Whether outbound HTTP to `host` is declared.
    ///
    /// ```
    /// use plugboard_manifest::capabilities::Capabilities;
    /// let mut caps = Capabilities::default();
    /// caps.network = vec!["*.example.com".into(), "127.0.0.1".into()];
    /// assert!(caps.allows_host("hooks.example.com"));
    /// assert!(caps.allows_host("127.0.0.1"));
    /// assert!(!caps.allows_host("example.com.evil.org"));
    /// assert!(!caps.allows_host("localhost"));
    /// ```
    pub fn allows_host(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.network.iter().any(|h| {
            let h = h.to_ascii_lowercase();
            h == "*"
                || h == host
                || h.strip_prefix("*.")
                    .is_some_and(|d| host.ends_with(&format!(".{d}")))
        })
    }

    /// Checks what `slug` declares against these capabilities.
    ///
    /// ```
    /// use plugboard_manifest::capabilities::{Capabilities, Capability, Declared};
    /// let caps = Capabilities { routes: true, ..Default::default() };
    /// assert!(caps.check_declared("a", &Declared { routes: 2, ..Default::default() }).is_ok());
    /// let err = caps.check_declared("a", &Declared { jobs: 1, ..Default::default() }).unwrap_err();
    /// assert_eq!(err.capability, Capability::Cron);
    /// ```
    pub fn check_declared(&self, slug: &str, d: &Declared<'_>) -> Result<(), CapabilityDenied> {
        let deny = |capability| {
            Err(CapabilityDenied {
                slug: slug.to_string(),
                capability,
            })
        };
        if d.routes > 0 && !self.routes {
            return deny(Capability::Routes);
        }
        if d.jobs > 0 && !self.cron {
            return deny(Capability::Cron);
        }
        if d.migrations > 0 && !self.sql {
            return deny(Capability::Sql);
        }
        if d.ui > 0 && !self.ui {
            return deny(Capability::Ui);
        }
        if let Some(p) = d
            .subscriptions
            .iter()
            .find(|p| !self.allows_subscription(p))
        {
            return deny(Capability::Subscribe(p.clone()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_granted_by_default() {
        let caps: Capabilities = serde_json::from_str("{}").unwrap();
        assert!(!caps.kv && !caps.sql && !caps.routes && !caps.cron && !caps.ui);
        assert!(!caps.inferred, "written capabilities are not inferred");
        assert!(!caps.allows_emit("plugin.a.b"));
        assert!(!caps.allows_subscription("user.created"));
        assert!(!caps.allows_host("example.com"));
    }

    #[test]
    fn unknown_capabilities_are_refused() {
        let err = serde_json::from_str::<Capabilities>(r#"{"filesystem": true}"#).unwrap_err();
        assert!(err.to_string().contains("filesystem"), "{err}");
        let err = serde_json::from_str::<Capabilities>(r#"{"inferred": true}"#).unwrap_err();
        assert!(
            err.to_string().contains("inferred"),
            "an author cannot write the marker: {err}"
        );
    }

    #[test]
    fn emit_patterns_must_stay_in_the_namespace() {
        let caps: Capabilities =
            serde_json::from_str(r#"{"events": {"emit": ["plugin.blog.*"]}}"#).unwrap();
        assert!(caps.validate("blog").is_ok());
        assert!(caps.allows_emit("plugin.blog.posted"));
        assert!(!caps.allows_emit("plugin.other.posted"));
        assert!(matches!(
            caps.validate("blogger"),
            Err(CapabilitiesError::EmitOutside { .. })
        ));
        let all: Capabilities = serde_json::from_str(r#"{"events": {"emit": ["*"]}}"#).unwrap();
        assert!(all.validate("blog").is_err());
    }

    #[test]
    fn network_entries_are_host_names() {
        for bad in ["http://x.com", "x.com/path", "", "a..b", "x.com:80"] {
            let caps = Capabilities {
                network: vec![bad.into()],
                ..Default::default()
            };
            assert_eq!(
                caps.validate("a"),
                Err(CapabilitiesError::Network(bad.into())),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn refusals_name_the_capability() {
        let e = CapabilityDenied {
            slug: "blog".into(),
            capability: Capability::Network("evil.org".into()),
        };
        assert_eq!(
            e.to_string(),
            "missing capability `network` for host \"evil.org\" (not declared in the manifest of plugin \"blog\")"
        );
    }

    #[test]
    fn inferred_capabilities_grant_what_the_code_declares_and_kv_only() {
        let subs = vec!["user.*".to_string(), "plugin.notes.saved".to_string()];
        let declared = Declared {
            routes: 2,
            jobs: 1,
            migrations: 1,
            subscriptions: &subs,
            ui: 1,
        };
        let caps = Capabilities::inferred(&declared);
        assert!(caps.is_inferred());
        assert!(caps.kv && caps.sql && caps.routes && caps.cron && caps.ui);
        assert_eq!(caps.events.subscribe, subs);
        assert!(caps.events.emit.is_empty() && caps.network.is_empty());
        assert!(caps.check_declared("a", &declared).is_ok());
        assert!(caps.validate("a").is_ok());
        let none = Capabilities::inferred(&Declared::default());
        assert!(none.kv && !none.sql && !none.routes && !none.cron && !none.ui);
        assert_eq!(
            serde_json::to_value(&none).unwrap()["kv"],
            true,
            "the marker itself is not serialized"
        );
        assert!(serde_json::to_value(&none)
            .unwrap()
            .get("inferred")
            .is_none());
    }
}
