//! The deadline of the plugin call running on this thread, so that what
//! the plugin asks of the host (SQL, outbound HTTP) ends when the call's
//! time does.

use std::{cell::Cell, time::Duration, time::Instant};

thread_local! {
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Sets this thread's call deadline until the guard drops.
pub(super) fn set(deadline: Instant) -> Reset {
    let previous = DEADLINE.with(|d| d.replace(Some(deadline)));
    Reset(previous)
}

/// Restores the previous deadline on drop.
pub(super) struct Reset(Option<Instant>);

impl Drop for Reset {
    fn drop(&mut self) {
        DEADLINE.with(|d| d.set(self.0));
    }
}

/// The time left to the plugin call running on this thread: `None` outside
/// a plugin call, zero once the deadline has passed.
///
/// ```
/// assert_eq!(plugboard_core::exec::remaining(), None);
/// ```
pub fn remaining() -> Option<Duration> {
    DEADLINE
        .with(Cell::get)
        .map(|d| d.saturating_duration_since(Instant::now()))
}

/// `limit`, shortened to the time left to the current plugin call.
pub fn bounded(limit: Duration) -> Duration {
    remaining().map_or(limit, |left| left.min(limit))
}
