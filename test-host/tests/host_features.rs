//! What the test host adds around a plugin: the job clock, events in and
//! out, configuration, grants, and the host's refusals at start.

use std::time::Duration;

use plugboard_plugin_api::prelude::*;
use plugboard_test_host::{TestHost, TestHostError};
use serde_json::{json, Value};

#[derive(Default)]
struct Clockwork;

impl Clockwork {
    fn count(&self, ctx: &Context, key: &str) -> PluginResult {
        let n: u64 = ctx.kv().get(key)?.unwrap_or(0);
        ctx.kv().set(key, &(n + 1))
    }
    fn minutely(&self, ctx: &Context) -> PluginResult {
        self.count(ctx, "minutely")
    }
    fn quarterly(&self, ctx: &Context) -> PluginResult {
        self.count(ctx, "quarterly")?;
        Err(PluginError::failed("the quarter-hour job always fails"))
    }
    fn hello(&self, ctx: &Context, _req: &Request) -> PluginResult<Response> {
        let config: Value = ctx.config()?;
        Ok(Response::json(&json!({ "greeting": config["greeting"] })))
    }
}

impl Plugin for Clockwork {
    fn slug(&self) -> &str {
        "clockwork"
    }
    fn version(&self) -> &str {
        "1.0.0"
    }
    fn routes(&self) -> Vec<Route<Self>> {
        vec![Route::get("/hello", Self::hello)]
    }
    fn jobs(&self) -> Vec<Job<Self>> {
        vec![
            Job::new("minutely", "every 1m", Self::minutely),
            Job::new("quarterly", "*/15 * * * *", Self::quarterly),
        ]
    }
    fn subscriptions(&self) -> Vec<String> {
        vec!["user.*".into()]
    }
    fn on_event(&self, ctx: &Context, event: &Event) -> PluginResult {
        if event.name() == "user.deleted" {
            return Err(PluginError::failed("deletions are not handled"));
        }
        self.count(ctx, event.name())
    }
    fn on_config_changed(&self, ctx: &Context, config: &Value) -> PluginResult {
        ctx.kv().set("last_config", config)
    }
}

const MANIFEST: &str = r#"{
    "slug": "clockwork", "version": "1.0.0",
    "capabilities": { "kv": true, "routes": true, "cron": true,
                      "events": { "subscribe": ["user.*"] } },
    "permissions": [{ "name": "tick", "description": "Read the greeting" }],
    "routes": [{ "method": "GET", "path": "/hello", "access": "permission:tick" }],
    "config_schema": {
        "type": "object",
        "properties": { "greeting": { "type": "string", "maxLength": 10 } },
        "additionalProperties": false
    }
}"#;

#[test]
fn jobs_fire_only_when_the_test_moves_the_clock() {
    let host = TestHost::of::<Clockwork>()
        .manifest(MANIFEST)
        .start()
        .unwrap();
    let start = host.now();
    assert!(host.job_runs("minutely").is_empty());
    let fired = host.advance(Duration::from_secs(30 * 60)).unwrap();
    let names: Vec<&str> = fired.iter().map(|f| f.job.as_str()).collect();
    assert_eq!(names.iter().filter(|n| **n == "minutely").count(), 30);
    assert_eq!(names.iter().filter(|n| **n == "quarterly").count(), 2);
    assert!(
        fired.windows(2).all(|w| w[0].at <= w[1].at),
        "in time order"
    );
    assert_eq!(fired[0].at, start + chrono::Duration::minutes(1));
    assert_eq!(host.now(), start + chrono::Duration::minutes(30));
    assert_eq!(host.kv::<u64>("minutely").unwrap(), Some(30));
    assert_eq!(host.kv::<u64>("quarterly").unwrap(), Some(2));
    // Recorded as on a server, at the clock's time, with the error.
    let runs = host.job_runs("quarterly");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].outcome, "error");
    assert_eq!(runs[0].started_at, start + chrono::Duration::minutes(30));
    assert!(runs[0].error.as_deref().unwrap().contains("always fails"));
    // A disabled plugin has no jobs.
    host.disable().unwrap();
    assert!(host.advance(Duration::from_secs(3600)).unwrap().is_empty());
}

#[test]
fn host_events_reach_the_subscription_and_failures_come_back() {
    let host = TestHost::of::<Clockwork>()
        .manifest(MANIFEST)
        .start()
        .unwrap();
    host.create_account("ann", "user").unwrap();
    // user.created came from the host, as on a server.
    assert!(host
        .events()
        .iter()
        .any(|e| e.name == "user.created" && e.payload::<Value>()["username"] == "ann"));
    assert!(host.deliver("user.updated", &json!({"id": 1})).is_empty());
    let failures = host.deliver("user.deleted", &json!({"id": 1}));
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].0, "clockwork");
    assert!(failures[0].1.contains("deletions are not handled"));
    assert_eq!(host.kv::<u64>("user.updated").unwrap(), Some(1));
    let seen = host.take_events();
    assert!(seen.iter().any(|e| e.name == "user.deleted"));
    assert!(host.events().is_empty());
}

#[test]
fn configuration_is_checked_against_the_schema_and_reaches_the_plugin() {
    let host = TestHost::of::<Clockwork>()
        .manifest(MANIFEST)
        .config(json!({"greeting": "hi"}))
        .grant("tick")
        .start()
        .unwrap();
    assert_eq!(
        host.kv::<Value>("last_config").unwrap(),
        Some(json!({"greeting": "hi"}))
    );
    let res = host.get("/hello").as_user("ann").send();
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(res.json::<Value>(), json!({"greeting": "hi"}));
    match host.set_config(json!({"greeting": "far too long a greeting"})) {
        Err(TestHostError::Refused { status, body }) => {
            assert_eq!(status, 422, "{body}");
            assert!(body.to_string().contains("greeting"), "{body}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Nothing changed.
    assert_eq!(
        host.get("/hello").as_admin("root").send().json::<Value>(),
        json!({"greeting": "hi"})
    );
}

#[test]
fn a_manifest_that_does_not_grant_what_the_code_uses_fails_as_on_a_server() {
    // No `cron`: the host refuses to enable a plugin whose code has jobs.
    let manifest = MANIFEST.replace(r#""cron": true,"#, "");
    let err = match TestHost::of::<Clockwork>().manifest(manifest).start() {
        Err(e) => e,
        Ok(_) => panic!("the host enabled a plugin without the cron capability"),
    };
    match &err {
        TestHostError::NotActive {
            slug,
            state,
            reason,
        } => {
            assert_eq!((slug.as_str(), state.as_str()), ("clockwork", "errored"));
            assert!(reason.contains("cron"), "{reason}");
        }
        other => panic!("expected NotActive, got {other:?}"),
    }
    // A version that differs from the code's.
    let manifest = MANIFEST.replace(r#""version": "1.0.0""#, r#""version": "2.0.0""#);
    let err = TestHost::of::<Clockwork>()
        .manifest(manifest)
        .start()
        .err()
        .unwrap();
    assert!(err.to_string().contains("2.0.0"), "{err}");
}
