//! The in-flight journal: what each plugin-call thread is running in a
//! dynamic plugin, kept where it survives the process dying.
//!
//! A segfault or `abort()` in a plugin ends the process; no guard runs. So
//! before a call, its thread writes "plugin, entry point" into its own slot
//! of a file mapped shared into memory, and clears the slot after. Stores
//! into a shared file mapping are the kernel's page cache: they outlive the
//! process at once (they are lost only if the machine itself goes down,
//! which takes no plugin's fault). At the next start, [`Journal::open`]
//! returns what was in flight, and the runtime quarantines those plugins.
//!
//! Cost on the hot path: one copy of a few dozen bytes and two atomic
//! stores into memory (no system call); see BENCHMARKS.md.
//!
//! `unsafe` here: writing into the shared mapping through raw pointers.
//! The invariant: each slot index is held by one [`Slot`] at a time (the
//! free list hands it out and takes it back on drop), so only one thread
//! ever writes a slot's bytes, and the mapping outlives every `Slot` (each
//! holds the journal's `Arc`).

#![allow(unsafe_code)]

use std::{
    fs::OpenOptions,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU32, Ordering},
        Mutex,
    },
};

use memmap2::MmapRaw;

/// Slots in the file: one per plugin-call thread.
const SLOTS: usize = super::pool::MAX_THREADS;
/// Bytes per slot: a 4-byte length, then the record.
const SLOT_SIZE: usize = 256;
const RECORD_MAX: usize = SLOT_SIZE - 4;
/// Separates the slug from the entry point in a record.
const SEPARATOR: char = '\u{1f}';

/// A call that was running when the previous process died.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlight {
    /// The plugin.
    pub slug: String,
    /// What the host was calling (`its route GET /x`, `its on_enable`, …).
    pub what: String,
}

/// The journal file, mapped. One per runtime.
pub struct Journal {
    path: PathBuf,
    map: MmapRaw,
    free: Mutex<Vec<usize>>,
}

/// Why the journal could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("in-flight journal {path}: {source}")]
pub struct JournalError {
    path: PathBuf,
    source: std::io::Error,
}

impl Journal {
    /// Opens (creating) the journal at `path`, returning what the previous
    /// process left in flight, then starts an empty journal.
    pub fn open(path: &Path) -> Result<(Self, Vec<InFlight>), JournalError> {
        let err = |source| JournalError {
            path: path.to_path_buf(),
            source,
        };
        let left = match std::fs::read(path) {
            Ok(bytes) => parse(&bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(err(e)),
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(err)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
        }
        file.set_len((SLOTS * SLOT_SIZE) as u64).map_err(err)?;
        let map = MmapRaw::map_raw(&file).map_err(err)?;
        Ok((
            Self {
                path: path.to_path_buf(),
                map,
                free: Mutex::new((0..SLOTS).rev().collect()),
            },
            left,
        ))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A slot for one thread, until the [`Slot`] is dropped.
    pub(super) fn slot(self: &std::sync::Arc<Self>) -> Option<Slot> {
        let index = self.free.lock().unwrap_or_else(|p| p.into_inner()).pop()?;
        Some(Slot {
            journal: std::sync::Arc::clone(self),
            index,
        })
    }

    fn len_word(&self, index: usize) -> &AtomicU32 {
        // SAFETY: the map is SLOTS * SLOT_SIZE bytes and lives as long as
        // `self`; `index < SLOTS`, so the word is inside it, and it is
        // 4-aligned (the map is page-aligned, SLOT_SIZE a multiple of 4).
        // An `AtomicU32` may alias memory that other threads (and the
        // kernel) read.
        unsafe { &*(self.map.as_mut_ptr().add(index * SLOT_SIZE) as *const AtomicU32) }
    }
}

/// One thread's slot in the journal.
pub(super) struct Slot {
    journal: std::sync::Arc<Journal>,
    index: usize,
}

impl Slot {
    /// Records that this thread is about to call `what` in plugin `slug`;
    /// the record is cleared when the guard drops (also on unwind).
    #[inline]
    pub(super) fn enter(&mut self, slug: &str, what: &str) -> Entered<'_> {
        let len = write_record(self, slug, what);
        self.journal
            .len_word(self.index)
            .store(len as u32, Ordering::Release);
        Entered { slot: self }
    }
}

fn write_record(slot: &Slot, slug: &str, what: &str) -> usize {
    let parts = [slug.as_bytes(), &[SEPARATOR as u8], what.as_bytes()];
    let mut at = 0;
    // SAFETY: this slot's record bytes are written only by the thread that
    // holds the `Slot` (the free list hands each index to one holder), and
    // only between two stores of its length word, which readers check; the
    // range `index*SLOT_SIZE + 4 ..+ RECORD_MAX` is inside the map.
    let base = unsafe {
        slot.journal
            .map
            .as_mut_ptr()
            .add(slot.index * SLOT_SIZE + 4)
    };
    for part in parts {
        let n = part.len().min(RECORD_MAX - at);
        // SAFETY: as above; `at + n <= RECORD_MAX`.
        unsafe { std::ptr::copy_nonoverlapping(part.as_ptr(), base.add(at), n) };
        at += n;
    }
    at
}

/// Clears its slot's record on drop.
pub(super) struct Entered<'a> {
    slot: &'a mut Slot,
}

impl Drop for Entered<'_> {
    #[inline]
    fn drop(&mut self) {
        self.slot
            .journal
            .len_word(self.slot.index)
            .store(0, Ordering::Release);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.journal
            .len_word(self.index)
            .store(0, Ordering::Release);
        self.journal
            .free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(self.index);
    }
}

/// The records of a journal file (a record cut inside a character, or
/// without its separator, is skipped: it cannot name a plugin).
fn parse(bytes: &[u8]) -> Vec<InFlight> {
    let mut out: Vec<InFlight> = bytes
        .chunks_exact(SLOT_SIZE)
        .filter_map(|slot| {
            let len = u32::from_ne_bytes(slot[..4].try_into().ok()?) as usize;
            if len == 0 || len > RECORD_MAX {
                return None;
            }
            let text = std::str::from_utf8(&slot[4..4 + len]).ok()?;
            let (slug, what) = text.split_once(SEPARATOR)?;
            Some(InFlight {
                slug: slug.to_string(),
                what: what.to_string(),
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.slug, &a.what).cmp(&(&b.slug, &b.what)));
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_record_left_in_the_file_is_found_at_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in-flight");
        let (journal, left) = Journal::open(&path).unwrap();
        assert!(left.is_empty());
        let journal = Arc::new(journal);
        let mut done = journal.slot().unwrap();
        drop(done.enter("calm", "its route GET /ok"));
        let mut crashed = journal.slot().unwrap();
        let entered = crashed.enter("boom", "its route GET /segfault");
        // The process "dies" here: nothing clears the record.
        std::mem::forget(entered);
        std::mem::forget(crashed);
        let (_again, left) = Journal::open(&path).unwrap();
        assert_eq!(
            left,
            vec![InFlight {
                slug: "boom".into(),
                what: "its route GET /segfault".into()
            }]
        );
        // And the new journal starts empty.
        let (_third, left) = Journal::open(&path).unwrap();
        assert!(left.is_empty());
    }

    #[test]
    fn a_long_record_is_cut_to_its_slot() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in-flight");
        let journal = Arc::new(Journal::open(&path).unwrap().0);
        let mut slot = journal.slot().unwrap();
        let long = format!("its route GET /{}", "x".repeat(400));
        std::mem::forget(slot.enter("p", &long));
        let left = parse(&std::fs::read(&path).unwrap());
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].what.len(), RECORD_MAX - 2);
    }
}
