//! Strict JSON text: every JSON text a caller hands the core or the CLI is read here.
//!
//! `serde_json` keeps the last of a repeated key: `{"amount":500,"amount":50}` reads as
//! `{"amount":50}`, while another reader of the same text (a tool, a second verifier, a
//! person) may take the first. A repeated key is therefore refused at every level. Nesting is
//! bounded by [`MAX_DEPTH`], below `serde_json`'s own recursion limit (128) and no deeper
//! than a value the policy engine converts ([`crate::policy::MAX_VALUE_DEPTH`]), so an
//! accepted text is never refused later for its depth, and every record holding it reads back.
//!
//! The errors are `serde_json` errors (with line and column): each caller gives them its own
//! code (`invalid_argument` for the CLI's arguments, `token_malformed` for a JWS, …).

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The deepest nesting of objects and arrays accepted (the outermost counts as one).
pub const MAX_DEPTH: usize = 32;

/// Parses JSON text into a value, refusing repeated keys and nesting beyond [`MAX_DEPTH`].
pub fn parse(text: &str) -> Result<Value, serde_json::Error> {
    parse_within(text, MAX_DEPTH)
}

/// [`parse`] with another nesting bound: for a check's arguments, whose depth the check itself
/// bounds (a call nested too deep is then a `request_invalid` decision, as in every binding,
/// not an error). `serde_json`'s recursion limit (128) still applies.
pub fn parse_within(text: &str, max_depth: usize) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Strict { open: 0, max: max_depth }.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// [`parse`] for text that must be a JSON object.
pub fn parse_object(text: &str) -> Result<Map<String, Value>, serde_json::Error> {
    match parse(text)? {
        Value::Object(map) => Ok(map),
        _ => Err(serde_json::Error::custom("expected a json object")),
    }
}

/// Checks JSON bytes as [`parse`] does without building a value: for texts that are then
/// read into typed structs (JWS headers and payloads, key files), whose derived readers
/// refuse a repeated field they know but not one they ignore or one nested in a free value.
pub fn check(bytes: &[u8]) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    Check { open: 0 }.deserialize(&mut de)?;
    de.end()
}

/// The nesting of `value`: 0 for a scalar, one more than its deepest member for an object or
/// array (so `{}` and `[]` are 1).
pub fn depth(value: &Value) -> usize {
    // Iterative, so a value built in memory (by a binding) of any depth cannot overflow the stack.
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((v, above)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        let here = above + 1;
        deepest = deepest.max(here);
        stack.extend(children.map(|c| (c, here)));
    }
    deepest
}

/// The nesting of an object given as its members: [`depth`] of the object.
pub fn map_depth(map: &Map<String, Value>) -> usize {
    1 + map.values().map(depth).max().unwrap_or(0)
}

fn too_deep<E: serde::de::Error>() -> E {
    E::custom(format_args!("json nested more than {MAX_DEPTH} levels deep"))
}

fn repeated<E: serde::de::Error>(key: &str) -> E {
    E::custom(format_args!("key `{}` appears twice in one object", crate::principal::preview(key)))
}

/// Reads any value; `open` is the number of objects and arrays around it.
struct Strict {
    open: usize,
    max: usize,
}

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a json value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }
    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        // As `Value`'s own reader: JSON text holds no NaN or infinity.
        Ok(Number::from_f64(f).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        if self.open >= self.max {
            return Err(too_deep());
        }
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Strict { open: self.open + 1, max: self.max })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        if self.open >= self.max {
            return Err(too_deep());
        }
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(repeated(&key));
            }
            let value = access.next_value_seed(Strict { open: self.open + 1, max: self.max })?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

/// Walks any value, keeping only the keys of the objects open.
struct Check {
    open: usize,
}

impl<'de> DeserializeSeed<'de> for Check {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Check {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a json value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.open >= MAX_DEPTH {
            return Err(too_deep());
        }
        while seq.next_element_seed(Check { open: self.open + 1 })?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        if self.open >= MAX_DEPTH {
            return Err(too_deep());
        }
        let mut keys = BTreeSet::new();
        while let Some(key) = access.next_key_seed(Key)? {
            if keys.contains(&key) {
                return Err(repeated(&key));
            }
            access.next_value_seed(Check { open: self.open + 1 })?;
            keys.insert(key);
        }
        Ok(())
    }
}

/// A key, borrowed from the text when it has no escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }
    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn nested(levels: usize) -> String {
        format!("{}{}", "[".repeat(levels), "]".repeat(levels))
    }

    #[test]
    fn a_repeated_key_is_refused_at_every_level() {
        for text in [
            r#"{"amount":500,"amount":50}"#,
            r#"{"a":{"b":1,"b":1}}"#,
            r#"[{"x":[{"k":1,"k":2}]}]"#,
            r#"{"a\u0062":1,"ab":2}"#,
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.to_string().contains("appears twice"), "{text}: {e}");
            assert!(check(text.as_bytes()).unwrap_err().to_string().contains("appears twice"), "{text}");
        }
        // The same key in different objects is fine.
        let v = parse(r#"{"a":{"k":1},"b":{"k":2},"c":[{"k":3},{"k":4}]}"#).unwrap();
        assert_eq!(v["c"][1]["k"], 4);
        check(br#"{"a":{"k":1},"b":{"k":2}}"#).unwrap();
    }

    #[test]
    fn the_value_is_what_serde_json_reads_without_repeats() {
        let text = r#"{"s":"x\n\u00e9","n":-3,"u":18446744073709551615,"f":1.5,"e":1e3,"b":true,"z":null,"l":[1,{}]}"#;
        assert_eq!(parse(text).unwrap(), serde_json::from_str::<Value>(text).unwrap());
        check(text.as_bytes()).unwrap();
        assert_eq!(parse_object(text).unwrap().len(), 8);
        assert!(parse_object("[1]").is_err());
        assert!(parse("{} x").is_err());
        assert!(check(b"{} x").is_err());
        assert!(parse("{\"a\":1,}").is_err());
    }

    #[test]
    fn nesting_is_bounded() {
        assert_eq!(depth(&parse(&nested(MAX_DEPTH)).unwrap()), MAX_DEPTH);
        check(nested(MAX_DEPTH).as_bytes()).unwrap();
        for levels in [MAX_DEPTH + 1, 200, 100_000] {
            let e = parse(&nested(levels)).unwrap_err();
            assert!(e.to_string().contains("nested more than 32 levels"), "{e}");
            assert!(check(nested(levels).as_bytes()).is_err());
        }
        let obj = format!("{}1{}", r#"{"a":"#.repeat(MAX_DEPTH + 1), "}".repeat(MAX_DEPTH + 1));
        assert!(parse(&obj).is_err());
        assert_eq!(depth(&Value::Null), 0);
        assert_eq!(depth(&parse(r#"{"a":[1,[2]],"b":{}}"#).unwrap()), 3);
        assert_eq!(map_depth(&parse_object(r#"{"a":[1,[2]]}"#).unwrap()), 3);
        assert_eq!(map_depth(&Map::new()), 1);
    }

    #[test]
    fn the_bound_fits_the_policy_engine() {
        // A value at the bound converts for Cedar (which refuses a container at depth 32).
        const { assert!(MAX_DEPTH <= crate::policy::MAX_VALUE_DEPTH) };
    }
}
