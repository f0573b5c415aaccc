//! One user model: the accounts that sign in are the users whose changes
//! fire the user hooks; `user.login` / `user.logout` fire on real sign-ins
//! and sign-outs; `user.before_create` applies wherever an account is
//! created; the migration merges the old `users` rows into `accounts`.

use plugboard_plugin_api::{builtin, prelude::*};
use serde_json::{json, Value};

use crate::support::{probes, tempdir, Host, Options};

/// (status, session cookie if set, JSON body).
/// A request: (status, the session cookie it set, JSON body).
fn call(
    host: &Host,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Option<String>, Value) {
    let (status, headers, value) = crate::support::send(host, method, path, headers, body);
    let cookie = headers
        .into_iter()
        .find(|(k, _)| k == "set-cookie")
        .and_then(|(_, v)| v.split(';').next().map(str::to_string));
    (status, cookie, value)
}

/// Signs in: the cookie and CSRF token, or the failing status.
fn sign_in(host: &Host, username: &str, password: &str) -> Result<(String, String), u16> {
    let (s, cookie, v) = call(
        host,
        "POST",
        "/api/auth/login",
        &[],
        Some(json!({"username": username, "password": password})),
    );
    match s {
        200 => Ok((
            cookie.unwrap(),
            v["csrf_token"].as_str().unwrap().to_string(),
        )),
        s => Err(s),
    }
}

fn sign_out(host: &Host, (cookie, csrf): &(String, String)) {
    let (s, _, v) = call(
        host,
        "POST",
        "/api/auth/logout",
        &[("cookie", cookie), ("x-csrf-token", csrf)],
        None,
    );
    assert_eq!(s, 204, "{v}");
}

/// The user events the built-in `activity` plugin saw, oldest first, as
/// "hook username".
fn activity(host: &Host) -> Vec<String> {
    let (_, recent) = host.admin("GET", "/api/plugins/activity/recent", None);
    let mut seen: Vec<String> = recent["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["hook"].as_str().is_some_and(|h| h.starts_with("user.")))
        .map(|e| {
            format!(
                "{} {}",
                e["hook"].as_str().unwrap(),
                e["subject"].as_str().unwrap_or("?")
            )
        })
        .collect();
    seen.reverse();
    seen
}

/// Every hook from its real path: admin create/update/delete, sign-in,
/// sign-out; an account without a password cannot sign in until an admin
/// sets one; the admin API's "login" no longer fires `user.login`.
#[test]
fn each_user_hook_fires_from_its_real_path() {
    let dir = tempdir();
    let host = Host::start(dir.path());
    let (s, user) = host.admin(
        "POST",
        "/api/admin/users",
        Some(json!({"username": "Dora"})),
    );
    assert_eq!(s, 201, "{user}");
    assert_eq!(user["can_sign_in"], false);
    let id = user["id"].as_i64().unwrap();
    assert_eq!(sign_in(&host, "dora", "dora-password"), Err(401));

    let (s, v) = host.admin(
        "PATCH",
        &format!("/api/admin/users/{id}"),
        Some(json!({"password": "dora-password"})),
    );
    assert_eq!((s, &v["can_sign_in"]), (200, &json!(true)), "{v}");
    let session = sign_in(&host, "dora", "dora-password").unwrap();
    // The session answers as the same account the admin API lists.
    let (s, _, me) = call(
        &host,
        "GET",
        "/api/auth/session",
        &[("cookie", &session.0)],
        None,
    );
    assert_eq!((s, me["username"].as_str()), (200, Some("dora")));
    sign_out(&host, &session);
    let (s, v) = host.admin("POST", &format!("/api/admin/users/{id}/login"), None);
    assert_eq!((s, &v["error"]["code"]), (410, &json!("gone")), "{v}");

    // An admin ending a user's sessions is a sign-out.
    let _again = sign_in(&host, "dora", "dora-password").unwrap();
    let (s, v) = host.admin("POST", &format!("/api/admin/users/{id}/logout"), None);
    assert_eq!((s, &v["sessions_ended"]), (200, &json!(1)), "{v}");
    let (s, v) = host.admin("POST", &format!("/api/admin/users/{id}/logout"), None);
    assert_eq!((s, &v["sessions_ended"]), (200, &json!(0)), "{v}");
    assert_eq!(
        host.admin("DELETE", &format!("/api/admin/users/{id}"), None)
            .0,
        200
    );
    assert_eq!(sign_in(&host, "dora", "dora-password"), Err(401));
    assert_eq!(
        activity(&host),
        [
            "user.created dora",
            "user.updated dora",
            "user.login dora",
            "user.logout dora",
            "user.login dora",
            "user.logout dora",
            "user.deleted dora",
        ]
    );
}

/// `/api/admin/accounts` (what the shell's Settings page calls) and
/// self-registration go through the filters: normalised, or refused with
/// nothing written; self-registration is refused while the setting is off
/// (the default).
#[test]
fn the_filter_applies_to_admin_created_and_self_registered_accounts() {
    let dir = tempdir();
    let host = Host::start(dir.path());
    let (s, v) = host.admin(
        "POST",
        "/api/admin/accounts",
        Some(json!({"username": "Root", "password": "root-password"})),
    );
    assert_eq!((s, &v["error"]["code"]), (422, &json!("refused")), "{v}");
    let (s, v) = host.admin(
        "POST",
        "/api/admin/accounts",
        Some(json!({"username": "  Bob ", "password": "bob-password"})),
    );
    assert_eq!((s, v["username"].as_str()), (201, Some("bob")), "{v}");
    let (s, v) = host.admin(
        "POST",
        "/api/admin/accounts",
        Some(json!({"username": "BOB", "password": "bob-password"})),
    );
    assert_eq!((s, &v["error"]["code"]), (409, &json!("exists")), "{v}");
    sign_in(&host, "bob", "bob-password").unwrap();

    let register = |name: &str, password: &str| {
        call(
            &host,
            "POST",
            "/api/auth/register",
            &[],
            Some(json!({"username": name, "password": password})),
        )
    };
    let (_, _, open) = call(&host, "GET", "/api/auth/registration", &[], None);
    assert_eq!(open, json!({"open": false}));
    let (s, _, v) = register("carol", "carol-password");
    assert_eq!(
        (s, &v["error"]["code"]),
        (403, &json!("registration_closed")),
        "{v}"
    );
    let (s, v) = host.admin(
        "PUT",
        "/api/admin/settings",
        Some(json!({"self_registration": true})),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        host.admin("GET", "/api/admin/settings", None).1,
        json!({"self_registration": true})
    );
    let (s, _, v) = register("  Carol ", "carol-password");
    assert_eq!(
        (s, v["username"].as_str(), v["role"].as_str()),
        (201, Some("carol"), Some("user")),
        "{v}"
    );
    let (s, _, v) = register("al", "al-password");
    assert_eq!((s, &v["error"]["code"]), (422, &json!("refused")), "{v}");
    let (s, _, v) = register("admin", "admin-password");
    assert_eq!(
        (s, &v["error"]["code"]),
        (422, &json!("refused")),
        "a reserved name is not for self-registration: {v}"
    );
    let (s, _, v) = register("dave", "short");
    assert_eq!(s, 422, "{v}");
    let (s, _, v) = register("carol", "carol-password");
    assert_eq!((s, &v["error"]["code"]), (409, &json!("exists")), "{v}");
    sign_in(&host, "carol", "carol-password").unwrap();

    // One list: the accounts that sign in are the users.
    let (_, users) = host.admin("GET", "/api/admin/users", None);
    let names: Vec<&str> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bob", "carol"]);
    let (_, accounts) = host.admin("GET", "/api/admin/accounts", None);
    assert_eq!(accounts["accounts"].as_array().unwrap().len(), 2);
    assert_eq!(
        activity(&host),
        [
            "user.created bob",
            "user.login bob",
            "user.created carol",
            "user.login carol"
        ]
    );
}

/// A filter that refuses every new account.
#[derive(Default)]
struct RefuseAll;

impl Plugin for RefuseAll {
    fn slug(&self) -> &str {
        "refuse-all"
    }
    fn version(&self) -> &str {
        "1.0.0"
    }
    fn hooks(&self) -> Vec<HookSpec> {
        vec![HookSpec::new(Hook::BeforeUserCreate)]
    }
    fn before_user_create(&self, _: &Context, user: &mut NewUser) -> PluginResult {
        Err(PluginError::refused(format!(
            "no new accounts ({})",
            user.username
        )))
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// The first start's `admin` passes the filters too: a refusing filter
/// stops it (nothing written, the error names the plugin); without one it
/// is created, and `user.created` fires.
#[test]
fn the_first_admin_passes_the_filters() {
    let dir = tempdir();
    let host = Host::start_with(
        dir.path(),
        Options {
            builtins: probes(&[|| builtin(RefuseAll)]),
            ..Options::default()
        },
    );
    assert_eq!(
        host.state("refuse-all"),
        "active",
        "built-ins start enabled"
    );
    let err = block_on(plugboard_core::users::bootstrap(
        &host.runtime,
        Some("first-password".into()),
    ))
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("refused by plugin \"refuse-all\": no new accounts (admin)"),
        "{err}"
    );
    assert_eq!(
        host.admin("GET", "/api/admin/users", None).1["users"],
        json!([])
    );
    let (s, v) = host.admin("POST", "/api/admin/users", Some(json!({"username": "eve"})));
    assert_eq!((s, &v["error"]["code"]), (422, &json!("refused")), "{v}");
    host.stop();

    let dir = tempdir();
    let host = Host::start(dir.path());
    let printed = block_on(plugboard_core::users::bootstrap(&host.runtime, None)).unwrap();
    assert!(printed.is_some(), "a generated password to print");
    assert_eq!(activity(&host), ["user.created admin"]);
}

per_database! {
    /// A database written by the previous version (migrations 1–10): `users`
    /// rows and accounts (with sessions) end up in one table, nothing lost.
    /// Users keep their ids; a user and an account with the same name become
    /// one row with the user's id and the account's password and role; an
    /// account whose id a user takes gets a new one; sessions follow; new rows
    /// get fresh ids. On SQLite and PostgreSQL.
    fn the_migration_merges_users_into_accounts_and_loses_nothing(db, url) {
        use plugboard_migrations::{Migrator, MigratorTrait};
        use sea_orm::{ConnectionTrait, Database, Statement};
        use sha2::{Digest, Sha256};
    let dir = tempdir();
    let url_or_file = url
        .clone()
        .unwrap_or_else(|| plugboard_core::db::sqlite_url(&dir.path().join("plugboard.db")));
    let admin_hash = plugboard_core::auth::hash_password("admin-password").unwrap();
    let carol_hash = plugboard_core::auth::hash_password("carol-password").unwrap();
    block_on(async {
        let conn = Database::connect(url_or_file.as_str()).await.unwrap();
        Migrator::up(&conn, Some(10)).await.unwrap();
        let b = conn.get_database_backend();
        let now = "2026-11-20T10:00:00Z";
        let mut sql = vec![
            "INSERT INTO users (id, username, role, created_at, updated_at) VALUES (1, 'alice', 'user', '2026-11-01T08:00:00Z', '2026-11-02T08:00:00Z')".to_string(),
            "INSERT INTO users (id, username, role, created_at, updated_at) VALUES (2, 'bob', 'user', '2026-11-01T09:00:00Z', '2026-11-01T09:00:00Z')".to_string(),
            "INSERT INTO users (id, username, role, created_at, updated_at) VALUES (3, 'admin', 'user', '2026-11-01T10:00:00Z', '2026-11-01T10:00:00Z')".to_string(),
            format!("INSERT INTO accounts (id, username, password_hash, role, must_change_password, created_at) VALUES (1, 'admin', '{admin_hash}', 'admin', false, '{now}')"),
            format!("INSERT INTO accounts (id, username, password_hash, role, must_change_password, created_at) VALUES (2, 'carol', '{carol_hash}', 'user', false, '{now}')"),
        ];
        for (token, account) in [("admin-token", 1), ("carol-token", 2)] {
            let hash = hex::encode(Sha256::digest(token.as_bytes()));
            sql.push(format!("INSERT INTO sessions (token_hash, account_id, csrf, created_at, expires_at) VALUES ('{hash}', {account}, 'csrf', '{now}', '2099-01-01T00:00:00Z')"));
        }
        if b == sea_orm::DatabaseBackend::Postgres {
            // Rows inserted with explicit ids: as the old version's
            // sequences would stand after writing them.
            sql.push("SELECT setval(pg_get_serial_sequence('users', 'id'), 3)".into());
            sql.push("SELECT setval(pg_get_serial_sequence('accounts', 'id'), 2)".into());
        }
        for s in sql {
            conn.execute_raw(Statement::from_string(b, s))
                .await
                .unwrap();
        }
        conn.close().await.unwrap();
    });

    let host = Host::start_with(
        dir.path(),
        Options {
            database_url: url.clone(),
            ..Options::default()
        },
    );
    let (_, users) = host.admin("GET", "/api/admin/users", None);
    let rows: Vec<(i64, &str, &str, bool)> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["id"].as_i64().unwrap(),
                u["username"].as_str().unwrap(),
                u["role"].as_str().unwrap(),
                u["can_sign_in"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (1, "alice", "user", false),
            (2, "bob", "user", false),
            (3, "admin", "admin", true),
            (4, "carol", "user", true),
        ],
        "{db}"
    );
    assert_eq!(
        users["users"][0]["updated_at"], "2026-11-02T08:00:00Z",
        "{db}: {users}"
    );
    // Sessions followed their accounts.
    for (token, name) in [("admin-token", "admin"), ("carol-token", "carol")] {
        let cookie = format!("plugboard_session={token}");
        let (s, _, me) = call(
            &host,
            "GET",
            "/api/auth/session",
            &[("cookie", &cookie)],
            None,
        );
        assert_eq!((s, me["username"].as_str()), (200, Some(name)), "{db}");
    }
    sign_in(&host, "admin", "admin-password").unwrap();
    sign_in(&host, "carol", "carol-password").unwrap();
    assert_eq!(sign_in(&host, "alice", "anything"), Err(401), "{db}");
    let (s, _) = host.admin(
        "PATCH",
        "/api/admin/users/1",
        Some(json!({"password": "alice-password"})),
    );
    assert_eq!(s, 200, "{db}");
    sign_in(&host, "alice", "alice-password").unwrap();
    // New rows get ids after every kept one.
    let (s, v) = host.admin(
        "POST",
        "/api/admin/accounts",
        Some(json!({"username": "dan", "password": "dan-password"})),
    );
    assert_eq!((s, v["id"].as_i64()), (201, Some(5)), "{db}: {v}");
    host.stop();
    }
}
