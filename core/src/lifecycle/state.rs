//! Plugin states and the transitions between them.

use std::{fmt, str::FromStr};

use serde::Serialize;

/// A plugin's persisted state.
///
/// ```text
/// Installed ──enable──▶ Active ◀──enable── Inactive
///                         └────disable────▶   │
///            any failed transition ──▶ Errored ──reset──▶ Inactive
/// Installed / Inactive / Errored ──uninstall──▶ PendingUninstall ──▶ (gone)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PluginState {
    /// Known to the host, never enabled.
    Installed,
    /// Enabled: routes and hooks are live.
    Active,
    /// Disabled by an operator.
    Inactive,
    /// Being removed.
    PendingUninstall,
    /// A transition failed or the fault policy tripped; see `last_error`.
    Errored,
}

/// An operation on the lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// Installed / Inactive → Active.
    Enable,
    /// Active → Inactive.
    Disable,
    /// Errored → Inactive.
    Reset,
    /// Installed / Inactive / Errored → PendingUninstall.
    Uninstall,
    /// Any state but PendingUninstall → Errored.
    Fail,
}

impl PluginState {
    /// The state's name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginState::Installed => "installed",
            PluginState::Active => "active",
            PluginState::Inactive => "inactive",
            PluginState::PendingUninstall => "pending_uninstall",
            PluginState::Errored => "errored",
        }
    }

    /// Where `transition` leads from this state, or `None` if it is not allowed.
    ///
    /// ```
    /// use plugboard_core::lifecycle::{PluginState, Transition};
    /// assert_eq!(PluginState::Inactive.apply(Transition::Enable), Some(PluginState::Active));
    /// assert_eq!(PluginState::Active.apply(Transition::Enable), None);
    /// assert_eq!(PluginState::Errored.apply(Transition::Reset), Some(PluginState::Inactive));
    /// ```
    pub fn apply(self, transition: Transition) -> Option<PluginState> {
        use PluginState::*;
        match (self, transition) {
            (Installed | Inactive, Transition::Enable) => Some(Active),
            (Active, Transition::Disable) => Some(Inactive),
            (Errored, Transition::Reset) => Some(Inactive),
            (Installed | Inactive | Errored, Transition::Uninstall) => Some(PendingUninstall),
            (Installed | Active | Inactive, Transition::Fail) => Some(Errored),
            _ => None,
        }
    }
}

impl fmt::Display for PluginState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PluginState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "installed" => PluginState::Installed,
            "active" => PluginState::Active,
            "inactive" => PluginState::Inactive,
            "pending_uninstall" => PluginState::PendingUninstall,
            "errored" => PluginState::Errored,
            other => return Err(format!("unknown plugin state {other:?}")),
        })
    }
}

impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transition::Enable => "enable",
            Transition::Disable => "disable",
            Transition::Reset => "reset",
            Transition::Uninstall => "uninstall",
            Transition::Fail => "fail",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_round_trips_through_its_name() {
        for s in [
            PluginState::Installed,
            PluginState::Active,
            PluginState::Inactive,
            PluginState::PendingUninstall,
            PluginState::Errored,
        ] {
            assert_eq!(s.as_str().parse::<PluginState>(), Ok(s));
        }
    }

    #[test]
    fn errored_is_left_only_by_reset_or_uninstall() {
        assert_eq!(PluginState::Errored.apply(Transition::Enable), None);
        assert_eq!(PluginState::Errored.apply(Transition::Disable), None);
        assert_eq!(PluginState::Errored.apply(Transition::Fail), None);
        assert_eq!(
            PluginState::Errored.apply(Transition::Uninstall),
            Some(PluginState::PendingUninstall)
        );
    }
}
