//! Shared by the bench binaries: staged plugins and a runtime per setup.

#![allow(dead_code, missing_docs, unreachable_pub, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

pub fn staged_noop() -> PathBuf {
    let dir = std::env::var_os("PLUGBOARD_TEST_PLUGINS")
        .map(PathBuf::from)
        .expect("PLUGBOARD_TEST_PLUGINS is not set: run scripts/bench");
    dir.join("plugins/noop")
}

pub fn stage_noop(data_dir: &Path) {
    let to = data_dir.join("plugins/noop");
    std::fs::create_dir_all(&to).unwrap();
    for e in std::fs::read_dir(staged_noop()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}
