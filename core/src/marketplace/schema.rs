//! JSON Schemas of the plugin manifest and the catalog, generated from the
//! Rust types (the checked-in copies under `docs/schema/` are tested to be
//! up to date).

use crate::{manifest::Manifest, marketplace::catalog::Catalog};

/// The JSON Schema of `plugin.json`.
pub fn manifest() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Manifest)).unwrap_or_default()
}

/// The JSON Schema of a catalog document.
pub fn catalog() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Catalog)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn checked_in(name: &str) -> serde_json::Value {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../docs/schema")
            .join(name);
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    #[test]
    fn checked_in_schemas_match_the_types() {
        assert_eq!(
            checked_in("manifest.schema.json"),
            super::manifest(),
            "run `plugboard schema manifest > docs/schema/manifest.schema.json`"
        );
        assert_eq!(
            checked_in("catalog.schema.json"),
            super::catalog(),
            "run `plugboard schema catalog > docs/schema/catalog.schema.json`"
        );
    }

    #[test]
    fn the_schemas_accept_the_shipped_manifests_and_refuse_unknown_fields() {
        let schema = super::manifest();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for m in [
            "dynamic-plugins/guestbook/plugin.json",
            "builtin-plugins/manifests/webhooks.json",
            "builtin-plugins/manifests/activity.json",
        ] {
            let v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(root.join(m)).unwrap()).unwrap();
            assert!(validator.is_valid(&v), "{m}");
        }
        let bad = serde_json::json!({"slug": "a", "version": "1.0.0", "capabilities": {"filesystem": true}});
        assert!(!validator.is_valid(&bad));
    }
}
