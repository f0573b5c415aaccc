//! `guestbook`: an example dynamic plugin. Visitors leave messages through
//! its routes; it greets every new user with an entry of its own.
//!
//! | route | what |
//! |---|---|
//! | `GET /api/plugins/guestbook/entries` | every entry, newest first |
//! | `POST /api/plugins/guestbook/entries` | `{"author", "message"}` → the new entry (201) |
//! | `GET /api/plugins/guestbook/entries/{id}` | one entry |
//! | `DELETE /api/plugins/guestbook/entries/{id}` | removes it |

use plugboard_plugin_api::prelude::*;
use serde::{Deserialize, Serialize};

/// The plugin.
#[derive(Default)]
pub struct Guestbook;

/// One guestbook entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// Sequence number.
    pub id: u64,
    /// Who wrote it.
    pub author: String,
    /// What they wrote.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewEntry {
    author: String,
    message: String,
}

const MAX_MESSAGE: usize = 2000;

fn entry_key(id: u64) -> String {
    format!("entry:{id:012}")
}

impl Guestbook {
    fn add(ctx: &Context, author: &str, message: &str) -> PluginResult<Entry> {
        let kv = ctx.kv();
        let id: u64 = kv.get::<u64>("next_id")?.unwrap_or(1);
        let entry = Entry {
            id,
            author: author.to_string(),
            message: message.to_string(),
        };
        kv.set(&entry_key(id), &entry)?;
        kv.set("next_id", &(id + 1))?;
        Ok(entry)
    }

    fn id(req: &Request) -> PluginResult<u64> {
        req.param("id")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| PluginError::invalid("the entry id must be a number"))
    }

    fn list(&self, ctx: &Context, _req: &Request) -> PluginResult<Response> {
        let kv = ctx.kv();
        let mut entries = Vec::new();
        for key in kv.keys("entry:")?.into_iter().rev() {
            if let Some(e) = kv.get::<Entry>(&key)? {
                entries.push(e);
            }
        }
        Ok(Response::json(&serde_json::json!({ "entries": entries })))
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
        Ok(Response::json(&entry).with_status(201))
    }

    fn show(&self, ctx: &Context, req: &Request) -> PluginResult<Response> {
        let id = Self::id(req)?;
        match ctx.kv().get::<Entry>(&entry_key(id))? {
            Some(e) => Ok(Response::json(&e)),
            None => Err(PluginError::not_found(format!("no entry {id}"))),
        }
    }

    fn remove(&self, ctx: &Context, req: &Request) -> PluginResult<Response> {
        let id = Self::id(req)?;
        if ctx.kv().delete(&entry_key(id))? {
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
    fn routes(&self) -> Vec<Route<Self>> {
        vec![
            Route::get("/entries", Self::list),
            Route::post("/entries", Self::create),
            Route::get("/entries/{id}", Self::show),
            Route::delete("/entries/{id}", Self::remove),
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

    fn post(
        plugin: &dyn plugboard_plugin_api::PluginObject,
        host: &MemoryHost,
        body: &str,
    ) -> Response {
        let req = Request::new("POST", "/entries", "", &[], &[], body.as_bytes());
        plugin.handle_route(&host.context(), 1, &req).unwrap()
    }

    #[test]
    fn entries_are_numbered_and_listed_newest_first() {
        let host = MemoryHost::new();
        let plugin = plugboard_plugin_api::builtin(Guestbook).unwrap();
        assert_eq!(
            post(&*plugin, &host, r#"{"author":"a","message":"one"}"#).status(),
            201
        );
        assert_eq!(
            post(&*plugin, &host, r#"{"author":"b","message":"two"}"#).status(),
            201
        );
        let req = Request::new("GET", "/entries", "", &[], &[], b"");
        let res = plugin.handle_route(&host.context(), 0, &req).unwrap();
        let v: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
        assert_eq!(v["entries"][0]["message"], "two");
        assert_eq!(v["entries"][1]["id"], 1);
    }

    #[test]
    fn empty_messages_and_bad_json_are_refused() {
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
        assert!(host.kv_value("next_id").is_none(), "nothing stored");
    }

    #[test]
    fn new_users_get_a_welcome_entry() {
        let host = MemoryHost::new();
        let user = User {
            id: 7,
            username: "zoe".into(),
            role: "user".into(),
        };
        Guestbook.on_user_created(&host.context(), &user).unwrap();
        let stored: Entry = serde_json::from_str(&host.kv_value(&entry_key(1)).unwrap()).unwrap();
        assert_eq!(stored.message, "Welcome, zoe!");
    }
}
