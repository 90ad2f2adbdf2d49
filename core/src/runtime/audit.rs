//! The runtime's side of the audit log: recording outcomes and lifecycle events, and access
//! to verification and queries.

use crate::audit::{lifecycle, AuditEvent, AuditLog, Outcome};
use crate::error::{Error, ErrorCode, Result};

use super::Runtime;

/// The longest error type or result digest kept in an outcome.
const MAX_OUTCOME_FIELD: usize = 256;

impl Runtime {
    /// The audit log: `verify`, `events`, `explain`, `export_prov`.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Records what the action allowed by decision `decision_id` did.
    pub fn record_outcome(&self, decision_id: &str, outcome: &Outcome) -> Result<()> {
        if uuid::Uuid::try_parse(decision_id).is_err() {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                format!("`{}` is not a decision id", crate::principal::preview(decision_id)),
            ));
        }
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
        self.emit(lifecycle::outcome(decision_id, outcome, self.options.clock.now_ms()))
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
