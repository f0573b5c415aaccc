//! `plugboard dev` on the minimal template (`plugboard plugin new`): ten
//! saves, each changing the answer of its route; for each, the time from
//! the write to the route answering the new code (what an author waits
//! for), and the loop's own figures (build, check and pack, reload: the
//! install through the update path, from request to serving).
//!
//! Run twice: the dev profile (the default; a 20 MB library with debug
//! info) and `--release` (under 1 MB). The crate builds into
//! `target/dev-bench/` (the first build, not measured, compiles plugin-api
//! there once per profile).

#![allow(missing_docs, clippy::unwrap_used)]

use std::{
    io::Read,
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

const SAVES: usize = 10;

fn main() {
    run(false);
    run(true);
}

/// Ten saves with `plugboard dev` (`--release` when `release`).
fn run(release: bool) {
    let exe = env!("CARGO_BIN_EXE_plugboard");
    let work = std::env::temp_dir().join(format!(
        "plugboard-dev-bench-{}-{release}",
        std::process::id()
    ));
    let crate_dir = work.join("bench-hello");
    let made = Command::new(exe)
        .args([
            "plugin",
            "new",
            "bench-hello",
            "--template",
            "minimal",
            "--dir",
        ])
        .arg(&crate_dir)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/dev-bench");
    let log = work.join("dev.log");
    let mut dev = Command::new(exe)
        .arg("dev")
        .arg(&crate_dir)
        .args(["--bind", "127.0.0.1:0"])
        .args(if release { &["--release"][..] } else { &[][..] })
        .env("CARGO_TARGET_DIR", &target)
        .env("RUST_LOG", "warn")
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(work.join("dev.err")).unwrap())
        .spawn()
        .unwrap();
    let text = || {
        let mut s = String::new();
        std::fs::File::open(&log)
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        s
    };
    let reloads = |t: &str| t.lines().filter(|l| l.starts_with("reloaded ")).count();
    let started = Instant::now();
    while reloads(&text()) < 1 {
        if let Ok(Some(status)) = dev.try_wait() {
            let err = std::fs::read_to_string(work.join("dev.err")).unwrap_or_default();
            panic!("plugboard dev exited ({status}):\n{}\n{err}", text());
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "no first reload:\n{}",
            text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let base = text()
        .lines()
        .find_map(|l| l.strip_prefix("dev server: "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .unwrap();
    let url = format!("{base}/api/plugins/bench-hello/hello");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let source = crate_dir.join("src/lib.rs");
    let original = std::fs::read_to_string(&source).unwrap();
    let (mut serving, mut build, mut pack, mut reload) = (vec![], vec![], vec![], vec![]);
    for i in 0..SAVES {
        let word = format!("stranger-{i}");
        std::fs::write(
            &source,
            original.replace("\"stranger\"", &format!("\"{word}\"")),
        )
        .unwrap();
        let saved = Instant::now();
        loop {
            let body = agent
                .get(&url)
                .call()
                .ok()
                .and_then(|r| r.into_body().read_to_string().ok())
                .unwrap_or_default();
            if body.contains(&word) {
                break;
            }
            assert!(
                saved.elapsed() < Duration::from_secs(120),
                "save {i} never served:\n{}",
                text()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        serving.push(saved.elapsed().as_secs_f64() * 1000.0);
        while reloads(&text()) < i + 2 {
            std::thread::sleep(Duration::from_millis(5));
        }
        let log = text();
        let line = log
            .lines()
            .filter(|l| l.starts_with("reloaded "))
            .nth(i + 1)
            .unwrap()
            .to_string();
        let figure = |what: &str| -> f64 {
            let rest = &line[line.find(what).unwrap() + what.len()..];
            rest.trim_start()
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        build.push(figure(": build "));
        pack.push(figure(", check and pack "));
        reload.push(figure(", reload "));
    }
    let _ = dev.kill();
    let _ = dev.wait();
    let _ = std::fs::remove_dir_all(&work);
    let profile = if release { "--release" } else { "dev profile" };
    println!("plugboard dev ({profile}), minimal template, {SAVES} saves (ms):");
    for (name, mut v) in [
        ("save to serving", serving),
        ("  build (cargo)", build),
        ("  check and pack", pack),
        ("  reload (install through the update path)", reload),
    ] {
        v.sort_by(f64::total_cmp);
        println!(
            "{name:<44} p50 {:>7.0}   max {:>7.0}",
            v[v.len() / 2],
            v[v.len() - 1]
        );
    }
}
