//! {{name}}: a Plugboard plugin.
//!
//! What it shows, one piece per Plugboard capability:
//! * routes with access levels (`plugin.json` → `routes`): anyone reads the
//!   notes, signed-in accounts write them, the `moderate` permission deletes;
//! * its own SQL table, created by a migration (`notes`);
//! * KV: a counter of notes written;
//! * a subscription: each new account gets a welcome note (`user.created`);
//! * a job: every hour, notes beyond the configured maximum are pruned;
//! * configuration with a schema (`greeting`, `max_notes`);
//! * a dashboard widget (`assets/widget.js`).

use plugboard_plugin_api::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The plugin. The host makes one instance (`export_plugin!` below) and
/// calls it from many threads: keep state in KV or SQL, not in fields.
#[derive(Default)]
pub struct {{struct_name}};

/// A note as the routes answer it.
#[derive(Debug, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Note {
    /// Its id.
    pub id: i64,
    /// Who wrote it.
    pub author: String,
    /// What it says.
    pub body: String,
}

/// What `POST /notes` accepts.
#[derive(Debug, Deserialize, JsonSchema)]
struct NewNote {
    /// 1 to 500 characters.
    body: String,
}

/// What `GET /notes` answers.
#[derive(Debug, Serialize, JsonSchema)]
struct NoteList {
    /// Every note, newest first.
    notes: Vec<Note>,
    /// How many notes were ever written.
    written: u64,
}

/// The configuration (`plugin.json` → `config_schema` says what is valid;
/// the host checks it before the plugin sees it).
#[derive(Debug, Deserialize)]
#[serde(default)]
struct Settings {
    greeting: String,
    max_notes: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            greeting: "Welcome".into(),
            max_notes: 100,
        }
    }
}

impl {{struct_name}} {
    /// `GET /notes` (public): every note, newest first.
    fn list(&self, ctx: &Context, _req: &Request) -> PluginResult<Response> {
        let notes: Vec<Note> = ctx
            .sql()
            .query("SELECT id, author, body FROM notes ORDER BY id DESC", &[])?;
        let written: u64 = ctx.kv().get("written")?.unwrap_or(0);
        Ok(Response::json(&NoteList { notes, written }))
    }

    /// `POST /notes` (signed-in accounts): writes a note as the caller.
    fn create(&self, ctx: &Context, req: &Request) -> PluginResult<Response> {
        let Caller::Account(account) = ctx.caller() else {
            return Err(PluginError::refused("sign in to write a note"));
        };
        let new: NewNote = req.json()?;
        let body = new.body.trim();
        if body.is_empty() || body.chars().count() > 500 {
            return Err(PluginError::invalid("a note is 1 to 500 characters"));
        }
        ctx.sql().exec(
            "INSERT INTO notes (author, body) VALUES (?, ?)",
            &[json!(account.username), json!(body)],
        )?;
        let written: u64 = ctx.kv().get("written")?.unwrap_or(0);
        ctx.kv().set("written", &(written + 1))?;
        ctx.events()
            .emit("plugin.{{slug}}.note_created", &json!({ "author": account.username }))?;
        Ok(Response::empty(201))
    }

    /// `DELETE /notes/{id}` (permission `moderate`).
    fn delete(&self, ctx: &Context, req: &Request) -> PluginResult<Response> {
        let id: i64 = req
            .param("id")
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| PluginError::invalid("the id is a number"))?;
        match ctx.sql().exec("DELETE FROM notes WHERE id = ?", &[json!(id)])? {
            0 => Err(PluginError::not_found(format!("no note {id}"))),
            _ => Ok(Response::empty(204)),
        }
    }

    /// The hourly job: keeps the newest `max_notes` notes.
    fn prune(&self, ctx: &Context) -> PluginResult {
        let settings: Settings = ctx.config()?;
        ctx.sql().exec(
            "DELETE FROM notes WHERE id NOT IN (SELECT id FROM notes ORDER BY id DESC LIMIT ?)",
            &[json!(settings.max_notes)],
        )?;
        Ok(())
    }
}

impl Plugin for {{struct_name}} {
    fn slug(&self) -> &str {
        "{{slug}}"
    }

    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }

    fn routes(&self) -> Vec<Route<Self>> {
        // Summaries and types appear in the host's OpenAPI document
        // (GET /api/openapi.json) and on the plugin's API page in the admin.
        vec![
            Route::get("/notes", Self::list)
                .summary("Every note, newest first")
                .responds::<NoteList>(200),
            Route::post("/notes", Self::create)
                .summary("Writes a note as the caller")
                .accepts::<NewNote>()
                .responds_empty(201),
            Route::delete("/notes/{id}", Self::delete)
                .summary("Deletes a note")
                .responds_empty(204),
        ]
    }

    fn migrations(&self) -> Vec<Migration> {
        vec![Migration::new(
            "001_notes",
            &["CREATE TABLE notes (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                author TEXT NOT NULL,
                body TEXT NOT NULL
            )"],
        )]
    }

    fn subscriptions(&self) -> Vec<String> {
        vec!["user.created".into()]
    }

    fn on_event(&self, ctx: &Context, event: &Event) -> PluginResult {
        #[derive(Deserialize)]
        struct Created {
            username: String,
        }
        let user: Created = event.payload()?;
        let settings: Settings = ctx.config()?;
        ctx.sql().exec(
            "INSERT INTO notes (author, body) VALUES (?, ?)",
            &[
                json!("{{slug}}"),
                json!(format!("{}, {}!", settings.greeting, user.username)),
            ],
        )?;
        Ok(())
    }

    fn jobs(&self) -> Vec<Job<Self>> {
        vec![Job::new("prune", "@hourly", Self::prune)]
    }
}

export_plugin!({{struct_name}});
