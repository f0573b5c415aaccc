//! `guestbook`: an example dynamic plugin. Visitors leave messages through
//! its routes (stored in its own SQL table, created by its migration); it
//! greets every new user with an entry of its own and emits
//! `plugin.guestbook.signed` for every new entry.
//!
//! | route | what |
//! |---|---|
//! | `GET /api/plugins/guestbook/entries` | every entry, newest first |
//! | `POST /api/plugins/guestbook/entries` | `{"author", "message"}` → the new entry (201) |
//! | `GET /api/plugins/guestbook/entries/{id}` | one entry |
//! | `DELETE /api/plugins/guestbook/entries/{id}` | removes it |

use plugboard_plugin_api::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The plugin.
#[derive(Default)]
pub struct Guestbook;

/// One guestbook entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
pub struct Entry {
    /// Sequence number.
    pub id: u64,
    /// Who wrote it.
    pub author: String,
    /// What they wrote.
    pub message: String,
}

/// What `POST /entries` accepts.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NewEntry {
    /// Who writes it (not empty).
    author: String,
    /// What they write (not empty, at most 2000 bytes).
    message: String,
}

/// What `GET /entries` answers.
#[derive(Serialize, JsonSchema)]
struct EntryList {
    /// Every entry, newest first.
    entries: Vec<Entry>,
}

const MAX_MESSAGE: usize = 2000;

/// Entries kept by the hourly `prune` job.
pub const KEEP: u64 = 1000;

const COLUMNS: &str = "id, author, message";

impl Guestbook {
    fn add(ctx: &Context, author: &str, message: &str) -> PluginResult<Entry> {
        let rows: Vec<Entry> = ctx.sql().query(
            &format!("INSERT INTO entries (author, message) VALUES (?, ?) RETURNING {COLUMNS}"),
            &[author.into(), message.into()],
        )?;
        rows.into_iter()
            .next()
            .ok_or_else(|| PluginError::failed("the insert returned no row"))
    }

    fn id(req: &Request) -> PluginResult<u64> {
        req.param("id")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| PluginError::invalid("the entry id must be a number"))
    }

    fn list(&self, ctx: &Context, _req: &Request) -> PluginResult<Response> {
        let entries: Vec<Entry> = ctx.sql().query(
            &format!("SELECT {COLUMNS} FROM entries ORDER BY id DESC"),
            &[],
        )?;
        Ok(Response::json(&EntryList { entries }))
    }

    fn create(&self, ctx: &Context, req: &Request) -> PluginResult<Response> {
        let new: NewEntry = req.json()?;
        let (author, message) = (new.author.trim(), new.message.trim());
        if author.is_empty() || message.is_empty() {
            return Err(PluginError::invalid("author and message must not be empty"));
        }
        if message.len() > MAX_MESSAGE {
            return Err(PluginError::invalid(format!(
                "messages are at most {MAX_MESSAGE} bytes"
            )));
        }
        let entry = Self::add(ctx, author, message)?;
        ctx.log()
            .info(&format!("entry {} by {}", entry.id, entry.author));
        ctx.events().emit(
            "plugin.guestbook.signed",
            &serde_json::json!({ "id": entry.id, "author": entry.author }),
        )?;
        Ok(Response::json(&entry).with_status(201))
    }

    fn show(&self, ctx: &Context, req: &Request) -> PluginResult<Response> {
        let id = Self::id(req)?;
        let rows: Vec<Entry> = ctx.sql().query(
            &format!("SELECT {COLUMNS} FROM entries WHERE id = ?"),
            &[id.into()],
        )?;
        match rows.into_iter().next() {
            Some(e) => Ok(Response::json(&e)),
            None => Err(PluginError::not_found(format!("no entry {id}"))),
        }
    }

    /// Keeps the newest [`KEEP`] entries.
    fn prune(&self, ctx: &Context) -> PluginResult {
        let removed = ctx.sql().exec(
            "DELETE FROM entries WHERE id NOT IN (SELECT id FROM entries ORDER BY id DESC LIMIT ?)",
            &[KEEP.into()],
        )?;
        if removed > 0 {
            ctx.log().info(&format!("pruned {removed} old entries"));
        }
        Ok(())
    }

    fn remove(&self, ctx: &Context, req: &Request) -> PluginResult<Response> {
        let id = Self::id(req)?;
        if ctx
            .sql()
            .exec("DELETE FROM entries WHERE id = ?", &[id.into()])?
            > 0
        {
            Ok(Response::empty(204))
        } else {
            Err(PluginError::not_found(format!("no entry {id}")))
        }
    }
}

impl Plugin for Guestbook {
    fn slug(&self) -> &str {
        "guestbook"
    }
    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }
    fn hooks(&self) -> Vec<HookSpec> {
        vec![HookSpec::new(Hook::UserCreated).after("activity")]
    }
    fn migrations(&self) -> Vec<Migration> {
        vec![Migration::new(
            "0001_entries",
            &["CREATE TABLE entries (id INTEGER PRIMARY KEY AUTOINCREMENT, author TEXT NOT NULL, message TEXT NOT NULL)"],
        )
        .postgres(&[
            "CREATE TABLE entries (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, author TEXT NOT NULL, message TEXT NOT NULL)",
        ])]
    }
    fn jobs(&self) -> Vec<Job<Self>> {
        vec![Job::new("prune", "@hourly", Self::prune)]
    }
    fn routes(&self) -> Vec<Route<Self>> {
        vec![
            Route::get("/entries", Self::list)
                .summary("Every entry, newest first")
                .responds::<EntryList>(200),
            Route::post("/entries", Self::create)
                .summary("Signs the guestbook")
                .accepts::<NewEntry>()
                .responds::<Entry>(201),
            Route::get("/entries/{id}", Self::show)
                .summary("One entry")
                .responds::<Entry>(200),
            Route::delete("/entries/{id}", Self::remove)
                .summary("Deletes an entry")
                .responds_empty(204),
        ]
    }
    fn on_user_created(&self, ctx: &Context, user: &User) -> PluginResult {
        Self::add(ctx, "guestbook", &format!("Welcome, {}!", user.username)).map(|_| ())
    }
}

export_plugin!(Guestbook);

#[cfg(test)]
mod tests {
    use super::*;
    use plugboard_plugin_api::testing::MemoryHost;

    #[test]
    fn empty_messages_and_bad_json_are_refused_before_any_storage() {
        let host = MemoryHost::new();
        let plugin = plugboard_plugin_api::builtin(Guestbook).unwrap();
        for body in [
            r#"{"author":"a","message":"  "}"#,
            "not json",
            r#"{"author":"a"}"#,
        ] {
            let req = Request::new("POST", "/entries", "", &[], &[], body.as_bytes());
            let err = plugin.handle_route(&host.context(), 1, &req).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Invalid, "{body}: {err}");
        }
    }

    #[test]
    fn declares_its_routes_and_one_migration() {
        let plugin = plugboard_plugin_api::builtin(Guestbook).unwrap();
        let routes: Vec<String> = plugin
            .routes()
            .unwrap()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert_eq!(
            routes,
            [
                "GET /entries",
                "POST /entries",
                "GET /entries/{id}",
                "DELETE /entries/{id}"
            ]
        );
        assert_eq!(plugin.migrations().unwrap()[0].id(), "0001_entries");
    }
}
