//! The appender. Callers serialise their events in parallel and queue them; one caller at a
//! time (the leader) takes the whole queue, takes the file lock, catches up with what other
//! processes appended, chains and writes the batch, and syncs once for everyone in it (group
//! commit). `buffered` logs return at once and a background thread flushes every 50 ms.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::{Error, ErrorCode, Result};
use crate::keys::PrivateKey;
use crate::store::Store;

use super::checkpoint::{self, StoredCheckpoint, DEFAULT_CHECKPOINT_EVERY};
use super::event::{AuditEvent, EventType, GENESIS, MAX_LINE_BYTES};
use super::line::Prepared;
use super::sink::{Held, Sink};

/// How often a `buffered` log is flushed (well inside the promised 100 ms).
const FLUSH_INTERVAL: Duration = Duration::from_millis(50);
/// A `buffered` log wakes its flusher when this many events are queued, and writes in the
/// appending thread when four times as many are.
const FLUSH_AT: usize = 1024;
/// How long a new `sync` leader waits for appenders already on their way to the queue.
const GATHER_WAIT: Duration = Duration::from_micros(500);
/// ... as long as each slice of this length brings one more.
const GATHER_SLICE: Duration = Duration::from_micros(60);
/// A `buffered` log that cannot write refuses new events beyond this many queued.
const MAX_QUEUED: usize = 100_000;

/// When an appended event is on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Durability {
    /// On disk (fsync) before `append` returns, so before the guarded action runs.
    /// Concurrent appenders share one fsync.
    #[default]
    Sync,
    /// Written within 100 ms and at close; a crash may lose the last 100 ms.
    Buffered,
}

impl Durability {
    /// Parses `sync` or `buffered`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "sync" => Ok(Durability::Sync),
            "buffered" => Ok(Durability::Buffered),
            other => Err(crate::err!(
                InvalidArgument,
                "durability `{}` is not `sync` or `buffered`",
                crate::principal::preview(other)
            )),
        }
    }
}

/// How the audit log behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditOptions {
    /// When appended events are on disk.
    pub durability: Durability,
    /// A signed checkpoint every this many events (and at close); 0 only at close.
    pub checkpoint_every: u64,
    /// Argument names whose values are written to the log; all others appear only in
    /// `args_digest`.
    pub record_args: Vec<String>,
}

impl Default for AuditOptions {
    fn default() -> Self {
        Self { durability: Durability::Sync, checkpoint_every: DEFAULT_CHECKPOINT_EVERY, record_args: Vec::new() }
    }
}

/// Counts a thread inside `append` for as long as it is there.
struct Inside<'a>(&'a AtomicUsize);

impl<'a> Inside<'a> {
    fn enter(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, Ordering::AcqRel);
        Self(n)
    }
}

impl Drop for Inside<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

type Slot = Arc<OnceLock<std::result::Result<(), (ErrorCode, String)>>>;

#[derive(Default)]
struct Queue {
    items: Vec<(Prepared, Option<Slot>)>,
    leader: bool,
    /// A new leader is waiting for appenders already inside `append`.
    gathering: bool,
    /// The error of a failed `buffered` write, returned until a write succeeds.
    deferred: Option<(ErrorCode, String)>,
    closed: bool,
}

/// What this process knows of the log's end.
#[derive(Debug, Clone)]
struct Head {
    seq: u64,
    hash: String,
    len: u64,
    /// `len`/`seq`/`hash` match the file as last seen.
    known: bool,
    last_is_checkpoint: bool,
    /// This process appended events not yet covered by a checkpoint.
    dirty: bool,
}

pub(super) struct Shared {
    pub(super) sink: Sink,
    pub(super) store: Arc<dyn Store>,
    pub(super) issuer: String,
    clock: Arc<dyn Clock>,
    pub(super) options: AuditOptions,
    queue: Mutex<Queue>,
    wake: Condvar,
    /// Appenders inside `append` (preparing, queued or waiting).
    inside: AtomicUsize,
    gathered: Condvar,
    head: Mutex<Head>,
    stop: Mutex<bool>,
    flusher_wake: Condvar,
}

/// The tamper-evident audit log of one runtime folder (or of an in-memory runtime).
pub struct AuditLog {
    pub(super) shared: Arc<Shared>,
    flusher: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.shared.sink.path())
            .field("durability", &self.shared.options.durability)
            .finish()
    }
}

fn poisoned() -> Error {
    Error::new(ErrorCode::InternalError, "audit log lock is poisoned")
}

impl AuditLog {
    pub(crate) fn new(
        sink: Sink,
        store: Arc<dyn Store>,
        issuer: String,
        clock: Arc<dyn Clock>,
        options: AuditOptions,
    ) -> Result<Self> {
        let buffered = options.durability == Durability::Buffered;
        let shared = Arc::new(Shared {
            sink,
            store,
            issuer,
            clock,
            options,
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            inside: AtomicUsize::new(0),
            gathered: Condvar::new(),
            head: Mutex::new(Head {
                seq: 0,
                hash: GENESIS.to_owned(),
                len: 0,
                known: false,
                last_is_checkpoint: false,
                dirty: false,
            }),
            stop: Mutex::new(false),
            flusher_wake: Condvar::new(),
        });
        // Catch up with the file now: a torn line left by a crash is set aside at open.
        shared.write_lines(&[], true, false)?;
        let flusher = if buffered {
            let s = Arc::clone(&shared);
            let handle = std::thread::Builder::new()
                .name("rid-audit-flush".into())
                .spawn(move || s.flush_loop())
                .map_err(|e| Error::new(ErrorCode::InternalError, format!("cannot start the audit flusher: {e}")))?;
            Some(handle)
        } else {
            None
        };
        Ok(Self { shared, flusher: Mutex::new(flusher) })
    }

    /// The log file, if the log is not in memory.
    pub fn path(&self) -> Option<&std::path::Path> {
        self.shared.sink.path()
    }

    /// The options the log was opened with.
    pub fn options(&self) -> &AuditOptions {
        &self.shared.options
    }

    /// Appends one event (its `seq`, `prev` and `hash` are assigned here). In `sync` mode it
    /// is on disk when this returns.
    pub fn append(&self, event: &AuditEvent) -> Result<()> {
        let s = &self.shared;
        let _inside = Inside::enter(&s.inside);
        let prepared = Prepared::new(event)?;
        let mut q = s.queue.lock().map_err(|_| poisoned())?;
        if q.closed {
            return Err(Error::new(ErrorCode::AuditUnavailable, "the audit log is closed"));
        }
        match s.options.durability {
            Durability::Buffered => {
                if q.items.len() >= MAX_QUEUED {
                    let (code, msg) = q.deferred.clone().unwrap_or((ErrorCode::AuditUnavailable, String::new()));
                    return Err(Error::new(code, format!("the audit log is not being written: {msg}")));
                }
                q.items.push((prepared, None));
                let failed = q.deferred.clone();
                let queued = q.items.len();
                if queued >= 4 * FLUSH_AT && !q.leader {
                    // The flusher is not keeping up: write here (back-pressure).
                    s.lead(q, false, false).map_err(|(c, m)| Error::new(c, m))?;
                } else if let Some((code, msg)) = failed {
                    // Fail closed: the caller must not act while events are not reaching disk.
                    return Err(Error::new(code, msg));
                } else if queued == FLUSH_AT {
                    // Enough for a batch: the flusher writes it on the other core.
                    drop(q);
                    s.flusher_wake.notify_all();
                }
                Ok(())
            }
            Durability::Sync => {
                let slot: Slot = Arc::new(OnceLock::new());
                q.items.push((prepared, Some(Arc::clone(&slot))));
                // The gathering leader wakes once everyone inside has arrived (or each slice,
                // to see whether anyone still is on the way): not once per arrival, which on
                // a busy machine costs more than the fsync it saves.
                if q.gathering && q.items.len() >= s.inside.load(Ordering::Acquire) {
                    s.gathered.notify_one();
                }
                loop {
                    if let Some(res) = slot.get() {
                        return res.clone().map_err(|(c, m)| Error::new(c, m));
                    }
                    if !q.leader {
                        // Appenders still on their way to the queue (the last batch's, woken
                        // just now) join this batch if they arrive within GATHER_WAIT: one
                        // fsync for all of them instead of one for the first and one for the rest.
                        q.leader = true;
                        q.gathering = true;
                        let deadline = Instant::now() + GATHER_WAIT;
                        while q.items.len() < s.inside.load(Ordering::Acquire) && Instant::now() < deadline {
                            let before = q.items.len();
                            q = s.gathered.wait_timeout(q, GATHER_SLICE).map_err(|_| poisoned())?.0;
                            if q.items.len() == before {
                                break;
                            }
                        }
                        q.gathering = false;
                        // Our own outcome is in the slot; a batch error reached every slot.
                        let _ = s.lead(q, true, false);
                        q = s.queue.lock().map_err(|_| poisoned())?;
                        continue;
                    }
                    q = s.wake.wait(q).map_err(|_| poisoned())?;
                }
            }
        }
    }

    /// Writes everything queued and syncs it.
    pub fn flush(&self) -> Result<()> {
        self.shared.flush(true, false)
    }

    /// Flushes, writes a closing checkpoint if this process appended since the last one, and
    /// stops accepting events. Dropping the log does the same and ignores errors.
    pub fn close(&self) -> Result<()> {
        if let Ok(mut stop) = self.shared.stop.lock() {
            *stop = true;
        }
        self.shared.flusher_wake.notify_all();
        if let Some(handle) = self.flusher.lock().map_err(|_| poisoned())?.take() {
            let _ = handle.join();
        }
        let already = {
            let mut q = self.shared.queue.lock().map_err(|_| poisoned())?;
            std::mem::replace(&mut q.closed, true)
        };
        if already {
            return Ok(());
        }
        self.shared.flush(true, true)
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

impl Shared {
    fn flush_loop(&self) {
        loop {
            let backlog = self.queue.lock().map(|q| q.items.len() >= FLUSH_AT).unwrap_or(false);
            {
                let Ok(stop) = self.stop.lock() else { return };
                if *stop {
                    return;
                }
                if !backlog {
                    let Ok((stop, _)) = self.flusher_wake.wait_timeout(stop, FLUSH_INTERVAL) else { return };
                    if *stop {
                        return;
                    }
                }
            }
            // A failure is kept in `deferred` and returned to the next appender.
            let _ = self.flush(false, false);
        }
    }

    /// Waits for any running leader, then leads a write of whatever is queued.
    fn flush(&self, durable: bool, close: bool) -> Result<()> {
        let mut q = self.queue.lock().map_err(|_| poisoned())?;
        while q.leader {
            q = self.wake.wait(q).map_err(|_| poisoned())?;
        }
        if q.items.is_empty() && !durable && !close {
            return Ok(());
        }
        self.lead(q, durable, close).map_err(|(c, m)| Error::new(c, m))
    }

    /// Becomes the leader: writes the queue as one batch, hands every waiting appender its
    /// result, and wakes them.
    fn lead(
        &self,
        mut q: MutexGuard<'_, Queue>,
        durable: bool,
        close: bool,
    ) -> std::result::Result<(), (ErrorCode, String)> {
        q.leader = true;
        let items = std::mem::take(&mut q.items);
        drop(q);
        let (prepared, slots): (Vec<Prepared>, Vec<Option<Slot>>) = items.into_iter().unzip();
        let buffered = slots.iter().all(Option::is_none);
        let res = self.write_batch(prepared, durable, close);
        let outcome = res.as_ref().map(|_| ()).map_err(|(e, _)| (e.code(), e.message().to_owned()));
        for slot in slots.iter().flatten() {
            let _ = slot.set(outcome.clone());
        }
        let mut q = match self.queue.lock() {
            Ok(q) => q,
            Err(p) => p.into_inner(),
        };
        match res {
            Ok(()) => q.deferred = None,
            Err((_, unwritten)) if buffered => {
                // Nothing is lost: the batch goes back to the front of the queue.
                let mut back: Vec<(Prepared, Option<Slot>)> = unwritten.into_iter().map(|p| (p, None)).collect();
                back.append(&mut q.items);
                q.items = back;
                q.deferred = outcome.clone().err();
            }
            Err(_) => {}
        }
        q.leader = false;
        drop(q);
        self.wake.notify_all();
        outcome
    }

    fn write_batch(
        &self,
        batch: Vec<Prepared>,
        durable: bool,
        close: bool,
    ) -> std::result::Result<(), (Error, Vec<Prepared>)> {
        match self.write_lines(&batch, durable, close) {
            Ok(()) => Ok(()),
            Err(e) => Err((e, batch)),
        }
    }

    fn write_lines(&self, batch: &[Prepared], durable: bool, close: bool) -> Result<()> {
        let mut head = self.head.lock().map_err(|_| poisoned())?;
        let mut held = self.sink.lock()?;
        let torn = self.refresh(&mut head, &mut held)?;
        let mut next = head.clone();
        let mut out = String::new();
        let mut checkpoints = Vec::new();
        if let Some((file, bytes)) = torn {
            let mut ev = AuditEvent::new(EventType::TornLine, self.clock.now_ms());
            ev.file = Some(file);
            ev.bytes = Some(bytes);
            ev.message = Some("an incomplete last line (a crash during a write) was set aside".to_owned());
            self.push(&mut next, &Prepared::new(&ev)?, &mut out, &mut checkpoints)?;
        }
        for p in batch {
            self.push(&mut next, p, &mut out, &mut checkpoints)?;
        }
        if close && next.dirty && !next.last_is_checkpoint {
            self.push_checkpoint(&mut next, &mut out, &mut checkpoints)?;
        }
        if out.is_empty() {
            return Ok(());
        }
        if let Err(e) = held.append(out.as_bytes(), head.len) {
            head.known = false;
            return Err(e);
        }
        next.len = head.len + out.len() as u64;
        let must_sync = durable || !checkpoints.is_empty();
        if must_sync {
            if let Err(e) = held.sync() {
                head.known = false;
                return Err(e);
            }
        }
        *head = next;
        drop(held);
        drop(head);
        // Only after the checkpoint is durable in the log may the store point at it.
        for cp in &checkpoints {
            self.store.save_audit_checkpoint(cp)?;
        }
        Ok(())
    }

    fn push(
        &self,
        next: &mut Head,
        prepared: &Prepared,
        out: &mut String,
        checkpoints: &mut Vec<StoredCheckpoint>,
    ) -> Result<()> {
        let every = self.options.checkpoint_every;
        if every > 0 && (next.seq + 1).is_multiple_of(every) {
            self.push_checkpoint(next, out, checkpoints)?;
        }
        next.hash = prepared.write_line(next.seq + 1, &next.hash, out);
        next.seq += 1;
        next.last_is_checkpoint = false;
        next.dirty = true;
        Ok(())
    }

    fn push_checkpoint(
        &self,
        next: &mut Head,
        out: &mut String,
        checkpoints: &mut Vec<StoredCheckpoint>,
    ) -> Result<()> {
        let seq = next.seq + 1;
        let key = self.signing_key()?;
        let mut ev = AuditEvent::new(EventType::Checkpoint, self.clock.now_ms());
        ev.checkpoint = Some(checkpoint::sign(&key, &self.issuer, seq, &next.hash)?);
        next.hash = Prepared::new(&ev)?.write_line(seq, &next.hash, out);
        next.seq = seq;
        next.last_is_checkpoint = true;
        next.dirty = false;
        checkpoints.push(StoredCheckpoint { seq, hash: next.hash.clone() });
        Ok(())
    }

    fn signing_key(&self) -> Result<Arc<PrivateKey>> {
        let keys = self.store.authority_keys()?;
        let kid = keys
            .iter()
            .rev()
            .find(|k| k.retired_at.is_none())
            .map(|k| k.kid.clone())
            .ok_or_else(|| Error::new(ErrorCode::KeyInvalid, "the authority has no signing key for checkpoints"))?;
        self.store.authority_private_key(&kid)?.ok_or_else(|| {
            Error::new(ErrorCode::StoreCorrupt, format!("the private half of authority key `{kid}` is missing"))
        })
    }

    /// Catches `head` up with the file (other processes may have appended). A last line
    /// without its newline can only be left by a crash (appends are whole lines under the
    /// lock): it is set aside and reported. Returns the file it went to and its size.
    fn refresh(&self, head: &mut Head, held: &mut Held<'_>) -> Result<Option<(String, u64)>> {
        let len = held.len()?;
        if head.known && len == head.len {
            return Ok(None);
        }
        let (keep, last) = last_whole_line(held, len)?;
        let torn = if keep < len {
            let file = held.set_aside(keep, len, self.clock.now_ms())?;
            Some((file, len - keep))
        } else {
            None
        };
        match last {
            None => {
                head.seq = 0;
                head.hash = GENESIS.to_owned();
                head.last_is_checkpoint = false;
            }
            Some(line) => {
                let (seq, hash, kind) = read_head(&line).ok_or_else(|| {
                    Error::new(
                        ErrorCode::AuditCorrupt,
                        "the last line of the audit log is not a valid event; run `rid audit verify`",
                    )
                })?;
                head.seq = seq;
                head.hash = hash;
                head.last_is_checkpoint = kind == EventType::Checkpoint.as_str();
            }
        }
        head.len = keep;
        head.known = true;
        Ok(torn)
    }
}

/// The `seq`, `hash` and `type` of a line, if it looks like an event.
fn read_head(line: &[u8]) -> Option<(u64, String, String)> {
    #[derive(Deserialize)]
    struct H {
        seq: u64,
        hash: String,
        #[serde(rename = "type")]
        kind: String,
    }
    let h: H = serde_json::from_slice(line).ok()?;
    let hex = h.hash.len() == 64 && h.hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    hex.then_some((h.seq, h.hash, h.kind))
}

/// Where the whole lines end (just after the last newline) and the last whole line.
fn last_whole_line(held: &Held<'_>, len: u64) -> Result<(u64, Option<Vec<u8>>)> {
    let mut window: u64 = 64 * 1024;
    loop {
        let start = len.saturating_sub(window);
        let buf = held.read_range(start, len)?;
        if let Some(i) = buf.iter().rposition(|&b| b == b'\n') {
            let keep = start + i as u64 + 1;
            let before = buf.get(..i).unwrap_or_default();
            match before.iter().rposition(|&b| b == b'\n') {
                Some(j) => return Ok((keep, Some(before.get(j + 1..).unwrap_or_default().to_vec()))),
                None if start == 0 => return Ok((keep, Some(before.to_vec()))),
                None => {}
            }
        } else if start == 0 {
            return Ok((0, None));
        }
        if window > 2 * MAX_LINE_BYTES as u64 {
            return Err(Error::new(
                ErrorCode::AuditCorrupt,
                format!("the end of the audit log has no line break in {window} bytes"),
            ));
        }
        window *= 2;
    }
}
