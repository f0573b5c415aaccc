//! The data folder is readable by its owner only: it holds the database
//! (accounts' password hashes, sessions, plugin data), the admin token and
//! publisher keys.
//!
//! On unix, [`secure_data_dir`] creates the folder with mode 0700 and takes
//! the group's and others' permissions away from everything already in it
//! (a database created world-readable by an older version, a copied-in
//! file), without following symbolic links. [`create_private_file`] creates
//! the SQLite file 0600 before SQLite opens it, so its `-wal` and `-shm`
//! files, which SQLite creates with the database file's mode, are 0600 too.
//! Elsewhere both only create what is missing.

use std::{
    io,
    path::{Path, PathBuf},
};

/// A file or folder that could not be made private.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct PrivateFileError {
    /// The file or folder.
    pub path: PathBuf,
    /// The cause.
    pub source: io::Error,
}

fn at(path: &Path) -> impl FnOnce(io::Error) -> PrivateFileError + '_ {
    move |source| PrivateFileError {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `dir` (0700) if missing, and removes the group's and others'
/// permissions from it and everything below it. Returns what it changed.
pub fn secure_data_dir(dir: &Path) -> Result<Vec<PathBuf>, PrivateFileError> {
    create_private_dir(dir)?;
    secure_path(dir)
}

/// Creates `dir` and its missing parents with mode 0700 (an existing one is
/// left as it is).
pub fn create_private_dir(dir: &Path) -> Result<(), PrivateFileError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(at(dir))
}

/// Removes the group's and others' permissions from `path` (a file, or a
/// folder and everything below it) if it exists. Returns what it changed.
pub fn secure_path(path: &Path) -> Result<Vec<PathBuf>, PrivateFileError> {
    let mut changed = Vec::new();
    #[cfg(unix)]
    if path.symlink_metadata().is_ok() {
        tighten(path, &mut changed)?;
    }
    Ok(changed)
}

/// `Ok(None)` when the file went away meanwhile (SQLite removes its `-shm`
/// and `-wal` files when the last connection closes, which may happen
/// while the host starts again): there is nothing left to secure.
#[cfg(unix)]
fn unless_gone<T>(result: io::Result<T>, path: &Path) -> Result<Option<T>, PrivateFileError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(at(path)(e)),
    }
}

#[cfg(unix)]
fn tighten(path: &Path, changed: &mut Vec<PathBuf>) -> Result<(), PrivateFileError> {
    use std::os::unix::fs::PermissionsExt;
    let Some(meta) = unless_gone(std::fs::symlink_metadata(path), path)? else {
        return Ok(());
    };
    if meta.file_type().is_symlink() {
        // Never follow a link out of the folder (or chmod its target).
        return Ok(());
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        let set = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & !0o077));
        if unless_gone(set, path)?.is_some() {
            changed.push(path.to_path_buf());
        }
    }
    if meta.is_dir() {
        let Some(entries) = unless_gone(std::fs::read_dir(path), path)? else {
            return Ok(());
        };
        for entry in entries {
            let Some(entry) = unless_gone(entry, path)? else {
                continue;
            };
            tighten(&entry.path(), changed)?;
        }
    }
    Ok(())
}

/// Creates `path` empty with mode 0600 if it does not exist (an existing
/// file is left as it is; [`secure_data_dir`] tightens it).
pub fn create_private_file(path: &Path) -> Result<(), PrivateFileError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop).map_err(at(path))
}

/// Holds the SQLite database `file` for this process: an exclusive lock on
/// `<file>.lock` (owner-only, holding the holder's pid), kept while the
/// returned file is open and released by the OS when the process ends,
/// however it ends. SQLite serves one Plugboard process; a second one is
/// refused here with the first one's pid rather than left to race it.
pub fn lock_database(file: &Path) -> Result<std::fs::File, DatabaseLockError> {
    use std::io::{Read, Seek, Write};
    let mut name = file.as_os_str().to_owned();
    name.push(".lock");
    let path = PathBuf::from(name);
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let io = |source| DatabaseLockError::Io {
        path: path.clone(),
        source,
    };
    let mut lock = options.open(&path).map_err(io)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = lock.read_to_string(&mut holder);
            return Err(DatabaseLockError::InUse {
                database: file.to_path_buf(),
                holder: holder.trim().to_string(),
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
    }
    lock.set_len(0).map_err(io)?;
    lock.rewind().map_err(io)?;
    write!(lock, "{}", std::process::id()).map_err(io)?;
    Ok(lock)
}

/// Why [`lock_database`] refused.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseLockError {
    /// Another process holds the database.
    #[error(
        "the SQLite database {} is in use by another plugboard process (pid {holder}); \
         SQLite serves one process: stop the other one, or run several replicas on \
         PostgreSQL (--database-url postgres://…)",
        database.display()
    )]
    InUse {
        /// The database file.
        database: PathBuf,
        /// The holder's pid, as it wrote it.
        holder: String,
    },
    /// The lock file could not be opened or locked.
    #[error("{}: {source}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The file of a SQLite URL (`sqlite://path?…`, `sqlite:path`), if it names
/// one (not `:memory:`).
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file that comes and goes while it is secured (SQLite's `-shm`
    /// while a closing host's last connection goes away) is not an error.
    #[cfg(unix)]
    #[test]
    fn a_file_that_vanishes_while_it_is_secured_is_not_an_error() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("pb-vanish-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("plugboard.db-shm");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let churn = {
            let (file, stop) = (file.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = std::fs::write(&file, b"x");
                    let _ = std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644));
                    let _ = std::fs::remove_file(&file);
                }
            })
        };
        let mut failures = Vec::new();
        for _ in 0..20_000 {
            if let Err(e) = secure_path(&file) {
                failures.push(e.to_string());
            }
            if let Err(e) = secure_path(&dir) {
                failures.push(e.to_string());
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        churn.join().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            failures.is_empty(),
            "{} failures, e.g. {:?}",
            failures.len(),
            failures.first()
        );
    }

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_file("sqlite:///d/plugboard.db?mode=rwc"),
            Some(PathBuf::from("/d/plugboard.db"))
        );
        assert_eq!(sqlite_file("sqlite:x.db"), Some(PathBuf::from("x.db")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
    }
}
