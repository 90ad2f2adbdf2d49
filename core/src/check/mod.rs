//! The runtime check before every action (DESIGN §1 "Check").

mod decision;
pub(crate) mod request;

pub use decision::{ApprovalRequest, Decision, Effect, Reason, ReasonCode};
pub use request::CheckRequest;
