//! Install of a 5 MB bundle from a loopback HTTP source, through the whole
//! pipeline: download, sha256, signature, extraction, manifest and platform
//! checks, the load check, the move into place and the record. The bundle
//! is the `noop` fixture plus 5 MB of incompressible assets.
//!
//! Run with `scripts/bench install`.

#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::time::Instant;

use plugboard_core::{
    marketplace::{author, install::TrustPolicy, signing::KeyPair},
    Runtime, RuntimeConfig,
};

const ROUNDS: usize = 5;

fn main() {
    let work = tempfile::tempdir().unwrap();
    let crate_dir = work.path().join("noop");
    common::stage_noop(work.path().join("src").as_path());
    let staged = work.path().join("src/plugins/noop");
    std::fs::create_dir_all(crate_dir.join("assets")).unwrap();
    std::fs::copy(staged.join("plugin.json"), crate_dir.join("plugin.json")).unwrap();
    let mut noise = vec![0u8; 5 << 20];
    getrandom::fill(&mut noise).unwrap();
    std::fs::write(crate_dir.join("assets/noise.bin"), &noise).unwrap();
    let dist = work.path().join("dist");
    let packed = author::pack(&crate_dir, Some(&staged.join("libfixture_noop.so")), &dist).unwrap();
    let key = KeyPair::generate().unwrap();
    let key_file = work.path().join("key.json");
    std::fs::write(&key_file, serde_json::to_string(&key).unwrap()).unwrap();
    author::sign(&packed.path, &key_file).unwrap();
    let size = std::fs::metadata(&packed.path).unwrap().len();
    let mut entry = author::catalog_add(
        &plugboard_core::inspect::Inspector::new(env!("CARGO_BIN_EXE_plugboard")),
        &dist.join("catalog.json"),
        &packed.path,
        author::Listing::default(),
    )
    .unwrap();
    entry.download_url = common::serve(std::fs::read(&packed.path).unwrap());
    let trust = TrustPolicy {
        keys: vec![key.public()],
        allow_unsigned: false,
        asks: None,
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut times_ms = Vec::new();
    for _ in 0..ROUNDS {
        let data = tempfile::tempdir().unwrap();
        let runtime = rt.block_on(async {
            let mut config = RuntimeConfig::new(data.path());
            config.inspector =
                plugboard_core::inspect::Inspector::new(env!("CARGO_BIN_EXE_plugboard"));
            Runtime::start(config, &[]).await.unwrap()
        });
        let t = Instant::now();
        rt.block_on(
            plugboard_core::marketplace::Marketplace::new(runtime.clone())
                .install(&entry, "", &trust, false, "bench"),
        )
        .unwrap();
        times_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        drop(runtime);
    }
    let median = common::median(times_ms.clone());
    println!(
        "install of a {:.1} MB signed bundle over loopback HTTP (download, verify, extract, load check, record): median {median:.0} ms over {ROUNDS} (all: {})",
        size as f64 / 1e6,
        times_ms.iter().map(|t| format!("{t:.0}")).collect::<Vec<_>>().join(", ")
    );
}
