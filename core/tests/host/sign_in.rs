//! The sign-in limiter under concurrency and the data folder's file modes,
//! over real HTTP on loopback. Clients come from distinct loopback
//! addresses (127.0.0.0/8 is all local on Linux) to stand for distinct
//! machines.

use std::{
    io::{Read, Write},
    net::{Ipv4Addr, SocketAddr},
    sync::{Arc, Barrier},
};

use serde_json::json;

use crate::support::{tempdir, Host};

/// A sign-in's status and `Retry-After` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Answer {
    status: u16,
    retry_after: Option<u64>,
}

/// `POST /api/auth/login` to `server` from the local address `from`.
fn login_from(server: SocketAddr, from: Ipv4Addr, username: &str, password: &str) -> Answer {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket
        .bind(&SocketAddr::from((from, 0)).into())
        .unwrap_or_else(|e| panic!("binding {from}: {e}"));
    socket.connect(&server.into()).unwrap();
    let mut stream: std::net::TcpStream = socket.into();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(120)))
        .unwrap();
    let body = json!({"username": username, "password": password}).to_string();
    write!(
        stream,
        "POST /api/auth/login HTTP/1.1\r\nhost: {server}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status: {response:?}"));
    let head = response.split("\r\n\r\n").next().unwrap_or_default();
    let retry_after = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("retry-after")
            .then(|| v.trim().parse().ok())?
    });
    Answer {
        status,
        retry_after,
    }
}

fn addr(host: &Host) -> SocketAddr {
    host.base.trim_start_matches("http://").parse().unwrap()
}

fn ip(c: u8, d: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, c, d)
}

/// `n` sign-ins at once, the i-th from `from(i)`.
fn storm(
    server: SocketAddr,
    n: usize,
    from: impl Fn(usize) -> Ipv4Addr,
    username: &str,
) -> Vec<Answer> {
    let barrier = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let (barrier, from, username) = (barrier.clone(), from(i), username.to_string());
            std::thread::spawn(move || {
                barrier.wait();
                login_from(server, from, &username, &format!("wrong-password-{i}"))
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

fn count(answers: &[Answer], status: u16) -> usize {
    answers.iter().filter(|a| a.status == status).count()
}

fn host_with_root(dir: &std::path::Path) -> Host {
    let host = Host::start(dir);
    let (s, v) = host.admin(
        "POST",
        "/api/admin/accounts",
        Some(json!({"username": "root", "password": "root-password", "role": "admin"})),
    );
    assert_eq!(s, 201, "{v}");
    host
}

/// 100 wrong passwords at once from one address: each is counted before
/// it is verified, so at most the 3 free ones are verified; the rest are
/// refused at once with `Retry-After`. The owner, from another address,
/// signs in at once.
#[test]
fn a_hundred_concurrent_guesses_from_one_address_verify_at_most_three() {
    let dir = tempdir();
    let host = host_with_root(dir.path());
    let limiter = host.services.accounts.limiter();
    let before = limiter.verifications();
    let answers = storm(addr(&host), 100, |_| ip(0, 1), "root");
    let verified = limiter.verifications() - before;
    assert!(
        (1..=3).contains(&verified),
        "{verified} verified: {answers:?}"
    );
    assert_eq!(count(&answers, 401) as u64, verified, "{answers:?}");
    for a in answers.iter().filter(|a| a.status != 401) {
        assert!(matches!(a.status, 429 | 503), "{a:?}");
        assert!(a.retry_after.unwrap_or(0) >= 1, "{a:?}");
    }
    assert_eq!(
        login_from(addr(&host), ip(0, 2), "root", "root-password").status,
        200
    );
}

/// 100 wrong passwords at once from 100 addresses (none of them refused by
/// a count): no more than the machine's verification slots run at once,
/// and the excess is refused with 503 + `Retry-After`, not queued.
#[test]
fn a_hundred_concurrent_guesses_from_a_hundred_addresses_are_bounded() {
    let dir = tempdir();
    let host = host_with_root(dir.path());
    let limiter = host.services.accounts.limiter();
    let before = limiter.verifications();
    let answers = storm(addr(&host), 100, |i| ip(1, i as u8 + 1), "root");
    let verified = limiter.verifications() - before;
    assert_eq!(count(&answers, 401) as u64, verified, "{answers:?}");
    assert_eq!(
        count(&answers, 401) + count(&answers, 503),
        100,
        "{answers:?}"
    );
    assert!(
        count(&answers, 503) > 0,
        "the excess is refused: {answers:?}"
    );
    assert!(answers
        .iter()
        .filter(|a| a.status == 503)
        .all(|a| a.retry_after == Some(1)));
    assert!(
        limiter.peak_verifying() <= limiter.permits(),
        "{} verifications at once with {} slots",
        limiter.peak_verifying(),
        limiter.permits()
    );
}

/// An attacker hammering the admin account from one address (several
/// requests at a time, for seconds) cannot keep the admin out: the admin's
/// own address signs in with the right password, every time it tries.
/// Three failures from one address no longer make every address wait.
#[test]
fn an_attacker_cannot_keep_the_admin_from_signing_in() {
    let dir = tempdir();
    let host = host_with_root(dir.path());
    let server = addr(&host);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let attackers: Vec<_> = (0..8)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut answers = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    answers.push(login_from(server, ip(2, 1), "root", "guess-guess"));
                }
                answers
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(500));
    for _ in 0..5 {
        let a = login_from(server, ip(2, 2), "root", "root-password");
        assert_eq!(a.status, 200, "{a:?}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let answers: Vec<Answer> = attackers
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    // 3 free failures, then one more each time the doubling wait (1 s,
    // 2 s, …) has passed: the test lasts under 3 s.
    assert!(
        count(&answers, 401) <= 5,
        "{} verified",
        count(&answers, 401)
    );
    assert!(count(&answers, 429) > 0);
    assert_eq!(count(&answers, 200), 0);
}

/// Once an account has 20 recent failures it is under attack: an address
/// that already failed for it gets 1 free failure instead of 3, but an
/// address that never failed signs in; an address spraying 10 names waits.
#[test]
fn the_account_wide_limit_is_soft_and_the_address_limit_holds_across_names() {
    let dir = tempdir();
    let host = host_with_root(dir.path());
    let server = addr(&host);
    for d in 1..=20 {
        assert_eq!(
            login_from(server, ip(3, d), "root", "nope-nope").status,
            401
        );
    }
    // The last of them failed once, just now: no second free failure.
    let a = login_from(server, ip(3, 20), "root", "root-password");
    assert_eq!((a.status, a.retry_after), (429, Some(1)), "{a:?}");
    assert_eq!(
        login_from(server, ip(3, 21), "root", "root-password").status,
        200
    );

    for n in 0..10 {
        let name = format!("name{n}");
        assert_eq!(login_from(server, ip(4, 1), &name, "nope-nope").status, 401);
    }
    let a = login_from(server, ip(4, 1), "someone-else", "nope-nope");
    assert_eq!(a.status, 429, "{a:?}");
    assert_eq!(
        login_from(server, ip(4, 2), "someone-else", "nope-nope").status,
        401
    );
}

/// The real server's memory stays flat while 100 guesses arrive at once
/// from 100 addresses: its peak resident size grows by at most one argon2
/// memory (19 MiB) per verification slot (one per core, at most 8), plus
/// one of slack. Unbounded, 100 verifications take ~1.9 GiB; bounded but
/// each allocating its own memory, 6 verifications grew it by 115 MiB.
#[cfg(target_os = "linux")]
#[test]
fn the_servers_memory_stays_flat_under_a_hundred_concurrent_guesses() {
    use std::io::BufRead;
    let dir = tempdir();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .args(["--bind", "127.0.0.1:0", "--workers", "2"])
        .env("PLUGBOARD_ADMIN_PASSWORD", "admin-password")
        .env("PLUGBOARD_ADMIN_TOKEN", "t")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines
        .by_ref()
        .find_map(|l| {
            l.unwrap()
                .strip_prefix("plugboard listening on http://")
                .map(str::to_string)
        })
        .unwrap();
    std::thread::spawn(move || lines.for_each(drop));
    let server: SocketAddr = url.parse().unwrap();
    let peak = || {
        std::fs::read_to_string(format!("/proc/{}/status", child.id()))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap()
    };
    // Warm up: one verification of each kind has run.
    assert_eq!(
        login_from(server, ip(5, 1), "admin", "wrong-one").status,
        401
    );
    assert_eq!(
        login_from(server, ip(5, 2), "admin", "admin-password").status,
        200
    );
    let before = peak();
    let answers = storm(server, 100, |i| ip(6, i as u8 + 1), "admin");
    let grown_mib = (peak() - before) / 1024;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        count(&answers, 401) + count(&answers, 503),
        100,
        "{answers:?}"
    );
    eprintln!(
        "peak RSS {} MiB -> +{grown_mib} MiB; {} verified, {} refused",
        before / 1024,
        count(&answers, 401),
        count(&answers, 503)
    );
    let slots = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8)) as u64;
    assert!(
        grown_mib < (slots + 1) * 19,
        "peak RSS grew by {grown_mib} MiB ({slots} slots)"
    );
}

/// The data folder is 0700 and the database, its WAL files and the admin
/// token are 0600 from the first start; a world-readable database and
/// token left by an older version are tightened at start, and symbolic
/// links are not followed.
#[cfg(unix)]
#[test]
fn data_files_are_readable_by_the_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempdir();
    let data = dir.path().join("data");
    let outside = dir.path().join("outside.txt");
    std::fs::write(&outside, "not ours").unwrap();
    std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o644)).unwrap();
    {
        let host = Host::start(&data);
        plugboard_core::http::AdminToken::load_or_create(&data, None).unwrap();
        assert_eq!(host.admin("GET", "/api/admin/plugins", None).0, 200);
        assert_eq!(mode(&data), 0o700);
        for f in [
            "plugboard.db",
            "plugboard.db-wal",
            "plugboard.db-shm",
            "admin-token",
        ] {
            assert_eq!(mode(&data.join(f)), 0o600, "{f}");
        }
        host.stop();
    }
    // An older version's modes.
    for (path, m) in [
        (data.clone(), 0o755),
        (data.join("plugins"), 0o755),
        (data.join("plugboard.db"), 0o644),
        (data.join("admin-token"), 0o644),
    ] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(m)).unwrap();
    }
    std::os::unix::fs::symlink(&outside, data.join("link")).unwrap();
    let host = Host::start(&data);
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("plugins")), 0o700);
    for f in [
        "plugboard.db",
        "plugboard.db-wal",
        "plugboard.db-shm",
        "admin-token",
    ] {
        assert_eq!(mode(&data.join(f)), 0o600, "{f}");
    }
    assert_eq!(mode(&outside), 0o644, "a link's target is left alone");
    assert_eq!(host.admin("GET", "/api/admin/plugins", None).0, 200);
    host.stop();
}

/// `X-Forwarded-For` from the outside: a client that writes its own header
/// gets no fresh budget. Without `--trusted-proxy` the header is ignored;
/// with it (the proxy here is 127.0.0.1), only the rightmost address not a
/// trusted proxy counts (what the proxy appended), so a client rotating the
/// part it writes itself is still one address.
#[test]
fn a_forged_forwarded_for_header_buys_no_more_guesses() {
    use crate::quarantine::{printed_after, spawn_serve, LISTENING};
    let guess = |base: &str, forwarded: &str| -> u16 {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        agent
            .post(&format!("{base}/api/auth/login"))
            .header("x-forwarded-for", forwarded)
            .send_json(serde_json::json!({"username": "admin", "password": "a-wrong-guess"}))
            .unwrap()
            .status()
            .as_u16()
    };
    for extra in [&[][..], &["--trusted-proxy", "127.0.0.1"][..]] {
        let dir = tempdir();
        let (mut child, printed) = spawn_serve(
            dir.path(),
            extra,
            "warn",
            std::process::Stdio::null(),
            LISTENING,
        );
        let base = printed_after(&printed, LISTENING).expect("the server listens");
        let statuses: Vec<u16> = (0..6)
            .map(|i| guess(&base, &format!("10.9.{i}.1, 203.0.113.5")))
            .collect();
        let _ = child.kill();
        let _ = child.wait();
        // Three free failures, then waits that double (1 s, 2 s, …): six
        // guesses in a row from one address are throttled at least twice
        // even if a slow verification lets one wait run out; six distinct
        // addresses would all be answered 401.
        let verified = statuses.iter().filter(|s| **s == 401).count();
        assert!(
            statuses.iter().all(|s| *s == 401 || *s == 429) && verified <= 4,
            "{extra:?}: {statuses:?}"
        );
    }
}
