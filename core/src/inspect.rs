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
//! host ── spawn `plugboard __inspect-library LIB` ──▶ child: loader::load_in_place(LIB)
//!      ◀── stdout: {"ok": LibraryReport} | {"error": "…"} ── exit
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
    pub fn inspect(&self, library: &Path) -> Result<LibraryReport, InspectError> {
        let mut child = Command::new(&self.exe)
            .arg(SUBCOMMAND)
            .arg(library)
            .env("RUST_LOG", "off")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| InspectError::Spawn {
                inspector: self.exe.clone(),
                source,
            })?;
        // Both pipes are drained on their own threads, so a chatty child
        // never blocks on a full pipe while we wait for it.
        let drain = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                if let Some(pipe) = pipe {
                    let _ = pipe.take(1 << 20).read_to_end(&mut bytes);
                }
                bytes
            })
        };
        let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
        let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
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
                    return Err(InspectError::Spawn {
                        inspector: self.exe.clone(),
                        source,
                    })
                }
            }
        };
        let stdout = stdout.join().unwrap_or_default();
        let stderr = stderr.join().unwrap_or_default();
        let answer = serde_json::from_slice::<Answer>(&stdout);
        match answer {
            Ok(Answer::Ok(report)) if status.success() => Ok(report),
            Ok(Answer::Error(message)) => Err(InspectError::Refused(message)),
            _ if !status.success() => Err(InspectError::Crashed {
                status: status.to_string(),
                stderr: tail(&stderr),
            }),
            Ok(Answer::Ok(_)) => unreachable!("a successful answer with a failed status"),
            Err(e) => Err(InspectError::BadReport {
                inspector: self.exe.display().to_string(),
                detail: e.to_string(),
            }),
        }
    }
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
        },
    })
}

/// The child's side: reports `library` on standard output as JSON and
/// exits 0, or prints `{"error": …}` and exits 1.
pub fn child_main(library: &Path) -> ExitCode {
    let (answer, code) = match report(library) {
        Ok(report) => (Answer::Ok(report), ExitCode::SUCCESS),
        Err(e) => (Answer::Error(e.to_string()), ExitCode::FAILURE),
    };
    println!(
        "{}",
        serde_json::to_string(&answer).unwrap_or_else(|_| "{}".into())
    );
    code
}
