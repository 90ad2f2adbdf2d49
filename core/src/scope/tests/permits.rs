//! Matching requests: order of checks, constraints at their edges, permits_any.

use serde_json::{json, Map, Value};

use super::{args, scope};
use crate::scope::{permits_any, Denial, DenialKind, Scope, ScopeRequest};

fn req<'a>(
    action: &'a str,
    resource: &'a str,
    data_class: Option<&'a str>,
    args: &'a Map<String, Value>,
) -> ScopeRequest<'a> {
    ScopeRequest { action, resource, data_class, args }
}

fn check(s: &Scope, a: Value) -> Result<(), Denial> {
    let a = args(a);
    s.permits(&req("pay", "acct/1", None, &a))
}

fn violated(arg: &str, bound: &str) -> DenialKind {
    DenialKind::ConstraintViolated { arg: arg.to_owned(), bound: bound.to_owned() }
}

#[test]
fn checks_action_then_resource_then_data_class() {
    let s = scope(json!({"actions": ["pay.*"], "resources": ["acct/*"], "data_classes": ["pci"]}));
    let none = Map::new();
    let kind = |a, r, d| s.permits(&req(a, r, d, &none)).err().map(|d| d.kind);
    assert_eq!(kind("pay.card", "acct/1", Some("pci")), None);
    assert_eq!(kind("refund", "other", None), Some(DenialKind::ActionNotGranted));
    assert_eq!(kind("pay", "acct/1", Some("pci")), Some(DenialKind::ActionNotGranted));
    assert_eq!(kind("pay.card", "other", None), Some(DenialKind::ResourceNotGranted));
    assert_eq!(kind("pay.card", "acct", Some("pci")), Some(DenialKind::ResourceNotGranted));
    assert_eq!(kind("pay.card", "acct/1", Some("pub")), Some(DenialKind::DataClassNotGranted));
    assert_eq!(kind("pay.card", "acct/1", None), Some(DenialKind::DataClassNotGranted), "fails closed");
    let open = scope(json!({"actions": ["*"]}));
    assert!(open.permits(&req("x", "y", None, &none)).is_ok());
    assert!(open.permits(&req("x", "y", Some("pci"), &none)).is_ok());
}

#[test]
fn denial_codes_and_messages() {
    let s = scope(json!({"actions": ["pay"], "constraints": {"amount": {"max": 100}}}));
    let d = check(&s, json!({"amount": 150})).unwrap_err();
    assert_eq!(d.code(), "constraint_violated");
    assert_eq!(d.kind, violated("amount", "max"));
    assert_eq!(d.message, "`amount` = 150 exceeds max 100");
    let d = check(&s, json!({})).unwrap_err();
    assert_eq!((d.code(), d.kind), ("argument_missing", DenialKind::ArgumentMissing { arg: "amount".to_owned() }));
    let none = Map::new();
    let d = s.permits(&req("refund", "acct/1", None, &none)).unwrap_err();
    assert_eq!((d.code(), d.message.as_str()), ("action_not_granted", "action `refund` is not granted"));
    assert_eq!(DenialKind::ResourceNotGranted.code(), "resource_not_granted");
    assert_eq!(DenialKind::DataClassNotGranted.code(), "data_class_not_granted");
}

#[test]
fn max_and_min_at_their_edges() {
    let s = scope(json!({"actions": ["pay"], "constraints": {"amount": {"min": 10, "max": 100}}}));
    for ok in [json!(10), json!(100), json!(10.0), json!(100.0), json!(55.5)] {
        assert!(check(&s, json!({"amount": ok})).is_ok(), "{ok}");
    }
    for (bad, bound) in [(json!(101), "max"), (json!(100.000_001), "max"), (json!(9), "min"), (json!(9.99), "min")] {
        assert_eq!(check(&s, json!({"amount": bad})).unwrap_err().kind, violated("amount", bound), "{bad}");
    }
    for wrong in [json!("50"), json!(true), json!([50]), json!({"v": 50})] {
        let d = check(&s, json!({"amount": wrong})).unwrap_err();
        assert_eq!(d.kind, violated("amount", "max"), "{wrong}");
        assert!(d.message.contains("is not a number"), "{}", d.message);
    }
    assert!(matches!(check(&s, json!({"amount": null})).unwrap_err().kind, DenialKind::ArgumentMissing { .. }));
}

#[test]
fn large_integers_compare_exactly() {
    let s = scope(json!({"actions": ["pay"], "constraints": {"n": {"max": 9_007_199_254_740_992_u64}}}));
    assert!(check(&s, json!({"n": 9_007_199_254_740_992_u64})).is_ok());
    assert!(check(&s, json!({"n": 9_007_199_254_740_993_u64})).is_err());
    let u = scope(json!({"actions": ["pay"], "constraints": {"n": {"min": u64::MAX}}}));
    assert!(check(&u, json!({"n": u64::MAX})).is_ok());
    assert!(check(&u, json!({"n": u64::MAX - 1})).is_err());
    assert!(check(&u, json!({"n": i64::MIN})).is_err());
}

#[test]
fn eq_and_in() {
    let s = scope(json!({"actions": ["pay"], "constraints": {"currency": {"in": ["usd", "eur"]}, "n": {"eq": 1}}}));
    assert!(check(&s, json!({"currency": "usd", "n": 1})).is_ok());
    assert!(check(&s, json!({"currency": "eur", "n": 1.0})).is_ok(), "numbers compare by value");
    let d = check(&s, json!({"currency": "gbp", "n": 1})).unwrap_err();
    assert_eq!(d.kind, violated("currency", "in"));
    assert_eq!(d.message, r#"`currency` = "gbp" is not one of ["usd", "eur"]"#);
    assert_eq!(check(&s, json!({"currency": "USD", "n": 1})).unwrap_err().kind, violated("currency", "in"));
    assert_eq!(check(&s, json!({"currency": ["usd"], "n": 1})).unwrap_err().kind, violated("currency", "in"));
    let d = check(&s, json!({"currency": "usd", "n": "1"})).unwrap_err();
    assert_eq!((d.kind, d.message.as_str()), (violated("n", "eq"), r#"`n` = "1" does not equal 1"#));
    assert_eq!(check(&s, json!({"currency": "usd", "n": true})).unwrap_err().kind, violated("n", "eq"));
    let b = scope(json!({"actions": ["pay"], "constraints": {"ok": {"eq": true}}}));
    assert!(check(&b, json!({"ok": true})).is_ok());
    assert!(check(&b, json!({"ok": 1})).is_err());
}

#[test]
fn constraints_are_checked_by_argument_name_and_extra_args_pass() {
    let s = scope(json!({"actions": ["pay"], "constraints": {"b": {"max": 1}, "a": {"max": 1}}}));
    let d = check(&s, json!({"a": 5, "b": 5, "c": "anything"})).unwrap_err();
    assert_eq!(d.kind, violated("a", "max"));
    assert!(check(&s, json!({"a": 1, "b": 0, "c": "anything"})).is_ok());
}

#[test]
fn permits_any_picks_the_first_permitting_scope_or_the_most_specific_denial() {
    let scopes = [
        scope(json!({"actions": ["read"]})),
        scope(json!({"actions": ["pay"], "resources": ["acct/*"], "constraints": {"a": {"max": 1}, "b": {"max": 1}}})),
        scope(json!({"actions": ["pay"], "resources": ["acct/*"], "data_classes": ["pci"]})),
        scope(json!({"actions": ["pay"]})),
    ];
    let a = args(json!({"a": 1, "b": 5}));
    assert_eq!(permits_any(&scopes, &req("pay", "acct/1", None, &a)), Ok(3));
    assert_eq!(permits_any(&scopes, &req("read", "acct/1", None, &a)), Ok(0));
    let d = permits_any(&scopes[..3], &req("pay", "acct/1", None, &a)).unwrap_err();
    assert_eq!(d.kind, violated("b", "max"), "the scope that got furthest");
    let d = permits_any(&scopes[..3], &req("pay", "other", None, &a)).unwrap_err();
    assert_eq!(d.kind, DenialKind::ResourceNotGranted);
    let d = permits_any(&scopes[..3], &req("write", "acct/1", None, &a)).unwrap_err();
    assert_eq!(d.kind, DenialKind::ActionNotGranted);
    let d = permits_any(&[], &req("write", "acct/1", None, &a)).unwrap_err();
    assert_eq!(d.kind, DenialKind::ActionNotGranted);
}

#[test]
fn literal_wildcards_in_requests_are_not_special() {
    let none = Map::new();
    let s = scope(json!({"actions": ["pay.*", "read"], "resources": ["acct/*"]}));
    assert!(s.permits(&req("*", "acct/1", None, &none)).is_err());
    assert!(s.permits(&req("pay.*", "acct/1", None, &none)).is_err());
    assert!(s.permits(&req("pay.x", "*", None, &none)).is_err());
    assert!(s.permits(&req("pay.x", "acct/*", None, &none)).is_err());
    assert!(s.permits(&req("pay.x", "acct/../root", None, &none)).is_err());
    let all = scope(json!({"actions": ["*"]}));
    assert!(all.permits(&req("*", "*", None, &none)).is_ok());
}
