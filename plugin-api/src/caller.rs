//! Who is calling a plugin route (since 1.5).
//!
//! The host authenticates every request before a plugin sees it: it checks
//! the session cookie or the bearer token, applies the route's access level
//! (declared in the plugin's manifest) and CSRF, and then hands the plugin
//! the caller, never the credentials (`Cookie`, `Authorization`,
//! `Proxy-Authorization` and `X-CSRF-Token` are removed from the request).

use abi_stable::std_types::{RSlice, RStr};

use crate::abi::{caller_kind, CallerInfo};

/// Who made the request a route is serving: read it with
/// [`Context::caller`](crate::Context::caller).
///
/// Hooks, jobs, events and lifecycle calls have no caller: there
/// `ctx.caller()` is [`Caller::Anonymous`] (hook and event payloads of
/// actions someone started name them as `actor`).
///
/// ```
/// use plugboard_plugin_api::prelude::*;
///
/// struct Notes;
/// impl Notes {
///     /// Each account keeps its own note, under its id.
///     fn mine(&self, ctx: &Context, _req: &Request) -> PluginResult<Response> {
///         let Some(id) = ctx.caller().id() else {
///             return Err(PluginError::refused("sign in to keep a note"));
///         };
///         let note: Option<String> = ctx.kv().get(&format!("note:{id}"))?;
///         Ok(Response::json(&serde_json::json!({
///             "for": ctx.caller().username(),
///             "note": note,
///             "can_moderate": ctx.caller().has_permission("moderate"),
///         })))
///     }
/// }
///
/// let ann = Caller::account(7, "ann", "user").with_permissions(&["moderate"]);
/// assert_eq!(ann.id(), Some(7));
/// assert!(ann.has_permission("moderate") && !ann.is_admin());
/// assert!(Caller::Token.is_admin() && Caller::Token.has_permission("anything"));
/// assert!(Caller::Anonymous.is_anonymous());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Caller {
    /// No credentials (or none outside a route call).
    #[default]
    Anonymous,
    /// A signed-in account (a browser session).
    Account(CallerAccount),
    /// The admin bearer token (scripts, the CLI): an admin with no account.
    Token,
}

/// A signed-in account calling a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerAccount {
    /// The account's id (stable across renames: key per-user data by it).
    pub id: i64,
    /// The account's name at the time of the call.
    pub username: String,
    /// Its role: `user` or `admin` (a later host may add roles).
    pub role: String,
    /// The permissions of *this* plugin's manifest the account holds:
    /// granted to its role by an admin, or every one for an admin.
    pub permissions: Vec<String>,
}

impl Caller {
    /// A signed-in account with no permissions (tests build callers so).
    pub fn account(id: i64, username: impl Into<String>, role: impl Into<String>) -> Caller {
        Caller::Account(CallerAccount {
            id,
            username: username.into(),
            role: role.into(),
            permissions: Vec::new(),
        })
    }
    /// The same account holding `permissions` (no change for other callers).
    pub fn with_permissions(mut self, permissions: &[&str]) -> Caller {
        if let Caller::Account(a) = &mut self {
            a.permissions = permissions.iter().map(|p| p.to_string()).collect();
        }
        self
    }
    /// Whether nobody is signed in.
    pub fn is_anonymous(&self) -> bool {
        matches!(self, Caller::Anonymous)
    }
    /// The account, if a signed-in account is calling.
    pub fn account_info(&self) -> Option<&CallerAccount> {
        match self {
            Caller::Account(a) => Some(a),
            _ => None,
        }
    }
    /// The account's id, if a signed-in account is calling.
    pub fn id(&self) -> Option<i64> {
        self.account_info().map(|a| a.id)
    }
    /// The account's name, if a signed-in account is calling.
    pub fn username(&self) -> Option<&str> {
        self.account_info().map(|a| a.username.as_str())
    }
    /// Whether the caller is an admin: the bearer token or an admin account.
    pub fn is_admin(&self) -> bool {
        match self {
            Caller::Token => true,
            Caller::Account(a) => a.role == "admin",
            Caller::Anonymous => false,
        }
    }
    /// Whether the caller holds the plugin's permission `name` (admins hold
    /// every permission).
    pub fn has_permission(&self, name: &str) -> bool {
        self.is_admin()
            || self
                .account_info()
                .is_some_and(|a| a.permissions.iter().any(|p| p == name))
    }

    /// The caller as it crosses the boundary, for the duration of `f`.
    pub fn with_info<R>(&self, f: impl FnOnce(&CallerInfo<'_>) -> R) -> R {
        match self {
            Caller::Anonymous => f(&CallerInfo::EMPTY),
            Caller::Token => f(&CallerInfo {
                kind: caller_kind::TOKEN,
                ..CallerInfo::EMPTY
            }),
            Caller::Account(a) => {
                let permissions: Vec<RStr<'_>> = a
                    .permissions
                    .iter()
                    .map(|p| RStr::from(p.as_str()))
                    .collect();
                f(&CallerInfo {
                    kind: caller_kind::ACCOUNT,
                    id: a.id,
                    username: a.username.as_str().into(),
                    role: a.role.as_str().into(),
                    permissions: RSlice::from_slice(&permissions),
                })
            }
        }
    }

    /// Reads the caller the host passed across the boundary; an unknown
    /// kind (from a newer host) is read as anonymous, the safe side.
    pub fn from_info(info: &CallerInfo<'_>) -> Caller {
        match info.kind {
            caller_kind::TOKEN => Caller::Token,
            caller_kind::ACCOUNT => Caller::Account(CallerAccount {
                id: info.id,
                username: info.username.as_str().to_string(),
                role: info.role.as_str().to_string(),
                permissions: info
                    .permissions
                    .as_slice()
                    .iter()
                    .map(|p| p.as_str().to_string())
                    .collect(),
            }),
            _ => Caller::Anonymous,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_caller_survives_the_boundary() {
        for c in [
            Caller::Anonymous,
            Caller::Token,
            Caller::account(3, "bob", "user").with_permissions(&["moderate", "export"]),
            Caller::account(1, "admin", "admin"),
        ] {
            assert_eq!(c.with_info(Caller::from_info), c);
        }
    }

    #[test]
    fn an_unknown_kind_reads_as_anonymous() {
        let info = CallerInfo {
            kind: 42,
            id: 5,
            ..CallerInfo::EMPTY
        };
        assert_eq!(Caller::from_info(&info), Caller::Anonymous);
    }

    #[test]
    fn only_admins_hold_permissions_they_were_not_granted() {
        let user = Caller::account(2, "u", "user");
        assert!(!user.has_permission("moderate") && !user.is_admin());
        assert!(Caller::account(1, "a", "admin").has_permission("moderate"));
        assert!(!Caller::Anonymous.has_permission("moderate"));
        assert_eq!(Caller::Token.with_permissions(&["x"]), Caller::Token);
    }
}
