//! The two JSON forms of a scope: the API form (serde) and the wire form (RFC 9396
//! authorization detail of type `rid_scope`). Every way in validates the result.
//!
//! Both forms reject unknown fields, `null` where a value is optional (leave the field out
//! instead), an argument constrained twice, and arrays in place of objects (serde's derive
//! would read those by field position). The API form defaults `resources` to `["*"]`; the wire form requires
//! `locations`, so a token that does not say which resources it grants grants none.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Error as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Number, Value};

use crate::error::{Error, ErrorCode, Result};

use super::validate::check_scope_count;
use super::{preview, validate_scopes, Constraint, Limits, Scope, WIRE_TYPE};

/// Reads an optional field that, when present, must not be `null`.
pub(crate) fn non_null<'de, D, T>(d: D) -> std::result::Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// Reads an optional non-negative integer count, refusing `null`.
pub(crate) fn non_null_count<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<u64>, D::Error> {
    let n = Number::deserialize(d)?;
    match n.as_u64() {
        Some(count) => Ok(Some(count)),
        None => Err(D::Error::custom(format!("`{n}` is not a non-negative integer"))),
    }
}

/// Reads `T` (a derived struct) from a JSON object only: serde's derive would also read an
/// array, by field position, a second form of every struct that no one should rely on.
pub(crate) fn from_object<'de, D, T>(d: D, what: &'static str) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct ObjectOnly<T>(PhantomData<T>, &'static str);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectOnly<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.1)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<T, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_map(ObjectOnly(PhantomData, what))
}

/// Reads the `constraints` object, refusing an argument named twice.
fn unique_constraints<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<BTreeMap<String, Constraint>, D::Error> {
    struct ConstraintsVisitor;
    impl<'de> Visitor<'de> for ConstraintsVisitor {
        type Value = BTreeMap<String, Constraint>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object of constraints by argument name")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((arg, constraint)) = map.next_entry::<String, Constraint>()? {
                match out.entry(arg) {
                    Entry::Vacant(slot) => {
                        slot.insert(constraint);
                    }
                    Entry::Occupied(slot) => {
                        return Err(A::Error::custom(format!(
                            "argument `{}` is constrained twice",
                            preview(slot.key())
                        )))
                    }
                }
            }
            Ok(out)
        }
    }
    d.deserialize_map(ConstraintsVisitor)
}

const SCOPE_OBJECT: &str = "a scope object";

fn all() -> Vec<String> {
    vec!["*".to_owned()]
}

/// The API form, before validation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiScope {
    actions: Vec<String>,
    #[serde(default = "all")]
    resources: Vec<String>,
    #[serde(default, deserialize_with = "non_null")]
    data_classes: Option<Vec<String>>,
    #[serde(default, deserialize_with = "unique_constraints")]
    constraints: BTreeMap<String, Constraint>,
    #[serde(default)]
    limits: Limits,
}

/// The wire form, before validation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireScope {
    #[serde(rename = "type")]
    kind: String,
    actions: Vec<String>,
    locations: Vec<String>,
    #[serde(default, deserialize_with = "non_null")]
    datatypes: Option<Vec<String>>,
    #[serde(default, deserialize_with = "unique_constraints")]
    constraints: BTreeMap<String, Constraint>,
    #[serde(default)]
    limits: Limits,
}

impl From<ApiScope> for Scope {
    fn from(s: ApiScope) -> Self {
        Scope {
            actions: s.actions,
            resources: s.resources,
            data_classes: s.data_classes,
            constraints: s.constraints.into(),
            limits: s.limits,
        }
    }
}

fn strings(list: &[String]) -> Value {
    Value::Array(list.iter().cloned().map(Value::String).collect())
}

fn api_error(e: &serde_json::Error) -> Error {
    Error::new(ErrorCode::ScopeInvalid, format!("invalid scope: {e}"))
}

impl Scope {
    fn to_value_with(&self, wire: bool) -> Value {
        let (resources, data_classes) = if wire { ("locations", "datatypes") } else { ("resources", "data_classes") };
        let mut m = Map::new();
        if wire {
            m.insert("type".to_owned(), Value::String(WIRE_TYPE.to_owned()));
        }
        m.insert("actions".to_owned(), strings(&self.actions));
        m.insert(resources.to_owned(), strings(&self.resources));
        if let Some(list) = &self.data_classes {
            m.insert(data_classes.to_owned(), strings(list));
        }
        if !self.constraints.is_empty() {
            let constraints = self.constraints.iter().map(|(arg, c)| (arg.clone(), c.to_value())).collect();
            m.insert("constraints".to_owned(), Value::Object(constraints));
        }
        if !self.limits.is_empty() {
            m.insert("limits".to_owned(), self.limits.to_value());
        }
        Value::Object(m)
    }

    /// The API form: `{"actions": […], "resources": […], "data_classes"?, "constraints"?,
    /// "limits"?}`, empty constraints and limits left out.
    pub fn to_api_value(&self) -> Value {
        self.to_value_with(false)
    }

    /// Parses and validates the API form from JSON text.
    pub fn parse_json(json: &str) -> Result<Scope> {
        let mut de = serde_json::Deserializer::from_str(json);
        let raw: ApiScope = from_object(&mut de, SCOPE_OBJECT).map_err(|e| api_error(&e))?;
        de.end().map_err(|e| api_error(&e))?;
        let scope = Scope::from(raw);
        scope.validate()?;
        Ok(scope)
    }

    /// Parses and validates the API form from a JSON value.
    pub fn from_api_value(value: &Value) -> Result<Scope> {
        let raw: ApiScope = from_object(value, SCOPE_OBJECT).map_err(|e| api_error(&e))?;
        let scope = Scope::from(raw);
        scope.validate()?;
        Ok(scope)
    }

    /// The wire form: an RFC 9396 authorization detail
    /// `{"type": "rid_scope", "actions", "locations", "datatypes"?, "constraints"?, "limits"?}`.
    pub fn to_wire(&self) -> Value {
        self.to_value_with(true)
    }

    /// Parses and validates the wire form. `type` must be `rid_scope`, `actions` and
    /// `locations` are required, unknown fields are refused (code `ScopeInvalid`, or
    /// `InputTooLarge` for a bound).
    pub fn from_wire(value: &Value) -> Result<Scope> {
        Self::from_wire_parsed(from_object(value, "an authorization detail object"))
    }

    /// [`Scope::from_wire`] from the entry's JSON text, with no intermediate value.
    pub fn from_wire_json(json: &serde_json::value::RawValue) -> Result<Scope> {
        let mut de = serde_json::Deserializer::from_str(json.get());
        Self::from_wire_parsed(from_object(&mut de, "an authorization detail object").and_then(|raw| {
            de.end()?;
            Ok(raw)
        }))
    }

    fn from_wire_parsed(raw: std::result::Result<WireScope, serde_json::Error>) -> Result<Scope> {
        let raw = raw.map_err(|e| {
            Error::new(ErrorCode::ScopeInvalid, format!("invalid {WIRE_TYPE} authorization detail: {e}"))
        })?;
        if raw.kind != WIRE_TYPE {
            return Err(Error::new(
                ErrorCode::ScopeInvalid,
                format!("authorization detail type `{}` is not `{WIRE_TYPE}`", preview(&raw.kind)),
            ));
        }
        let scope = Scope {
            actions: raw.actions,
            resources: raw.locations,
            data_classes: raw.datatypes,
            constraints: raw.constraints.into(),
            limits: raw.limits,
        };
        scope.validate()?;
        Ok(scope)
    }
}

/// The wire form of a list of scopes: the `authorization_details` array.
pub fn scopes_to_wire(scopes: &[Scope]) -> Value {
    Value::Array(scopes.iter().map(Scope::to_wire).collect())
}

/// Parses an `authorization_details` array whose every entry is a `rid_scope`, and checks
/// the list with [`validate_scopes`]. Messages name the failing entry's index.
pub fn scopes_from_wire(value: &Value) -> Result<Vec<Scope>> {
    let Value::Array(items) = value else {
        return Err(Error::new(ErrorCode::ScopeInvalid, "authorization details must be an array"));
    };
    check_scope_count(items.len())?;
    // Exactly as many as there are: a verified chain keeps these for as long as it is cached
    // (collecting through `Result` would reserve room for four).
    let mut scopes = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        scopes.push(Scope::from_wire(item).map_err(|e| Error::new(e.code(), format!("scope {i}: {}", e.message())))?);
    }
    validate_scopes(&scopes)?;
    Ok(scopes)
}

impl Serialize for Scope {
    /// Serialises the API form.
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_api_value().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Scope {
    /// Deserialises the API form and validates it.
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let scope = Scope::from(from_object::<_, ApiScope>(d, SCOPE_OBJECT)?);
        scope.validate().map_err(D::Error::custom)?;
        Ok(scope)
    }
}
