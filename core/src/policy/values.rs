//! JSON values as Cedar values: untyped (open attributes) and typed (declared attributes and
//! arguments).
//!
//! Integers become `Long` (so do integral floats: `10.0` is the JSON number `10`), booleans and
//! strings stay, arrays become sets, objects records, a
//! `null` member is left out, and a float becomes a `decimal` only when its shortest exact
//! form has at most four fractional digits. Anything else is an error: never rounded, never
//! dropped, because a dropped value could make a `has`-guarded `forbid` silently not apply.

use std::fmt;

use cedar_policy::RestrictedExpression;
use serde_json::Value;

use super::hints::{Field, ValueType};
use crate::error::{Error, ErrorCode, Result};

/// The deepest nesting of arrays and objects converted.
pub const MAX_VALUE_DEPTH: usize = 32;

/// The largest magnitude a Cedar `decimal` holds (its integer part).
const DECIMAL_MAX_INT: f64 = 922_337_203_685_477.0;

/// Where a value sits, for messages; built on the stack, formatted only on error.
#[derive(Clone, Copy)]
pub(crate) enum Path<'a> {
    /// A top-level named value: `("argument", "amount")`.
    Root(&'static str, &'a str),
    /// A member of an object.
    Member(&'a Path<'a>, &'a str),
    /// An element of an array.
    Element(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn depth(&self) -> usize {
        match self {
            Path::Root(..) => 0,
            Path::Member(p, _) | Path::Element(p, _) => p.depth() + 1,
        }
    }

    fn write_inner(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root(_, name) => f.write_str(name),
            Path::Member(p, name) => {
                p.write_inner(f)?;
                write!(f, ".{name}")
            }
            Path::Element(p, i) => {
                p.write_inner(f)?;
                write!(f, "[{i}]")
            }
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Path::Root(kind, _) => kind,
            Path::Member(p, _) | Path::Element(p, _) => p.kind(),
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} `", self.kind())?;
        self.write_inner(f)?;
        f.write_str("`")
    }
}

fn invalid(path: &Path<'_>, what: impl fmt::Display) -> Error {
    Error::new(ErrorCode::InvalidArgument, format!("{path} {what}"))
}

fn check_depth(path: &Path<'_>) -> Result<()> {
    if path.depth() >= MAX_VALUE_DEPTH {
        return Err(Error::new(
            ErrorCode::InputTooLarge,
            format!("{path} is nested more than {MAX_VALUE_DEPTH} levels deep"),
        ));
    }
    Ok(())
}

/// The Cedar `decimal` literal for `f`, if it is exact with at most 4 fractional digits.
pub(crate) fn decimal_literal(f: f64) -> Option<String> {
    if !f.is_finite() || f.abs() >= DECIMAL_MAX_INT {
        return None;
    }
    // `Display` for f64 prints the shortest string that reads back as the same value, without
    // an exponent: it is what the JSON text said, so nothing is rounded here.
    let text = f.to_string();
    match text.split_once('.') {
        None => Some(format!("{text}.0")),
        Some((_, frac)) if (1..=4).contains(&frac.len()) => Some(text),
        Some(_) => None,
    }
}

/// The integer a JSON number denotes, if it is one: `10` and `10.0` are the same JSON number
/// (RFC 8785 writes both as `10`), so both are `Long` 10 — as they are in the action hash.
fn integral(n: &serde_json::Number) -> Option<i64> {
    n.as_i64().or_else(|| {
        let f = n.as_f64()?;
        (f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0).then_some(f as i64)
    })
}

fn number(n: &serde_json::Number, path: &Path<'_>, as_decimal: bool) -> Result<RestrictedExpression> {
    if let Some(i) = integral(n) {
        if !as_decimal {
            return Ok(RestrictedExpression::new_long(i));
        }
        if (i.unsigned_abs() as f64) < DECIMAL_MAX_INT {
            return Ok(RestrictedExpression::new_decimal(format!("{i}.0")));
        }
        return Err(invalid(path, format_args!("value `{i}` is out of the decimal range")));
    }
    if n.is_u64() {
        return Err(invalid(path, format_args!("value `{n}` is larger than a 64-bit signed integer")));
    }
    let f = n.as_f64().unwrap_or(f64::NAN);
    decimal_literal(f).map(RestrictedExpression::new_decimal).ok_or_else(|| {
        invalid(path, format_args!("value `{n}` is not a decimal with at most 4 fractional digits in range"))
    })
}

/// Converts an application value with no declared type. `Ok(None)` for `null`.
pub(crate) fn untyped(value: &Value, path: &Path<'_>) -> Result<Option<RestrictedExpression>> {
    Ok(Some(match value {
        Value::Null => return Ok(None),
        Value::Bool(b) => RestrictedExpression::new_bool(*b),
        Value::Number(n) => number(n, path, false)?,
        Value::String(s) => RestrictedExpression::new_string(s.clone()),
        Value::Array(items) => {
            check_depth(path)?;
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let at = Path::Element(path, i);
                out.push(untyped(item, &at)?.ok_or_else(|| invalid(&at, "is `null`, which a set cannot hold"))?);
            }
            RestrictedExpression::new_set(out)
        }
        Value::Object(map) => {
            check_depth(path)?;
            record(map, path, untyped)?
        }
    }))
}

/// Converts an object's members (leaving out `null`s) into a record.
fn record(
    map: &serde_json::Map<String, Value>,
    path: &Path<'_>,
    mut convert: impl FnMut(&Value, &Path<'_>) -> Result<Option<RestrictedExpression>>,
) -> Result<RestrictedExpression> {
    let mut pairs = Vec::with_capacity(map.len());
    for (k, v) in map {
        if let Some(e) = convert(v, &Path::Member(path, k))? {
            pairs.push((k.clone(), e));
        }
    }
    RestrictedExpression::new_record(pairs).map_err(|e| invalid(path, format_args!("is not a valid record: {e}")))
}

/// Converts a value whose type is declared; a value of another type is an error.
/// `Ok(None)` for `null` (an absent value; the caller decides whether it may be absent).
pub(crate) fn typed(value: &Value, ty: &ValueType, path: &Path<'_>) -> Result<Option<RestrictedExpression>> {
    let mismatch = || invalid(path, format_args!("must be {}", ty.describe()));
    Ok(Some(match (ty, value) {
        (_, Value::Null) => return Ok(None),
        (ValueType::Bool, Value::Bool(b)) => RestrictedExpression::new_bool(*b),
        (ValueType::Long, Value::Number(n)) if integral(n).is_some() => number(n, path, false)?,
        (ValueType::Decimal, Value::Number(n)) => number(n, path, true)?,
        (ValueType::String, Value::String(s)) => RestrictedExpression::new_string(s.clone()),
        (ValueType::Set(elem), Value::Array(items)) => {
            check_depth(path)?;
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let at = Path::Element(path, i);
                out.push(typed(item, elem, &at)?.ok_or_else(|| invalid(&at, "is `null`, which a set cannot hold"))?);
            }
            RestrictedExpression::new_set(out)
        }
        (ValueType::Record(fields), Value::Object(map)) => {
            check_depth(path)?;
            if let Some(name) = missing_required(fields, map) {
                return Err(invalid(&Path::Member(path, name), "is required"));
            }
            record(map, path, |v, at| match at {
                Path::Member(_, name) => match fields.get(*name) {
                    Some(field) => typed(v, &field.ty, at),
                    None => untyped(v, at),
                },
                _ => untyped(v, at),
            })?
        }
        _ => return Err(mismatch()),
    }))
}

/// The first required field of `fields` that is absent or `null` in `map`.
pub(crate) fn missing_required<'f>(
    fields: &'f std::collections::BTreeMap<String, Field>,
    map: &serde_json::Map<String, Value>,
) -> Option<&'f str> {
    fields
        .iter()
        .find(|(name, field)| field.required && map.get(name.as_str()).is_none_or(Value::is_null))
        .map(|(name, _)| name.as_str())
}
