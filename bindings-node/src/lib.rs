//! The native addon of the npm package `runtime-identity`. Only conversions live here; every
//! rule, default and validation is the core's.

mod audit;
mod convert;
mod credential;
mod decision;
mod inputs;
mod runtime;

use napi_derive::napi;

/// The core's error codes.
#[napi]
pub fn error_codes() -> Vec<String> {
    runtime_identity::ErrorCode::ALL.iter().map(|c| c.as_str().to_owned()).collect()
}

/// The exception class of each error code, without the `Error` suffix (`InvalidCredential`).
#[napi(ts_return_type = "Record<string, string>")]
pub fn error_classes() -> serde_json::Value {
    let classes = runtime_identity::ErrorCode::ALL
        .iter()
        .map(|c| (c.as_str().to_owned(), serde_json::Value::from(c.class_name())))
        .collect::<serde_json::Map<_, _>>();
    serde_json::Value::Object(classes)
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

/// Verifies an audit log file without a runtime, as a third party does: with the issuer, the
/// authority's JWKS and the newest checkpoint the operator's store reports (`anchor`,
/// `{seq, hash}`; without it a cut-off tail after the last checkpoint goes unnoticed).
#[napi(
    ts_args_type = "path: string, options: { issuer: string; jwks: { keys: Record<string, unknown>[] }; anchor?: { seq: number; hash: string } | null }",
    ts_return_type = "Record<string, unknown>"
)]
pub fn verify_audit_log(path: String, options: serde_json::Value) -> convert::Result<serde_json::Value> {
    use convert::IntoJs as _;
    // A missing issuer is refused by the core (`issuer_invalid`), like a malformed one.
    let issuer = options.get("issuer").and_then(serde_json::Value::as_str).unwrap_or_default();
    let null = serde_json::Value::Null;
    let jwks = options.get("jwks").unwrap_or(&null);
    let report =
        runtime_identity::audit::verify_log_file(std::path::Path::new(&path), issuer, jwks, options.get("anchor"))
            .js()?;
    convert::json_camel(&report)
}

/// The version of the core.
#[napi]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
