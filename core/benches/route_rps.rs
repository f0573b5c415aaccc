//! Requests per second of a plugin route (through the dynamic boundary,
//! small JSON reply) against the same handler written as a native actix-web
//! route, in one server, measured with `wrk -t1 -c50 -d5s` on loopback,
//! alternating native / plugin five times. The server has one worker (one
//! core), wrk the other.
//!
//! Run: `scripts/bench route_rps`

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::{net::TcpListener, process::Command, sync::mpsc};

use actix_web::{web, App, HttpResponse, HttpServer};
use plugboard_core::{http::AdminToken, Runtime, RuntimeConfig};

async fn native_hello() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(fixture_noop::HELLO)
}

fn wrk(url: &str) -> f64 {
    let out = Command::new("wrk")
        .args(["-t1", "-c50", "-d5s", "--latency", url])
        .output()
        .expect("wrk is not installed: run scripts/bench, which installs it");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Non-2xx"), "errors during the run:\n{text}");
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk output:\n{text}"))
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
    wrk(&native_url); // warm-up
    let (mut native, mut plugin) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        native.push(wrk(&native_url));
        plugin.push(wrk(&plugin_url));
    }
    let (n, p) = (
        common::median(native.clone()),
        common::median(plugin.clone()),
    );
    println!("native actix-web route : {n:9.0} req/s (runs: {native:.0?})");
    println!("plugin route (.so)     : {p:9.0} req/s (runs: {plugin:.0?})");
    println!("plugin / native        : {:9.1} %", 100.0 * p / n);
}
