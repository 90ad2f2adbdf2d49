//! The native addon of the npm package `runtime-identity`. Only conversions live here; every
//! rule, default and validation is the core's.

mod convert;
mod credential;
mod decision;
mod runtime;

use napi_derive::napi;

/// The core's error codes.
#[napi]
pub fn error_codes() -> Vec<String> {
    runtime_identity::ErrorCode::ALL.iter().map(|c| c.as_str().to_owned()).collect()
}

/// The core's reason codes.
#[napi]
pub fn reason_codes() -> Vec<String> {
    runtime_identity::ReasonCode::ALL.iter().map(|c| c.as_str().to_owned()).collect()
}

/// The audit event types.
#[napi]
pub fn event_types() -> Vec<String> {
    runtime_identity::audit::EventType::ALL.iter().map(|t| t.as_str().to_owned()).collect()
}

/// The version of the core.
#[napi]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
