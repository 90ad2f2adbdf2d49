//! Reading the end of the log before a write: its last whole line (recomputed, not trusted),
//! what follows it when the log does not end with a line break, and the lines between the
//! store's anchor and the end.

use serde_json::Value;

use crate::error::{Error, ErrorCode, Result};
use crate::store::AuditAnchor;

use super::event::{EventType, GENESIS, MAX_LINE_BYTES};
use super::line::intact_line;
use super::sink::Held;

/// A place in the log: the last line's `seq` and `hash`, and the log's length just after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct End {
    pub seq: u64,
    pub hash: String,
    pub len: u64,
}

impl End {
    /// The empty log.
    pub(crate) fn genesis() -> Self {
        Self { seq: 0, hash: GENESIS.to_owned(), len: 0 }
    }

    /// Where the anchor says the write in progress ends.
    pub(crate) fn written(a: &AuditAnchor) -> Self {
        Self { seq: a.seq, hash: a.hash.clone(), len: a.len }
    }

    /// Where the anchor says the log ended on disk before it.
    pub(crate) fn durable(a: &AuditAnchor) -> Self {
        Self { seq: a.durable_seq, hash: a.durable_hash.clone(), len: a.durable_len }
    }
}

/// One line read back: `seq`, `prev`, `hash` and whether it is a checkpoint, if the line is an
/// event whose `hash` is its content's hash.
pub(super) struct Event {
    pub seq: u64,
    pub prev: String,
    pub hash: String,
    pub checkpoint: bool,
}

/// Parses `line` (without its line break) as an intact event.
pub(super) fn intact(line: &[u8]) -> Option<Event> {
    let map = intact_line(line)?;
    let seq = map.get("seq")?.as_u64()?;
    let prev = map.get("prev")?.as_str()?.to_owned();
    let hash = map.get("hash")?.as_str()?.to_owned();
    let checkpoint = map.get("type").and_then(Value::as_str) == Some(EventType::Checkpoint.as_str());
    Some(Event { seq, prev, hash, checkpoint })
}

/// The last whole line before `len` as an end of the log (with whether it is a checkpoint):
/// `audit_corrupt` if it is not an intact event.
pub(super) fn end_at(held: &Held<'_>, len: u64) -> Result<(u64, End, bool)> {
    let (keep, last) = last_whole_line(held, len)?;
    let Some(line) = last else { return Ok((keep, End::genesis(), false)) };
    let ev = intact(&line).ok_or_else(|| {
        Error::new(
            ErrorCode::AuditCorrupt,
            "the last line of the audit log is not an intact event (it does not match its hash); \
             run `rid audit verify`",
        )
    })?;
    Ok((keep, End { seq: ev.seq, hash: ev.hash, len: keep }, ev.checkpoint))
}

/// Whether the bytes after the last line break are a complete event that continues the chain
/// at `end` and lost only its line break.
pub(super) fn unterminated(bytes: &[u8], end: &End) -> Option<Event> {
    intact(bytes).filter(|ev| ev.seq == end.seq + 1 && ev.prev == end.hash)
}

/// Where the whole lines end (just after the last line break) and the last whole line.
pub(super) fn last_whole_line(held: &Held<'_>, len: u64) -> Result<(u64, Option<Vec<u8>>)> {
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

/// Holds the log's end to the store's anchor. Returns where the log is known to be on disk.
pub(super) fn check_anchor(held: &Held<'_>, end: &End, anchor: &AuditAnchor) -> Result<End> {
    let (written, durable) = (End::written(anchor), End::durable(anchor));
    if *end == written || *end == durable {
        return Ok(durable);
    }
    let corrupt = |what: String| {
        Error::new(
            ErrorCode::AuditCorrupt,
            format!("{what}; the log is refused until it is restored (run `rid audit verify`)"),
        )
    };
    if end.seq < durable.seq || end.len < durable.len {
        return Err(corrupt(format!(
            "the audit log ends at seq {} but the store's anchor says seq {} was written: events were cut off",
            end.seq, written.seq
        )));
    }
    if end.seq > written.seq || end.len > written.len {
        return Err(corrupt(format!(
            "the audit log goes on to seq {} after seq {}, where the store's anchor says it ends: lines were added",
            end.seq, written.seq
        )));
    }
    if end.seq == written.seq || end.seq == durable.seq {
        return Err(corrupt(format!(
            "the last event (seq {}) is not the one the store's anchor recorded: the log was rewritten",
            end.seq
        )));
    }
    // A crash during the write: the log ends at a whole line inside it, which must chain from
    // the durable end.
    check_run(held, &durable, end)
        .map_err(|why| corrupt(format!("the audit log ends inside its last write but {why}")))?;
    Ok(durable)
}

/// The line ending at `from.len` is `from`, and the lines up to `to.len` chain from it to `to`.
fn check_run(held: &Held<'_>, from: &End, to: &End) -> std::result::Result<(), String> {
    let (keep, at, _) = end_at(held, from.len).map_err(|e| e.message().to_owned())?;
    if keep != from.len || at != *from {
        return Err(format!("seq {} is not the event the store's anchor recorded as on disk", from.seq));
    }
    const CHUNK: u64 = 4 * 1024 * 1024;
    let (mut pos, mut prev) = (from.len, from.clone());
    let mut partial: Vec<u8> = Vec::new();
    while pos < to.len {
        let next = (pos + CHUNK).min(to.len);
        partial.extend_from_slice(&held.read_range(pos, next).map_err(|e| e.message().to_owned())?);
        pos = next;
        let mut start = 0;
        while let Some(i) = partial.get(start..).and_then(|rest| rest.iter().position(|&b| b == b'\n')) {
            let line = partial.get(start..start + i).unwrap_or_default();
            let seq = prev.seq + 1;
            match intact(line) {
                Some(ev) if ev.seq == seq && ev.prev == prev.hash => {
                    prev = End { seq, hash: ev.hash, len: prev.len + i as u64 + 1 };
                }
                _ => return Err(format!("the line after seq {} does not continue the chain", prev.seq)),
            }
            start += i + 1;
        }
        partial.drain(..start);
        if partial.len() > MAX_LINE_BYTES + 1 {
            return Err(format!("a line after seq {} is over {MAX_LINE_BYTES} bytes", prev.seq));
        }
    }
    if prev != *to || !partial.is_empty() {
        return Err(format!("its lines do not end at seq {}", to.seq));
    }
    Ok(())
}
