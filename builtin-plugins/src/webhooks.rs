//! `webhooks`: POSTs matching events as JSON to the URLs in its config, with
//! retries and exponential backoff, and records every attempt.
//!
//! Config (validated against the schema in its manifest):
//!
//! ```json
//! { "targets": [ { "url": "https://example.com/hook", "events": ["user.*"] } ],
//!   "max_attempts": 5, "backoff_secs": 2, "timeout_ms": 5000 }
//! ```
//!
//! It works as an outbox: `on_event` writes one `deliveries` row per matching
//! target (nothing leaves the process on the event bus's threads); the job
//! `deliver` (every second) sends the due ones. A delivery that gets a 2xx is
//! `delivered`; otherwise it is retried after `backoff_secs × 2^(attempt-1)`
//! until `max_attempts`, then `failed`. Each try is a row in `attempts`.
//! Deliveries survive restarts. The request body is
//! `{"event", "payload", "delivery", "attempt"}` with headers
//! `x-plugboard-event` and `x-plugboard-delivery`.
//!
//! Routes: `GET /api/plugins/webhooks/deliveries[?status=pending|delivered|failed]`
//! and `GET …/deliveries/{id}` (with its attempts).

use std::time::{SystemTime, UNIX_EPOCH};

use plugboard_plugin_api::{event_matches, prelude::*, OutboundRequest};
use serde::Deserialize;
use serde_json::{json, Value};

/// The plugin.
pub struct Webhooks;

/// One target: a URL and the event patterns sent to it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Target {
    /// Where to POST.
    pub url: String,
    /// Event patterns (`user.*`, `plugin.guestbook.signed`, `*`).
    pub events: Vec<String>,
}

/// The plugin's configuration (defaults come from its schema).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Config {
    /// Where events go.
    #[serde(default)]
    pub targets: Vec<Target>,
    /// Tries per delivery.
    #[serde(default = "defaults::max_attempts")]
    pub max_attempts: i64,
    /// The first retry's delay; each later one doubles.
    #[serde(default = "defaults::backoff_secs")]
    pub backoff_secs: i64,
    /// Per-request timeout.
    #[serde(default = "defaults::timeout_ms")]
    pub timeout_ms: u32,
}

mod defaults {
    pub(super) fn max_attempts() -> i64 {
        5
    }
    pub(super) fn backoff_secs() -> i64 {
        2
    }
    pub(super) fn timeout_ms() -> u32 {
        5000
    }
}

/// Deliveries sent per job run at most.
const BATCH: i64 = 50;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The delay before attempt `attempt + 1` after `attempt` failures.
///
/// ```
/// use plugboard_builtin_plugins::webhooks::backoff_ms;
/// assert_eq!(backoff_ms(2, 1), 2_000);
/// assert_eq!(backoff_ms(2, 3), 8_000);
/// ```
pub fn backoff_ms(backoff_secs: i64, attempt: i64) -> i64 {
    let exp = (attempt - 1).clamp(0, 20) as u32;
    backoff_secs.saturating_mul(1000).saturating_mul(1 << exp)
}

#[derive(Debug, Deserialize)]
struct Due {
    id: i64,
    url: String,
    event: String,
    payload: String,
    attempts: i64,
}

impl Webhooks {
    fn deliver(&self, ctx: &Context) -> PluginResult {
        let config: Config = ctx.config()?;
        let due: Vec<Due> = ctx.sql().query(
            "SELECT id, url, event, payload, attempts FROM deliveries \
             WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?",
            &[now_ms().into(), BATCH.into()],
        )?;
        for d in due {
            self.attempt(ctx, &config, d)?;
        }
        Ok(())
    }

    fn attempt(&self, ctx: &Context, config: &Config, d: Due) -> PluginResult {
        let attempt = d.attempts + 1;
        let payload: Value = serde_json::from_str(&d.payload).unwrap_or(Value::Null);
        let body =
            json!({ "event": d.event, "payload": payload, "delivery": d.id, "attempt": attempt });
        let request = OutboundRequest::post_json(&d.url, &body)?
            .header("x-plugboard-event", &d.event)
            .header("x-plugboard-delivery", &d.id.to_string())
            .timeout_ms(config.timeout_ms);
        let started = now_ms();
        let (status, error) = match ctx.http().send(&request) {
            Ok(res) if res.is_success() => (Some(res.status), None),
            Ok(res) => (Some(res.status), Some(format!("HTTP {}", res.status))),
            Err(e) => (None, Some(e.message().to_string())),
        };
        let finished = now_ms();
        let status_json: Value = status.map(Value::from).unwrap_or(Value::Null);
        let record = (
            "INSERT INTO attempts (delivery_id, attempt, at, duration_ms, status, error) VALUES (?, ?, ?, ?, ?, ?)",
            vec![
                d.id.into(),
                attempt.into(),
                started.into(),
                (finished - started).into(),
                status_json.clone(),
                error.clone().map(Value::from).unwrap_or(Value::Null),
            ],
        );
        let update = match &error {
            None => (
                "UPDATE deliveries SET status = 'delivered', attempts = ?, last_status = ?, last_error = NULL, delivered_at = ? WHERE id = ?",
                vec![attempt.into(), status_json, finished.into(), d.id.into()],
            ),
            Some(e) if attempt >= config.max_attempts => {
                ctx.log().warn(&format!(
                    "delivery {} of {} to {} failed after {attempt} attempts: {e}",
                    d.id, d.event, d.url
                ));
                (
                    "UPDATE deliveries SET status = 'failed', attempts = ?, last_status = ?, last_error = ? WHERE id = ?",
                    vec![attempt.into(), status_json, e.clone().into(), d.id.into()],
                )
            }
            Some(e) => (
                "UPDATE deliveries SET attempts = ?, last_status = ?, last_error = ?, next_attempt_at = ? WHERE id = ?",
                vec![
                    attempt.into(),
                    status_json,
                    e.clone().into(),
                    (finished + backoff_ms(config.backoff_secs, attempt)).into(),
                    d.id.into(),
                ],
            ),
        };
        ctx.sql().batch(&[record, update]).map(|_| ())
    }

    fn list(&self, ctx: &Context, req: &Request) -> PluginResult<Response> {
        let status = req.query_param("status");
        let rows: Vec<Value> = match status.as_deref() {
            Some(s) => ctx.sql().query(
                "SELECT * FROM deliveries WHERE status = ? ORDER BY id DESC LIMIT 100",
                &[s.into()],
            )?,
            None => ctx
                .sql()
                .query("SELECT * FROM deliveries ORDER BY id DESC LIMIT 100", &[])?,
        };
        Ok(Response::json(&json!({ "deliveries": rows })))
    }

    fn show(&self, ctx: &Context, req: &Request) -> PluginResult<Response> {
        let id: i64 = req
            .param("id")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| PluginError::invalid("the delivery id must be a number"))?;
        let mut rows: Vec<Value> = ctx
            .sql()
            .query("SELECT * FROM deliveries WHERE id = ?", &[id.into()])?;
        let Some(mut delivery) = rows.pop() else {
            return Err(PluginError::not_found(format!("no delivery {id}")));
        };
        let attempts: Vec<Value> = ctx.sql().query(
            "SELECT attempt, at, duration_ms, status, error FROM attempts WHERE delivery_id = ? ORDER BY attempt",
            &[id.into()],
        )?;
        delivery["attempts"] = attempts.into();
        Ok(Response::json(&delivery))
    }
}

impl Plugin for Webhooks {
    fn slug(&self) -> &str {
        "webhooks"
    }
    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }
    fn migrations(&self) -> Vec<Migration> {
        vec![Migration::new(
            "0001_deliveries",
            &[
                "CREATE TABLE deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL, event TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_status INTEGER, last_error TEXT, next_attempt_at BIGINT NOT NULL, created_at BIGINT NOT NULL, delivered_at BIGINT)",
                "CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at)",
                "CREATE TABLE attempts (delivery_id BIGINT NOT NULL, attempt INTEGER NOT NULL, at BIGINT NOT NULL, duration_ms BIGINT NOT NULL, status INTEGER, error TEXT, PRIMARY KEY (delivery_id, attempt))",
            ],
        )
        .postgres(&[
            "CREATE TABLE deliveries (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, url TEXT NOT NULL, event TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_status INTEGER, last_error TEXT, next_attempt_at BIGINT NOT NULL, created_at BIGINT NOT NULL, delivered_at BIGINT)",
            "CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at)",
            "CREATE TABLE attempts (delivery_id BIGINT NOT NULL, attempt INTEGER NOT NULL, at BIGINT NOT NULL, duration_ms BIGINT NOT NULL, status INTEGER, error TEXT, PRIMARY KEY (delivery_id, attempt))",
        ])]
    }
    fn subscriptions(&self) -> Vec<String> {
        vec!["*".into()]
    }
    fn on_event(&self, ctx: &Context, event: &Event) -> PluginResult {
        let config: Config = ctx.config()?;
        let now = now_ms();
        let rows: Vec<(&str, Vec<Value>)> = config
            .targets
            .iter()
            .filter(|t| t.events.iter().any(|p| event_matches(p, event.name())))
            .map(|t| {
                (
                    "INSERT INTO deliveries (url, event, payload, status, attempts, next_attempt_at, created_at) VALUES (?, ?, ?, 'pending', 0, ?, ?)",
                    vec![
                        t.url.clone().into(),
                        event.name().into(),
                        event.payload_json().into(),
                        now.into(),
                        now.into(),
                    ],
                )
            })
            .collect();
        if !rows.is_empty() {
            ctx.sql().batch(&rows)?;
        }
        Ok(())
    }
    fn jobs(&self) -> Vec<Job<Self>> {
        vec![Job::new("deliver", "every 1s", Self::deliver)]
    }
    fn routes(&self) -> Vec<Route<Self>> {
        vec![
            Route::get("/deliveries", Self::list),
            Route::get("/deliveries/{id}", Self::show),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugboard_plugin_api::testing::MemoryHost;

    #[test]
    fn config_defaults_fill_in() {
        let host = MemoryHost::new();
        host.set_config(
            json!({"targets": [{"url": "http://127.0.0.1:1/x", "events": ["user.*"]}]}),
        );
        let config: Config = host.context().config().unwrap();
        assert_eq!(config.max_attempts, 5);
        assert_eq!(config.targets[0].events, vec!["user.*".to_string()]);
    }

    #[test]
    fn backoff_doubles_and_saturates() {
        assert_eq!(backoff_ms(1, 1), 1_000);
        assert_eq!(backoff_ms(1, 2), 2_000);
        assert!(backoff_ms(3600, 200) > 0);
    }
}
