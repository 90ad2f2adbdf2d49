use super::super::values::{decimal_literal, typed, untyped, Path};
use super::*;

#[test]
fn decimals_are_exact_or_refused() {
    assert_eq!(decimal_literal(50.25).as_deref(), Some("50.25"));
    assert_eq!(decimal_literal(3.0).as_deref(), Some("3.0"));
    assert_eq!(decimal_literal(-0.0001).as_deref(), Some("-0.0001"));
    assert_eq!(decimal_literal(0.1).as_deref(), Some("0.1"));
    assert_eq!(decimal_literal(0.00001), None);
    assert_eq!(decimal_literal(0.1 + 0.2), None);
    assert_eq!(decimal_literal(1e15), None);
    assert_eq!(decimal_literal(f64::NAN), None);
}

#[test]
fn values_convert_or_name_the_bad_input() {
    let root = Path::Root("argument", "a");
    assert!(untyped(&json!({"x": [1, "y", true, {"z": null}], "n": null}), &root).unwrap().is_some());
    assert!(untyped(&Value::Null, &root).unwrap().is_none());
    let err = untyped(&json!({"x": {"y": 0.123456}}), &root).unwrap_err();
    assert_eq!(
        err.message(),
        "argument `a.x.y` value `0.123456` is not a decimal with at most 4 fractional digits in range"
    );
    let ty = ValueType::Record(std::collections::BTreeMap::from([
        ("n".to_owned(), Field::required(ValueType::Long)),
        ("s".to_owned(), Field::optional(ValueType::Set(Box::new(ValueType::String)))),
    ]));
    assert!(typed(&json!({"n": 1, "s": ["a"], "extra": 2.5}), &ty, &root).unwrap().is_some());
    assert_eq!(typed(&json!({"s": []}), &ty, &root).unwrap_err().message(), "argument `a.n` is required");
    assert_eq!(
        typed(&json!({"n": 1, "s": [1]}), &ty, &root).unwrap_err().message(),
        "argument `a.s[0]` must be a string"
    );
    assert_eq!(typed(&json!({"n": 1.5}), &ty, &root).unwrap_err().message(), "argument `a.n` must be an integer");
    assert!(typed(&json!({"n": 2.0}), &ty, &root).unwrap().is_some(), "an integral float is an integer");
    assert_eq!(
        typed(&json!(true), &ValueType::Decimal, &root).unwrap_err().message(),
        "argument `a` must be a number with at most 4 fractional digits"
    );
}
