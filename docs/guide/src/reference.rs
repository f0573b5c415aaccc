//! `reference.md`, generated from the types: every hook (from
//! `Hook::ALL`) and every platform event (from `platform::PLATFORM_EVENTS`)
//! with its payload's fields (from its JSON Schema). `tests/reference.rs`
//! fails when the file differs; `PLUGBOARD_BLESS=1 cargo test -p
//! plugboard-guide` writes it.

use std::fmt::Write as _;

use plugboard_plugin_api::{Hook, platform::PLATFORM_EVENTS};
use serde_json::Value;

const INTRO: &str = "# Reference: hooks and platform events

Generated from the types of `plugboard-plugin-api` (`Hook`,
`platform::PLATFORM_EVENTS`) by `docs/guide/src/reference.rs`; a test fails
when this page and the types differ (`PLUGBOARD_BLESS=1 cargo test -p
plugboard-guide` rewrites it).

## A hook or a subscription?

* **A hook** is a call the host makes *during* the operation, in an order
  plugins can arrange (`HookSpec::priority`, `before`, `after`), and
  waits for. Use one to **change or refuse** what is happening (the filter
  `user.before_create`), or when your work must be done before the
  operation is reported done. A hook's failure is logged and, for a filter,
  follows its `filters` policy in the manifest.
* **A subscription** receives an event *after* the fact, on the plugin's
  own queue, in order, never slowing the operation; a full queue drops
  events for that subscriber only (counted in the admin). Use one to
  **react**: send a mail, update a counter, call a webhook. Subscriptions
  also receive other plugins' events (`plugin.{slug}.…`) and need
  `capabilities.events.subscribe` in the manifest; hooks need no
  capability.

Both give the same data: the event payloads below are the hook
arguments plus who acted (`actor`).
";

/// The page's text.
pub fn markdown() -> String {
    let mut out = String::from(INTRO);
    out.push_str("\n## Hooks\n\nDeclare them in `Plugin::hooks` (`HookSpec::new(Hook::…)`) and implement the method.\n\n| hook | kind | method | receives | when |\n|---|---|---|---|---|\n");
    for hook in Hook::ALL {
        let kind = if hook.is_filter() { "filter" } else { "action" };
        let _ = writeln!(
            out,
            "| `{}` | {kind} | `{}` | `{}` | {} |",
            hook.name(),
            hook.method(),
            hook.argument(),
            hook.when()
        );
    }
    out.push_str("\n`User` is `{ id, username, role }`; `NewUser` is `{ username, role }`; `PluginEvent` is `{ kind, slug }`.\n");
    out.push_str("\n## Platform events\n\nSubscribe by name or pattern (`user.*`) in `Plugin::subscriptions`; read the payload with `event.payload::<T>()`, `T` from `plugboard_plugin_api::platform`.\n\n| event | payload | when |\n|---|---|---|\n");
    for e in PLATFORM_EVENTS {
        let _ = writeln!(
            out,
            "| `{}` | [`{}`](#{}) | {} |",
            e.name,
            e.payload,
            e.payload.to_lowercase(),
            e.when
        );
    }
    out.push_str("\n## Payloads\n");
    let mut seen = Vec::new();
    for e in PLATFORM_EVENTS {
        if seen.contains(&e.payload) {
            continue;
        }
        seen.push(e.payload);
        let schema = serde_json::to_value((e.schema)()).unwrap_or_default();
        fields(&mut out, e.payload, &schema);
        if let Some(Value::Object(defs)) = schema.get("$defs") {
            for (name, def) in defs {
                if !seen.contains(&name.as_str()) {
                    fields(&mut out, name, def);
                }
            }
        }
    }
    out
}

fn fields(out: &mut String, name: &str, schema: &Value) {
    let _ = writeln!(out, "\n### {name}\n");
    if let Some(d) = schema.get("description").and_then(Value::as_str) {
        let _ = writeln!(out, "{d}\n");
    }
    let Some(Value::Object(props)) = schema.get("properties") else {
        out.push_str("No fields: `{}`.\n");
        return;
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    out.push_str("| field | type | description |\n|---|---|---|\n");
    for (field, prop) in props {
        let mut ty = type_of(prop);
        if !required.contains(&field.as_str()) {
            ty.push_str(" (optional)");
        }
        let desc = prop
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .replace('\n', " ");
        let _ = writeln!(out, "| `{field}` | {ty} | {desc} |");
    }
}

fn type_of(prop: &Value) -> String {
    if let Some(r) = prop.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return format!("[`{name}`](#{})", name.to_lowercase());
    }
    match prop.get("type") {
        Some(Value::String(t)) => format!("`{t}`"),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".into(),
    }
}
