//! Printing: text for people, `--json` for programs, one-line errors.

use runtime_identity::Error;
use serde::Serialize;

pub struct Out {
    pub json: bool,
}

impl Out {
    /// Prints `value` as JSON, or as the text `human` makes of it.
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
            println!("{}", human(&v));
        }
        Ok(())
    }

    pub fn error(&self, e: &Error) {
        if self.json {
            let v = serde_json::json!({"error": {"code": e.code().as_str(), "message": e.message()}});
            eprintln!("{v}");
        } else {
            eprintln!("error[{}]: {}", e.code(), e.message().replace('\n', " "));
        }
    }
}

/// Unix seconds as RFC 3339.
pub fn when(v: &serde_json::Value) -> String {
    v.as_i64().map(runtime_identity::clock::rfc3339).unwrap_or_else(|| "-".into())
}
