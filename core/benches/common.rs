//! Shared by the bench binaries: staged plugins and a runtime per setup.

#![allow(dead_code, missing_docs, unreachable_pub, clippy::unwrap_used)]

use std::{
    io::{BufRead, BufReader, Write},
    net::TcpListener,
    path::{Path, PathBuf},
};

pub fn staged_noop() -> PathBuf {
    let dir = std::env::var_os("PLUGBOARD_TEST_PLUGINS")
        .map(PathBuf::from)
        .expect("PLUGBOARD_TEST_PLUGINS is not set: run scripts/bench");
    dir.join("plugins/noop")
}

pub fn stage_noop(data_dir: &Path) {
    stage(data_dir, "noop");
}

/// Copies the staged plugin `slug` into `data_dir/plugins/`.
pub fn stage(data_dir: &Path, slug: &str) {
    let to = data_dir.join("plugins").join(slug);
    std::fs::create_dir_all(&to).unwrap();
    let from = staged_noop().with_file_name(slug);
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// The `p`-th percentile (0–100) of `v` (sorted in place).
pub fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let i = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    v[i]
}

/// A built-in plugin with an explicit manifest (leaked: benches run once).
pub fn builtin_with(
    slug: &str,
    capabilities: serde_json::Value,
    make: fn() -> plugboard_plugin_api::PluginResult<Box<dyn plugboard_plugin_api::PluginObject>>,
) -> plugboard_plugin_api::BuiltinPlugin {
    let manifest =
        serde_json::json!({"slug": slug, "version": "1.0.0", "capabilities": capabilities});
    plugboard_plugin_api::BuiltinPlugin {
        manifest: Box::leak(manifest.to_string().into_boxed_str()),
        make,
    }
}

/// A new, empty database on the PostgreSQL server at `base` (a URL).
pub fn fresh_postgres_database(base: &str) -> String {
    let name = format!(
        "plugboard_bench_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sea_orm::ConnectionTrait;
        let conn = sea_orm::Database::connect(base.to_string()).await.unwrap();
        conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        conn.close().await.unwrap();
    });
    let i = base.rfind('/').expect("a database URL");
    format!("{}/{name}", &base[..i])
}

/// Serves `bytes` to every request on loopback HTTP (a catalog source);
/// the URL of the bundle.
pub fn serve(bytes: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/bundle.tar.gz", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                bytes.len()
            );
            let _ = stream.write_all(&bytes);
        }
    });
    url
}

/// A signed catalog file with `notes` 1.0.0 and 2.0.0 (the staged update
/// fixtures): its entries, location and trust policy. Kept alive with its
/// folder.
pub struct NotesShop {
    _dir: tempfile::TempDir,
    pub entries: Vec<plugboard_core::marketplace::catalog::CatalogEntry>,
    pub catalog: String,
    pub trust: plugboard_core::marketplace::install::TrustPolicy,
}

/// Publishes notes 1.0.0 and 2.0.0 into a new signed catalog, checking the
/// libraries with the bench's `plugboard` binary (`inspector`).
pub fn notes_shop(inspector: &plugboard_core::inspect::Inspector) -> NotesShop {
    use plugboard_core::marketplace::{author, install::TrustPolicy, signing::KeyPair};
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let key_file = dir.path().join("key.json");
    std::fs::write(&key_file, serde_json::to_string(&key).unwrap()).unwrap();
    let mut entries = Vec::new();
    for (fixture, lib) in [
        ("notes-v1", "libfixture_notes_v1.so"),
        ("notes-v2", "libfixture_notes_v2.so"),
    ] {
        let folder = staged_noop().with_file_name(fixture);
        let packed = author::pack(&folder, Some(&folder.join(lib)), dir.path()).unwrap();
        author::sign(&packed.path, &key_file).unwrap();
        let catalog = dir.path().join("catalog.json");
        entries.push(
            author::catalog_add(inspector, &catalog, &packed.path, Default::default()).unwrap(),
        );
    }
    NotesShop {
        catalog: dir.path().join("catalog.json").display().to_string(),
        trust: TrustPolicy {
            keys: vec![key.public()],
            allow_unsigned: false,
            asks: None,
        },
        entries,
        _dir: dir,
    }
}
