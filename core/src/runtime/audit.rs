//! The runtime's side of the audit log: recording outcomes and lifecycle events, and access
//! to verification and queries.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use crate::audit::{lifecycle, AuditEvent, AuditLog, Outcome};
use crate::error::{Error, ErrorCode, Result};

use super::Runtime;

/// The longest error type or result digest kept in an outcome.
const MAX_OUTCOME_FIELD: usize = 256;
/// How many allowed decisions may await their outcome at once (16 bytes each, twice: about
/// 2 MiB when full). Past it the oldest is forgotten, and its outcome is refused.
pub const MAX_PENDING_OUTCOMES: usize = 65_536;

/// The allowed decisions this runtime recorded in its log whose outcome is not recorded yet,
/// oldest first. Only these take an outcome, once; everything else is refused with
/// `outcome_invalid`: a denied decision, a second outcome, an id never issued, a decision of
/// another runtime or process, or one of the oldest past [`MAX_PENDING_OUTCOMES`] (fail
/// closed: an outcome the runtime cannot tie to its own allowed decision is not written).
#[derive(Debug, Default)]
pub(super) struct PendingOutcomes {
    inner: Mutex<Pending>,
}

#[derive(Debug, Default)]
struct Pending {
    ids: HashSet<u128>,
    order: VecDeque<u128>,
}

fn key_of(decision_id: &str) -> Option<u128> {
    uuid::Uuid::try_parse(decision_id).ok().map(|u| u.as_u128())
}

impl PendingOutcomes {
    /// Remembers an allowed decision just recorded in the log.
    pub(super) fn allowed(&self, decision_id: &str) {
        let (Some(key), Ok(mut p)) = (key_of(decision_id), self.inner.lock()) else { return };
        if !p.ids.insert(key) {
            return;
        }
        p.order.push_back(key);
        while p.order.len() > MAX_PENDING_OUTCOMES {
            if let Some(old) = p.order.pop_front() {
                p.ids.remove(&old);
            }
        }
    }

    /// Takes the decision out of the set, if it is in it.
    fn take(&self, key: u128) -> Result<bool> {
        let mut p = self.inner.lock().map_err(|_| Error::new(ErrorCode::InternalError, "outcome set poisoned"))?;
        if !p.ids.remove(&key) {
            return Ok(false);
        }
        // Mostly the newest or near it: search from the back.
        if let Some(i) = p.order.iter().rposition(|k| *k == key) {
            p.order.remove(i);
        }
        Ok(true)
    }

    /// Puts it back (its outcome could not be written).
    fn restore(&self, key: u128) {
        if let Ok(mut p) = self.inner.lock() {
            if p.ids.insert(key) {
                p.order.push_back(key);
            }
        }
    }
}

impl Runtime {
    /// The audit log: `verify`, `events`, `explain`, `export_prov`.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Records what the action allowed by decision `decision_id` did: once per decision this
    /// runtime allowed and recorded (see [`MAX_PENDING_OUTCOMES`]); any other id is refused
    /// with `outcome_invalid`.
    pub fn record_outcome(&self, decision_id: &str, outcome: &Outcome) -> Result<()> {
        let Some(key) = key_of(decision_id) else {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                format!("`{}` is not a decision id", crate::principal::preview(decision_id)),
            ));
        };
        for field in [&outcome.error, &outcome.result_digest].into_iter().flatten() {
            if field.len() > MAX_OUTCOME_FIELD || field.chars().any(char::is_control) {
                return Err(Error::new(
                    ErrorCode::InvalidArgument,
                    format!(
                        "outcome field `{}` must be at most {MAX_OUTCOME_FIELD} printable bytes",
                        crate::principal::preview(field)
                    ),
                ));
            }
        }
        if !self.outcomes.take(key)? {
            return Err(Error::new(
                ErrorCode::OutcomeInvalid,
                format!(
                    "decision `{decision_id}` takes no outcome: it was not allowed by this runtime, or its outcome \
                     is already recorded"
                ),
            ));
        }
        let written = self.emit(lifecycle::outcome(decision_id, outcome, self.options.clock.now_ms()));
        if written.is_err() {
            self.outcomes.restore(key);
        }
        written
    }

    /// Flushes the audit log and writes its closing checkpoint, reporting any error (dropping
    /// the runtime does the same silently).
    pub fn close(self) -> Result<()> {
        self.audit.close()
    }

    /// Appends an event.
    pub(super) fn emit(&self, event: AuditEvent) -> Result<()> {
        self.audit.append(&event)
    }

    pub(super) fn now_ms(&self) -> i64 {
        self.options.clock.now_ms()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Past the bound the oldest decision is forgotten (its outcome then refused); the newest
    /// ones still take theirs, once.
    #[test]
    fn the_pending_outcomes_are_bounded_and_forget_the_oldest() {
        let p = PendingOutcomes::default();
        let id = |n: u128| uuid::Uuid::from_u128(n).to_string();
        for n in 0..=MAX_PENDING_OUTCOMES as u128 {
            p.allowed(&id(n));
        }
        assert_eq!(p.inner.lock().unwrap().order.len(), MAX_PENDING_OUTCOMES);
        assert!(!p.take(0).unwrap(), "the oldest was forgotten");
        assert!(p.take(1).unwrap());
        assert!(!p.take(1).unwrap(), "once");
        assert!(p.take(MAX_PENDING_OUTCOMES as u128).unwrap());
        p.restore(1);
        assert!(p.take(1).unwrap(), "put back after a failed write");
        p.allowed("not an id");
        let inner = p.inner.lock().unwrap();
        assert_eq!(inner.ids.len(), inner.order.len());
    }
}
