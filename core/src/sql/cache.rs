//! Remembered results of [`namespace`]: plugins send the same few statements
//! over and over, and parsing and renaming one costs 7–13 µs (3–7 % of a
//! query on this machine, `scripts/bench storage`).
//!
//! The result depends only on (backend, slug, statement text), so one cache
//! serves every runtime in the process. Refusals are remembered too. The
//! cache holds at most 4096 statements; when full it is emptied and
//! refills with what is in use.

use std::sync::LazyLock;

use dashmap::DashMap;

use super::{namespace, Backend, SqlRefusal};

/// Most statements remembered.
const CAPACITY: usize = 4096;

type Key = (Backend, Box<str>, Box<str>);

static CACHE: LazyLock<DashMap<Key, Result<String, SqlRefusal>>> = LazyLock::new(DashMap::new);

/// [`namespace`], remembered.
///
/// ```
/// use plugboard_core::sql::{namespace, namespaced, Backend};
/// let sql = "SELECT body FROM notes WHERE id = ?";
/// assert_eq!(
///     namespaced(sql, "gb", Backend::Sqlite),
///     namespace(sql, "gb", Backend::Sqlite)
/// );
/// ```
pub fn namespaced(sql: &str, slug: &str, backend: Backend) -> Result<String, SqlRefusal> {
    let key: Key = (backend, slug.into(), sql.into());
    if let Some(hit) = CACHE.get(&key) {
        return hit.clone();
    }
    let result = namespace(sql, slug, backend);
    if CACHE.len() >= CAPACITY {
        CACHE.clear();
    }
    CACHE.insert(key, result.clone());
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_result_is_the_same_per_slug_backend_and_text() {
        for _ in 0..2 {
            assert_eq!(
                namespaced("SELECT * FROM t", "a", Backend::Sqlite).unwrap(),
                "SELECT * FROM plugin_a__t AS t"
            );
            assert_eq!(
                namespaced("SELECT * FROM t", "b", Backend::Sqlite).unwrap(),
                "SELECT * FROM plugin_b__t AS t"
            );
            assert_eq!(
                namespaced("UPDATE t SET x = ? WHERE id = ?", "a", Backend::Postgres).unwrap(),
                "UPDATE plugin_a__t AS t SET x = $1 WHERE id = $2"
            );
            let refused = namespaced("SELECT * FROM sqlite_master", "a", Backend::Sqlite);
            assert_eq!(
                refused,
                namespace("SELECT * FROM sqlite_master", "a", Backend::Sqlite)
            );
            assert!(refused.is_err());
        }
    }

    #[test]
    fn the_cache_stays_bounded() {
        for i in 0..CAPACITY + 10 {
            namespaced(&format!("SELECT {i} FROM t"), "bound", Backend::Sqlite).unwrap();
        }
        assert!(CACHE.len() <= CAPACITY);
    }
}
