//! Reload memory: `notes` 1.0.0 is installed, updated to 2.0.0 from a
//! signed bundle, then flipped between the two by rollbacks (each a full
//! hot reload: new instance, migrations check, `on_upgrade`, `on_enable`,
//! drain and unload of the old one). Prints the process's RSS and the
//! library images mapped after the update and every 100 flips, and the
//! growth over all of them. Before issue 16 every reload copied and mapped
//! the library once more (about 475 kB each).
//!
//! Run with `scripts/bench reload_memory` (`FLIPS=…` to change the 1 000).

#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use plugboard_core::{Runtime, RuntimeConfig};

/// Resident set size of this process, in kB (Linux).
fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Mappings of plugin libraries (`…fixture_notes…` files, deleted or not).
fn mapped_library_files() -> usize {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let mut files: Vec<&str> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|p| p.contains("fixture_notes"))
        .collect();
    files.sort_unstable();
    files.dedup();
    files.len()
}

fn main() {
    let flips: usize = std::env::var("FLIPS")
        .ok()
        .and_then(|f| f.parse().ok())
        .unwrap_or(1000);
    // A signed catalog with notes 1.0.0 and 2.0.0.
    let shop = common::notes_shop(&plugboard_core::inspect::Inspector::new(env!(
        "CARGO_BIN_EXE_plugboard"
    )));
    let (entries, catalog, trust) = (&shop.entries, &shop.catalog, &shop.trust);
    let data = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let mut config = RuntimeConfig::new(data.path());
        config.inspector = plugboard_core::inspect::Inspector::new(env!("CARGO_BIN_EXE_plugboard"));
        let runtime = Runtime::start(config, &[]).await.unwrap();
        let market = plugboard_core::marketplace::Marketplace::new(runtime.clone());
        market.install(&entries[0], catalog, trust, true, "bench").await.unwrap();
        let quiet: plugboard_core::marketplace::jobs::Progress = Arc::new(|_, _, _| {});
        market
            .update_with_progress(&entries[1], catalog, trust, false, "bench", quiet)
            .await
            .unwrap();
        let slug = "notes".parse().unwrap();
        // Warm up: the first flips fill allocator arenas and caches.
        for _ in 0..10 {
            runtime.rollback(&slug, "bench").await.unwrap();
        }
        let base = rss_kb();
        println!(
            "after the update and 10 flips: RSS {base} kB, {} library files mapped, {} images of notes",
            mapped_library_files(),
            plugboard_core::loader::mapped_images("notes"),
        );
        let started = std::time::Instant::now();
        for flip in 1..=flips {
            runtime.rollback(&slug, "bench").await.unwrap();
            if flip % 100 == 0 || flip == flips {
                println!(
                    "flip {flip:>5}: RSS {:>7} kB ({:+} kB), {} library files mapped",
                    rss_kb(),
                    rss_kb() as i64 - base as i64,
                    mapped_library_files(),
                );
            }
        }
        let grown = rss_kb() as i64 - base as i64;
        println!(
            "{flips} flips in {:.1} s ({:.1} ms each): RSS grew {grown} kB ({:.2} MB); images of notes mapped: {}",
            started.elapsed().as_secs_f64(),
            started.elapsed().as_secs_f64() * 1e3 / flips as f64,
            grown as f64 / 1024.0,
            plugboard_core::loader::mapped_images("notes"),
        );
        runtime.shutdown().await;
    });
}
