//! Validation: both sides of every bound and syntax rule.

use serde_json::{json, Number};

use super::{parse_code, scope, validate_code};
use crate::error::ErrorCode;
use crate::scope::{
    validate_scopes, Budget, Constraint, Limits, Rate, Scalar, Scope, MAX_CONSTRAINTS, MAX_CONSTRAINT_NAME_LEN,
    MAX_IN_VALUES, MAX_PATTERNS, MAX_PATTERN_LEN, MAX_SCALAR_STRING_LEN, MAX_SCOPES,
};

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

#[test]
fn pattern_lists_are_bounded() {
    let edge = Scope::new(names("a", MAX_PATTERNS));
    assert!(edge.validate().is_ok());
    assert_eq!(validate_code(&Scope::new(names("a", MAX_PATTERNS + 1))), Some(ErrorCode::InputTooLarge));
    let res = |n| Scope::new(["a"]).with_resources(names("r", n));
    assert!(res(MAX_PATTERNS).validate().is_ok());
    assert_eq!(validate_code(&res(MAX_PATTERNS + 1)), Some(ErrorCode::InputTooLarge));
    let dc = |n| Scope::new(["a"]).with_data_classes(names("d", n));
    assert!(dc(MAX_PATTERNS).validate().is_ok());
    assert_eq!(validate_code(&dc(MAX_PATTERNS + 1)), Some(ErrorCode::InputTooLarge));
}

#[test]
fn pattern_and_name_lengths_are_bounded() {
    let edge = "a".repeat(MAX_PATTERN_LEN);
    let over = "a".repeat(MAX_PATTERN_LEN + 1);
    assert!(Scope::new([edge.as_str()]).validate().is_ok());
    assert_eq!(validate_code(&Scope::new([over.as_str()])), Some(ErrorCode::InputTooLarge));
    assert!(Scope::new(["a"]).with_resources([edge.as_str()]).validate().is_ok());
    assert_eq!(validate_code(&Scope::new(["a"]).with_resources([over.as_str()])), Some(ErrorCode::InputTooLarge));
    assert!(Scope::new(["a"]).with_data_classes([edge.as_str()]).validate().is_ok());
    let too_long = Scope::new(["a"]).with_data_classes([over.as_str()]);
    assert_eq!(validate_code(&too_long), Some(ErrorCode::InputTooLarge));
}

#[test]
fn empty_lists_are_refused() {
    assert_eq!(parse_code(json!({"actions": []})), ErrorCode::ScopeInvalid);
    assert_eq!(parse_code(json!({"actions": ["a"], "resources": []})), ErrorCode::ScopeInvalid);
    assert_eq!(parse_code(json!({"actions": ["a"], "data_classes": []})), ErrorCode::ScopeInvalid);
}

#[test]
fn data_class_syntax() {
    for ok in ["pci", "PII_2", "a-b"] {
        assert!(Scope::new(["a"]).with_data_classes([ok]).validate().is_ok(), "{ok}");
    }
    for bad in ["", "a.b", "a b", "*", "é"] {
        let s = Scope::new(["a"]).with_data_classes([bad]);
        assert_eq!(validate_code(&s), Some(ErrorCode::ScopeInvalid), "{bad:?}");
    }
}

#[test]
fn constraint_count_is_bounded() {
    let with =
        |n: usize| (0..n).fold(Scope::new(["a"]), |s, i| s.with_constraint(format!("arg{i}"), Constraint::at_most(1)));
    assert!(with(MAX_CONSTRAINTS).validate().is_ok());
    assert_eq!(validate_code(&with(MAX_CONSTRAINTS + 1)), Some(ErrorCode::InputTooLarge));
}

#[test]
fn constraint_names() {
    let named = |n: &str| Scope::new(["a"]).with_constraint(n, Constraint::at_most(1));
    assert!(named(&"a".repeat(MAX_CONSTRAINT_NAME_LEN)).validate().is_ok());
    assert!(named("Amount_2").validate().is_ok());
    for bad in [&"a".repeat(MAX_CONSTRAINT_NAME_LEN + 1), "", "a-b", "a.b", "a b"] {
        assert_eq!(validate_code(&named(bad)), Some(ErrorCode::ScopeInvalid), "{bad:?}");
    }
}

#[test]
fn constraint_forms() {
    let with = |c: serde_json::Value| json!({"actions": ["a"], "constraints": {"x": c}});
    for ok in [
        json!({"max": 1}),
        json!({"min": -1.5}),
        json!({"min": 1, "max": 1}),
        json!({"min": 1, "max": 2}),
        json!({"in": ["usd", 1, true]}),
        json!({"eq": "usd"}),
        json!({"eq": false}),
    ] {
        scope(with(ok));
    }
    for bad in [
        json!({}),
        json!({"min": 2, "max": 1}),
        json!({"min": 1.5, "max": 1}),
        json!({"in": []}),
        json!({"in": [1], "eq": 1}),
        json!({"in": [1], "max": 1}),
        json!({"eq": 1, "min": 1}),
        json!({"eq": null}),
        json!({"max": null}),
        json!({"max": "1"}),
        json!({"in": [[1]]}),
        json!({"in": [null]}),
        json!({"eq": {"a": 1}}),
        json!({"lt": 1}),
    ] {
        assert_eq!(parse_code(with(bad.clone())), ErrorCode::ScopeInvalid, "{bad}");
    }
}

#[test]
fn in_lists_and_strings_are_bounded() {
    let list = |n: usize| Constraint::one_of((0..n).map(|i| Scalar::from(i as u64)));
    assert!(Scope::new(["a"]).with_constraint("x", list(MAX_IN_VALUES)).validate().is_ok());
    let over = Scope::new(["a"]).with_constraint("x", list(MAX_IN_VALUES + 1));
    assert_eq!(validate_code(&over), Some(ErrorCode::InputTooLarge));
    let edge = "s".repeat(MAX_SCALAR_STRING_LEN);
    let long = "s".repeat(MAX_SCALAR_STRING_LEN + 1);
    for c in [Constraint::equal_to(edge.as_str()), Constraint::one_of([edge.as_str()])] {
        assert!(Scope::new(["a"]).with_constraint("x", c).validate().is_ok());
    }
    for c in [Constraint::equal_to(long.as_str()), Constraint::one_of(["a", long.as_str()])] {
        assert_eq!(validate_code(&Scope::new(["a"]).with_constraint("x", c)), Some(ErrorCode::InputTooLarge));
    }
}

#[test]
fn limits() {
    let with = |l: serde_json::Value| json!({"actions": ["a"], "limits": l});
    for ok in [
        json!({"max_uses": 0}),
        json!({"max_uses": u64::MAX}),
        json!({"rate": "1/s"}),
        json!({"rate": "5/15min"}),
        json!({"budget": {"arg": "amount", "max_total": 0}}),
        json!({"budget": {"arg": "amount", "max_total": 0.5}}),
        json!({}),
    ] {
        scope(with(ok));
    }
    for bad in [
        json!({"max_uses": -1}),
        json!({"max_uses": 1.5}),
        json!({"max_uses": null}),
        json!({"rate": "0/min"}),
        json!({"rate": "10/week"}),
        json!({"rate": 10}),
        json!({"budget": {"arg": "amount", "max_total": -1}}),
        json!({"budget": {"arg": "amount", "max_total": -0.001}}),
        json!({"budget": {"arg": "a-b", "max_total": 1}}),
        json!({"budget": {"arg": "amount"}}),
        json!({"budget": {"arg": "amount", "max_total": 1, "per": "day"}}),
        json!({"uses": 1}),
    ] {
        assert_eq!(parse_code(with(bad.clone())), ErrorCode::ScopeInvalid, "{bad}");
    }
    // Hand-built limits are checked too.
    let bad_rate = Scope::new(["a"]).with_limits(Limits::default().with_rate(Rate::new(0, 60)));
    assert_eq!(validate_code(&bad_rate), Some(ErrorCode::ScopeInvalid));
    let no_window = Scope::new(["a"]).with_limits(Limits::default().with_rate(Rate::new(1, 0)));
    assert_eq!(validate_code(&no_window), Some(ErrorCode::ScopeInvalid));
    let negative = Budget::new("amount", Number::from(-5i64));
    let s = Scope::new(["a"]).with_limits(Limits::default().with_budget(negative));
    assert_eq!(validate_code(&s), Some(ErrorCode::ScopeInvalid));
}

#[test]
fn rates_parse_and_print() {
    for (text, count, per, printed) in [
        ("10/min", 10, 60, "10/min"),
        ("1/s", 1, 1, "1/s"),
        ("3/sec", 3, 1, "3/s"),
        ("3/second", 3, 1, "3/s"),
        ("2/minute", 2, 60, "2/min"),
        ("5/h", 5, 3600, "5/h"),
        ("5/hour", 5, 3600, "5/h"),
        ("7/d", 7, 86_400, "7/d"),
        ("7/day", 7, 86_400, "7/d"),
        ("100/15min", 100, 900, "100/15min"),
        ("1/60s", 1, 60, "1/min"),
        ("1/90s", 1, 90, "1/90s"),
        ("1/2days", 1, 172_800, "1/2d"),
    ] {
        let r = Rate::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!((r.count, r.per_seconds), (count, per), "{text}");
        assert_eq!(r.to_string(), printed);
        assert_eq!(Rate::parse(printed).ok(), Some(r));
    }
    for bad in [
        "",
        "10",
        "10/",
        "/min",
        "0/min",
        "10/0min",
        "-1/min",
        "+1/min",
        "10/MIN",
        "10 /min",
        "1.5/min",
        "10/m",
        "1/99999999999999999999d",
        "99999999999999999999/s",
    ] {
        let e = Rate::parse(bad).err().unwrap_or_else(|| panic!("accepted {bad:?}"));
        assert_eq!(e.code(), ErrorCode::ScopeInvalid, "{bad:?}");
    }
}

#[test]
fn scope_lists_are_bounded() {
    assert_eq!(validate_scopes(&[]).err().map(|e| e.code()), Some(ErrorCode::ScopeInvalid));
    let many = |n| vec![Scope::new(["a"]); n];
    assert!(validate_scopes(&many(1)).is_ok());
    assert!(validate_scopes(&many(MAX_SCOPES)).is_ok());
    assert_eq!(validate_scopes(&many(MAX_SCOPES + 1)).err().map(|e| e.code()), Some(ErrorCode::InputTooLarge));
    let e = validate_scopes(&[Scope::new(["a"]), Scope::new(["a..b"])]).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ScopeInvalid);
    assert!(e.message().starts_with("scope 1: "), "{}", e.message());
}

#[test]
fn messages_are_lowercase_and_name_the_input() {
    let e = Scope::parse_json(r#"{"actions": ["Pay..x"]}"#).unwrap_err();
    assert_eq!(e.message(), "action pattern `Pay..x` has an empty segment");
    let e = Scope::parse_json(r#"{"actions": ["a"], "constraints": {"amount": {"min": 5, "max": 1}}}"#).unwrap_err();
    assert_eq!(e.message(), "constraint on `amount` has max 1 below min 5");
    let e = Scope::parse_json(r#"{"actions": ["a"], "colour": 1}"#).unwrap_err();
    assert!(e.message().starts_with("invalid scope: unknown field `colour`"), "{}", e.message());
    let e = Scope::parse_json(r#"{"actions": ["a"], "limits": null}"#).unwrap_err();
    assert!(e.message().contains("expected a limits object"), "{}", e.message());
    assert!(!e.message().contains("Limits"));
}
