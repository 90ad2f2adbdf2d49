//! [`SchemaHints`]: what the application tells the schema about its attributes and actions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::actions::is_exact_action;
use super::values::decimal_literal;
use crate::error::{Error, ErrorCode, Result};

/// Agent attributes the runtime sets itself; an application attribute may not use these names.
pub const AGENT_BUILTIN_ATTRIBUTES: [&str; 3] = ["owner", "org", "status"];
/// Resource attributes the runtime sets itself; an application attribute may not use these names.
pub const RESOURCE_BUILTIN_ATTRIBUTES: [&str; 2] = ["path", "data_class"];
/// The longest attribute, field or argument name in hints, in bytes.
pub(crate) const MAX_HINT_NAME_LEN: usize = 64;
/// The deepest nesting of `set` and `record` types in hints.
pub(crate) const MAX_HINT_TYPE_DEPTH: usize = 8;

/// The Cedar type of a declared attribute, field or argument.
///
/// JSON form: `"bool"`, `"long"`, `"string"`, `"decimal"`, `{"set": <type>}`,
/// `{"record": {"name": {"type": <type>, "required": true}}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    /// `Bool`: a JSON boolean.
    Bool,
    /// `Long`: a JSON integer that fits 64 signed bits.
    Long,
    /// `String`: a JSON string.
    String,
    /// `decimal`: a JSON number with at most 4 fractional digits.
    Decimal,
    /// `Set<T>`: a JSON array whose elements are all of the element type.
    Set(Box<ValueType>),
    /// A record: a JSON object with these fields (others are passed on untyped).
    Record(BTreeMap<String, Field>),
}

/// A field of a record type or a declared tool argument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// Its type.
    #[serde(rename = "type")]
    pub ty: ValueType,
    /// Whether it must be present: policies may read it without a `has` guard.
    #[serde(default)]
    pub required: bool,
}

impl Field {
    /// A field that must be present.
    pub fn required(ty: ValueType) -> Self {
        Self { ty, required: true }
    }

    /// A field that may be absent (policies read it behind `has`).
    pub fn optional(ty: ValueType) -> Self {
        Self { ty, required: false }
    }
}

impl ValueType {
    /// The type in Cedar schema syntax.
    pub fn to_cedar(&self) -> String {
        match self {
            ValueType::Bool => "Bool".to_owned(),
            ValueType::Long => "Long".to_owned(),
            ValueType::String => "String".to_owned(),
            ValueType::Decimal => "decimal".to_owned(),
            ValueType::Set(elem) => format!("Set<{}>", elem.to_cedar()),
            ValueType::Record(fields) => {
                let inner: Vec<String> = fields
                    .iter()
                    .map(|(name, f)| {
                        format!("{}{}: {}", quote_name(name), if f.required { "" } else { "?" }, f.ty.to_cedar())
                    })
                    .collect();
                format!("{{{}}}", inner.join(", "))
            }
        }
    }

    /// The type in words, for messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            ValueType::Bool => "a boolean".to_owned(),
            ValueType::Long => "an integer".to_owned(),
            ValueType::String => "a string".to_owned(),
            ValueType::Decimal => "a number with at most 4 fractional digits".to_owned(),
            ValueType::Set(_) => format!("an array (`{}`)", self.to_cedar()),
            ValueType::Record(_) => format!("an object (`{}`)", self.to_cedar()),
        }
    }

    /// The type of a JSON value, where one is clear: scalars, and arrays of one scalar type.
    fn infer(value: &Value) -> Option<ValueType> {
        match value {
            Value::Bool(_) => Some(ValueType::Bool),
            Value::Number(n) if n.is_i64() => Some(ValueType::Long),
            Value::Number(n) => n.as_f64().and_then(decimal_literal).map(|_| ValueType::Decimal),
            Value::String(_) => Some(ValueType::String),
            Value::Array(items) => {
                let mut elem: Option<ValueType> = None;
                for item in items {
                    let t = Self::infer(item).filter(|t| !matches!(t, ValueType::Set(_)))?;
                    elem = Some(match elem {
                        None => t,
                        Some(e) => e.merge(&t)?,
                    });
                }
                elem.map(|e| ValueType::Set(Box::new(e)))
            }
            Value::Null | Value::Object(_) => None,
        }
    }

    /// The one type both values fit, if there is one.
    fn merge(&self, other: &ValueType) -> Option<ValueType> {
        match (self, other) {
            (a, b) if a == b => Some(a.clone()),
            (ValueType::Long, ValueType::Decimal) | (ValueType::Decimal, ValueType::Long) => Some(ValueType::Decimal),
            (ValueType::Set(a), ValueType::Set(b)) => a.merge(b).map(|t| ValueType::Set(Box::new(t))),
            _ => None,
        }
    }

    fn check(&self, what: &str, depth: usize) -> Result<()> {
        if depth > MAX_HINT_TYPE_DEPTH {
            return Err(bad_hint(format!("{what} nests types more than {MAX_HINT_TYPE_DEPTH} levels deep")));
        }
        match self {
            ValueType::Set(elem) => elem.check(what, depth + 1),
            ValueType::Record(fields) => {
                for (name, field) in fields {
                    check_name(name, what)?;
                    field.ty.check(what, depth + 1)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// Types the schema declares for application data. Everything not declared stays open:
/// policies may read it behind `has`, unchecked (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaHints {
    /// Agent attributes (from the agent record's `attributes`), all optional.
    #[serde(default)]
    pub agent_attributes: BTreeMap<String, ValueType>,
    /// Resource attributes (registered or passed with a call), all optional.
    #[serde(default)]
    pub resource_attributes: BTreeMap<String, ValueType>,
    /// Declared actions and the types of their arguments (`context.args`); an argument not
    /// listed is an error in a policy on that action.
    #[serde(default)]
    pub actions: BTreeMap<String, BTreeMap<String, Field>>,
}

#[derive(Default)]
struct Inferred(BTreeMap<String, Option<ValueType>>);

impl Inferred {
    fn add(&mut self, record: &Map<String, Value>, reserved: &[&str]) {
        for (name, value) in record {
            let empty = matches!(value, Value::Array(items) if items.is_empty());
            if value.is_null() || empty || reserved.contains(&name.as_str()) || check_name(name, "").is_err() {
                continue;
            }
            let seen = ValueType::infer(value);
            let slot = self.0.entry(name.clone()).or_insert_with(|| seen.clone());
            *slot = match (slot.as_ref(), seen) {
                (Some(a), Some(b)) => a.merge(&b),
                _ => None,
            };
        }
    }

    fn into_types(self) -> BTreeMap<String, ValueType> {
        self.0.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect()
    }
}

impl SchemaHints {
    /// Declares agent and resource attribute types from registered records: an attribute is
    /// declared when every record that has it holds a value of one clear type (a boolean,
    /// integer, string, decimal, or array of one of those; `null` and `[]` fit any type).
    /// Attributes whose values disagree or hold objects stay open.
    pub fn from_records<'a>(
        agents: impl Iterator<Item = &'a Map<String, Value>>,
        resources: impl Iterator<Item = &'a Map<String, Value>>,
    ) -> Self {
        let (mut a, mut r) = (Inferred::default(), Inferred::default());
        agents.for_each(|m| a.add(m, &AGENT_BUILTIN_ATTRIBUTES));
        resources.for_each(|m| r.add(m, &RESOURCE_BUILTIN_ATTRIBUTES));
        Self { agent_attributes: a.into_types(), resource_attributes: r.into_types(), actions: BTreeMap::new() }
    }

    /// Declares `action` with the types of its arguments.
    #[must_use]
    pub fn with_action(mut self, action: &str, args: BTreeMap<String, Field>) -> Self {
        self.actions.insert(action.to_owned(), args);
        self
    }

    /// Checks names and types: attribute and argument names of `A-Z a-z 0-9 _ -`, no built-in
    /// attribute redeclared, actions well formed.
    pub fn validate(&self) -> Result<()> {
        for (name, ty) in &self.agent_attributes {
            let what = format!("agent attribute `{name}`");
            check_name(name, &what)?;
            if AGENT_BUILTIN_ATTRIBUTES.contains(&name.as_str()) {
                return Err(bad_hint(format!("{what} is built in and cannot be redeclared")));
            }
            ty.check(&what, 0)?;
        }
        for (name, ty) in &self.resource_attributes {
            let what = format!("resource attribute `{name}`");
            check_name(name, &what)?;
            if RESOURCE_BUILTIN_ATTRIBUTES.contains(&name.as_str()) {
                return Err(bad_hint(format!("{what} is built in and cannot be redeclared")));
            }
            ty.check(&what, 0)?;
        }
        for (action, args) in &self.actions {
            if !is_exact_action(action) {
                return Err(bad_hint(format!(
                    "declared action `{action}` must be dot-separated segments of A-Z a-z 0-9 _ -"
                )));
            }
            for (name, field) in args {
                let what = format!("argument `{name}` of action `{action}`");
                check_name(name, &what)?;
                field.ty.check(&what, 0)?;
            }
        }
        Ok(())
    }
}

fn bad_hint(message: String) -> Error {
    Error::new(ErrorCode::InvalidArgument, message)
}

fn check_name(name: &str, what: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_HINT_NAME_LEN
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(bad_hint(format!("{what}: name `{name}` must be 1 to {MAX_HINT_NAME_LEN} characters of A-Z a-z 0-9 _ -")))
    }
}

/// An attribute name as written in Cedar schema syntax: bare if an identifier, else quoted.
/// Names are checked (`A-Z a-z 0-9 _ -`) before they get here, so quoting needs no escapes.
pub(crate) fn quote_name(name: &str) -> String {
    const KEYWORDS: [&str; 10] = ["true", "false", "if", "then", "else", "in", "is", "like", "has", "__cedar"];
    let ident = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ident && !KEYWORDS.contains(&name) {
        name.to_owned()
    } else {
        format!("\"{name}\"")
    }
}
