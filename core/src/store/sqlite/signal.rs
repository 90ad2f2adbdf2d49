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
use std::path::Path;
use std::time::{Duration, Instant};

/// The signal file in the runtime folder.
pub const SIGNAL_FILE: &str = "store.rev";

/// The longest a reader trusts an unchanged signal file without asking the database.
pub const RECHECK_EVERY: Duration = Duration::from_millis(100);

/// The signal file of one store.
#[derive(Debug)]
pub(super) struct ChangeSignal(Option<File>);

impl ChangeSignal {
    /// Opens (creating, owner-only) the signal file in `dir`; without it, [`Self::read`]
    /// always answers `None`.
    pub(super) fn open(dir: &Path) -> Self {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(dir.join(SIGNAL_FILE));
        Self(file.ok())
    }

    /// The generation last announced (0 if none yet), or `None` when the file cannot be read.
    pub(super) fn read(&self) -> Option<u64> {
        let file = self.0.as_ref()?;
        let mut buf = [0u8; 8];
        match file.read_at(&mut buf, 0) {
            Ok(8) => Some(u64::from_le_bytes(buf)),
            Ok(0) => Some(0),
            // A short read (a file cut by hand): the caller asks the database.
            _ => None,
        }
    }

    /// Announces that `generation` was committed. Best effort: a failure only delays other
    /// processes until their next database check.
    pub(super) fn announce(&self, generation: u64) {
        if let Some(file) = &self.0 {
            let _ = file.write_at(&generation.to_le_bytes(), 0);
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
    fn an_announced_generation_is_read_back_and_a_missing_file_reads_none() {
        let dir = tempfile::tempdir().unwrap();
        let a = ChangeSignal::open(dir.path());
        let b = ChangeSignal::open(dir.path());
        assert_eq!(b.read(), Some(0));
        a.announce(41);
        assert_eq!(b.read(), Some(41));
        assert_eq!(ChangeSignal::open(&dir.path().join("missing")).read(), None);
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
