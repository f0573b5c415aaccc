//! Capabilities: what a plugin's manifest says it uses, and the checks that
//! hold it to that.
//!
//! ```json
//! "capabilities": {
//!   "kv": true, "sql": true, "routes": true, "cron": true, "ui": false,
//!   "events": { "emit": ["plugin.guestbook.*"], "subscribe": ["user.*"] },
//!   "network": ["hooks.example.com", "*.example.org", "127.0.0.1"]
//! }
//! ```
//!
//! Anything left out is not granted. Host services check at each call
//! (KV, SQL, emit, outbound HTTP); what a plugin declares in code (routes,
//! jobs, subscriptions, migrations) is checked when it is enabled. A refusal
//! names the missing capability.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::events::Pattern;

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

impl Capabilities {
    /// Checks the declaration itself for `slug`: patterns parse, emits stay in
    /// the plugin's namespace, network entries are host names.
    ///
    /// ```
    /// use plugboard_core::capabilities::Capabilities;
    /// let mut caps = Capabilities::default();
    /// caps.events.emit.push("user.*".into());
    /// assert!(caps.validate("blog").unwrap_err().contains("plugin.blog."));
    /// ```
    pub fn validate(&self, slug: &str) -> Result<(), String> {
        let own = format!("plugin.{slug}.");
        for p in &self.events.emit {
            let pattern =
                Pattern::parse(p).map_err(|e| format!("capabilities.events.emit: {e}"))?;
            let inside = match &pattern {
                Pattern::All => false,
                Pattern::Exact(n) => n.starts_with(&own),
                Pattern::Prefix(pre) => pre.starts_with(&own) || *pre == own,
            };
            if !inside {
                return Err(format!(
                    "capabilities.events.emit: {p:?} is outside the plugin's namespace {own}*"
                ));
            }
        }
        for p in &self.events.subscribe {
            Pattern::parse(p).map_err(|e| format!("capabilities.events.subscribe: {e}"))?;
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
                return Err(format!(
                    "capabilities.network: {h:?} is not a host name, `*.domain` or `*`"
                ));
            }
        }
        Ok(())
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
    /// use plugboard_core::capabilities::Capabilities;
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
            .any(|declared| covers(&declared, &wanted))
    }

    /// Whether outbound HTTP to `host` is declared.
    ///
    /// ```
    /// use plugboard_core::capabilities::Capabilities;
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
}

/// What a plugin's code declares when it is enabled, to check against its
/// capabilities.
#[derive(Debug, Default)]
pub struct Declared<'a> {
    /// How many routes.
    pub routes: usize,
    /// How many jobs.
    pub jobs: usize,
    /// How many migrations.
    pub migrations: usize,
    /// Its subscription patterns.
    pub subscriptions: &'a [String],
    /// How many UI contributions its manifest declares.
    pub ui: usize,
}

impl Capabilities {
    /// Checks what `slug`'s code declares against these capabilities.
    ///
    /// ```
    /// use plugboard_core::capabilities::{Capabilities, Capability, Declared};
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

/// Whether every name `wanted` matches is matched by `declared`.
fn covers(declared: &Pattern, wanted: &Pattern) -> bool {
    match (declared, wanted) {
        (Pattern::All, _) => true,
        (_, Pattern::All) => false,
        (Pattern::Exact(d), Pattern::Exact(w)) => d == w,
        (Pattern::Exact(_), Pattern::Prefix(_)) => false,
        (Pattern::Prefix(d), Pattern::Exact(w)) => w.starts_with(d.as_str()),
        (Pattern::Prefix(d), Pattern::Prefix(w)) => w.starts_with(d.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_granted_by_default() {
        let caps: Capabilities = serde_json::from_str("{}").unwrap();
        assert!(!caps.kv && !caps.sql && !caps.routes && !caps.cron && !caps.ui);
        assert!(!caps.allows_emit("plugin.a.b"));
        assert!(!caps.allows_subscription("user.created"));
        assert!(!caps.allows_host("example.com"));
    }

    #[test]
    fn unknown_capabilities_are_refused() {
        let err = serde_json::from_str::<Capabilities>(r#"{"filesystem": true}"#).unwrap_err();
        assert!(err.to_string().contains("filesystem"), "{err}");
    }

    #[test]
    fn emit_patterns_must_stay_in_the_namespace() {
        let caps: Capabilities =
            serde_json::from_str(r#"{"events": {"emit": ["plugin.blog.*"]}}"#).unwrap();
        assert!(caps.validate("blog").is_ok());
        assert!(caps.allows_emit("plugin.blog.posted"));
        assert!(!caps.allows_emit("plugin.other.posted"));
        assert!(caps.validate("blogger").is_err());
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
            assert!(caps.validate("a").is_err(), "{bad:?} accepted");
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
}
