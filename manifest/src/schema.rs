//! JSON Schemas of the plugin manifest and the catalog, generated from the
//! Rust types. The checked-in copies under `docs/schema/` are tested to be
//! up to date (`plugboard schema manifest|catalog` prints them).

use crate::{catalog::Catalog, manifest::Manifest};

/// The JSON Schema of `plugin.json`.
///
/// ```
/// let schema = plugboard_manifest::schema::manifest();
/// let validator = jsonschema::validator_for(&schema).unwrap();
/// assert!(validator.is_valid(&serde_json::json!({"slug": "a", "version": "1.0.0", "library": "lib/liba.so"})));
/// assert!(!validator.is_valid(&serde_json::json!({"slug": "a", "version": "1.0.0", "library": "a.txt"})));
/// ```
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

    fn root() -> &'static Path {
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
    }

    fn checked_in(name: &str) -> serde_json::Value {
        let path = root().join("docs/schema").join(name);
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
        let mut shipped: Vec<_> = ["dynamic-plugins/guestbook/plugin.json"]
            .into_iter()
            .map(|m| root().join(m))
            .collect();
        for dir in ["builtin-plugins/manifests", "dynamic-plugins/fixtures"] {
            for e in std::fs::read_dir(root().join(dir)).unwrap() {
                let p = e.unwrap().path();
                let m = if p.is_dir() { p.join("plugin.json") } else { p };
                if m.extension().is_some_and(|x| x == "json") && m.is_file() {
                    shipped.push(m);
                }
            }
        }
        assert!(shipped.len() > 10, "{shipped:?}");
        for m in &shipped {
            let text = std::fs::read_to_string(m).unwrap();
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert!(validator.is_valid(&v), "{}", m.display());
            crate::Manifest::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", m.display()));
        }
        for bad in [
            serde_json::json!({"slug": "a", "version": "1.0.0", "capabilities": {"filesystem": true}}),
            serde_json::json!({"slug": "a", "version": "1.0.0", "library": "../liba.so"}),
            serde_json::json!({"slug": "a", "version": "1.0.0", "library": "/usr/lib/liba.so"}),
            serde_json::json!({"slug": "a", "version": "1.0.0", "library": "lib/a"}),
            serde_json::json!({"slug": "a", "version": "1.0.0", "library": {}}),
            serde_json::json!({"slug": "a", "version": "1.0.0", "library": {"linux-x86-64": "liba.so"}}),
            serde_json::json!({"slug": "a", "version": "1.0.0", "library": {"linux-x86_64": "a.txt"}}),
        ] {
            assert!(!validator.is_valid(&bad), "{bad}");
        }
        for good in [
            serde_json::json!({"slug": "a", "version": "1.0.0", "library": "a"}),
            serde_json::json!({"slug": "a", "version": "1.0.0", "library": "lib/liba.so"}),
            serde_json::json!({"slug": "a", "version": "1.0.0", "library": {"linux-x86_64": "x/liba.so", "windows-x86_64": "w/a.dll"}}),
        ] {
            assert!(validator.is_valid(&good), "{good}");
        }
    }
}
