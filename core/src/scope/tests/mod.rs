//! Unit tests of the scope module.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod codec;
mod covers;
mod permits;
mod validate;

use serde_json::{json, Map, Value};

use crate::error::ErrorCode;

use super::Scope;

/// Parses the API form, panicking on error.
fn scope(v: Value) -> Scope {
    Scope::from_api_value(&v).unwrap_or_else(|e| panic!("{v}: {e}"))
}

/// The code of the error from parsing the API form.
fn parse_code(v: Value) -> ErrorCode {
    Scope::from_api_value(&v).err().unwrap_or_else(|| panic!("accepted {v}")).code()
}

/// The code of the error from validating a hand-built scope.
fn validate_code(s: &Scope) -> Option<ErrorCode> {
    s.validate().err().map(|e| e.code())
}

/// An argument map from a JSON object.
fn args(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

#[test]
fn builders_make_the_documented_defaults() {
    let s = Scope::new(["payments.refund"]);
    assert_eq!(s.resources, vec!["*"]);
    assert!(s.data_classes.is_none() && s.constraints.is_empty() && s.limits.is_empty());
    assert!(s.validate().is_ok());
    assert_eq!(s.to_api_value(), json!({"actions": ["payments.refund"], "resources": ["*"]}));
}
