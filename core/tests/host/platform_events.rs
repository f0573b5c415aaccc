//! Every event the host itself emits is one `plugin-api` lists
//! (`platform::PLATFORM_EVENTS`: the types plugins read, and the generated
//! reference), with a payload of the listed type.

use plugboard_core::{users, Runtime, RuntimeConfig};
use plugboard_plugin_api::platform::{PluginChanged, UserEvent, PLATFORM_EVENTS};

use crate::support::{block_on, tempdir};

#[test]
fn every_event_the_host_emits_is_listed_with_its_payload() {
    let dir = tempdir();
    let (tap, tapped) = std::sync::mpsc::channel();
    let mut config = RuntimeConfig::new(dir.path());
    config.event_tap = Some(tap);
    block_on(async {
        let rt = Runtime::start(config, plugboard_builtin_plugins::ALL)
            .await
            .unwrap();
        let actor = users::system_actor();
        let ann = users::create(&rt, "ann", "user", &actor).await.unwrap();
        users::update(&rt, ann.id, Some("anne"), None, None, &actor)
            .await
            .unwrap();
        users::signed_in(&rt, ann.id).await.unwrap();
        users::signed_out(&rt, ann.id, None).await.unwrap();
        users::delete(&rt, ann.id, &actor).await.unwrap();
        rt.disable("activity", "test").await.unwrap();
        rt.enable("activity", "test").await.unwrap();
        rt.shutdown().await;
    });
    let emitted: Vec<(String, String)> = tapped.try_iter().collect();
    let mut seen = Vec::new();
    for (name, payload) in &emitted {
        if name.starts_with("plugin.") {
            continue; // a plugin's own events
        }
        let listed = PLATFORM_EVENTS
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| {
                panic!("the host emits {name:?}, which platform::PLATFORM_EVENTS does not list")
            });
        let ok = match listed.payload {
            "UserEvent" => serde_json::from_str::<UserEvent>(payload).is_ok(),
            "PluginChanged" => serde_json::from_str::<PluginChanged>(payload).is_ok(),
            _ => {
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(payload).is_ok()
            }
        };
        assert!(ok, "{name}: payload {payload} is not a {}", listed.payload);
        seen.push(name.as_str());
    }
    for expected in [
        "system.startup",
        "user.created",
        "user.updated",
        "user.login",
        "user.logout",
        "user.deleted",
        "plugins.disabled",
        "plugins.enabled",
        "system.shutdown",
    ] {
        assert!(
            seen.contains(&expected),
            "{expected} was not emitted: {seen:?}"
        );
    }
}
