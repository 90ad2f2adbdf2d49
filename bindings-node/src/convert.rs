//! Conversions between JavaScript values and the core's: errors and durations. No rule lives
//! here; the core validates everything once converted.

use napi::bindgen_prelude::Either;
use runtime_identity::internal::parse_duration;
use runtime_identity::ErrorCode;

/// The `code` of a thrown error: napi sets it as the error's `code` property, so a core error
/// reaches JavaScript as `Error { code: 'token_malformed', message }` and the package's wrapper
/// picks its class by `err.code` (one conversion, `errors.js`).
#[derive(Debug, Clone, Copy)]
pub struct Code(ErrorCode);

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        self.0.as_str()
    }
}

/// An error thrown to JavaScript with the core's code as its `code`.
pub type Error = napi::Error<Code>;

/// `Result` of a binding function: its error carries the core's code.
pub type Result<T> = napi::Result<T, Code>;

/// The core's error as a JavaScript error with the core's `code`.
pub fn err(e: runtime_identity::Error) -> Error {
    Error::new(Code(e.code()), e.message())
}

/// A refusal of a malformed argument, with the core's `invalid_argument` code.
pub fn invalid(message: impl std::fmt::Display) -> Error {
    Error::new(Code(ErrorCode::InvalidArgument), message)
}

/// `Result<T, core Error>` → [`Result<T>`].
pub trait IntoJs<T> {
    /// Converts the error.
    fn js(self) -> Result<T>;
}

impl<T> IntoJs<T> for runtime_identity::Result<T> {
    fn js(self) -> Result<T> {
        self.map_err(err)
    }
}

/// Seconds from a number or a duration string (`"15m"`).
pub fn seconds(ttl: Option<Either<f64, String>>) -> Result<Option<u64>> {
    match ttl {
        None => Ok(None),
        Some(Either::A(n)) if n.is_finite() && n >= 0.0 && n.fract() == 0.0 => Ok(Some(n as u64)),
        Some(Either::A(n)) => Err(invalid(format!("ttl {n} is not a whole number of seconds"))),
        Some(Either::B(s)) => parse_duration(&s).js().map(Some),
    }
}

/// A JSON value that must be an object (arguments), or absent.
pub fn object(v: Option<serde_json::Value>, what: &str) -> Result<Option<serde_json::Map<String, serde_json::Value>>> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(invalid(format!("{what} must be an object"))),
    }
}

/// `snake_case` → `camelCase` (`first_bad_seq` → `firstBadSeq`).
fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' && !out.is_empty() {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A core record (a report, an approval request) with its field names in camelCase, the
/// names Node code uses. Only for records whose keys are all field names: never for values
/// that hold caller data (arguments, attributes, audit events), whose keys are the caller's.
pub fn json_camel<T: serde::Serialize>(v: &T) -> Result<serde_json::Value> {
    Ok(match json(v)? {
        serde_json::Value::Object(m) => serde_json::Value::Object(m.into_iter().map(|(k, v)| (camel(&k), v)).collect()),
        other => other,
    })
}

/// Any serialisable core value as JSON (napi converts it to JavaScript).
pub fn json<T: serde::Serialize>(v: &T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| Error::new(Code(ErrorCode::InternalError), e.to_string()))
}
