//! Requests per second of a plugin route (through the dynamic boundary,
//! small JSON reply) against the same handler written as a native actix-web
//! route, in one server, measured with `wrk -t1 -c50 -d5s` on loopback,
//! alternating native / plugin five times. The server has one worker (one
//! core), wrk the other.
//!
//! Run: `scripts/bench route_rps`. `ROUTE_RPS_ONLY=plugin` (or `native`)
//! makes one 5 s run of that route alone, for a profiler to watch.

#![allow(clippy::unwrap_used, missing_docs, unsafe_code)]

mod common;

use std::{net::TcpListener, process::Command, sync::mpsc};

use actix_web::{web, App, HttpResponse, HttpServer};
use plugboard_core::{http::AdminToken, Runtime, RuntimeConfig};

async fn native_hello() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(fixture_noop::HELLO)
}

/// One wrk run's figures.
struct Run {
    /// Requests answered.
    requests: u64,
    /// Requests per second.
    rps: f64,
    /// CPU time of this process (the server: user + system, all threads)
    /// per request, in microseconds.
    cpu_us: f64,
}

/// CPU time of this process so far (user + system, every thread).
fn cpu_time() -> std::time::Duration {
    // SAFETY: getrusage writes into the struct it is given; a zeroed
    // `rusage` is a valid value of that plain C struct.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut usage), 0);
        usage
    };
    let time = |t: libc::timeval| {
        std::time::Duration::from_secs(t.tv_sec as u64)
            + std::time::Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

fn wrk(url: &str) -> Run {
    let before = cpu_time();
    let out = Command::new("wrk")
        .args(["-t1", "-c50", "-d5s", "--latency", url])
        .output()
        .expect("wrk is not installed: run scripts/bench, which installs it");
    let cpu = cpu_time() - before;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Non-2xx"), "errors during the run:\n{text}");
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk output:\n{text}"));
    // "  123456 requests in 5.00s, …"
    let requests: f64 = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no request count in wrk output:\n{text}"));
    Run {
        requests: requests as u64,
        rps,
        cpu_us: cpu.as_secs_f64() * 1e6 / requests,
    }
}

fn main() {
    let data_dir = tempfile::tempdir().unwrap();
    common::stage_noop(data_dir.path());
    let (tx, rx) = mpsc::channel();
    let dir = data_dir.path().to_path_buf();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let runtime = Runtime::start(RuntimeConfig::new(&dir), &[]).await.unwrap();
            runtime.enable("noop", "bench").await.unwrap();
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let rt = web::Data::new(runtime);
            let token = web::Data::new(AdminToken::new("bench"));
            HttpServer::new(move || {
                App::new()
                    .app_data(rt.clone())
                    .app_data(token.clone())
                    .wrap(actix_web::middleware::from_fn(
                        plugboard_core::http::request_id::assign,
                    ))
                    .route("/native/hello", web::get().to(native_hello))
                    .configure(plugboard_core::http::configure)
            })
            .workers(1)
            .disable_signals()
            .listen(listener)
            .unwrap()
            .run()
            .await
            .unwrap();
        })
    });
    let addr = rx.recv().unwrap();
    let native_url = format!("http://{addr}/native/hello");
    let plugin_url = format!("http://{addr}/api/plugins/noop/hello");
    if let Ok(only) = std::env::var("ROUTE_RPS_ONLY") {
        // For a profiler attached to this process: one route, one run.
        let url = if only == "native" {
            &native_url
        } else {
            &plugin_url
        };
        let run = wrk(url);
        println!(
            "{only}: {} requests, {:.0} req/s, {:.2} µs CPU per request",
            run.requests, run.rps, run.cpu_us
        );
        return;
    }
    wrk(&native_url); // warm-up
    wrk(&plugin_url);
    let (mut native, mut plugin) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        native.push(wrk(&native_url));
        plugin.push(wrk(&plugin_url));
    }
    let rps = |runs: &[Run]| runs.iter().map(|r| r.rps).collect::<Vec<_>>();
    let cpu = |runs: &[Run]| runs.iter().map(|r| r.cpu_us).collect::<Vec<_>>();
    let (n, p) = (common::median(rps(&native)), common::median(rps(&plugin)));
    let (nc, pc) = (common::median(cpu(&native)), common::median(cpu(&plugin)));
    println!(
        "native actix-web route : {n:9.0} req/s (runs: {:.0?})",
        rps(&native)
    );
    println!(
        "plugin route (.so)     : {p:9.0} req/s (runs: {:.0?})",
        rps(&plugin)
    );
    println!("plugin / native        : {:9.1} %", 100.0 * p / n);
    println!("server CPU per request (user + system, all threads):");
    println!(
        "  native               : {nc:9.2} µs (runs: {:.2?})",
        cpu(&native)
    );
    println!(
        "  plugin               : {pc:9.2} µs (runs: {:.2?})",
        cpu(&plugin)
    );
    println!("  plugin / native      : {:9.1} %", 100.0 * pc / nc);
}
