//! The runtime check before every action (docs/ARCHITECTURE.md § Check).

mod decision;
pub(crate) mod request;

pub use decision::{ApprovalRequest, Decision, Effect, Reason, ReasonCode};
pub use request::CheckRequest;
