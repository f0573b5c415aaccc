//! Plugin configuration: validated against the plugin's JSON Schema, with
//! defaults filled in, stored in `plugin_config`, and never showing values of
//! properties marked `"format": "password"`.

use chrono::Utc;
use jsonschema::error::ValidationErrorKind;
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
    // Formats (email, uri, date…) are checked, not only annotations.
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .map_err(|e| {
            vec![Violation {
                path: String::new(),
                message: format!("the plugin's schema is invalid: {e}"),
            }]
        })?;
    apply_defaults(schema, &mut value);
    let violations: Vec<Violation> = validator
        .iter_errors(&value)
        .map(|e| {
            // The schema of the value at fault: the keyword's parent.
            let keyword_path = e.schema_path().as_str();
            let field = keyword_path
                .rsplit_once('/')
                .and_then(|(parent, _)| schema.pointer(parent))
                .unwrap_or(&Value::Null);
            let path = e.instance_path().to_string();
            match e.kind() {
                // Beside the field that is missing, not its object.
                ValidationErrorKind::Required { property } => Violation {
                    path: format!(
                        "{path}/{}",
                        property
                            .as_str()
                            .unwrap_or_default()
                            .replace('~', "~0")
                            .replace('/', "~1")
                    ),
                    message: "is required".to_string(),
                },
                kind => Violation {
                    path,
                    message: in_words(kind, field).unwrap_or_else(|| e.masked().to_string()),
                },
            }
        })
        .collect();
    if violations.is_empty() {
        Ok(value)
    } else {
        Err(violations)
    }
}

/// A violation as a reader of the form understands it, shown beside the
/// field (so it does not name it); `None`: the validator's own message.
/// Values are never echoed, and a pattern is never shown as a regex: the
/// field's first `examples` entry, when there is one, shows the form.
fn in_words(kind: &ValidationErrorKind, field: &Value) -> Option<String> {
    let n = |v: &Value| v.to_string();
    let example = || {
        field
            .get("examples")
            .and_then(Value::as_array)
            .and_then(|e| e.first())
            .map(|e| match e {
                Value::String(s) => format!(", for example {s}"),
                other => format!(", for example {other}"),
            })
            .unwrap_or_default()
    };
    let chars = |limit: u64| {
        if limit == 1 {
            "character".to_string()
        } else {
            "characters".to_string()
        }
    };
    let items = |limit: u64| {
        if limit == 1 {
            "item".to_string()
        } else {
            "items".to_string()
        }
    };
    Some(match kind {
        ValidationErrorKind::Minimum { limit } => format!("must be at least {}", n(limit)),
        ValidationErrorKind::Maximum { limit } => format!("must be at most {}", n(limit)),
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            format!("must be more than {}", n(limit))
        }
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            format!("must be less than {}", n(limit))
        }
        ValidationErrorKind::MinLength { limit } if *limit == 1 => "must not be empty".to_string(),
        ValidationErrorKind::MinLength { limit } => {
            format!("must be at least {limit} {} long", chars(*limit))
        }
        ValidationErrorKind::MaxLength { limit } => {
            format!("must be at most {limit} {} long", chars(*limit))
        }
        ValidationErrorKind::MinItems { limit } => {
            format!("needs at least {limit} {}", items(*limit))
        }
        ValidationErrorKind::MaxItems { limit } => {
            format!("takes at most {limit} {}", items(*limit))
        }
        ValidationErrorKind::UniqueItems => "has the same item twice".to_string(),
        ValidationErrorKind::Pattern { .. } => format!("is not in the expected form{}", example()),
        ValidationErrorKind::Format { format } => match format.as_str() {
            "email" => "must be an email address".to_string(),
            "uri" | "url" | "iri" => {
                format!("must be a full address such as https://example.com{}", "")
            }
            "date" => "must be a date (YYYY-MM-DD)".to_string(),
            "date-time" => "must be a date and time".to_string(),
            "hostname" => "must be a host name".to_string(),
            "ipv4" | "ipv6" => "must be an IP address".to_string(),
            other => format!("must be a valid {other}"),
        },
        ValidationErrorKind::Enum { options } => {
            let list: Vec<String> = options
                .as_array()
                .map(|o| {
                    o.iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            format!("must be one of: {}", list.join(", "))
        }
        ValidationErrorKind::Type { kind } => {
            let wanted = format!("{kind:?}").to_lowercase();
            let word = |t: &str| match t {
                "string" => "text",
                "integer" => "a whole number",
                "number" => "a number",
                "boolean" => "on or off",
                "array" => "a list",
                "object" => "a group of fields",
                "null" => "empty",
                _ => "of another type",
            };
            let names: Vec<&str> = [
                "string", "integer", "number", "boolean", "array", "object", "null",
            ]
            .into_iter()
            .filter(|t| wanted.contains(t))
            .collect();
            format!(
                "must be {}",
                names
                    .iter()
                    .map(|t| word(t))
                    .collect::<Vec<_>>()
                    .join(" or ")
            )
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            format!(
                "has fields this plugin does not know: {}",
                unexpected.join(", ")
            )
        }
        _ => return None,
    })
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
///
/// List items are matched by position (the admin's form sends a masked
/// password only for an item that kept its place; one moved by a removal
/// has its password entered again).
pub fn unmask(schema: &Value, new: &mut Value, old: &Value) {
    match new {
        Value::Object(n) => {
            let Some(props) = schema.get("properties").and_then(Value::as_object) else {
                return;
            };
            for (k, sub) in props {
                let Some(v) = n.get_mut(k) else { continue };
                if is_password(sub) && v.as_str() == Some(MASK) {
                    *v = old.get(k).cloned().unwrap_or(Value::Null);
                } else if let Some(o) = old.get(k) {
                    unmask(sub, v, o);
                }
            }
        }
        Value::Array(items) => {
            let Some(sub) = schema.get("items") else {
                return;
            };
            for (i, v) in items.iter_mut().enumerate() {
                if is_password(sub) && v.as_str() == Some(MASK) {
                    *v = old.get(i).cloned().unwrap_or(Value::Null);
                } else if let Some(o) = old.get(i) {
                    unmask(sub, v, o);
                }
            }
        }
        _ => {}
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
    fn violations_read_as_words_never_as_regexes() {
        let schema = json!({"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string", "minLength": 1},
            "url": {"type": "string", "pattern": "^https?://[^/\\s]+", "examples": ["https://hooks.example.com"]},
            "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "attempts": {"type": "integer", "minimum": 1, "maximum": 10},
            "title": {"type": "string", "maxLength": 20},
            "mode": {"enum": ["fast", "safe"]},
            "email": {"type": "string", "format": "email"},
            "tags": {"type": "array", "minItems": 1}
        }});
        let errs = validate(
            &schema,
            json!({"url": "ftp://nowhere", "code": "abc", "attempts": 0, "title": "x".repeat(30),
                   "mode": "slow", "email": "nobody", "tags": []}),
        )
        .unwrap_err();
        let by_path: std::collections::HashMap<&str, &str> = errs
            .iter()
            .map(|v| (v.path.as_str(), v.message.as_str()))
            .collect();
        assert_eq!(by_path["/name"], "is required", "{errs:?}");
        assert_eq!(
            by_path["/url"],
            "is not in the expected form, for example https://hooks.example.com"
        );
        assert_eq!(by_path["/code"], "is not in the expected form");
        assert_eq!(by_path["/attempts"], "must be at least 1");
        assert_eq!(by_path["/title"], "must be at most 20 characters long");
        assert_eq!(by_path["/mode"], "must be one of: fast, safe");
        assert_eq!(by_path["/email"], "must be an email address");
        assert_eq!(by_path["/tags"], "needs at least 1 item");
        assert!(errs.iter().all(|v| !v.message.contains('^')), "{errs:?}");
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
        // Inside a list, by position.
        let mut edited = json!({"targets": [{"url": "http://a", "token": MASK}, {"url": "http://b", "token": "new"}]});
        unmask(&schema(), &mut edited, &stored);
        assert_eq!(edited["targets"][0]["token"], "t0k");
        assert_eq!(edited["targets"][1]["token"], "new");
    }
}
