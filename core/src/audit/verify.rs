//! Verification: recompute every hash and link, check every checkpoint signature, compare
//! the end of the log with the store's checkpoint and running anchor, and name the first bad
//! `seq` and what happened there.

use std::io::{BufRead, Read as _};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, ErrorCode, Result};
use crate::keys::PublicKey;
use crate::store::{AuditAnchor, StoredCheckpoint};

use super::checkpoint;
use super::event::{CheckpointBody, EventType, GENESIS, MAX_LINE_BYTES};
use super::line::intact_line;

/// What verification found wrong at the first bad `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TamperKind {
    /// An event's content no longer matches its hash (or the chain breaks after it).
    Edited,
    /// An event is missing.
    Removed,
    /// Events are out of order.
    Reordered,
    /// A line that does not belong to the chain was added.
    Inserted,
    /// The log ends before the store's checkpoint, or with an incomplete line.
    Truncated,
    /// A checkpoint's signature does not verify or commits to something else.
    BadCheckpointSignature,
}

impl TamperKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TamperKind::Edited => "edited",
            TamperKind::Removed => "removed",
            TamperKind::Reordered => "reordered",
            TamperKind::Inserted => "inserted",
            TamperKind::Truncated => "truncated",
            TamperKind::BadCheckpointSignature => "bad_checkpoint_signature",
        }
    }
}

impl std::fmt::Display for TamperKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of verifying a log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// No problem was found.
    pub ok: bool,
    /// Lines read.
    pub events: u64,
    /// Checkpoints whose signatures verified.
    pub checkpoints: u64,
    /// The last `seq` of the intact chain.
    pub last_seq: u64,
    /// The hash at `last_seq`.
    pub head: String,
    /// The store's checkpoint `seq`, if the store keeps one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_checkpoint: Option<u64>,
    /// The first bad `seq`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_bad_seq: Option<u64>,
    /// What is wrong there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<TamperKind>,
    /// A sentence saying what is wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One line as verification sees it.
struct Line {
    seq: Option<u64>,
    prev: Option<String>,
    hash: Option<String>,
    /// Parsed, and its hash is its content's hash.
    intact: bool,
    checkpoint: Option<std::result::Result<CheckpointBody, String>>,
    /// No trailing newline.
    torn: bool,
}

impl Line {
    fn read(bytes: &[u8]) -> Self {
        let torn = !bytes.ends_with(b"\n");
        let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        let mut line = Line { seq: None, prev: None, hash: None, intact: false, checkpoint: None, torn };
        let Ok(map) = serde_json::from_slice::<Map<String, Value>>(body) else { return line };
        line.seq = map.get("seq").and_then(Value::as_u64);
        line.prev = map.get("prev").and_then(Value::as_str).map(str::to_owned);
        line.hash = map.get("hash").and_then(Value::as_str).map(str::to_owned);
        line.intact = line.seq.is_some() && line.prev.is_some() && intact_line(body).is_some();
        if map.get("type").and_then(Value::as_str) == Some(EventType::Checkpoint.as_str()) {
            line.checkpoint = Some(match map.get("checkpoint") {
                Some(v) => serde_json::from_value(v.clone()).map_err(|e| format!("checkpoint body: {e}")),
                None => Err("the checkpoint has no signature".to_owned()),
            });
        }
        line
    }

    /// Intact and continuing the chain at `expect` after `prev`.
    fn continues(&self, expect: u64, prev: &str) -> bool {
        self.intact && self.seq == Some(expect) && self.prev.as_deref() == Some(prev)
    }
}

/// Reads lines (each with its newline, if any), refusing lines over the limit.
struct Lines<R> {
    reader: R,
}

impl<R: BufRead> Iterator for Lines<R> {
    type Item = Result<Line>;
    fn next(&mut self) -> Option<Self::Item> {
        let mut buf = Vec::new();
        let limit = MAX_LINE_BYTES as u64 + 2;
        match (&mut self.reader).take(limit).read_until(b'\n', &mut buf) {
            Ok(0) => None,
            Ok(_) if buf.len() as u64 >= limit => Some(Err(Error::new(
                ErrorCode::AuditCorrupt,
                format!("a line of the audit log is over {MAX_LINE_BYTES} bytes"),
            ))),
            Ok(_) => Some(Ok(Line::read(&buf))),
            Err(e) => Some(Err(Error::new(ErrorCode::AuditUnavailable, format!("cannot read the audit log: {e}")))),
        }
    }
}

/// What verification needs besides the lines.
pub(crate) struct Trust<'a> {
    pub issuer: &'a str,
    pub key_of: &'a dyn Fn(&str) -> Option<PublicKey>,
    pub stored: Option<StoredCheckpoint>,
    /// The store's running anchor (a runtime's own verification only).
    pub anchor: Option<AuditAnchor>,
}

/// Verifies the lines from `reader`.
pub(crate) fn verify(reader: impl BufRead, trust: &Trust<'_>) -> Result<VerifyReport> {
    let mut lines = Lines { reader }.peekable();
    let mut report = VerifyReport {
        ok: true,
        events: 0,
        checkpoints: 0,
        last_seq: 0,
        head: GENESIS.to_owned(),
        stored_checkpoint: trust.stored.as_ref().map(|c| c.seq),
        first_bad_seq: None,
        kind: None,
        message: None,
    };
    let mut stored_hash_seen: Option<String> = None;
    let mut durable_hash_seen: Option<String> = None;
    // The head before the last accepted line: a second line chaining from it is a fork.
    let mut before_head = GENESIS.to_owned();
    let fail = |report: &mut VerifyReport, seq: u64, kind: TamperKind, message: String| {
        report.ok = false;
        report.first_bad_seq = Some(seq);
        report.kind = Some(kind);
        report.message = Some(message);
    };
    while let Some(line) = lines.next() {
        let line = line?;
        report.events += 1;
        let expect = report.last_seq + 1;
        if line.continues(expect, &report.head) && !line.torn {
            if let Some(cp) = &line.checkpoint {
                let checked = cp
                    .as_ref()
                    .map_err(Clone::clone)
                    .and_then(|body| checkpoint::verify(body, trust.issuer, expect, &report.head, trust.key_of));
                if let Err(why) = checked {
                    fail(
                        &mut report,
                        expect,
                        TamperKind::BadCheckpointSignature,
                        format!("checkpoint at seq {expect}: {why}"),
                    );
                    return Ok(report);
                }
                report.checkpoints += 1;
            }
            report.last_seq = expect;
            before_head = std::mem::replace(&mut report.head, line.hash.clone().unwrap_or_default());
            if trust.stored.as_ref().is_some_and(|c| c.seq == expect) {
                stored_hash_seen = Some(report.head.clone());
            }
            if trust.anchor.as_ref().is_some_and(|a| a.durable_seq == expect) {
                durable_hash_seen = Some(report.head.clone());
            }
            continue;
        }
        // The chain breaks at `expect`. Say how.
        if line.torn {
            fail(
                &mut report,
                expect,
                TamperKind::Truncated,
                format!("the log ends with an incomplete line at seq {expect} (open the runtime to set it aside)"),
            );
            return Ok(report);
        }
        let next_continues = matches!(lines.peek(), Some(Ok(n)) if n.continues(expect, &report.head));
        let seq = line.seq.unwrap_or(0);
        let (kind, seq, message) = if line.intact && seq > expect {
            // A line from further on: the missing ones come later (reordered), never
            // (removed), or this one is a copy of a later line (inserted).
            let (mut found, mut again) = (false, false);
            for l in lines.by_ref().flatten() {
                found |= l.seq == Some(expect);
                again |= l.seq == Some(seq);
            }
            if again {
                (TamperKind::Inserted, expect, format!("a copy of seq {seq} was inserted before seq {expect}"))
            } else if found {
                (TamperKind::Reordered, expect, format!("seq {seq} comes before seq {expect}"))
            } else {
                let what = if seq - 1 == expect {
                    format!("the event at seq {expect} is missing")
                } else {
                    format!("the events from seq {expect} to {} are missing", seq - 1)
                };
                (TamperKind::Removed, expect, what)
            }
        } else if next_continues {
            (
                TamperKind::Inserted,
                expect,
                format!("a line that is not part of the chain was inserted before seq {expect}"),
            )
        } else if !line.intact {
            (TamperKind::Edited, expect, format!("the event at seq {expect} does not match its hash"))
        } else if seq + 1 == expect && line.prev.as_deref() == Some(before_head.as_str()) {
            // Two lines claim seq `seq`, both chaining from the one before: the first was
            // slipped in ahead of the original.
            (
                TamperKind::Inserted,
                seq,
                format!("two lines claim seq {seq}; a forged one was inserted before the original"),
            )
        } else if seq < expect {
            (TamperKind::Inserted, expect, format!("a line with seq {seq} appears again after seq {}", expect - 1))
        } else if expect > 1 && lines.peek().is_some() {
            (
                TamperKind::Edited,
                expect - 1,
                format!("seq {expect} does not chain to seq {}: that event was changed and re-hashed", expect - 1),
            )
        } else if expect > 1 {
            (TamperKind::Inserted, expect, format!("the last line (seq {expect}) does not chain to seq {}", expect - 1))
        } else {
            (TamperKind::Edited, expect, "the first event does not start the chain".to_owned())
        };
        fail(&mut report, seq, kind, message);
        return Ok(report);
    }
    if let Some(stored) = &trust.stored {
        if stored.seq > report.last_seq {
            let first = report.last_seq + 1;
            let msg = format!(
                "the log ends at seq {} but the store's checkpoint is at seq {}: events were cut off",
                report.last_seq, stored.seq
            );
            fail(&mut report, first, TamperKind::Truncated, msg);
        } else if stored_hash_seen.as_deref() != Some(stored.hash.as_str()) {
            let msg = format!("the event at seq {} differs from the checkpoint kept in the store", stored.seq);
            fail(&mut report, stored.seq, TamperKind::Edited, msg);
        }
    }
    if let (true, Some(a)) = (report.ok, &trust.anchor) {
        let last = report.last_seq;
        if last < a.durable_seq {
            let msg = format!(
                "the log ends at seq {last} but the store's anchor says seq {} was written: events were cut off",
                a.seq
            );
            fail(&mut report, last + 1, TamperKind::Truncated, msg);
        } else if last > a.seq {
            let msg = format!("the log goes on to seq {last} after seq {}, where the store's anchor ends it", a.seq);
            fail(&mut report, a.seq + 1, TamperKind::Inserted, msg);
        } else if last == a.seq && report.head != a.hash {
            let msg = format!("the event at seq {last} is not the one the store's anchor recorded");
            fail(&mut report, last, TamperKind::Edited, msg);
        } else if a.durable_seq > 0 && durable_hash_seen.as_deref() != Some(a.durable_hash.as_str()) {
            let msg = format!("the event at seq {} is not the one the store's anchor recorded", a.durable_seq);
            fail(&mut report, a.durable_seq, TamperKind::Edited, msg);
        }
    }
    Ok(report)
}
