//! The appender. Callers serialise their events in parallel and queue them; one caller at a
//! time (the leader) takes the whole queue, takes the file lock, catches up with what other
//! processes appended, chains and writes the batch, and syncs once for everyone in it (group
//! commit). `buffered` logs return at once and a background thread flushes every 50 ms.
//!
//! Before every write the leader holds the log's end to what it knows: never shorter than this
//! process left it, its last line intact, and (for the file log) where the store's running
//! anchor says it ends — the anchor of the write is saved before the bytes go out. A torn last
//! line is kept byte for byte in a side file, its SHA-256 in an `audit.torn_line` event.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::{Error, ErrorCode, Result};
use crate::keys::PrivateKey;
use crate::store::{AuditAnchor, Store, StoredCheckpoint};

use super::checkpoint::{self, DEFAULT_CHECKPOINT_EVERY, DEFAULT_CHECKPOINT_SECONDS};
use super::event::{AuditEvent, EventType, GENESIS};
use super::line::{sha256_hex, Prepared};
use super::sink::{Held, Sink};
use super::tail::{self, End};

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
/// How often a `sync` log looks whether a checkpoint is due by time.
const CHECKPOINT_TICK: Duration = Duration::from_secs(1);

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
    /// A signed checkpoint at the latest this many seconds (by the runtime's clock) after this
    /// process wrote an event that no checkpoint covers yet; 0: by count and at close only.
    pub checkpoint_seconds: u64,
    /// Argument names whose values are written to the log; all others appear only in
    /// `args_digest`.
    pub record_args: Vec<String>,
}

impl Default for AuditOptions {
    fn default() -> Self {
        Self {
            durability: Durability::Sync,
            checkpoint_every: DEFAULT_CHECKPOINT_EVERY,
            checkpoint_seconds: DEFAULT_CHECKPOINT_SECONDS,
            record_args: Vec::new(),
        }
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
    /// When the first of them was written (Unix ms).
    dirty_since_ms: i64,
    /// Where the log is known to be on disk (synced): the anchor's `durable_*`.
    durable: End,
}

impl Head {
    fn end(&self) -> End {
        End { seq: self.seq, hash: self.hash.clone(), len: self.len }
    }
}

/// What was found after the last line break and dealt with before a write.
enum Found {
    /// An incomplete line, moved to `file`.
    Torn { file: String, bytes: u64, sha256: String },
    /// A complete event (`seq`) that had lost its line break: the line break was written.
    Unterminated { seq: u64, bytes: u64, sha256: String },
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
                dirty_since_ms: 0,
                durable: End::genesis(),
            }),
            stop: Mutex::new(false),
            flusher_wake: Condvar::new(),
        });
        // Catch up with the file now, holding it to the store's anchor before anything is
        // appended or signed; a torn line left by a crash is set aside at open.
        shared.write_lines(&[], true, false)?;
        let flusher = if buffered || shared.options.checkpoint_seconds > 0 {
            let s = Arc::clone(&shared);
            let tick = if buffered { FLUSH_INTERVAL } else { CHECKPOINT_TICK };
            let handle =
                std::thread::Builder::new().name("rid-audit-flush".into()).spawn(move || s.flush_loop(tick)).map_err(
                    |e| Error::new(ErrorCode::InternalError, format!("cannot start the audit flusher: {e}")),
                )?;
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
    /// The background thread: flushes a `buffered` log every `tick`, and writes a checkpoint
    /// when one is due by time (both modes).
    fn flush_loop(&self, tick: Duration) {
        loop {
            let backlog = self.queue.lock().map(|q| q.items.len() >= FLUSH_AT).unwrap_or(false);
            {
                let Ok(stop) = self.stop.lock() else { return };
                if *stop {
                    return;
                }
                if !backlog {
                    let Ok((stop, _)) = self.flusher_wake.wait_timeout(stop, tick) else { return };
                    if *stop {
                        return;
                    }
                }
            }
            // A failure is kept in `deferred` and returned to the next appender.
            let _ = self.flush(false, false);
            if self.checkpoint_due() {
                let _ = self.flush(true, false);
            }
        }
    }

    /// Events this process wrote have waited `checkpoint_seconds` for a checkpoint.
    fn checkpoint_due(&self) -> bool {
        let secs = self.options.checkpoint_seconds;
        secs > 0
            && self.head.lock().is_ok_and(|h| {
                h.dirty
                    && !h.last_is_checkpoint
                    && self.clock.now_ms().saturating_sub(h.dirty_since_ms)
                        >= i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
            })
    }

    /// Whether the store keeps this log's anchor: the file log (a memory log is private to its
    /// runtime and starts empty).
    fn anchored(&self) -> bool {
        self.sink.path().is_some()
    }

    /// The log's settled length and the store's anchor, read together (no write in between),
    /// for verification.
    pub(super) fn settled_with_anchor(&self) -> Result<(u64, Option<AuditAnchor>)> {
        let _head = self.head.lock().map_err(|_| poisoned())?;
        let held = self.sink.lock()?;
        let len = held.len()?;
        let anchor = if self.anchored() { self.store.audit_anchor()? } else { None };
        drop(held);
        Ok((len, anchor))
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
        let found = self.refresh(&mut head, &mut held)?;
        let mut next = head.clone();
        let mut out = String::new();
        let mut checkpoints = Vec::new();
        if let Some(found) = found {
            let mut ev = AuditEvent::new(EventType::TornLine, self.clock.now_ms());
            let (bytes, sha256) = match found {
                Found::Torn { file, bytes, sha256 } => {
                    ev.file = Some(file);
                    ev.message = Some(
                        "an incomplete last line (a crash during a write, or an edit) was set aside, byte for byte"
                            .to_owned(),
                    );
                    (bytes, sha256)
                }
                Found::Unterminated { seq, bytes, sha256 } => {
                    ev.message = Some(format!(
                        "the last event (seq {seq}) had lost its line break; the line break was restored"
                    ));
                    (bytes, sha256)
                }
            };
            ev.bytes = Some(bytes);
            ev.digest = Some(sha256);
            self.push(&mut next, &Prepared::new(&ev)?, &mut out, &mut checkpoints)?;
        }
        for p in batch {
            self.push(&mut next, p, &mut out, &mut checkpoints)?;
        }
        let secs = self.options.checkpoint_seconds;
        let due = secs > 0
            && self.clock.now_ms().saturating_sub(next.dirty_since_ms)
                >= i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        if (close || due) && next.dirty && !next.last_is_checkpoint {
            self.push_checkpoint(&mut next, &mut out, &mut checkpoints)?;
        }
        if out.is_empty() {
            return Ok(());
        }
        next.len = head.len + out.len() as u64;
        let anchored = self.anchored();
        if anchored {
            // Before the bytes: whatever a crash leaves, the log ends between the two points.
            self.store.save_audit_anchor(&anchor_of(&next.end(), &head.durable))?;
        }
        if let Err(e) = held.append(out.as_bytes(), head.len) {
            head.known = false;
            return Err(e);
        }
        let must_sync = durable || !checkpoints.is_empty();
        if must_sync {
            if let Err(e) = held.sync() {
                head.known = false;
                return Err(e);
            }
            next.durable = next.end();
            if close && anchored {
                // Closed cleanly: the last write is on disk, and nothing of it may go missing.
                self.store.save_audit_anchor(&anchor_of(&next.durable, &next.durable))?;
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
        if !next.dirty {
            next.dirty = true;
            next.dirty_since_ms = self.clock.now_ms();
        }
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

    /// Catches `head` up with the file (other processes may have appended) and holds it to
    /// what is known of it: never shorter than this process left it, its last line an intact
    /// event, and, for the file log, where the store's anchor says it ends. A last line
    /// without its newline is left by a crash (appends are whole lines under the lock) or by an
    /// edit: a complete event continuing the chain gets its line break back, anything else is
    /// set aside byte for byte; both are reported.
    fn refresh(&self, head: &mut Head, held: &mut Held<'_>) -> Result<Option<Found>> {
        let len = held.len()?;
        if head.known && len == head.len {
            return Ok(None);
        }
        if len < head.len {
            head.known = false;
            return Err(Error::new(
                ErrorCode::AuditCorrupt,
                format!(
                    "the audit log is {len} bytes, shorter than the {} bytes this process saw: it was cut; \
                     run `rid audit verify`",
                    head.len
                ),
            ));
        }
        let (keep, mut end, mut is_checkpoint) = tail::end_at(held, len)?;
        let mut found = None;
        if keep < len {
            let bytes = held.read_range(keep, len)?;
            let sha256 = sha256_hex(&bytes);
            match tail::unterminated(&bytes, &end) {
                Some(ev) => {
                    // Benign whatever follows: the line is whole again, then held to the anchor.
                    held.append(b"\n", len)?;
                    end = End { seq: ev.seq, hash: ev.hash, len: len + 1 };
                    is_checkpoint = ev.checkpoint;
                    found = Some(Found::Unterminated { seq: ev.seq, bytes: len - keep, sha256 });
                }
                None => found = Some(Found::Torn { file: String::new(), bytes: len - keep, sha256 }),
            }
        }
        let durable = match self.anchored().then(|| self.store.audit_anchor()).transpose()?.flatten() {
            Some(anchor) => tail::check_anchor(held, &end, &anchor)?,
            None => end.clone(),
        };
        if let Some(Found::Torn { file, .. }) = &mut found {
            *file = held.set_aside(keep, len, self.clock.now_ms())?;
        }
        head.seq = end.seq;
        head.hash = end.hash;
        head.len = end.len;
        head.last_is_checkpoint = is_checkpoint;
        head.durable = durable;
        head.known = true;
        Ok(found)
    }
}

/// The anchor of a write that ends at `written`, after the log was on disk up to `durable`.
fn anchor_of(written: &End, durable: &End) -> AuditAnchor {
    AuditAnchor {
        seq: written.seq,
        hash: written.hash.clone(),
        len: written.len,
        durable_seq: durable.seq,
        durable_hash: durable.hash.clone(),
        durable_len: durable.len,
    }
}
