//! Checking a plugin library in a short-lived child process.
//!
//! Opening a library runs its constructors, and libraries are never
//! unloaded: checking a bundle in the host process would map every
//! installed library twice (once to check it, once when it is enabled),
//! and a constructor that crashes would take the host down. So an install
//! (and `plugboard catalog add`) asks a child — `plugboard` itself, with
//! the hidden subcommand [`SUBCOMMAND`] — to open the library and report
//! its header as JSON ([`LibraryReport`]); the host maps a library only
//! when it enables the plugin.
//!
//! ```text
//! host ── spawn `plugboard __inspect-library --answer FILE -- LIB` ──▶ child: loader::load_in_place(LIB)
//!      ◀── FILE: {"ok": LibraryReport} | {"error": "…"} ── exit
//! ```
//!
//! An application that embeds the runtime in its own binary either calls
//! [`child_main`] when its first argument is [`SUBCOMMAND`], or points
//! [`Inspector::new`] at a `plugboard` binary.

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::{Command, ExitCode, Stdio},
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

use crate::loader::{self, LoadError};

/// The hidden subcommand of the `plugboard` binary that runs [`child_main`].
pub const SUBCOMMAND: &str = "__inspect-library";

/// What a child process found in a library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryReport {
    /// The slug its code reports.
    pub slug: String,
    /// The version its code reports.
    pub version: String,
    /// The plugin-api version it was built against.
    pub api_version: String,
    /// What its code declares (for the admin, and for a manifest without
    /// capabilities).
    pub declared: DeclaredByCode,
}

/// What a library's code declares, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredByCode {
    /// Routes.
    pub routes: usize,
    /// Cron jobs.
    pub jobs: usize,
    /// SQL migrations.
    pub migrations: usize,
    /// Event subscription patterns.
    pub subscriptions: Vec<String>,
    /// Each route as (method, path).
    #[serde(default)]
    pub route_list: Vec<(String, String)>,
    /// The hooks it implements, by name.
    #[serde(default)]
    pub hooks: Vec<String>,
    /// Each job as (name, schedule).
    #[serde(default)]
    pub job_list: Vec<(String, String)>,
}

/// Why a library could not be inspected.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// The inspector binary could not be started.
    #[error("cannot start the library check ({}): {source}", inspector.display())]
    Spawn {
        /// The binary.
        inspector: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The loader refused the library (wrong ABI, not a plugin, …).
    #[error("{0}")]
    Refused(String),
    /// Opening the library ended the child process (a constructor that
    /// aborts or crashes): it would have ended the host.
    #[error("opening the library ended the checking process ({status}){}", if stderr.is_empty() { String::new() } else { format!(": {stderr}") })]
    Crashed {
        /// How the child ended.
        status: String,
        /// The end of what it wrote to standard error.
        stderr: String,
    },
    /// The child did not answer in time.
    #[error("opening the library did not finish within {0:?}")]
    TimedOut(Duration),
    /// The child answered something that is not a report (the inspector is
    /// not a `plugboard` binary?).
    #[error("the library check answered no report ({inspector}): {detail}")]
    BadReport {
        /// The binary.
        inspector: String,
        /// What was wrong.
        detail: String,
    },
}

/// The child's answer on standard output.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Answer {
    Ok(LibraryReport),
    Error(String),
}

/// Runs library checks in child processes of a binary that has the
/// [`SUBCOMMAND`] (by default this process's own executable).
#[derive(Debug, Clone)]
pub struct Inspector {
    exe: PathBuf,
    timeout: Duration,
}

impl Default for Inspector {
    /// This process's executable, 30 s per check.
    fn default() -> Self {
        Inspector::new(std::env::current_exe().unwrap_or_else(|_| PathBuf::from("plugboard")))
    }
}

impl Inspector {
    /// Checks with `exe` (a `plugboard` binary), 30 s per check.
    pub fn new(exe: impl Into<PathBuf>) -> Self {
        Inspector {
            exe: exe.into(),
            timeout: Duration::from_secs(30),
        }
    }

    /// Opens `library` in a child process and returns what it reports.
    ///
    /// The child writes its answer to a file of its own (named on its
    /// command line), not to standard output, so whatever the library
    /// prints does not garble it; its standard output is discarded and the
    /// end of its standard error is kept for the error message. A process
    /// the library starts and leaves running cannot hold the check up: the
    /// answer is read when the child exits, and its standard error for at
    /// most a second more.
    ///
    /// This is a safety net against libraries that crash or hang when
    /// opened, not a security boundary: a hostile library can tell it is
    /// being checked. What it claims is checked again when the host loads
    /// it (`loader::check_identity`).
    pub fn inspect(&self, library: &Path) -> Result<LibraryReport, InspectError> {
        let answer_file = answer_path();
        let result = self.run_child(library, &answer_file);
        let answer = std::fs::read(&answer_file);
        let _ = std::fs::remove_file(&answer_file);
        let (status, stderr) = result?;
        let answer = answer
            .map_err(|e| e.to_string())
            .and_then(|bytes| serde_json::from_slice::<Answer>(&bytes).map_err(|e| e.to_string()));
        match answer {
            Ok(Answer::Ok(report)) if status.success() => Ok(report),
            Ok(Answer::Error(message)) => Err(InspectError::Refused(message)),
            _ if !status.success() => Err(InspectError::Crashed {
                status: status.to_string(),
                stderr: tail(&stderr),
            }),
            Ok(Answer::Ok(_)) => Err(InspectError::BadReport {
                inspector: self.exe.display().to_string(),
                detail: "a report with a failed exit status".into(),
            }),
            Err(detail) => Err(InspectError::BadReport {
                inspector: self.exe.display().to_string(),
                detail,
            }),
        }
    }

    /// Runs the child to its end (or kills it at the deadline); its exit
    /// status and the end of its standard error.
    fn run_child(
        &self,
        library: &Path,
        answer_file: &Path,
    ) -> Result<(std::process::ExitStatus, Vec<u8>), InspectError> {
        let spawn_failed = |source| InspectError::Spawn {
            inspector: self.exe.clone(),
            source,
        };
        let mut child = Command::new(&self.exe)
            .arg(SUBCOMMAND)
            .arg("--answer")
            .arg(answer_file)
            .arg("--")
            .arg(library)
            .env("RUST_LOG", "off")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_failed)?;
        // Standard error is drained on a thread of its own (so a chatty
        // child never blocks on a full pipe), and handed over by channel,
        // so that a grandchild keeping the pipe open cannot hold us.
        let (tx, rx) = std::sync::mpsc::channel();
        if let Some(mut pipe) = child.stderr.take() {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                let mut chunk = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    bytes.extend_from_slice(&chunk[..n]);
                    if bytes.len() > 1 << 20 {
                        bytes.drain(..bytes.len() - (64 << 10));
                    }
                }
                let _ = tx.send(bytes);
            });
        }
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() >= self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(InspectError::TimedOut(self.timeout));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                Err(source) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(spawn_failed(source));
                }
            }
        };
        let stderr = rx.recv_timeout(Duration::from_secs(1)).unwrap_or_default();
        Ok((status, stderr))
    }
}

/// A fresh file name for one child's answer, in the temporary folder.
fn answer_path() -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    std::env::temp_dir().join(format!(
        "plugboard-inspect-{}-{}-{}.json",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    ))
}

/// The last 500 characters of `bytes`, as text.
fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    let start = text
        .char_indices()
        .rev()
        .nth(499)
        .map(|(i, _)| i)
        .unwrap_or(0);
    text[start..].to_string()
}

/// Opens `library` in this process and reports it. Only for a process that
/// exits right after ([`child_main`]): the library stays mapped.
pub fn report(library: &Path) -> Result<LibraryReport, LoadError> {
    use plugboard_plugin_api::PluginObject;
    let plugin = loader::load_in_place(library)?;
    Ok(LibraryReport {
        slug: plugin.slug().to_string(),
        version: plugin.version().to_string(),
        api_version: plugin.api_version().to_string(),
        declared: DeclaredByCode {
            routes: plugin.routes().map_or(0, |r| r.len()),
            jobs: plugin.jobs().map_or(0, |j| j.len()),
            migrations: plugin.migrations().map_or(0, |m| m.len()),
            subscriptions: plugin.subscriptions().unwrap_or_default(),
            route_list: plugin
                .routes()
                .unwrap_or_default()
                .iter()
                .map(|r| (r.method.to_string(), r.path.to_string()))
                .collect(),
            hooks: plugin
                .hooks()
                .unwrap_or_default()
                .iter()
                .map(|h| h.hook_name().to_string())
                .collect(),
            job_list: plugin
                .jobs()
                .unwrap_or_default()
                .iter()
                .map(|j| (j.name.to_string(), j.schedule.to_string()))
                .collect(),
        },
    })
}

/// The child's side: reports `library` as JSON into `answer` (a new file)
/// and exits 0, or writes `{"error": …}` and exits 1.
pub fn child_main(answer: &Path, library: &Path) -> ExitCode {
    let (reply, code) = match report(library) {
        Ok(report) => (Answer::Ok(report), ExitCode::SUCCESS),
        Err(e) => (Answer::Error(e.to_string()), ExitCode::FAILURE),
    };
    let written = serde_json::to_vec(&reply)
        .map_err(std::io::Error::other)
        .and_then(|bytes| {
            use std::io::Write;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(answer)?
                .write_all(&bytes)
        });
    match written {
        Ok(()) => code,
        Err(e) => {
            eprintln!("cannot write the answer to {}: {e}", answer.display());
            ExitCode::from(2)
        }
    }
}
