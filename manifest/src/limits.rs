//! How long a plugin's calls may take and how many may run at once
//! (`limits`, `routes[].deadline_ms`), and what a failing filter means
//! (`filters`). The host caps every value with the operator's limits.
//!
//! ```
//! let m = plugboard_manifest::Manifest::from_json(r#"{
//!   "slug": "policy", "version": "1.0.0", "library": "policy",
//!   "limits": { "deadline_ms": 2000, "capacity": 4 },
//!   "filters": { "user.before_create": { "on_failure": "skip", "deadline_ms": 500 } }
//! }"#).unwrap();
//! assert_eq!(m.limits.capacity, Some(4));
//! let f = &m.filters["user.before_create"];
//! assert_eq!(f.on_failure, plugboard_manifest::limits::OnFailure::Skip);
//!
//! let err = plugboard_manifest::Manifest::from_json(r#"{
//!   "slug": "policy", "version": "1.0.0", "library": "policy",
//!   "filters": { "user.created": { "on_failure": "skip" } }
//! }"#).unwrap_err();
//! assert!(err.to_string().contains("user.created"));
//!
//! let err = plugboard_manifest::Manifest::from_json(r#"{
//!   "slug": "policy", "version": "1.0.0", "library": "policy",
//!   "limits": { "capacity": 0 }
//! }"#).unwrap_err();
//! assert_eq!(err.to_string(), "limits.capacity must be at least 1");
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The filter hooks a manifest may give a policy.
pub const FILTER_HOOKS: [&str; 1] = ["user.before_create"];

/// A plugin's own deadlines and capacity.
#[derive(Debug, Clone, Default, PartialEq, Eq, schemars::JsonSchema, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Milliseconds a route, hook, filter or event delivery may take
    /// (host default 30 000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
    /// Milliseconds a cron job may take (host default 600 000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_deadline_ms: Option<u64>,
    /// Calls that may run at once; more get 503 (host default 64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
}

impl Limits {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// What a filter's failure (an error, a panic, its deadline) means.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, schemars::JsonSchema, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// Fail closed: the operation is refused.
    #[default]
    Reject,
    /// Fail open: the operation goes on as if the filter were not there.
    Skip,
}

impl OnFailure {
    /// `reject` or `skip`.
    pub fn as_str(self) -> &'static str {
        match self {
            OnFailure::Reject => "reject",
            OnFailure::Skip => "skip",
        }
    }
}

/// A filter's policy.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, schemars::JsonSchema, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct FilterPolicy {
    /// `reject` (the default) or `skip`.
    #[serde(default)]
    pub on_failure: OnFailure,
    /// Milliseconds this filter may take (else the plugin's deadline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
}

/// The `filters` section: filter hook name to policy.
pub type Filters = BTreeMap<String, FilterPolicy>;

/// A `filters` entry names no filter hook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("filters: {0:?} is not a filter hook (filter hooks: {hooks})", hooks = FILTER_HOOKS.join(", "))]
pub struct NotAFilter(pub String);

/// A `limits`, `routes[].deadline_ms` or `filters` value that can never
/// work: a deadline or capacity of zero.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} must be at least 1")]
pub struct ZeroLimit(pub String);

/// Checks that no deadline or capacity is zero (values above the
/// operator's caps are lowered by the host, not refused: the caps are the
/// operator's, not the manifest's business).
pub fn validate_limits(limits: &Limits, filters: &Filters) -> Result<(), ZeroLimit> {
    let zero = |v: Option<u64>| v == Some(0);
    if zero(limits.deadline_ms) {
        return Err(ZeroLimit("limits.deadline_ms".into()));
    }
    if zero(limits.job_deadline_ms) {
        return Err(ZeroLimit("limits.job_deadline_ms".into()));
    }
    if limits.capacity == Some(0) {
        return Err(ZeroLimit("limits.capacity".into()));
    }
    match filters.iter().find(|(_, f)| zero(f.deadline_ms)) {
        Some((hook, _)) => Err(ZeroLimit(format!("filters.{hook}.deadline_ms"))),
        None => Ok(()),
    }
}

/// Checks that every `filters` key is a filter hook.
pub fn validate_filters(filters: &Filters) -> Result<(), NotAFilter> {
    match filters.keys().find(|k| !FILTER_HOOKS.contains(&k.as_str())) {
        Some(k) => Err(NotAFilter(k.clone())),
        None => Ok(()),
    }
}
