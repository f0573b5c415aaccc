//! Update cutover under load: keep-alive clients request a plugin route
//! (`GET /api/plugins/notes/version`) for 3 s, then the plugin is updated
//! from a signed bundle on loopback (1.0.0 → 2.0.0, the whole pipeline)
//! and hot-reloaded back and forth by rollbacks (10 cutovers in all) while
//! the load goes on, then 3 s more. Prints requests per second and latency
//! percentiles before, during and after, and every failed request.
//!
//! Run with `scripts/bench update_cutover`.

#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use plugboard_core::{
    http::{self, AdminToken},
    Runtime, RuntimeConfig,
};

const CLIENTS: usize = 4;
const CUTOVERS: usize = 10;
const PHASE: Duration = Duration::from_secs(3);

/// One answer: when it was sent (since the start), latency, success.
type Sample = (Duration, Duration, bool);

fn client(addr: String, start: Instant, stop: Arc<AtomicBool>, out: Arc<Mutex<Vec<Sample>>>) {
    let mut samples = Vec::new();
    let connect = || {
        let s = TcpStream::connect(&addr).unwrap();
        s.set_nodelay(true).unwrap();
        (s.try_clone().unwrap(), BufReader::new(s))
    };
    let (mut w, mut r) = connect();
    while !stop.load(Ordering::Relaxed) {
        let sent = start.elapsed();
        let t = Instant::now();
        let ok = (|| -> std::io::Result<bool> {
            w.write_all(b"GET /api/plugins/notes/version HTTP/1.1\r\nhost: bench\r\n\r\n")?;
            let mut status = String::new();
            r.read_line(&mut status)?;
            let mut len = 0usize;
            loop {
                let mut h = String::new();
                r.read_line(&mut h)?;
                if h == "\r\n" || h.is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body)?;
            Ok(status.starts_with("HTTP/1.1 200"))
        })()
        .unwrap_or(false);
        samples.push((sent, t.elapsed(), ok));
        if !ok {
            (w, r) = connect();
        }
    }
    out.lock().unwrap().extend(samples);
}

fn report(name: &str, samples: &[&Sample], span: Duration) -> f64 {
    let mut lat: Vec<f64> = samples.iter().map(|s| s.1.as_secs_f64() * 1e6).collect();
    let failed = samples.iter().filter(|s| !s.2).count();
    let p50 = common::percentile(&mut lat, 50.0);
    let p99 = common::percentile(&mut lat, 99.0);
    println!(
        "{name:>7}: {:>6.0} req/s  p50 {p50:>6.0} µs  p99 {p99:>6.0} µs  max {:>6.0} µs  ({} requests in {:.2} s, {failed} failed)",
        samples.len() as f64 / span.as_secs_f64(),
        lat.last().copied().unwrap_or(0.0),
        samples.len(),
        span.as_secs_f64(),
    );
    p99
}

fn main() {
    // A signed catalog with notes 1.0.0 and 2.0.0.
    let shop = common::notes_shop(&plugboard_core::inspect::Inspector::new(env!(
        "CARGO_BIN_EXE_plugboard"
    )));
    let (entries, catalog, trust) = (&shop.entries, &shop.catalog, &shop.trust);

    // The host, on real HTTP.
    let data = tempfile::tempdir().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let dir = data.path().to_path_buf();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let mut config = RuntimeConfig::new(&dir);
            config.inspector =
                plugboard_core::inspect::Inspector::new(env!("CARGO_BIN_EXE_plugboard"));
            let runtime = Runtime::start(config, &[]).await.unwrap();
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap().to_string();
            let server =
                http::server(runtime.clone(), AdminToken::new("bench"), listener, 2).unwrap();
            tx.send((addr, runtime)).unwrap();
            server.await.unwrap();
        })
    });
    let (addr, runtime) = rx.recv().unwrap();
    let market = plugboard_core::marketplace::Marketplace::new(runtime.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(market.install(&entries[0], catalog, trust, true, "bench"))
        .unwrap();

    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let out = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (addr, stop, out) = (addr.clone(), Arc::clone(&stop), Arc::clone(&out));
            std::thread::spawn(move || client(addr, start, stop, out))
        })
        .collect();
    std::thread::sleep(PHASE);
    let during_from = start.elapsed();
    let quiet: plugboard_core::marketplace::jobs::Progress = Arc::new(|_, _, _| {});
    rt.block_on(market.update_with_progress(&entries[1], catalog, trust, false, "bench", quiet))
        .unwrap();
    for _ in 1..CUTOVERS {
        rt.block_on(runtime.rollback(&"notes".parse().unwrap(), "bench"))
            .unwrap();
    }
    let during_to = start.elapsed();
    std::thread::sleep(PHASE);
    let end = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let samples = out.lock().unwrap().clone();
    let phase = |from: Duration, to: Duration| -> Vec<&Sample> {
        samples.iter().filter(|s| s.0 >= from && s.0 < to).collect()
    };
    println!(
        "update cutover: {CLIENTS} keep-alive clients on GET /api/plugins/notes/version, 2 actix workers; \
         during = one update through the whole pipeline + {} hot-reload rollbacks ({CUTOVERS} cutovers)",
        CUTOVERS - 1
    );
    let before = report("before", &phase(Duration::ZERO, during_from), during_from);
    let during = report(
        "during",
        &phase(during_from, during_to),
        during_to - during_from,
    );
    report("after", &phase(during_to, end), end - during_to);
    let failed = samples.iter().filter(|s| !s.2).count();
    println!(
        "failed requests: {failed}; p99 during / p99 before: {:.2}×; mean cutover interval {:.0} ms",
        during / before,
        (during_to - during_from).as_secs_f64() * 1000.0 / CUTOVERS as f64
    );
}
