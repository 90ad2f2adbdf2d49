//! Conversions between JavaScript values and the core's: errors and durations. No rule lives
//! here; the core validates everything once converted.

use napi::bindgen_prelude::Either;
use napi::{Error, Status};
use runtime_identity::internal::parse_duration;

/// The core's error as a JavaScript error whose message starts with `[code] `; the package's
/// wrapper turns it into the error class of that code (one conversion, `errors.js`).
pub fn err(e: runtime_identity::Error) -> Error {
    Error::new(Status::GenericFailure, format!("[{}] {}", e.code(), e.message()))
}

/// A TypeError-like refusal of a malformed argument, with the core's `invalid_argument` code.
pub fn invalid(message: impl std::fmt::Display) -> Error {
    Error::new(Status::InvalidArg, format!("[invalid_argument] {message}"))
}

/// `Result<T, core Error>` → `napi::Result<T>`.
pub trait IntoJs<T> {
    /// Converts the error.
    fn js(self) -> napi::Result<T>;
}

impl<T> IntoJs<T> for runtime_identity::Result<T> {
    fn js(self) -> napi::Result<T> {
        self.map_err(err)
    }
}

/// Seconds from a number or a duration string (`"15m"`).
pub fn seconds(ttl: Option<Either<f64, String>>) -> napi::Result<Option<u64>> {
    match ttl {
        None => Ok(None),
        Some(Either::A(n)) if n.is_finite() && n >= 0.0 && n.fract() == 0.0 => Ok(Some(n as u64)),
        Some(Either::A(n)) => Err(invalid(format!("ttl {n} is not a whole number of seconds"))),
        Some(Either::B(s)) => parse_duration(&s).js().map(Some),
    }
}

/// A JSON value that must be an object (arguments), or absent.
pub fn object(
    v: Option<serde_json::Value>,
    what: &str,
) -> napi::Result<Option<serde_json::Map<String, serde_json::Value>>> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(invalid(format!("{what} must be an object"))),
    }
}

/// Any serialisable core value as JSON (napi converts it to JavaScript).
pub fn json<T: serde::Serialize>(v: &T) -> napi::Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| Error::new(Status::GenericFailure, format!("[internal_error] {e}")))
}
