//! A plugin that holds all its capacity in calls that never return: does
//! anyone else notice? One server (the real `http::server`, 2 HTTP
//! workers), the `noop` plugin and the `segfault-route` fixture (capacity
//! 2). `wrk -t1 -c8 -d5s --latency` against the noop route, the admin API
//! (`GET /api/admin/plugins`) and `/healthz`: once idle, then while
//! `segfault-route` has both its places held by calls that sleep an hour
//! (and a client keeps asking it for more, getting 503). Prints p50 / p99
//! latency and req/s for each, and the p99 ratio (target ≤ 1.5×).
//!
//! Run: `scripts/bench isolation`

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::{net::TcpListener, process::Command, sync::mpsc, time::Duration};

use plugboard_core::{http::AdminToken, Runtime, RuntimeConfig};

struct Run {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// A wrk latency figure (`1.23ms`, `850.00us`, `1.20s`) in milliseconds.
fn ms(v: &str) -> f64 {
    let (n, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap());
    let n: f64 = n.parse().unwrap();
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        other => panic!("unit {other}"),
    }
}

fn wrk(url: &str) -> Run {
    let out = Command::new("wrk")
        .args([
            "-t1",
            "-c8",
            "-d5s",
            "--latency",
            "-H",
            "authorization: Bearer bench",
            url,
        ])
        .output()
        .expect("wrk is not installed: run scripts/bench, which installs it");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Non-2xx"), "errors during the run:\n{text}");
    let find = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|r| r.trim().to_string()))
            .unwrap_or_else(|| panic!("no {prefix} in wrk output:\n{text}"))
    };
    Run {
        rps: find("Requests/sec:").parse().unwrap(),
        p50_ms: ms(&find("50%")),
        p99_ms: ms(&find("99%")),
    }
}

fn main() {
    let data_dir = tempfile::tempdir().unwrap();
    common::stage_noop(data_dir.path());
    common::stage(data_dir.path(), "segfault-route");
    let (tx, rx) = mpsc::channel();
    let dir = data_dir.path().to_path_buf();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let mut config = RuntimeConfig::new(&dir);
            config.limits.deadline = Duration::from_secs(3600);
            let runtime = Runtime::start(config, &[]).await.unwrap();
            runtime.enable("noop", "bench").await.unwrap();
            runtime.enable("segfault-route", "bench").await.unwrap();
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            tx.send((listener.local_addr().unwrap(), runtime.clone()))
                .unwrap();
            plugboard_core::http::server(runtime, AdminToken::new("bench"), listener, 2)
                .unwrap()
                .await
                .unwrap();
        })
    });
    let (addr, runtime) = rx.recv().unwrap();
    let targets = [
        (
            "another plugin's route",
            format!("http://{addr}/api/plugins/noop/hello"),
        ),
        ("admin API", format!("http://{addr}/api/admin/plugins")),
        ("/healthz", format!("http://{addr}/healthz")),
    ];
    for (_, url) in &targets {
        wrk(url); // warm-up
    }
    let idle: Vec<Run> = targets.iter().map(|(_, url)| wrk(url)).collect();

    // Hold both places of segfault-route with calls that sleep an hour,
    // and keep asking it for more.
    let slow = format!("http://{addr}/api/plugins/segfault-route/sleep?ms=3600000");
    for _ in 0..2 {
        let url = slow.clone();
        std::thread::spawn(move || {
            let _ = ureq::get(&url).call();
        });
    }
    let lane = std::sync::Arc::clone(runtime.plugin("segfault-route").unwrap().lane());
    while lane.in_use() < 2 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let pester = slow.replace("3600000", "1");
    std::thread::spawn(move || loop {
        let _ = ureq::get(&pester).call();
        std::thread::sleep(Duration::from_millis(1));
    });
    let held: Vec<Run> = targets.iter().map(|(_, url)| wrk(url)).collect();
    assert_eq!(lane.in_use(), 2, "still held");

    println!(
        "{:<24} {:>22} {:>22} {:>10}",
        "", "idle p50 / p99 (req/s)", "held p50 / p99 (req/s)", "p99 ratio"
    );
    for (((name, _), i), h) in targets.iter().zip(&idle).zip(&held) {
        println!(
            "{name:<24} {:>7.2} / {:>6.2} ms ({:>6.0}) {:>7.2} / {:>6.2} ms ({:>6.0}) {:>9.2}x",
            i.p50_ms,
            i.p99_ms,
            i.rps,
            h.p50_ms,
            h.p99_ms,
            h.rps,
            h.p99_ms / i.p99_ms
        );
    }
    std::process::exit(0);
}
