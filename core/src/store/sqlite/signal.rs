//! `store.rev`: how a process learns, without a database transaction, that another one changed
//! state every check must see (agents, revocations, resources, keys).
//!
//! After committing such a change, a process writes the change's generation (8 bytes,
//! little-endian) to `store.rev`. Generations are unique and only grow, and each is written
//! once, so once a reader has seen the file hold some value, every later change makes it hold
//! another. A reader therefore asks the database (`PRAGMA data_version` and the generation,
//! a read transaction with its file locks: most of a check's system time) only when the file
//! changed since its last look, when this process changed state itself, and at least every
//! [`RECHECK_EVERY`]: a writer that died between its commit and its write to the file, or a
//! program changing `store.db` without this code, is noticed within that time.
//!
//! A change made by another process is thus seen by every check that starts after that
//! process's call returned. When the file cannot be opened or read, every check asks the
//! database, as before.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorCode, Result};
use crate::store::folder::{self, Kind};

/// The signal file in the runtime folder.
pub const SIGNAL_FILE: &str = "store.rev";

/// The longest a reader trusts an unchanged signal file without asking the database.
pub const RECHECK_EVERY: Duration = Duration::from_millis(100);

/// The generation, then its complement: a read that saw half of a write does not match.
const RECORD_LEN: usize = 16;

/// Opens the signal file without following a link, and checks what was opened (see
/// [`crate::store::folder`]): a planted link must not make a write land outside the folder.
fn open_file(path: &Path, write: bool) -> Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(write).create(write).truncate(false).mode(0o600);
    folder::open(path, &mut options, Kind::Shared, ErrorCode::StoreUnavailable).map_err(Error::from)
}

/// The signal file of one store: read through a handle kept open, written by path.
#[derive(Debug)]
pub(super) struct ChangeSignal {
    path: PathBuf,
    file: Mutex<Option<File>>,
}

impl ChangeSignal {
    /// Opens (creating, owner-only) the signal file in `dir`: a folder whose signal file
    /// cannot be used is refused, as one whose database cannot be.
    pub(super) fn open(dir: &Path) -> Result<Self> {
        let path = dir.join(SIGNAL_FILE);
        let file = open_file(&path, true)?;
        Ok(Self { path, file: Mutex::new(Some(file)) })
    }

    /// The generation last announced (0 if none yet), or `None` when it cannot be read
    /// (the caller then asks the database).
    pub(super) fn read(&self) -> Option<u64> {
        let guard = self.file.lock().ok()?;
        let file = guard.as_ref()?;
        let mut buf = [0u8; RECORD_LEN];
        match file.read_at(&mut buf, 0) {
            Ok(0) => Some(0),
            Ok(RECORD_LEN) => {
                let (gen, check) = buf.split_at(8);
                let gen = u64::from_le_bytes(gen.try_into().ok()?);
                let check = u64::from_le_bytes(check.try_into().ok()?);
                (check == !gen).then_some(gen)
            }
            // Short (a write in progress, a file cut by hand): ask the database.
            _ => None,
        }
    }

    /// Opens the file again by its path, so that a reader follows a file that was replaced
    /// (deleted and created again); without one, [`Self::read`] answers `None`.
    pub(super) fn reopen(&self) {
        if let Ok(mut guard) = self.file.lock() {
            *guard = open_file(&self.path, false).ok();
        }
    }

    /// Announces that `generation` was committed, to the file now at the path. A failure
    /// (the folder became unwritable) only delays other processes until their next
    /// database check, at most [`RECHECK_EVERY`]: the change itself is committed.
    pub(super) fn announce(&self, generation: u64) {
        let mut record = [0u8; RECORD_LEN];
        record[..8].copy_from_slice(&generation.to_le_bytes());
        record[8..].copy_from_slice(&(!generation).to_le_bytes());
        if let Ok(file) = open_file(&self.path, true) {
            let _ = file.write_all_at(&record, 0);
        }
    }
}

/// What a store last learnt from the database, and when.
#[derive(Debug, Clone, Copy)]
pub(super) struct Seen {
    /// `PRAGMA data_version` at the last database check.
    pub(super) data_version: i64,
    /// The generation read then.
    pub(super) generation: u64,
    /// The signal file's value read just before that check.
    pub(super) signal: Option<u64>,
    /// When that check ran.
    pub(super) checked: Option<Instant>,
}

impl Seen {
    pub(super) fn never() -> Self {
        Self { data_version: -1, generation: 0, signal: None, checked: None }
    }

    /// Whether the generation known can be answered without the database, given the signal
    /// file's value now.
    pub(super) fn still_current(&self, signal: Option<u64>, now: Instant) -> bool {
        signal.is_some()
            && signal == self.signal
            && self.checked.is_some_and(|at| now.saturating_duration_since(at) < RECHECK_EVERY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_announced_generation_is_read_back_and_a_bad_record_reads_none() {
        let dir = tempfile::tempdir().unwrap();
        let a = ChangeSignal::open(dir.path()).unwrap();
        let b = ChangeSignal::open(dir.path()).unwrap();
        assert_eq!(b.read(), Some(0));
        a.announce(41);
        assert_eq!(b.read(), Some(41));
        // Half of a record, or one whose check does not match: unknown.
        let path = dir.path().join(SIGNAL_FILE);
        std::fs::write(&path, 42u64.to_le_bytes()).unwrap();
        assert_eq!(b.read(), None);
        std::fs::write(&path, [42u64.to_le_bytes(), 42u64.to_le_bytes()].concat()).unwrap();
        assert_eq!(b.read(), None);
        // A replaced file: the writer writes the new one, the reader follows it on reopen.
        std::fs::remove_file(&path).unwrap();
        a.announce(43);
        assert_eq!(b.read(), None, "the old, unlinked file holds the bad record");
        b.reopen();
        assert_eq!(b.read(), Some(43));
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        b.reopen();
        assert_eq!(b.read(), None);
        assert_eq!(ChangeSignal::open(dir.path()).unwrap_err().code(), ErrorCode::StoreUnavailable);
    }

    #[test]
    fn an_unchanged_signal_is_trusted_only_for_a_while() {
        let t = Instant::now();
        let seen = Seen { data_version: 1, generation: 7, signal: Some(7), checked: Some(t) };
        assert!(seen.still_current(Some(7), t));
        assert!(!seen.still_current(Some(8), t));
        assert!(!seen.still_current(None, t));
        assert!(!seen.still_current(Some(7), t + RECHECK_EVERY));
        assert!(!Seen::never().still_current(Some(0), t));
    }
}
