//! JSON Schemas of the plugin manifest and the catalog, generated from the
//! types in `plugboard-manifest` ([`plugboard_manifest::schema`], where the
//! test keeps the checked-in copies under `docs/schema/` up to date).

/// The JSON Schema of `plugin.json`.
pub fn manifest() -> serde_json::Value {
    plugboard_manifest::schema::manifest()
}

/// The JSON Schema of a catalog document.
pub fn catalog() -> serde_json::Value {
    plugboard_manifest::schema::catalog()
}
