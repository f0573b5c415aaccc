//! Changing a plugin's configuration.

use serde_json::Value;

use super::{Runtime, RuntimeError};
use crate::config;

/// A plugin's configuration as the admin API shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConfigView {
    /// The plugin's JSON Schema (`null` when it has none).
    pub schema: Value,
    /// The configuration, passwords masked, defaults applied.
    pub config: Value,
}

impl Runtime {
    /// The schema from the plugin's manifest, else from its code.
    fn config_schema(&self, slug: &str) -> Result<Option<Value>, RuntimeError> {
        let entry = self.plugin(slug).ok_or_else(|| RuntimeError::NotLoaded {
            slug: slug.to_string(),
            reason: "its code is not loaded, so its config schema is unknown".into(),
        })?;
        if let Some(schema) = &entry.manifest().config_schema {
            return Ok(Some(schema.clone()));
        }
        entry
            .object()
            .config_schema()
            .map_err(|e| RuntimeError::PluginFailed {
                slug: slug.to_string(),
                phase: "config_schema()",
                message: e.to_string(),
            })
    }

    /// The configuration of `slug` (passwords masked).
    pub async fn plugin_config(&self, slug: &str) -> Result<ConfigView, RuntimeError> {
        self.store().get(slug).await?;
        let schema = self.config_schema(slug)?.unwrap_or(Value::Null);
        let mut stored = config::load(self.db().conn(), slug)
            .await
            .map_err(crate::lifecycle::LifecycleError::Db)?
            .unwrap_or_else(|| serde_json::json!({}));
        config::apply_defaults(&schema, &mut stored);
        Ok(ConfigView {
            config: config::mask(&schema, &stored),
            schema,
        })
    }

    /// Validates and stores a new configuration (nothing is stored if it is
    /// invalid), then tells the plugin through `on_config_changed`. Masked
    /// passwords in `new` keep their stored values.
    pub async fn set_plugin_config(
        &self,
        slug: &str,
        mut new: Value,
    ) -> Result<ConfigView, RuntimeError> {
        self.store().get(slug).await?;
        let schema = self
            .config_schema(slug)?
            .ok_or_else(|| RuntimeError::InvalidConfig {
                slug: slug.to_string(),
                violations: vec![config::Violation {
                    path: String::new(),
                    message: "this plugin declares no configuration".into(),
                }],
            })?;
        let db = self.db().conn();
        let old = config::load(db, slug)
            .await
            .map_err(crate::lifecycle::LifecycleError::Db)?
            .unwrap_or(Value::Null);
        config::unmask(&schema, &mut new, &old);
        let valid =
            config::validate(&schema, new).map_err(|violations| RuntimeError::InvalidConfig {
                slug: slug.to_string(),
                violations,
            })?;
        config::save(db, slug, &valid)
            .await
            .map_err(crate::lifecycle::LifecycleError::Db)?;
        self.config_applied(slug, valid.to_string());
        if let Some(entry) = self.plugin(slug) {
            let changed = valid.clone();
            if let Err(e) = self
                .call_lifecycle(&entry, "on_config_changed", move |p, ctx| {
                    p.on_config_changed(ctx, &changed)
                })
                .await
            {
                tracing::warn!(plugin = slug, "on_config_changed failed: {e}");
            }
        }
        self.announce("configured", slug);
        Ok(ConfigView {
            config: config::mask(&schema, &valid),
            schema,
        })
    }
}
