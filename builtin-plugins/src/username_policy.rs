//! `username-policy`: a filter on `user.before_create` that normalises user
//! names (trimmed, lower case) and refuses too-short ones, and reserved ones
//! unless the account is an admin.
//!
//! Its rules live in its KV store and are read and changed through its routes:
//! `GET /api/plugins/username-policy/rules`, `PUT …/rules`.

use plugboard_plugin_api::prelude::*;
use serde::{Deserialize, Serialize};

/// The plugin.
pub struct UsernamePolicy;

/// The policy's rules.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Shortest name accepted (after trimming).
    pub min_length: usize,
    /// Names that may not be taken (compared in lower case).
    pub reserved: Vec<String>,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            min_length: 3,
            reserved: ["admin", "root", "system", "plugboard"]
                .map(String::from)
                .to_vec(),
        }
    }
}

const RULES_KEY: &str = "rules";

impl UsernamePolicy {
    fn rules(ctx: &Context) -> PluginResult<Rules> {
        Ok(ctx.kv().get(RULES_KEY)?.unwrap_or_default())
    }

    fn get_rules(&self, ctx: &Context, _req: &Request) -> PluginResult<Response> {
        Ok(Response::json(&Self::rules(ctx)?))
    }

    fn put_rules(&self, ctx: &Context, req: &Request) -> PluginResult<Response> {
        let mut rules: Rules = req.json()?;
        if rules.min_length == 0 || rules.min_length > 64 {
            return Err(PluginError::invalid("min_length must be between 1 and 64"));
        }
        for r in &mut rules.reserved {
            *r = r.trim().to_lowercase();
        }
        ctx.kv().set(RULES_KEY, &rules)?;
        ctx.log().info(&format!(
            "rules updated: {} reserved names",
            rules.reserved.len()
        ));
        Ok(Response::json(&rules))
    }
}

impl Plugin for UsernamePolicy {
    fn slug(&self) -> &str {
        "username-policy"
    }
    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }
    fn hooks(&self) -> Vec<HookSpec> {
        // Normalise first, so later filters see the final name.
        vec![HookSpec::new(Hook::BeforeUserCreate).priority(-100)]
    }
    fn routes(&self) -> Vec<Route<Self>> {
        vec![
            Route::get("/rules", Self::get_rules),
            Route::put("/rules", Self::put_rules),
        ]
    }
    fn before_user_create(&self, ctx: &Context, user: &mut NewUser) -> PluginResult {
        let rules = Self::rules(ctx)?;
        let name = user.username.trim().to_lowercase();
        if name.chars().count() < rules.min_length {
            return Err(PluginError::refused(format!(
                "user names need at least {} characters",
                rules.min_length
            )));
        }
        // Reserved names are kept for administrators: an admin account
        // (the first start's `admin`, or one an admin creates) may take one.
        if rules.reserved.contains(&name) && user.role.as_str() != "admin" {
            return Err(PluginError::refused(format!(
                "the user name {name:?} is reserved"
            )));
        }
        user.username = name.into();
        Ok(())
    }
}
