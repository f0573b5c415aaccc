//! What the commands print, and how the process ends.
//!
//! Every line a command prints goes through [`line`], which returns an error
//! instead of panicking when standard output cannot be written (`println!`
//! panics). A reader that went away early (`plugboard … | head -1`) gives
//! [`Closed`]; [`finish`] turns that into a quiet exit with status 0, as
//! `grep` or `head` users expect, and prints any other error once, as
//! `error: …` with its causes, plus a backtrace only when `RUST_BACKTRACE`
//! (or `RUST_LIB_BACKTRACE`) asks for one.

use std::{
    fmt,
    io::{self, Write},
    process::ExitCode,
};

/// Standard output was closed by its reader: the command stops, quietly.
#[derive(Debug, thiserror::Error)]
#[error("standard output was closed")]
pub(crate) struct Closed;

/// Writes one line to standard output.
///
/// A closed pipe is [`Closed`]; any other failure (disk full behind a
/// redirection, …) is the I/O error itself, reported like any error.
pub(crate) fn line(args: fmt::Arguments<'_>) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(|e| match e.kind() {
            io::ErrorKind::BrokenPipe => anyhow::Error::new(Closed),
            _ => anyhow::Error::new(e).context("writing to standard output"),
        })
}

/// Writes one line to standard error, ignoring failure: there is nowhere
/// left to report it (`eprintln!` would panic).
pub(crate) fn line_to_stderr(args: fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "{args}");
}

/// The process's exit for a command's result: 0 on success or when its
/// output was closed early; otherwise the error on standard error and 1.
pub(crate) fn finish(result: anyhow::Result<()>) -> ExitCode {
    let Err(error) = result else {
        return ExitCode::SUCCESS;
    };
    if error.chain().any(|cause| cause.is::<Closed>()) {
        return ExitCode::SUCCESS;
    }
    // `{:#}` is the message and its causes on one line, never a backtrace.
    let mut text = format!("error: {error:#}\n");
    let backtrace = error.backtrace();
    if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
        text.push_str(&format!("\nStack backtrace:\n{backtrace}\n"));
    }
    let _ = io::stderr().lock().write_all(text.as_bytes());
    ExitCode::FAILURE
}

/// `println!` that returns [`Closed`] (or the I/O error) instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))?
    };
}

/// `eprintln!` that never panics.
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::output::line_to_stderr(format_args!($($arg)*))
    };
}

pub(crate) use {note, say};
