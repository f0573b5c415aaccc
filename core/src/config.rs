//! Plugin configuration: validated against the plugin's JSON Schema, with
//! defaults filled in, stored in `plugin_config`, and never showing values of
//! properties marked `"format": "password"`.

use chrono::Utc;
use sea_orm::{
    sea_query::OnConflict, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};
use serde::Serialize;
use serde_json::{Map, Value};

/// What a masked password looks like; sending it back keeps the stored value.
pub const MASK: &str = "********";

/// One way the configuration breaks its schema.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer to the offending value (`/targets/0/url`).
    pub path: String,
    /// What is wrong (values are not echoed).
    pub message: String,
}

/// Fills `default`s from the schema into `value` (objects, recursively).
pub fn apply_defaults(schema: &Value, value: &mut Value) {
    if let (Some(props), Value::Object(obj)) = (
        schema.get("properties").and_then(Value::as_object),
        &mut *value,
    ) {
        for (key, sub) in props {
            match obj.get_mut(key) {
                Some(v) => apply_defaults(sub, v),
                None => {
                    if let Some(d) = sub.get("default") {
                        obj.insert(key.clone(), d.clone());
                    } else if sub.get("type").and_then(Value::as_str) == Some("object")
                        && sub.get("properties").is_some()
                    {
                        let mut nested = Value::Object(Map::new());
                        apply_defaults(sub, &mut nested);
                        if nested.as_object().is_some_and(|m| !m.is_empty()) {
                            obj.insert(key.clone(), nested);
                        }
                    }
                }
            }
        }
    }
    if let (Some(items), Value::Array(list)) = (schema.get("items"), value) {
        for v in list {
            apply_defaults(items, v);
        }
    }
}

/// Checks `value` against `schema`; every violation, or the value with
/// defaults applied.
///
/// ```
/// use plugboard_core::config::validate;
/// use serde_json::json;
/// let schema = json!({"type": "object", "properties": {"retries": {"type": "integer", "minimum": 0, "default": 3}}});
/// assert_eq!(validate(&schema, json!({})).unwrap(), json!({"retries": 3}));
/// let errors = validate(&schema, json!({"retries": -1})).unwrap_err();
/// assert_eq!(errors[0].path, "/retries");
/// ```
pub fn validate(schema: &Value, mut value: Value) -> Result<Value, Vec<Violation>> {
    let validator = jsonschema::validator_for(schema).map_err(|e| {
        vec![Violation {
            path: String::new(),
            message: format!("the plugin's schema is invalid: {e}"),
        }]
    })?;
    apply_defaults(schema, &mut value);
    let violations: Vec<Violation> = validator
        .iter_errors(&value)
        .map(|e| Violation {
            path: e.instance_path().to_string(),
            message: match e.kind() {
                // The validator reports its translation of the pattern
                // (`\s` spelled out as whitespace characters); show the
                // schema's own.
                jsonschema::error::ValidationErrorKind::Pattern { .. } => schema
                    .pointer(e.schema_path().as_str())
                    .and_then(Value::as_str)
                    .map(|p| format!("does not match the pattern {p}"))
                    .unwrap_or_else(|| e.masked().to_string()),
                _ => e.masked().to_string(),
            },
        })
        .collect();
    if violations.is_empty() {
        Ok(value)
    } else {
        Err(violations)
    }
}

fn is_password(schema: &Value) -> bool {
    schema.get("format").and_then(Value::as_str) == Some("password")
}

/// `value` with every password property replaced by [`MASK`].
pub fn mask(schema: &Value, value: &Value) -> Value {
    match (value, schema.get("properties").and_then(Value::as_object)) {
        (Value::Object(obj), Some(props)) => Value::Object(
            obj.iter()
                .map(|(k, v)| {
                    let masked = match props.get(k) {
                        Some(sub) if is_password(sub) && !v.is_null() => Value::from(MASK),
                        Some(sub) => mask(sub, v),
                        None => v.clone(),
                    };
                    (k.clone(), masked)
                })
                .collect(),
        ),
        (Value::Array(list), _) => match schema.get("items") {
            Some(items) => Value::Array(list.iter().map(|v| mask(items, v)).collect()),
            None => value.clone(),
        },
        _ => value.clone(),
    }
}

/// Where `new` carries [`MASK`] for a password property, keeps `old`'s value.
pub fn unmask(schema: &Value, new: &mut Value, old: &Value) {
    if let (Value::Object(n), Some(props)) =
        (new, schema.get("properties").and_then(Value::as_object))
    {
        for (k, sub) in props {
            let Some(v) = n.get_mut(k) else { continue };
            if is_password(sub) && v.as_str() == Some(MASK) {
                *v = old.get(k).cloned().unwrap_or(Value::Null);
            } else if let Some(o) = old.get(k) {
                unmask(sub, v, o);
            }
        }
    }
}

mod entity {
    #![allow(missing_docs, unreachable_pub)]
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "plugin_config")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub plugin: String,
        pub config: String,
        pub updated_at: ChronoDateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The stored configuration of `plugin` (`None` when never set).
pub async fn load<C: ConnectionTrait>(db: &C, plugin: &str) -> Result<Option<Value>, DbErr> {
    match entity::Entity::find()
        .filter(entity::Column::Plugin.eq(plugin))
        .one(db)
        .await?
    {
        Some(m) => serde_json::from_str(&m.config)
            .map(Some)
            .map_err(|e| DbErr::Custom(format!("stored config of {plugin} is not JSON: {e}"))),
        None => Ok(None),
    }
}

/// Every stored configuration, as (plugin, JSON text).
pub async fn load_all<C: ConnectionTrait>(db: &C) -> Result<Vec<(String, String)>, DbErr> {
    Ok(entity::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.plugin, m.config))
        .collect())
}

/// Stores the configuration of `plugin`.
pub async fn save<C: ConnectionTrait>(db: &C, plugin: &str, config: &Value) -> Result<(), DbErr> {
    entity::Entity::insert(entity::ActiveModel {
        plugin: Set(plugin.to_string()),
        config: Set(config.to_string()),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(entity::Column::Plugin)
            .update_columns([entity::Column::Config, entity::Column::UpdatedAt])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_pattern_violation_quotes_the_schemas_own_pattern() {
        let schema = json!({"type": "object", "properties": {
            "url": {"type": "string", "pattern": "^https?://[^/\\s]+"}
        }});
        let errs = validate(&schema, json!({"url": "ftp://nowhere"})).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].path, "/url");
        assert_eq!(
            errs[0].message,
            "does not match the pattern ^https?://[^/\\s]+"
        );
    }

    fn schema() -> Value {
        json!({
            "type": "object",
            "required": ["targets"],
            "additionalProperties": false,
            "properties": {
                "secret": {"type": "string", "format": "password"},
                "retries": {"type": "integer", "minimum": 0, "maximum": 10, "default": 3},
                "targets": {"type": "array", "items": {
                    "type": "object", "required": ["url"],
                    "properties": {"url": {"type": "string", "pattern": "^https?://"}, "token": {"type": "string", "format": "password"}}
                }}
            }
        })
    }

    #[test]
    fn every_violation_is_listed_with_its_path_and_no_value_is_echoed() {
        let errs = validate(
            &schema(),
            json!({"retries": 99, "targets": [{"url": "ftp://x"}], "extra": "s3cret-value"}),
        )
        .unwrap_err();
        let paths: Vec<&str> = errs.iter().map(|v| v.path.as_str()).collect();
        assert!(
            paths.contains(&"/retries") && paths.contains(&"/targets/0/url") && paths.contains(&""),
            "{errs:?}"
        );
        assert!(
            errs.iter().all(|v| !v.message.contains("s3cret-value")),
            "{errs:?}"
        );
    }

    #[test]
    fn passwords_are_masked_and_a_mask_sent_back_keeps_the_old_value() {
        let stored = json!({"secret": "hunter2", "retries": 3, "targets": [{"url": "http://a", "token": "t0k"}]});
        let shown = mask(&schema(), &stored);
        assert_eq!(
            shown,
            json!({"secret": MASK, "retries": 3, "targets": [{"url": "http://a", "token": MASK}]})
        );
        let mut edited = json!({"secret": MASK, "retries": 5, "targets": []});
        unmask(&schema(), &mut edited, &stored);
        assert_eq!(edited["secret"], "hunter2");
        assert_eq!(edited["retries"], 5);
    }
}
