//! Browsing and searching a large catalog: `Runtime::catalog` (what
//! `GET /api/admin/catalog` runs) plus the JSON answer, for catalogs of
//! 1 500 and 20 000 entries from a file source. Prints, per size, the time
//! of the first browse (it syncs: reads, parses and stores the catalog),
//! of a browse of the synced catalog and of a search, and the peak growth
//! of the resident set (`VmHWM` after a reset, minus `VmRSS` before) for
//! each.
//!
//! Run with `scripts/bench catalog`. `PLUGBOARD_BENCH_CATALOG_SIZES=1500`
//! (comma-separated) picks other sizes.

#![allow(missing_docs, clippy::unwrap_used)]

use std::time::Instant;

use plugboard_core::{
    marketplace::{browse::Query, catalog::current_platform},
    Runtime, RuntimeConfig,
};

const ROUNDS: usize = 5;

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Runs `f`, returning its result, the time in ms and the peak RSS growth
/// in MiB.
fn measured<T>(f: impl FnOnce() -> T) -> (T, f64, f64) {
    std::fs::write("/proc/self/clear_refs", "5").expect("resetting the peak RSS (Linux)");
    let before = status_kib("VmRSS:");
    let t = Instant::now();
    let out = f();
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let growth = status_kib("VmHWM:").saturating_sub(before) as f64 / 1024.0;
    (out, ms, growth)
}

fn catalog_json(n: usize) -> String {
    let entries: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "slug": format!("plugin-{i:05}"),
                "version": "1.0.0",
                "name": format!("Plugin {i}"),
                "description": "A generated entry for the browse benchmark.",
                "author": "Bench",
                "category": format!("cat-{}", i % 7),
                "tags": [format!("t{}", i % 10), "bench"],
                "download_url": format!("plugin-{i:05}-1.0.0.tar.gz"),
                "sha256": format!("{i:064x}"),
                "platform": current_platform(),
            })
        })
        .collect();
    serde_json::json!({ "entries": entries }).to_string()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let sizes: Vec<usize> = std::env::var("PLUGBOARD_BENCH_CATALOG_SIZES")
        .unwrap_or_else(|_| "1500,20000".into())
        .split(',')
        .map(|n| n.trim().parse().expect("sizes are numbers"))
        .collect();
    for n in sizes {
        let work = tempfile::tempdir().unwrap();
        let catalog = work.path().join("catalog.json");
        let text = catalog_json(n);
        std::fs::write(&catalog, &text).unwrap();
        let data = work.path().join("data");
        let runtime = rt.block_on(async {
            Runtime::start(RuntimeConfig::new(&data), &[])
                .await
                .unwrap()
        });
        let market = plugboard_core::marketplace::Marketplace::new(runtime.clone());
        rt.block_on(market.sources().add(&catalog.display().to_string(), true))
            .unwrap();
        // What the handler does: the listing, then its JSON answer.
        let browse = |query: &Query| {
            let listings = rt.block_on(market.catalog(query)).unwrap();
            let answer = serde_json::to_vec(&listings).unwrap();
            (listings.len(), answer.len())
        };
        let all = Query::default();
        let search = Query {
            q: Some("PLUGIN 1234".into()),
            ..Query::default()
        };
        let ((first_n, _), first_ms, first_mib) = measured(|| browse(&all));
        assert_eq!(first_n, n, "the catalog synced whole");
        let (mut browse_ms, mut browse_mib, mut search_ms, mut search_mib) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut answer_bytes = 0;
        for _ in 0..ROUNDS {
            let ((count, bytes), ms, mib) = measured(|| browse(&all));
            assert_eq!(count, n);
            answer_bytes = bytes;
            browse_ms.push(ms);
            browse_mib.push(mib);
            let ((found, _), ms, mib) = measured(|| browse(&search));
            assert_eq!(found, if n > 12_340 { 11 } else { 1 });
            search_ms.push(ms);
            search_mib.push(mib);
        }
        let max = |v: &[f64]| v.iter().cloned().fold(0.0, f64::max);
        println!(
            "catalog of {n} entries ({:.1} MB JSON; answer {:.1} MB): first browse (sync) {first_ms:.0} ms, +{first_mib:.0} MiB peak; \
             browse median {:.0} ms (max {:.0}), +{:.0} MiB peak (max); search median {:.0} ms (max {:.0}), +{:.0} MiB peak (max)",
            text.len() as f64 / 1e6,
            answer_bytes as f64 / 1e6,
            common_median(browse_ms.clone()),
            max(&browse_ms),
            max(&browse_mib),
            common_median(search_ms.clone()),
            max(&search_ms),
            max(&search_mib),
        );
        drop(runtime);
    }
}

fn common_median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}
