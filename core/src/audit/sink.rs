//! Where the lines go: `audit.jsonl` in the runtime folder (shared by processes through an
//! exclusive file lock) or a buffer in memory. Both hold the same bytes.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Cursor, Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::error::{Error, ErrorCode, Result};

/// The log file's name in the runtime folder.
pub const LOG_FILE: &str = "audit.jsonl";

fn io_err(what: &str, path: &Path, e: &std::io::Error) -> Error {
    Error::new(ErrorCode::AuditUnavailable, format!("cannot {what} `{}`: {e}", path.display()))
}

/// The log's storage.
#[derive(Debug)]
pub(crate) enum Sink {
    File { path: PathBuf, file: File },
    Memory(Mutex<MemoryLog>),
}

/// The in-memory log: fixed-size chunks, so that growing never copies what is written.
#[derive(Debug, Default)]
pub(crate) struct MemoryLog {
    chunks: Vec<Vec<u8>>,
    len: usize,
}

const CHUNK: usize = 1 << 20;

impl MemoryLog {
    fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn append(&mut self, mut bytes: &[u8]) {
        self.len += bytes.len();
        while !bytes.is_empty() {
            match self.chunks.last_mut() {
                Some(last) if last.len() < CHUNK => {
                    let n = (CHUNK - last.len()).min(bytes.len());
                    let (head, rest) = bytes.split_at(n);
                    last.extend_from_slice(head);
                    bytes = rest;
                }
                _ => self.chunks.push(Vec::with_capacity(CHUNK)),
            }
        }
    }

    fn range(&self, start: usize, end: usize) -> Vec<u8> {
        let end = end.min(self.len);
        let mut out = Vec::with_capacity(end.saturating_sub(start));
        let mut at = 0;
        for c in &self.chunks {
            let (from, to) = (start.max(at), end.min(at + c.len()));
            if from < to {
                out.extend_from_slice(c.get(from - at..to - at).unwrap_or_default());
            }
            at += c.len();
        }
        out
    }

    fn truncate(&mut self, len: usize) {
        let mut at = 0;
        for c in &mut self.chunks {
            let was = c.len();
            c.truncate(len.saturating_sub(at));
            at += was;
        }
        self.chunks.retain(|c| !c.is_empty());
        self.len = self.chunks.iter().map(Vec::len).sum();
    }
}

/// Held while this process may append: the file lock (released on drop).
pub(crate) struct Held<'a> {
    sink: &'a Sink,
    memory: Option<MutexGuard<'a, MemoryLog>>,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if let Sink::File { file, .. } = self.sink {
            // Closing the descriptor would release it too; an unlock error leaves nothing to do.
            let _ = file.unlock();
        }
    }
}

impl Sink {
    pub(crate) fn open_file(path: &Path) -> Result<Self> {
        // Without following a link, and only a regular file of this user with one name that
        // nobody else can write (`crate::store::folder`): a planted link must not make the
        // log land outside the folder.
        let mut options = OpenOptions::new();
        options.read(true).append(true).create(true).mode(0o600);
        let file = crate::store::folder::open(
            path,
            &mut options,
            crate::store::folder::Kind::Shared,
            ErrorCode::AuditUnavailable,
        )
        .map_err(Error::from)?;
        Ok(Sink::File { path: path.to_path_buf(), file })
    }

    pub(crate) fn memory() -> Self {
        Sink::Memory(Mutex::new(MemoryLog::default()))
    }

    /// The file, if the log is one.
    pub(crate) fn path(&self) -> Option<&Path> {
        match self {
            Sink::File { path, .. } => Some(path),
            Sink::Memory(_) => None,
        }
    }

    /// Takes the exclusive lock (blocking) that every appending process honours.
    pub(crate) fn lock(&self) -> Result<Held<'_>> {
        match self {
            Sink::File { path, file } => {
                file.lock().map_err(|e| io_err("lock the audit log", path, &e))?;
                Ok(Held { sink: self, memory: None })
            }
            Sink::Memory(m) => Ok(Held {
                sink: self,
                memory: Some(m.lock().map_err(|_| Error::new(ErrorCode::InternalError, "audit buffer poisoned"))?),
            }),
        }
    }

    /// A consistent length to read up to: taken under a shared lock, so no append is half done.
    pub(crate) fn settled_len(&self) -> Result<u64> {
        match self {
            Sink::File { path, file } => {
                file.lock_shared().map_err(|e| io_err("lock the audit log", path, &e))?;
                let len = file.metadata().map(|m| m.len());
                let _ = file.unlock();
                len.map_err(|e| io_err("read", path, &e))
            }
            Sink::Memory(m) => Ok(m.lock().map(|b| b.len() as u64).unwrap_or(0)),
        }
    }

    /// Reads the log's first `len` bytes as lines.
    pub(crate) fn reader(&self, len: u64) -> Result<Box<dyn BufRead + Send>> {
        match self {
            Sink::File { path, .. } => {
                let f = File::open(path).map_err(|e| io_err("open", path, &e))?;
                Ok(Box::new(BufReader::with_capacity(256 * 1024, f.take(len))))
            }
            Sink::Memory(m) => {
                let end = usize::try_from(len).unwrap_or(usize::MAX);
                let bytes = m.lock().map(|b| b.range(0, end)).unwrap_or_default();
                Ok(Box::new(Cursor::new(bytes)))
            }
        }
    }
}

impl Held<'_> {
    pub(crate) fn len(&self) -> Result<u64> {
        match (self.sink, &self.memory) {
            (Sink::File { path, file }, _) => file.metadata().map(|m| m.len()).map_err(|e| io_err("read", path, &e)),
            (Sink::Memory(_), Some(buf)) => Ok(buf.len() as u64),
            (Sink::Memory(_), None) => Ok(0),
        }
    }

    /// Bytes `[start, end)`.
    pub(crate) fn read_range(&self, start: u64, end: u64) -> Result<Vec<u8>> {
        let n = usize::try_from(end.saturating_sub(start))
            .map_err(|_| Error::new(ErrorCode::AuditCorrupt, "audit log range too large"))?;
        match (self.sink, &self.memory) {
            (Sink::File { path, file }, _) => {
                let mut out = vec![0u8; n];
                file.read_exact_at(&mut out, start).map_err(|e| io_err("read", path, &e))?;
                Ok(out)
            }
            (Sink::Memory(_), Some(buf)) => {
                let s = usize::try_from(start).unwrap_or(usize::MAX);
                Ok(buf.range(s, s.saturating_add(n)))
            }
            (Sink::Memory(_), None) => Ok(Vec::new()),
        }
    }

    /// Appends whole lines; on failure cuts the file back to `restore_len` so that no partial
    /// line stays behind.
    pub(crate) fn append(&mut self, bytes: &[u8], restore_len: u64) -> Result<()> {
        match (self.sink, &mut self.memory) {
            (Sink::File { path, file }, _) => {
                let mut f = file;
                if let Err(e) = f.write_all(bytes) {
                    let _ = file.set_len(restore_len);
                    return Err(io_err("append to", path, &e));
                }
                Ok(())
            }
            (Sink::Memory(_), Some(buf)) => {
                buf.append(bytes);
                Ok(())
            }
            (Sink::Memory(_), None) => Ok(()),
        }
    }

    /// Makes every appended byte durable (fdatasync).
    pub(crate) fn sync(&self) -> Result<()> {
        match self.sink {
            Sink::File { path, file } => file.sync_data().map_err(|e| io_err("sync", path, &e)),
            Sink::Memory(_) => Ok(()),
        }
    }

    /// Moves the bytes after `keep` (a torn line) to `audit.jsonl.torn-<now_ms>` and cuts the
    /// log back to `keep`. Returns the file it wrote.
    pub(crate) fn set_aside(&mut self, keep: u64, len: u64, now_ms: i64) -> Result<String> {
        let torn = self.read_range(keep, len)?;
        match (self.sink, &mut self.memory) {
            (Sink::File { path, file }, _) => {
                let dir = path.parent().unwrap_or_else(|| Path::new("."));
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or(LOG_FILE);
                let mut n = 0u32;
                let (aside_path, mut aside) = loop {
                    let candidate = if n == 0 {
                        dir.join(format!("{name}.torn-{now_ms}"))
                    } else {
                        dir.join(format!("{name}.torn-{now_ms}-{n}"))
                    };
                    match OpenOptions::new().write(true).create_new(true).mode(0o600).open(&candidate) {
                        Ok(f) => break (candidate, f),
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
                        Err(e) => return Err(io_err("create", &candidate, &e)),
                    }
                };
                aside.write_all(&torn).map_err(|e| io_err("write", &aside_path, &e))?;
                aside.sync_all().map_err(|e| io_err("sync", &aside_path, &e))?;
                file.set_len(keep).map_err(|e| io_err("truncate", path, &e))?;
                file.sync_all().map_err(|e| io_err("sync", path, &e))?;
                Ok(aside_path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned())
            }
            (Sink::Memory(_), Some(buf)) => {
                buf.truncate(usize::try_from(keep).unwrap_or(usize::MAX));
                Ok("memory".to_owned())
            }
            (Sink::Memory(_), None) => Ok(String::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn memory_log_reads_and_cuts_across_chunks() {
        let mut m = MemoryLog::default();
        let data: Vec<u8> = (0..(CHUNK * 2 + 100)).map(|i| (i % 251) as u8).collect();
        for piece in data.chunks(777) {
            m.append(piece);
        }
        assert_eq!(m.len(), data.len());
        assert_eq!(m.range(0, data.len()), data);
        assert_eq!(m.range(CHUNK - 5, CHUNK + 5), data[CHUNK - 5..CHUNK + 5].to_vec());
        m.truncate(CHUNK + 3);
        assert_eq!(m.len(), CHUNK + 3);
        m.append(b"xyz");
        let mut want = data[..CHUNK + 3].to_vec();
        want.extend_from_slice(b"xyz");
        assert_eq!(m.range(0, usize::MAX), want);
    }
}
