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
    fs::{File, OpenOptions, TryLockError},
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

/// A call that was running when a previous process died.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlight {
    /// The plugin.
    pub slug: String,
    /// What the host was calling (`its route GET /x`, `its on_enable`, …).
    pub what: String,
}

/// The journal file of this process, mapped. One per runtime.
///
/// Each runtime writes its own file, `in-flight-<pid>-<n>.journal`, and
/// holds an exclusive lock on it while it lives; the lock goes with the
/// process. [`Journal::open`] reads (and removes) only files nobody holds:
/// those of processes that died. A second process on the same data folder
/// (a CLI command beside a server) never reads or truncates a live one.
pub struct Journal {
    path: PathBuf,
    map: MmapRaw,
    free: Mutex<Vec<usize>>,
    /// Holds the lock.
    _file: File,
}

/// Why the journal could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("in-flight journal {path}: {source}")]
pub struct JournalError {
    path: PathBuf,
    source: std::io::Error,
}

const PREFIX: &str = "in-flight";
const SUFFIX: &str = ".journal";

impl Journal {
    /// Starts this runtime's journal in `dir`, returning what the dead
    /// processes' journals there left in flight (their files are removed).
    pub fn open(dir: &Path) -> Result<(Self, Vec<InFlight>), JournalError> {
        let err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| JournalError {
                path: path.clone(),
                source,
            }
        };
        let mut left = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(err(dir))? {
            let path = entry.map_err(err(dir))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !(name.starts_with(PREFIX) && name.ends_with(SUFFIX)) {
                continue;
            }
            let file = match OpenOptions::new().read(true).write(true).open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(err(&path)(e)),
            };
            match file.try_lock() {
                Ok(()) => {}
                // A live process's journal.
                Err(TryLockError::WouldBlock) => continue,
                Err(TryLockError::Error(e)) => return Err(err(&path)(e)),
            }
            let bytes = std::fs::read(&path).map_err(err(&path))?;
            left.extend(parse(&bytes));
            std::fs::remove_file(&path).map_err(err(&path))?;
        }
        left.sort_by(|a, b| (&a.slug, &a.what).cmp(&(&b.slug, &b.what)));
        left.dedup();

        static OPENED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let path = dir.join(format!(
            "{PREFIX}-{}-{}{SUFFIX}",
            std::process::id(),
            OPENED.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(err(&path))?;
        file.try_lock()
            .map_err(|e| err(&path)(std::io::Error::other(e.to_string())))?;
        file.set_len((SLOTS * SLOT_SIZE) as u64)
            .map_err(err(&path))?;
        let map = MmapRaw::map_raw(&file).map_err(err(&path))?;
        Ok((
            Self {
                path,
                map,
                free: Mutex::new((0..SLOTS).rev().collect()),
                _file: file,
            },
            left,
        ))
    }

    /// This runtime's file.
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
        // kernel) read. No other process maps the file: it is locked.
        unsafe { &*(self.map.as_mut_ptr().add(index * SLOT_SIZE) as *const AtomicU32) }
    }
}

impl Journal {
    /// The runtime shut down normally: whatever is still running (a call
    /// stuck past its deadline) did not take the process down, so nothing
    /// is left for the next start to quarantine, and the file goes.
    pub(super) fn retire(&self) {
        for index in 0..SLOTS {
            self.len_word(index).store(0, Ordering::Release);
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for Journal {
    /// A journal dropped (its runtime gone) leaves no file behind.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
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
        let mut n = part.len().min(RECORD_MAX - at);
        // Cut at a character boundary, so that the record stays UTF-8
        // (slugs are ASCII; an entry point's name may not be).
        while n < part.len() && n > 0 && (part[n] & 0xC0) == 0x80 {
            n -= 1;
        }
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
    let out: Vec<InFlight> = bytes
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
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn records_of_dead_processes_are_found_and_live_journals_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (live, left) = Journal::open(dir.path()).unwrap();
        assert!(left.is_empty());
        let live = Arc::new(live);
        let mut done = live.slot().unwrap();
        drop(done.enter("calm", "its route GET /ok"));
        let mut crashed = live.slot().unwrap();
        // Inside a call: the record stays until the call returns.
        let _entered = crashed.enter("boom", "its route GET /segfault");
        // What a process that died inside that call leaves: its file, with
        // nobody holding its lock.
        let dead = dir.path().join("in-flight-4000000-0.journal");
        std::fs::copy(live.path(), &dead).unwrap();

        let (second, left) = Journal::open(dir.path()).unwrap();
        assert_eq!(
            left,
            vec![InFlight {
                slug: "boom".into(),
                what: "its route GET /segfault".into()
            }],
            "the dead file's record, once; the live journal is not read"
        );
        assert!(!dead.exists(), "the dead file is removed");
        assert!(live.path().exists(), "the live one is kept");
        let second_path = second.path().to_path_buf();
        drop(second);
        assert!(
            !second_path.exists(),
            "a journal that ends normally is removed"
        );
    }

    #[test]
    fn a_long_record_is_cut_to_its_slot_at_a_character_boundary() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Arc::new(Journal::open(dir.path()).unwrap().0);
        let mut slot = journal.slot().unwrap();
        let long = format!("its route GET /{}", "é".repeat(400));
        let _entered = slot.enter("p", &long);
        let left = parse(&std::fs::read(journal.path()).unwrap());
        assert_eq!(left.len(), 1);
        assert!(left[0].what.starts_with("its route GET /é"));
        assert!(left[0].what.len() >= RECORD_MAX - 3);
    }
}
