//! The API and wire forms: round trips, defaults and parse errors.

use serde_json::{json, Value};

use super::{parse_code, scope};
use crate::error::ErrorCode;
use crate::scope::{scopes_from_wire, scopes_to_wire, Budget, Constraint, Limits, Rate, Scope, MAX_SCOPES};

/// Parses a wire entry both ways (from a JSON value, and from its text as a verified token
/// does); they must agree, on errors too.
fn from_wire_both(v: &Value) -> crate::error::Result<Scope> {
    let raw = serde_json::value::RawValue::from_string(v.to_string()).unwrap();
    let (a, b) = (Scope::from_wire(v), Scope::from_wire_json(&raw));
    match (&a, &b) {
        (Ok(x), Ok(y)) => assert_eq!(x, y),
        (Err(x), Err(y)) => assert_eq!(x.code(), y.code(), "{x} / {y}"),
        _ => panic!("the two wire parsers disagree on {v}: {a:?} / {b:?}"),
    }
    a
}

fn full() -> Scope {
    Scope::new(["payments.refund", "payments.read.*"])
        .with_resources(["customer/*"])
        .with_data_classes(["pci", "pub"])
        .with_constraint("amount", Constraint::between(0, 100))
        .with_constraint("currency", Constraint::one_of(["usd", "eur"]))
        .with_constraint("ratio", Constraint::at_most(serde_json::Number::from_f64(0.5).unwrap()))
        .with_constraint("dry_run", Constraint::equal_to(true))
        .with_limits(
            Limits::default().with_max_uses(10).with_rate(Rate::new(10, 60)).with_budget(Budget::new("amount", 500)),
        )
}

#[test]
fn api_form_round_trips_and_keeps_integers() {
    let s = full();
    let v = s.to_api_value();
    assert_eq!(
        v,
        json!({
            "actions": ["payments.refund", "payments.read.*"],
            "resources": ["customer/*"],
            "data_classes": ["pci", "pub"],
            "constraints": {
                "amount": {"min": 0, "max": 100},
                "currency": {"in": ["usd", "eur"]},
                "ratio": {"max": 0.5},
                "dry_run": {"eq": true}
            },
            "limits": {"max_uses": 10, "rate": "10/min", "budget": {"arg": "amount", "max_total": 500}}
        })
    );
    let text = serde_json::to_string(&s).unwrap();
    assert!(text.contains(r#""max":100"#) && !text.contains("100.0"), "{text}");
    assert_eq!(Scope::parse_json(&text).unwrap(), s);
    assert_eq!(serde_json::from_str::<Scope>(&text).unwrap(), s);
    assert_eq!(Scope::from_api_value(&v).unwrap(), s);
}

#[test]
fn wire_form_round_trips() {
    let s = full();
    let w = s.to_wire();
    assert_eq!(w["type"], "rid_scope");
    assert_eq!(w["locations"], json!(["customer/*"]));
    assert_eq!(w["datatypes"], json!(["pci", "pub"]));
    assert_eq!(w["constraints"], s.to_api_value()["constraints"]);
    assert_eq!(w["limits"], s.to_api_value()["limits"]);
    assert!(w.get("resources").is_none() && w.get("data_classes").is_none());
    assert_eq!(from_wire_both(&w).unwrap(), s);
    let minimal = Scope::new(["a"]);
    assert_eq!(minimal.to_wire(), json!({"type": "rid_scope", "actions": ["a"], "locations": ["*"]}));
    assert_eq!(from_wire_both(&minimal.to_wire()).unwrap(), minimal);
    // A whole number and the same number written with a fraction stay distinct both ways.
    let one = json!({"type": "rid_scope", "actions": ["a"], "locations": ["*"], "constraints": {"n": {"max": 1}}});
    let one_point_zero =
        json!({"type": "rid_scope", "actions": ["a"], "locations": ["*"], "constraints": {"n": {"max": 1.0}}});
    assert_ne!(from_wire_both(&one).unwrap(), from_wire_both(&one_point_zero).unwrap());
}

#[test]
fn wire_form_is_strict() {
    let base = json!({"type": "rid_scope", "actions": ["a"], "locations": ["*"]});
    assert!(from_wire_both(&base).is_ok());
    let mutate = |f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut v = base.clone();
        f(v.as_object_mut().unwrap());
        from_wire_both(&v).err().map(|e| e.code())
    };
    let invalid = Some(ErrorCode::ScopeInvalid);
    assert_eq!(
        mutate(&|m| {
            m.insert("type".into(), json!("other"));
        }),
        invalid
    );
    assert_eq!(
        mutate(&|m| {
            m.remove("type");
        }),
        invalid
    );
    assert_eq!(
        mutate(&|m| {
            m.remove("locations");
        }),
        invalid,
        "locations is required on the wire"
    );
    assert_eq!(
        mutate(&|m| {
            m.insert("resources".into(), json!(["*"]));
        }),
        invalid
    );
    assert_eq!(
        mutate(&|m| {
            m.insert("data_classes".into(), json!(["pci"]));
        }),
        invalid
    );
    assert_eq!(
        mutate(&|m| {
            m.insert("datatypes".into(), Value::Null);
        }),
        invalid
    );
    assert_eq!(
        mutate(&|m| {
            m.insert("privileges".into(), json!([]));
        }),
        invalid
    );
    assert_eq!(
        mutate(&|m| {
            m.insert("actions".into(), json!(["a..b"]));
        }),
        invalid
    );
    assert_eq!(
        mutate(&|m| {
            m.insert("actions".into(), json!(vec!["a"; 65]));
        }),
        Some(ErrorCode::InputTooLarge)
    );
    for not_object in [json!(null), json!([]), json!("rid_scope"), json!(1)] {
        assert_eq!(from_wire_both(&not_object).err().map(|e| e.code()), invalid);
    }
    // A token's text can repeat a key, which a parsed value cannot show: refused, not "last wins".
    let repeated = r#"{"type":"rid_scope","actions":["a"],"actions":["*"],"locations":["*"]}"#;
    let raw = serde_json::value::RawValue::from_string(repeated.to_owned()).unwrap();
    assert_eq!(Scope::from_wire_json(&raw).err().map(|e| e.code()), invalid);
}

#[test]
fn api_form_defaults_and_strictness() {
    let s = scope(json!({"actions": ["a"]}));
    assert_eq!(s, Scope::new(["a"]));
    assert_eq!(parse_code(json!({"resources": ["*"]})), ErrorCode::ScopeInvalid);
    assert_eq!(parse_code(json!({"actions": ["a"], "locations": ["*"]})), ErrorCode::ScopeInvalid);
    assert_eq!(parse_code(json!({"actions": ["a"], "type": "rid_scope"})), ErrorCode::ScopeInvalid);
    assert_eq!(parse_code(json!({"actions": ["a"], "data_classes": null})), ErrorCode::ScopeInvalid);
    assert_eq!(parse_code(json!({"actions": "a"})), ErrorCode::ScopeInvalid);
    assert_eq!(parse_code(json!({"actions": [1]})), ErrorCode::ScopeInvalid);
    assert_eq!(parse_code(json!({"actions": ["a"], "constraints": []})), ErrorCode::ScopeInvalid);
    assert_eq!(parse_code(json!({"actions": ["a"], "constraints": null})), ErrorCode::ScopeInvalid);
    for bad in ["", "{", "[]", "null", r#"{"actions": ["a"]} x"#] {
        assert_eq!(Scope::parse_json(bad).err().map(|e| e.code()), Some(ErrorCode::ScopeInvalid), "{bad:?}");
    }
}

#[test]
fn deserialize_validates_and_keeps_the_message() {
    let e = serde_json::from_str::<Scope>(r#"{"actions": ["a..b"]}"#).unwrap_err();
    assert!(e.to_string().contains("action pattern `a..b` has an empty segment"), "{e}");
    let e = serde_json::from_value::<Scope>(json!({"actions": vec!["a"; 65]})).unwrap_err();
    assert!(e.to_string().contains("at most 64"), "{e}");
}

#[test]
fn duplicate_constraints_are_refused() {
    let text = r#"{"actions": ["a"], "constraints": {"x": {"max": 1}, "x": {"max": 1000}}}"#;
    let e = Scope::parse_json(text).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ScopeInvalid);
    assert!(e.message().contains("argument `x` is constrained twice"), "{}", e.message());
    let text = r#"{"actions": ["a"], "constraints": {"x": {"max": 1, "max": 1000}}}"#;
    assert!(Scope::parse_json(text).is_err());
}

#[test]
fn scope_lists_on_the_wire() {
    let scopes = vec![full(), Scope::new(["b"])];
    let v = scopes_to_wire(&scopes);
    assert_eq!(scopes_from_wire(&v).unwrap(), scopes);
    assert_eq!(scopes_from_wire(&json!([])).err().map(|e| e.code()), Some(ErrorCode::ScopeInvalid));
    assert_eq!(scopes_from_wire(&json!({})).err().map(|e| e.code()), Some(ErrorCode::ScopeInvalid));
    let many = scopes_to_wire(&vec![Scope::new(["a"]); MAX_SCOPES]);
    assert!(scopes_from_wire(&many).is_ok());
    let too_many = scopes_to_wire(&vec![Scope::new(["a"]); MAX_SCOPES + 1]);
    assert_eq!(scopes_from_wire(&too_many).err().map(|e| e.code()), Some(ErrorCode::InputTooLarge));
    let e = scopes_from_wire(&json!([Scope::new(["a"]).to_wire(), {"type": "other"}])).unwrap_err();
    assert!(e.message().starts_with("scope 1: "), "{}", e.message());
}

#[test]
fn arrays_are_not_read_as_objects_by_position() {
    use crate::scope::Constraint;
    assert!(from_wire_both(&json!(["rid_scope", ["a"], ["*"]])).is_err());
    assert!(Scope::from_api_value(&json!([["a"]])).is_err());
    assert!(Scope::parse_json(r#"[["a"]]"#).is_err());
    assert!(serde_json::from_str::<Scope>(r#"[["a"]]"#).is_err());
    assert_eq!(parse_code(json!({"actions": ["a"], "constraints": {"x": [1]}})), ErrorCode::ScopeInvalid);
    assert_eq!(parse_code(json!({"actions": ["a"], "limits": [1]})), ErrorCode::ScopeInvalid);
    assert_eq!(parse_code(json!({"actions": ["a"], "limits": {"budget": ["amount", 5]}})), ErrorCode::ScopeInvalid);
    assert!(serde_json::from_str::<Constraint>("[1]").is_err());
    assert_eq!(serde_json::from_str::<Constraint>(r#"{"max": 1}"#).unwrap(), Constraint::at_most(1));
    assert!(serde_json::from_str::<Limits>("[1]").is_err());
    assert!(serde_json::from_str::<Budget>(r#"["amount", 5]"#).is_err());
    assert_eq!(
        serde_json::from_str::<Budget>(r#"{"arg": "amount", "max_total": 5}"#).unwrap(),
        Budget::new("amount", 5)
    );
}
