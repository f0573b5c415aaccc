//! The marketplace's storage and checks: values with SQL-looking text
//! round-trip on both databases, a failing update queue surfaces, libraries
//! are checked in a child process and mapped only when enabled.

use serde_json::json;

use crate::{
    marketplace::Shop,
    support::{fresh_postgres_database, tempdir, Host, Options},
};

/// A host over a fresh data folder on SQLite (`None`) or a fresh
/// PostgreSQL database.
fn host_on(data: &std::path::Path, database_url: Option<String>) -> Host {
    Host::start_with(
        data,
        Options {
            database_url,
            ..Options::default()
        },
    )
}

/// A catalog source whose location holds `?` and a trusted key whose name
/// holds `?` are stored and read back as they are, and the source syncs.
fn question_marks_round_trip(database_url: Option<String>) {
    let shop = Shop::new();
    let location = shop.dir.path().join("catalog?v=1&x=?.json");
    std::fs::copy(shop.dir.path().join("catalog.json"), &location).unwrap();
    let location = location.display().to_string();
    let data = tempdir();
    let host = host_on(data.path(), database_url);

    let (status, v) = host.admin(
        "POST",
        "/api/admin/trusted-keys",
        Some(json!({"public_key": shop.key.public_key, "name": "who? 'me?'"})),
    );
    assert_eq!(status, 201, "{v}");
    let (status, v) = host.admin(
        "POST",
        "/api/admin/catalog/sources",
        Some(json!({"location": location})),
    );
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["location"], location.as_str(), "{v}");
    assert_eq!(v["entries"], 1, "{v}");
    assert!(v["last_error"].is_null(), "{v}");
    let id = v["id"].as_i64().unwrap();

    let (_, v) = host.admin("GET", "/api/admin/trusted-keys", None);
    assert_eq!(v["keys"][0]["name"], "who? 'me?'", "{v}");
    let (_, v) = host.admin("GET", "/api/admin/catalog/sources", None);
    assert_eq!(v["sources"][0]["location"], location.as_str(), "{v}");
    let (_, v) = host.admin("GET", "/api/admin/catalog?q=guest", None);
    assert_eq!(v["entries"].as_array().unwrap().len(), 1, "{v}");

    let path = format!("/api/admin/trusted-keys/{}", shop.key.key_id);
    assert_eq!(host.admin("DELETE", &path, None).0, 204);
    let path = format!("/api/admin/catalog/sources/{id}");
    assert_eq!(host.admin("DELETE", &path, None).0, 204);
    let (_, v) = host.admin("GET", "/api/admin/catalog/sources", None);
    assert_eq!(v["sources"], json!([]), "{v}");
}

#[test]
fn question_marks_in_stored_values_round_trip_on_sqlite() {
    question_marks_round_trip(None);
}

#[test]
fn question_marks_in_stored_values_round_trip_on_postgres() {
    question_marks_round_trip(Some(fresh_postgres_database()));
}
