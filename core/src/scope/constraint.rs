//! Per-argument constraints: `{"max": n}`, `{"min": n}`, `{"in": [scalars]}`, `{"eq": scalar}`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Number, Value};

use crate::error::{Error, ErrorCode, Result};

use super::codec::{from_object, non_null};
use super::number::{num_eq, num_le};
use super::permit::{Denial, DenialKind};
use super::{preview, MAX_IN_VALUES, MAX_SCALAR_STRING_LEN};

/// A JSON scalar: the value of an `eq` bound or an item of an `in` list.
///
/// Serialises untagged (`true`, `5`, `"usd"`). Numbers compare by value when matching, so
/// `1` and `1.0` are the same value there (the derived `PartialEq` is structural).
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// `true` or `false`.
    Bool(bool),
    /// A number; integers stay integers.
    Number(Number),
    /// A string.
    String(String),
}

impl Scalar {
    /// The scalar as a JSON value.
    pub fn to_value(&self) -> Value {
        match self {
            Scalar::Bool(b) => Value::Bool(*b),
            Scalar::Number(n) => Value::Number(n.clone()),
            Scalar::String(s) => Value::String(s.clone()),
        }
    }

    /// Whether `value` is this scalar (same type; numbers by value).
    pub fn matches(&self, value: &Value) -> bool {
        match (self, value) {
            (Scalar::Bool(a), Value::Bool(b)) => a == b,
            (Scalar::Number(a), Value::Number(b)) => num_eq(a, b),
            (Scalar::String(a), Value::String(b)) => a == b,
            _ => false,
        }
    }

    /// Whether two scalars are the same value (same type; numbers by value).
    pub fn same_value(&self, other: &Scalar) -> bool {
        match (self, other) {
            (Scalar::Bool(a), Scalar::Bool(b)) => a == b,
            (Scalar::Number(a), Scalar::Number(b)) => num_eq(a, b),
            (Scalar::String(a), Scalar::String(b)) => a == b,
            _ => false,
        }
    }

    /// The number, if this is one.
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Scalar::Number(n) => Some(n),
            _ => None,
        }
    }
}

impl fmt::Display for Scalar {
    /// JSON form, strings shortened for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Number(n) => write!(f, "{n}"),
            Scalar::String(s) => write!(f, "\"{}\"", preview(s)),
        }
    }
}

impl From<bool> for Scalar {
    fn from(b: bool) -> Self {
        Scalar::Bool(b)
    }
}
impl From<i64> for Scalar {
    fn from(n: i64) -> Self {
        Scalar::Number(n.into())
    }
}
impl From<u64> for Scalar {
    fn from(n: u64) -> Self {
        Scalar::Number(n.into())
    }
}
impl From<Number> for Scalar {
    fn from(n: Number) -> Self {
        Scalar::Number(n)
    }
}
impl From<&str> for Scalar {
    fn from(s: &str) -> Self {
        Scalar::String(s.to_owned())
    }
}
impl From<String> for Scalar {
    fn from(s: String) -> Self {
        Scalar::String(s)
    }
}

impl Serialize for Scalar {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Scalar::Bool(b) => s.serialize_bool(*b),
            Scalar::Number(n) => n.serialize(s),
            Scalar::String(v) => s.serialize_str(v),
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Bool(b) => Ok(Scalar::Bool(b)),
            Value::Number(n) => Ok(Scalar::Number(n)),
            Value::String(s) => Ok(Scalar::String(s)),
            other => Err(serde::de::Error::custom(format!(
                "expected a string, number or boolean, got {}",
                type_name(&other)
            ))),
        }
    }
}

/// A constraint on one request argument. Valid forms: `max` and/or `min` (numbers), or
/// `in` (a non-empty list of scalars), or `eq` (one scalar).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Constraint {
    /// The argument must be a number no greater than this.
    pub max: Option<Number>,
    /// The argument must be a number no less than this.
    pub min: Option<Number>,
    /// The argument must be one of these values; `in` in JSON.
    pub one_of: Option<Vec<Scalar>>,
    /// The argument must be this value.
    pub eq: Option<Scalar>,
}

/// The object form of a [`Constraint`], read by the derived impl.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConstraintObject {
    #[serde(default, deserialize_with = "non_null")]
    max: Option<Number>,
    #[serde(default, deserialize_with = "non_null")]
    min: Option<Number>,
    #[serde(default, rename = "in", deserialize_with = "non_null")]
    one_of: Option<Vec<Scalar>>,
    #[serde(default, deserialize_with = "non_null")]
    eq: Option<Scalar>,
}

impl<'de> Deserialize<'de> for Constraint {
    /// Reads `{"max"?, "min"?, "in"?, "eq"?}` (not validated: see [`crate::scope::Scope::validate`]).
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let o: ConstraintObject = from_object(d, "a constraint object")?;
        Ok(Self { max: o.max, min: o.min, one_of: o.one_of, eq: o.eq })
    }
}

impl Constraint {
    /// `{"max": n}`.
    pub fn at_most(n: impl Into<Number>) -> Self {
        Self { max: Some(n.into()), ..Self::default() }
    }

    /// `{"min": n}`.
    pub fn at_least(n: impl Into<Number>) -> Self {
        Self { min: Some(n.into()), ..Self::default() }
    }

    /// `{"min": min, "max": max}`.
    pub fn between(min: impl Into<Number>, max: impl Into<Number>) -> Self {
        Self { max: Some(max.into()), min: Some(min.into()), ..Self::default() }
    }

    /// `{"in": values}`.
    pub fn one_of<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Scalar>,
    {
        Self { one_of: Some(values.into_iter().map(Into::into).collect()), ..Self::default() }
    }

    /// `{"eq": value}`.
    pub fn equal_to(value: impl Into<Scalar>) -> Self {
        Self { eq: Some(value.into()), ..Self::default() }
    }

    /// The constraint as a JSON object (the same in the API and wire forms).
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        if let Some(n) = &self.max {
            m.insert("max".to_owned(), Value::Number(n.clone()));
        }
        if let Some(n) = &self.min {
            m.insert("min".to_owned(), Value::Number(n.clone()));
        }
        if let Some(list) = &self.one_of {
            m.insert("in".to_owned(), Value::Array(list.iter().map(Scalar::to_value).collect()));
        }
        if let Some(v) = &self.eq {
            m.insert("eq".to_owned(), v.to_value());
        }
        Value::Object(m)
    }

    /// Checks the form and bounds of the constraint on argument `arg`.
    pub(crate) fn validate(&self, arg: &str) -> Result<()> {
        let invalid = |why: String| Err(Error::new(ErrorCode::ScopeInvalid, format!("constraint on `{arg}` {why}")));
        if let Some(list) = &self.one_of {
            if list.len() > MAX_IN_VALUES {
                return Err(Error::new(
                    ErrorCode::InputTooLarge,
                    format!(
                        "constraint on `{arg}` lists {} `in` values; at most {MAX_IN_VALUES} are allowed",
                        list.len()
                    ),
                ));
            }
        }
        for s in self.one_of.iter().flatten().chain(&self.eq) {
            if let Scalar::String(s) = s {
                if s.len() > MAX_SCALAR_STRING_LEN {
                    return Err(Error::new(
                        ErrorCode::InputTooLarge,
                        format!(
                            "constraint on `{arg}` has a value `{}` longer than {MAX_SCALAR_STRING_LEN} bytes",
                            preview(s)
                        ),
                    ));
                }
            }
        }
        let ranged = self.max.is_some() || self.min.is_some();
        match (&self.one_of, &self.eq) {
            (None, None) if !ranged => invalid("has no bound; give `max`, `min`, `in` or `eq`".to_owned()),
            (Some(_), Some(_)) => invalid("combines `in` and `eq`".to_owned()),
            (Some(_), None) if ranged => invalid("combines `in` with `max`/`min`".to_owned()),
            (None, Some(_)) if ranged => invalid("combines `eq` with `max`/`min`".to_owned()),
            (Some(list), None) if list.is_empty() => invalid("has an empty `in` list".to_owned()),
            _ => match (&self.max, &self.min) {
                (Some(max), Some(min)) if !num_le(min, max) => invalid(format!("has max {max} below min {min}")),
                _ => Ok(()),
            },
        }
    }

    /// Checks `value`, the request's argument `arg`, against every bound.
    pub(crate) fn check(&self, arg: &str, value: &Value) -> std::result::Result<(), Denial> {
        let violated = |bound: &str, message: String| {
            Err(Denial::new(DenialKind::ConstraintViolated { arg: arg.to_owned(), bound: bound.to_owned() }, message))
        };
        // The value as quoted in messages, built only for a denial.
        let shown = || shown(value);
        let range = self.max.as_ref().map(|n| ("max", n)).or(self.min.as_ref().map(|n| ("min", n)));
        if let Some((bound, limit)) = range {
            let Value::Number(v) = value else {
                return violated(bound, format!("`{arg}` {} is not a number; the scope sets {bound} {limit}", shown()));
            };
            if let Some(max) = &self.max {
                if !num_le(v, max) {
                    return violated("max", format!("`{arg}` {} exceeds max {max}", shown()));
                }
            }
            if let Some(min) = &self.min {
                if !num_le(min, v) {
                    return violated("min", format!("`{arg}` {} is below min {min}", shown()));
                }
            }
        }
        if let Some(eq) = &self.eq {
            if !eq.matches(value) {
                return violated("eq", format!("`{arg}` {} does not equal {eq}", shown()));
            }
        }
        if let Some(list) = &self.one_of {
            if !list.iter().any(|s| s.matches(value)) {
                return violated("in", format!("`{arg}` {} is not one of {}", shown(), list_preview(list)));
            }
        }
        Ok(())
    }
}

impl Serialize for Constraint {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

/// `a number`, `a string`, … for messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `= 150`, `= "eur"` for scalars, `(an array)` for the rest.
fn shown(v: &Value) -> String {
    match v {
        Value::Bool(b) => format!("= {b}"),
        Value::Number(n) => format!("= {n}"),
        Value::String(s) => format!("= \"{}\"", preview(s)),
        other => format!("({})", type_name(other)),
    }
}

/// The first few values of an `in` list.
pub(crate) fn list_preview(list: &[Scalar]) -> String {
    const SHOWN: usize = 5;
    let mut out: Vec<String> = list.iter().take(SHOWN).map(ToString::to_string).collect();
    if list.len() > SHOWN {
        out.push(format!("… ({} values)", list.len()));
    }
    format!("[{}]", out.join(", "))
}
