//! Attenuation: every rule accepted at its edge and refused one past it.

use serde_json::{json, Value};

use super::scope;
use crate::error::ErrorCode;
use crate::scope::{covers, covers_all, Rate, Scope};

fn ok(parent: Value, child: Value) {
    let (p, c) = (scope(parent.clone()), scope(child.clone()));
    if let Err(why) = covers(&p, &c) {
        panic!("{child} under {parent}: {why}");
    }
}

fn refused(parent: Value, child: Value) -> String {
    covers(&scope(parent.clone()), &scope(child.clone()))
        .err()
        .unwrap_or_else(|| panic!("{child} accepted under {parent}"))
}

fn with_constraint(c: Value) -> Value {
    json!({"actions": ["a"], "constraints": {"x": c}})
}

fn with_limits(l: Value) -> Value {
    json!({"actions": ["a"], "limits": l})
}

#[test]
fn action_and_resource_patterns() {
    ok(json!({"actions": ["*"]}), json!({"actions": ["a", "b.*", "*"]}));
    ok(json!({"actions": ["a.*"]}), json!({"actions": ["a.b", "a.b.c", "a.*", "a.b.*"]}));
    ok(json!({"actions": ["a.b", "c"]}), json!({"actions": ["c", "a.b"]}));
    assert_eq!(refused(json!({"actions": ["a.*"]}), json!({"actions": ["a"]})), "action `a` is not covered");
    refused(json!({"actions": ["a.*"]}), json!({"actions": ["ab.*"]}));
    refused(json!({"actions": ["a.*"]}), json!({"actions": ["*"]}));
    refused(json!({"actions": ["a.b"]}), json!({"actions": ["a.b.*"]}));
    refused(json!({"actions": ["a.b"]}), json!({"actions": ["a.b", "a.c"]}));
    ok(json!({"actions": ["a"], "resources": ["c/*"]}), json!({"actions": ["a"], "resources": ["c/1", "c/1/*"]}));
    let why = refused(json!({"actions": ["a"], "resources": ["c/*"]}), json!({"actions": ["a"], "resources": ["c"]}));
    assert_eq!(why, "resource `c` is not covered");
    refused(json!({"actions": ["a"], "resources": ["c/1"]}), json!({"actions": ["a"]}));
}

#[test]
fn data_classes() {
    ok(json!({"actions": ["a"]}), json!({"actions": ["a"], "data_classes": ["pci"]}));
    ok(json!({"actions": ["a"], "data_classes": ["pci", "pub"]}), json!({"actions": ["a"], "data_classes": ["pub"]}));
    refused(json!({"actions": ["a"], "data_classes": ["pub"]}), json!({"actions": ["a"]}));
    let why = refused(
        json!({"actions": ["a"], "data_classes": ["pub"]}),
        json!({"actions": ["a"], "data_classes": ["pub", "pci"]}),
    );
    assert_eq!(why, "data class `pci` is not covered");
}

#[test]
fn numeric_bounds() {
    let p = with_constraint(json!({"max": 100}));
    ok(p.clone(), with_constraint(json!({"max": 100})));
    ok(p.clone(), with_constraint(json!({"max": 99.5, "min": -5})));
    ok(p.clone(), with_constraint(json!({"eq": 100})));
    ok(p.clone(), with_constraint(json!({"eq": 100.0})));
    ok(p.clone(), with_constraint(json!({"in": [1, 100]})));
    assert_eq!(refused(p.clone(), with_constraint(json!({"max": 101}))), "constraint on `x` does not keep max 100");
    refused(p.clone(), with_constraint(json!({"max": 100.5})));
    refused(p.clone(), with_constraint(json!({"min": 1})));
    refused(p.clone(), with_constraint(json!({"eq": 101})));
    refused(p.clone(), with_constraint(json!({"in": [1, 101]})));
    refused(p.clone(), with_constraint(json!({"eq": "1"})));
    refused(p.clone(), with_constraint(json!({"in": [1, "1"]})));
    refused(p.clone(), with_constraint(json!({"eq": true})));
    refused(p, json!({"actions": ["a"], "constraints": {"y": {"max": 1}}}));
    let p = with_constraint(json!({"min": 10, "max": 20}));
    ok(p.clone(), with_constraint(json!({"min": 10, "max": 20})));
    ok(p.clone(), with_constraint(json!({"min": 15, "max": 15})));
    ok(p.clone(), with_constraint(json!({"in": [10, 20]})));
    refused(p.clone(), with_constraint(json!({"max": 20})));
    refused(p.clone(), with_constraint(json!({"min": 10})));
    refused(p.clone(), with_constraint(json!({"min": 9, "max": 20})));
    assert_eq!(refused(p, with_constraint(json!({"in": [9, 20]}))), "constraint on `x` does not keep min 10");
}

#[test]
fn listed_values() {
    let p = with_constraint(json!({"in": ["usd", "eur", 1]}));
    ok(p.clone(), with_constraint(json!({"in": ["usd", 1.0]})));
    ok(p.clone(), with_constraint(json!({"eq": "eur"})));
    refused(p.clone(), with_constraint(json!({"in": ["usd", "gbp"]})));
    refused(p.clone(), with_constraint(json!({"eq": "USD"})));
    refused(p.clone(), with_constraint(json!({"eq": true})));
    refused(p, with_constraint(json!({"max": 1, "min": 1})));
    let p = with_constraint(json!({"eq": 5}));
    ok(p.clone(), with_constraint(json!({"eq": 5.0})));
    ok(p.clone(), with_constraint(json!({"in": [5, 5.0]})));
    refused(p.clone(), with_constraint(json!({"in": [5, 6]})));
    refused(p.clone(), with_constraint(json!({"eq": "5"})));
    assert_eq!(refused(p, with_constraint(json!({"max": 5, "min": 5}))), "constraint on `x` does not keep eq 5");
    ok(
        with_constraint(json!({"eq": "usd"})),
        json!({"actions": ["a"], "constraints": {"x": {"eq": "usd"}, "y": {"max": 1}}}),
    );
    let why = refused(with_constraint(json!({"eq": "usd"})), json!({"actions": ["a"]}));
    assert_eq!(why, "constraint on `x` is missing");
}

#[test]
fn limits() {
    ok(with_limits(json!({"max_uses": 10})), with_limits(json!({"max_uses": 10})));
    ok(with_limits(json!({})), with_limits(json!({"max_uses": 10, "rate": "1/s"})));
    assert_eq!(
        refused(with_limits(json!({"max_uses": 10})), with_limits(json!({"max_uses": 11}))),
        "max_uses 11 exceeds the parent's 10"
    );
    refused(with_limits(json!({"max_uses": 10})), with_limits(json!({})));
    let budget = |arg: &str, max: Value| with_limits(json!({"budget": {"arg": arg, "max_total": max}}));
    ok(budget("amount", json!(500)), budget("amount", json!(500.0)));
    ok(budget("amount", json!(500)), budget("amount", json!(0)));
    refused(budget("amount", json!(500)), budget("amount", json!(500.01)));
    refused(budget("amount", json!(500)), budget("fee", json!(1)));
    refused(budget("amount", json!(500)), with_limits(json!({"max_uses": 1})));
    let rate = |r: &str| with_limits(json!({"rate": r}));
    ok(rate("10/min"), rate("10/min"));
    ok(rate("10/min"), rate("10/h"));
    ok(rate("10/min"), rate("1/6s"));
    ok(rate("60/min"), rate("1/s"));
    ok(rate("10/min"), rate("5/30s"));
    refused(rate("10/min"), rate("11/min"));
    refused(rate("10/min"), rate("11/h"));
    refused(rate("60/min"), rate("2/s"));
    refused(rate("10/min"), rate("6/30s"));
    refused(rate("10/min"), rate("1/7s"));
    refused(rate("10/min"), with_limits(json!({"max_uses": 1})));
}

#[test]
fn rate_within_does_not_overflow() {
    let big = Rate::new(u64::MAX, 1);
    assert!(!big.within(&Rate::new(u64::MAX, u64::MAX)));
    assert!(Rate::new(1, 1).within(&Rate::new(u64::MAX, u64::MAX)));
    assert!(!Rate::new(1, 0).within(&Rate::new(1, 1)));
}

#[test]
fn covers_all_names_the_child_and_the_closest_parent() {
    let parents =
        [scope(json!({"actions": ["read"]})), scope(json!({"actions": ["pay.*"], "limits": {"max_uses": 5}}))];
    let good = scope(json!({"actions": ["pay.card"], "limits": {"max_uses": 5}}));
    let read = scope(json!({"actions": ["read"]}));
    assert!(covers_all(&parents, &[good.clone(), read.clone()]).is_ok());
    let e = covers_all(&parents, &[read.clone(), Scope::new(["pay.card"])]).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ScopeEscalation);
    assert_eq!(e.message(), "scope 1 widens its parent: limit max_uses is missing; the parent allows 5");
    let e = covers_all(&parents, &[Scope::new(["payments.*"])]).unwrap_err();
    assert_eq!(e.message(), "scope 0 widens its parent: action `payments.*` is not covered");
    assert_eq!(covers_all(&[], &[read]).err().map(|e| e.code()), Some(ErrorCode::ScopeEscalation));
    assert!(covers_all(&parents, &[]).is_ok());
}

#[test]
fn covers_is_reflexive_on_examples() {
    for v in [
        json!({"actions": ["*"]}),
        json!({"actions": ["a.*", "b"], "resources": ["c/*", "d"], "data_classes": ["pci"],
               "constraints": {"x": {"min": 1, "max": 2}, "y": {"in": ["a", 1, true]}, "z": {"eq": 1.5}},
               "limits": {"max_uses": 3, "rate": "5/15min", "budget": {"arg": "x", "max_total": 10}}}),
    ] {
        ok(v.clone(), v);
    }
}
