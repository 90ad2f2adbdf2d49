//! [`Refusal`]: why a check denies — a reason code and its message. The one shape a refusal
//! has inside the runtime, from the first step of a check to its decision: each step returns
//! `Result<_, Refusal>`, and the first refusal is the deny.

use crate::check::ReasonCode;
use crate::error::Error;

/// A check's refusal: the deny's reason code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refusal {
    pub code: ReasonCode,
    pub message: String,
}

impl Refusal {
    pub(crate) fn new(code: ReasonCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

/// An error inside a step (the store, the audit log, the policy lock, …) fails closed: a deny
/// with `internal_error`, naming the error's message and code.
impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Self::new(ReasonCode::InternalError, format!("{} ({})", e.message(), e.code()))
    }
}

/// A refusal as `runtime/limits.rs` words it: a code and its message.
impl From<(ReasonCode, String)> for Refusal {
    fn from((code, message): (ReasonCode, String)) -> Self {
        Self { code, message }
    }
}
