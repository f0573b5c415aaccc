//! A small tokio runtime owned by one host component (database bridge, event
//! delivery, cron), shut down without blocking when the component is dropped.
//!
//! Each component runs its work on a runtime of its own so that synchronous
//! plugin code, which may block, never runs on (and stalls) actix's workers,
//! and so that dropping a `Runtime` value releases its threads.

use std::future::Future;

use tokio::{runtime::Handle, task::JoinHandle};

pub(crate) struct Background(Option<tokio::runtime::Runtime>);

impl Background {
    /// A multi-threaded runtime with `threads` workers named `name`.
    pub(crate) fn new(name: &str, threads: usize) -> std::io::Result<Self> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name(name)
            .enable_all()
            .build()
            .map(|rt| Self(Some(rt)))
    }

    /// A handle to spawn on it.
    pub(crate) fn handle(&self) -> Option<&Handle> {
        self.0.as_ref().map(|rt| rt.handle())
    }

    /// Spawns `f` on it (`None` once shut down).
    pub(crate) fn spawn<F>(&self, f: F) -> Option<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle().map(|h| h.spawn(f))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        // `shutdown_background` is allowed inside another runtime; a plain drop is not.
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}
