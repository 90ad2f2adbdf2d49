//! Printing: text for people, `--json` for programs, one-line errors. Every stored or
//! presented string in text output goes through [`printable`] (control characters, ANSI
//! escapes, DEL, C1 and bidirectional overrides shown as escapes), so that what an auditor's
//! terminal shows cannot be forged; `--json` output is exact JSON.

pub use runtime_identity::audit::printable;
use runtime_identity::Error;
use serde::Serialize;

/// `v` with every string (and key) made [`printable`], for text renderings of it.
fn printable_value(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => Value::String(printable(s).into_owned()),
        Value::Array(a) => Value::Array(a.iter().map(printable_value).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, x)| (printable(k).into_owned(), printable_value(x))).collect())
        }
        other => other.clone(),
    }
}

pub struct Out {
    pub json: bool,
}

impl Out {
    /// Prints `value` as JSON, or as the text `human` makes of it (from the value with its
    /// strings made [`printable`]).
    pub fn value<T: Serialize>(
        &self,
        value: &T,
        human: impl FnOnce(&serde_json::Value) -> String,
    ) -> runtime_identity::Result<()> {
        let v = serde_json::to_value(value)
            .map_err(|e| Error::new(runtime_identity::ErrorCode::InternalError, e.to_string()))?;
        if self.json {
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        } else {
            println!("{}", human(&printable_value(&v)));
        }
        Ok(())
    }

    pub fn error(&self, e: &Error) {
        if self.json {
            let v = serde_json::json!({"error": {"code": e.code().as_str(), "message": e.message()}});
            eprintln!("{v}");
        } else {
            eprintln!("error[{}]: {}", e.code(), printable(e.message()));
        }
    }
}

/// Unix seconds as RFC 3339.
pub fn when(v: &serde_json::Value) -> String {
    v.as_i64().map(runtime_identity::internal::rfc3339).unwrap_or_else(|| "-".into())
}
