//! SQLite's own refusal of what a plugin connection may touch: an
//! authorizer callback, the attached-database limit and defensive mode,
//! installed on each of a plugin's connections right after it opens; and a
//! deadline on each statement it runs.
//!
//! This is one of the few modules of the host with `unsafe`: it calls the
//! SQLite C API on the raw handle sqlx lends us.
#![allow(unsafe_code)]

use std::{
    cell::Cell,
    collections::HashMap,
    ffi::{c_char, c_int, c_uint, c_void, CStr},
    panic::{catch_unwind, AssertUnwindSafe},
    ptr,
    sync::{Mutex, OnceLock},
    time::{Duration, Instant},
};

use libsqlite3_sys as ffi;
use sea_orm::sqlx::sqlite::LockedSqliteHandle;

use crate::sql::{allowed_function, table_prefix, Backend};

/// What one plugin's connections may touch.
#[derive(Debug)]
pub(super) struct Policy {
    /// `plugin_{slug}__`, lower-case.
    prefix: String,
}

impl Policy {
    /// The plugin's own tables, and SQLite's bookkeeping tables of its own
    /// file (`sqlite_sequence` for `AUTOINCREMENT`), which list only them.
    fn own_or_bookkeeping(&self, name: &str) -> bool {
        self.own_table(name) || name == "sqlite_sequence"
    }

    fn own_table(&self, name: &str) -> bool {
        name.len() > self.prefix.len()
            && name.is_char_boundary(self.prefix.len())
            && name[..self.prefix.len()].eq_ignore_ascii_case(&self.prefix)
    }

    /// The decision for one authorizer request (codes and argument meanings:
    /// <https://www.sqlite.org/c3ref/c_alter_table.html>).
    fn decide(&self, action: c_int, a1: Option<&str>, a2: Option<&str>, db: Option<&str>) -> bool {
        let in_main = db.is_none_or(|d| d == "main");
        match action {
            // Statements that touch no table of their own.
            ffi::SQLITE_SELECT
            | ffi::SQLITE_RECURSIVE
            | ffi::SQLITE_TRANSACTION
            | ffi::SQLITE_SAVEPOINT => true,
            ffi::SQLITE_FUNCTION => a2.is_some_and(|f| {
                allowed_function(Backend::Sqlite, f) || INTERNAL_FUNCTIONS.contains(&f)
            }),
            // CREATE and ALTER TABLE read the schema table (SQLite's own
            // bookkeeping). In the plugin's own file it lists only the
            // plugin's own tables.
            ffi::SQLITE_READ => {
                (in_main && a1.is_some_and(|t| self.own_or_bookkeeping(t) || t == "sqlite_master"))
                    || temp_schema(a1, db)
            }
            // CREATE TABLE / DROP TABLE / ALTER TABLE write the schema table
            // and ask for it by name; SQLite itself refuses a plugin's own
            // writes to it (defensive mode, no writable_schema pragma).
            ffi::SQLITE_INSERT | ffi::SQLITE_DELETE => {
                in_main && a1.is_some_and(|t| self.own_or_bookkeeping(t) || t == "sqlite_master")
            }
            ffi::SQLITE_UPDATE => {
                (in_main && a1.is_some_and(|t| self.own_or_bookkeeping(t) || t == "sqlite_master"))
                    || temp_schema(a1, db)
            }
            ffi::SQLITE_CREATE_TABLE | ffi::SQLITE_DROP_TABLE => {
                in_main && a1.is_some_and(|t| self.own_or_bookkeeping(t))
            }
            // An index of an own table: named by the plugin, or by SQLite
            // for a UNIQUE / PRIMARY KEY constraint (`sqlite_autoindex_…`).
            ffi::SQLITE_CREATE_INDEX | ffi::SQLITE_DROP_INDEX => {
                in_main && a2.is_some_and(|t| self.own_table(t))
            }
            // Rebuilding an own index (SQLite asks while creating one).
            ffi::SQLITE_REINDEX => in_main && a1.is_some_and(|i| self.own_table(i)),
            // For ALTER TABLE the first argument is the database name.
            ffi::SQLITE_ALTER_TABLE => {
                a1.is_none_or(|d| d == "main") && a2.is_some_and(|t| self.own_table(t))
            }
            // PRAGMA, ATTACH, DETACH, views, triggers, temporary objects,
            // virtual tables, ANALYZE and any code added later.
            _ => false,
        }
    }
}

/// Functions SQLite calls itself while it re-parses the schema for `ALTER
/// TABLE … RENAME` and `DROP COLUMN` (user SQL cannot call them: "no such
/// function").
const INTERNAL_FUNCTIONS: &[&str] = &[
    "sqlite_rename_column",
    "sqlite_rename_quotefix",
    "sqlite_rename_table",
    "sqlite_rename_test",
    "sqlite_drop_column",
];

/// The temp schema table, which `ALTER TABLE` reads and rewrites alongside
/// the main one; it is empty (temporary objects are refused) and defensive
/// mode refuses direct writes to it.
fn temp_schema(table: Option<&str>, db: Option<&str>) -> bool {
    db == Some("temp") && table == Some("sqlite_temp_master")
}

/// The one `Policy` of `slug`, alive for the rest of the process: a
/// connection's authorizer keeps a pointer to it. One per slug ever seen,
/// so the total is bounded by the plugins this process ran.
pub(super) fn policy_for(slug: &str) -> &'static Policy {
    static POLICIES: OnceLock<Mutex<HashMap<String, &'static Policy>>> = OnceLock::new();
    let mut map = POLICIES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    map.entry(slug.to_string()).or_insert_with(|| {
        Box::leak(Box::new(Policy {
            prefix: table_prefix(slug).to_ascii_lowercase(),
        }))
    })
}

/// The longest one plugin statement may run (as on PostgreSQL, where the
/// plugin role's connections carry the same `statement_timeout`).
pub(super) const STATEMENT_DEADLINE: Duration = Duration::from_secs(30);

/// How many virtual-machine steps SQLite runs between two looks at the
/// deadline (about a millisecond of work).
const PROGRESS_STEPS: c_int = 10_000;

thread_local! {
    /// When the statement now running on this thread began. sqlx runs each
    /// SQLite connection on a worker thread of its own, and SQLite calls
    /// both callbacks below on the thread running the statement, so this
    /// is per connection.
    static STATEMENT_STARTED: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Marks the start of each statement (`SQLITE_TRACE_STMT`).
///
/// # Safety
/// Called by SQLite only; reads none of its arguments.
unsafe extern "C" fn statement_started(
    _event: c_uint,
    _context: *mut c_void,
    _statement: *mut c_void,
    _sql: *mut c_void,
) -> c_int {
    STATEMENT_STARTED.with(|s| s.set(Some(Instant::now())));
    0
}

/// Whether the statement running on this thread is past its deadline.
fn past_deadline() -> bool {
    STATEMENT_STARTED.with(|s| s.get().is_some_and(|t| t.elapsed() > STATEMENT_DEADLINE))
}

/// The largest text or blob value a plugin statement may build.
const MAX_VALUE_BYTES: c_int = 16 * 1024 * 1024;

/// Why a guard could not be installed.
#[derive(Debug, thiserror::Error)]
#[error("cannot confine the plugin's SQLite connection: {0}")]
pub(super) struct GuardError(String);

/// Installs `policy` on the connection behind `handle`, limits attached
/// databases to none and turns on defensive mode.
pub(super) fn install(
    handle: &mut LockedSqliteHandle<'_>,
    policy: &'static Policy,
) -> Result<(), GuardError> {
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `LockedSqliteHandle` guarantees that sqlx's worker thread makes
    // no call on this handle while we hold it, so these calls are not
    // concurrent with any other use of the connection. `policy` is
    // `'static`, so the pointer the authorizer keeps stays valid for as long
    // as the connection lives (and longer). `authorize` never unwinds.
    unsafe {
        ffi::sqlite3_limit(db, ffi::SQLITE_LIMIT_ATTACHED, 0);
        // One value (text or blob) of at most 16 MiB instead of 1 GB, so a
        // statement cannot build values the host's memory cannot hold.
        ffi::sqlite3_limit(db, ffi::SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES);
        // Defensive mode; schema code (DEFAULT expressions, …) may call only
        // functions SQLite marks innocuous, since the authorizer is not asked
        // about them; no triggers or views run at all.
        for (option, wanted) in [
            (ffi::SQLITE_DBCONFIG_DEFENSIVE, 1),
            (ffi::SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0),
            (ffi::SQLITE_DBCONFIG_ENABLE_TRIGGER, 0),
            (ffi::SQLITE_DBCONFIG_ENABLE_VIEW, 0),
        ] {
            let mut now: c_int = -1;
            let rc = ffi::sqlite3_db_config(db, option, wanted as c_int, &mut now);
            if rc != ffi::SQLITE_OK || now != wanted {
                return Err(GuardError(format!(
                    "connection option {option} refused (code {rc})"
                )));
            }
        }
        // Each statement gets `STATEMENT_DEADLINE`: marked at its start,
        // interrupted by the progress handler once past it (a recursive CTE
        // that never ends passes the rewriter and the authorizer).
        let rc = ffi::sqlite3_trace_v2(
            db,
            ffi::SQLITE_TRACE_STMT,
            Some(statement_started),
            ptr::null_mut(),
        );
        if rc != ffi::SQLITE_OK {
            return Err(GuardError(format!("statement trace refused (code {rc})")));
        }
        let rc = ffi::sqlite3_set_authorizer(
            db,
            Some(authorize),
            ptr::from_ref(policy).cast_mut().cast::<c_void>(),
        );
        if rc != ffi::SQLITE_OK {
            return Err(GuardError(format!("authorizer refused (code {rc})")));
        }
    }
    // Returning false interrupts the statement ("interrupted").
    handle.set_progress_handler(PROGRESS_STEPS, || !past_deadline());
    Ok(())
}

/// Reads an optional C string argument of the authorizer.
///
/// # Safety
/// `p` is null or points to a NUL-terminated string that lives for the
/// duration of the callback (SQLite's contract for authorizer arguments).
unsafe fn arg<'a>(p: *const c_char) -> Option<&'a str> {
    if p.is_null() {
        None
    } else {
        // SAFETY: see the function's contract.
        unsafe { CStr::from_ptr(p) }.to_str().ok()
    }
}

/// The authorizer callback SQLite calls while it prepares each statement.
///
/// # Safety
/// Called by SQLite only, with `user` the `&'static Policy` given to
/// `sqlite3_set_authorizer` and the string arguments valid for the call.
unsafe extern "C" fn authorize(
    user: *mut c_void,
    action: c_int,
    a1: *const c_char,
    a2: *const c_char,
    db: *const c_char,
    _trigger: *const c_char,
) -> c_int {
    // Never unwind into C: any surprise is a refusal.
    let allowed = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `user` is the `&'static Policy` installed with this
        // callback; the strings are valid for the call (SQLite's contract).
        let policy = unsafe { &*user.cast::<Policy>() };
        let (a1, a2, db) = unsafe { (arg(a1), arg(a2), arg(db)) };
        policy.decide(action, a1, a2, db)
    }))
    .unwrap_or(false);
    if allowed {
        ffi::SQLITE_OK
    } else {
        ffi::SQLITE_DENY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_plugins_own_tables_and_allowed_functions_pass() {
        let p = policy_for("guest-book");
        let own = Some("plugin_guest_book__entries");
        assert!(p.decide(ffi::SQLITE_READ, own, Some("id"), Some("main")));
        assert!(!p.decide(ffi::SQLITE_READ, own, Some("id"), Some("temp")));
        assert!(!p.decide(ffi::SQLITE_READ, Some("accounts"), Some("id"), Some("main")));
        assert!(!p.decide(
            ffi::SQLITE_READ,
            Some("plugin_guest_book__"),
            None,
            Some("main")
        ));
        assert!(!p.decide(ffi::SQLITE_READ, Some("plugin_guest_book_x__t"), None, None));
        // The temp schema table: ALTER TABLE reads it (empty: no temporary
        // objects are allowed).
        assert!(p.decide(
            ffi::SQLITE_READ,
            Some("sqlite_temp_master"),
            None,
            Some("temp")
        ));
        assert!(p.decide(ffi::SQLITE_FUNCTION, None, Some("COUNT"), None));
        assert!(!p.decide(ffi::SQLITE_FUNCTION, None, Some("load_extension"), None));
        assert!(!p.decide(ffi::SQLITE_PRAGMA, Some("table_info"), None, None));
        assert!(!p.decide(ffi::SQLITE_ATTACH, Some("/x.db"), None, None));
        assert!(!p.decide(
            ffi::SQLITE_CREATE_VIEW,
            Some("plugin_guest_book__v"),
            None,
            None
        ));
        assert!(p.decide(ffi::SQLITE_ALTER_TABLE, Some("main"), own, None));
        assert!(!p.decide(
            ffi::SQLITE_ALTER_TABLE,
            Some("main"),
            Some("accounts"),
            None
        ));
        assert!(p.decide(ffi::SQLITE_FUNCTION, None, Some("sqlite_rename_test"), None));
        assert!(!p.decide(ffi::SQLITE_FUNCTION, None, Some("sqlite_version"), None));
        assert!(p.decide(
            ffi::SQLITE_UPDATE,
            Some("sqlite_temp_master"),
            None,
            Some("temp")
        ));
        assert!(!p.decide(
            ffi::SQLITE_UPDATE,
            Some("sqlite_temp_master"),
            None,
            Some("main")
        ));
        assert!(!p.decide(
            ffi::SQLITE_INSERT,
            Some("sqlite_temp_master"),
            None,
            Some("temp")
        ));
        assert!(std::ptr::eq(p, policy_for("guest-book")));
    }
}
