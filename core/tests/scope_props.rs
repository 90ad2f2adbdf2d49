//! Property tests of scopes: attenuation never widens, parsing never panics, covers is
//! reflexive, and both JSON forms round-trip.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Number, Value};

use runtime_identity::scope::{
    covers, scopes_from_wire, Budget, Constraint, Limits, Rate, Scalar, Scope, ScopeRequest,
};

// ---- generators over small alphabets -------------------------------------------------------

fn action_pattern() -> impl Strategy<Value = String> {
    select(vec!["a", "a.b", "a.*", "a.b.*", "b", "*", "a.b.c", "b.*", "ab", "ab.*"]).prop_map(String::from)
}

fn resource_pattern() -> impl Strategy<Value = String> {
    select(vec!["x", "x/y", "x/*", "x/y/*", "y", "*", "x/y/z", "y/*", "xy", "xy/*"]).prop_map(String::from)
}

fn data_classes() -> impl Strategy<Value = Option<Vec<String>>> {
    proptest::option::of(
        proptest::sample::subsequence(vec!["pub", "int", "pci"], 1..=3)
            .prop_map(|v| v.into_iter().map(String::from).collect()),
    )
}

/// Small integers and halves, so bounds often meet exactly.
fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        (-3i64..12).prop_map(Number::from),
        (-6i32..24).prop_map(|h| Number::from_f64(f64::from(h) / 2.0).unwrap()),
    ]
}

fn scalar() -> impl Strategy<Value = Scalar> {
    prop_oneof![
        2 => select(vec![0i64, 1, 2]).prop_map(Scalar::from),
        2 => number().prop_map(Scalar::Number),
        2 => select(vec!["usd", "eur", "gbp", "1"]).prop_map(Scalar::from),
        1 => any::<bool>().prop_map(Scalar::Bool),
    ]
}

fn constraint() -> impl Strategy<Value = Constraint> {
    prop_oneof![
        number().prop_map(Constraint::at_most),
        number().prop_map(Constraint::at_least),
        (number(), number()).prop_map(|(a, b)| Constraint::between(a, b)),
        proptest::collection::vec(scalar(), 1..4).prop_map(Constraint::one_of),
        scalar().prop_map(Constraint::equal_to),
    ]
}

fn constraints() -> impl Strategy<Value = BTreeMap<String, Constraint>> {
    proptest::collection::btree_map(select(vec!["amount", "currency"]).prop_map(String::from), constraint(), 0..=2)
}

fn rate() -> impl Strategy<Value = Rate> {
    (1u64..8, select(vec![1u64, 2, 3, 6, 7, 30, 60, 3600])).prop_map(|(n, w)| Rate::new(n, w))
}

fn budget() -> impl Strategy<Value = Budget> {
    (select(vec!["amount", "fee"]), 0u64..10).prop_map(|(arg, max)| Budget::new(arg, max))
}

fn limits() -> impl Strategy<Value = Limits> {
    (proptest::option::of(0u64..5), proptest::option::of(rate()), proptest::option::of(budget()))
        .prop_map(|(max_uses, rate, budget)| Limits { max_uses, rate, budget })
}

fn scope() -> impl Strategy<Value = Scope> {
    (
        proptest::collection::vec(action_pattern(), 1..3),
        proptest::collection::vec(resource_pattern(), 1..3),
        data_classes(),
        constraints(),
        limits(),
    )
        .prop_map(|(actions, resources, data_classes, constraints, limits)| Scope {
            actions,
            resources,
            data_classes,
            constraints: constraints.into(),
            limits,
        })
}

/// Either the parent's value or a fresh one, so that many children are covered.
fn keep_or<T: Clone + std::fmt::Debug + 'static>(
    parent: T,
    fresh: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<T> {
    prop_oneof![2 => Just(parent), 1 => fresh].boxed()
}

fn shifted(n: &Number, by: f64) -> Number {
    if by == 0.0 {
        n.clone()
    } else {
        Number::from_f64(n.as_f64().unwrap() + by).unwrap()
    }
}

/// A constraint near `c`: kept, dropped, redrawn, narrowed or widened a little, or turned
/// into `eq`/`in` over its own values (plus perhaps one more).
fn near(c: &Constraint) -> BoxedStrategy<Option<Constraint>> {
    let mut variants: Vec<BoxedStrategy<Option<Constraint>>> =
        vec![Just(Some(c.clone())).boxed(), Just(None).boxed(), constraint().prop_map(Some).boxed()];
    let own: Vec<Scalar> = c
        .one_of
        .iter()
        .flatten()
        .chain(&c.eq)
        .cloned()
        .chain(c.max.iter().chain(&c.min).map(|n| Scalar::Number(n.clone())))
        .collect();
    if !own.is_empty() {
        let len = own.len();
        variants.push(
            (proptest::sample::subsequence(own.clone(), 1..=len), proptest::option::of(scalar()))
                .prop_map(|(mut values, extra)| {
                    values.extend(extra);
                    Some(Constraint::one_of(values))
                })
                .boxed(),
        );
        variants.push(select(own).prop_map(|v| Some(Constraint::equal_to(v))).boxed());
    }
    let base = c.clone();
    let shift = || select(vec![-1.0, -0.5, 0.0, 0.0, 0.5]);
    variants.push(
        (shift(), shift())
            .prop_map(move |(up, down)| {
                let mut d = base.clone();
                d.max = d.max.as_ref().map(|n| shifted(n, up));
                d.min = d.min.as_ref().map(|n| shifted(n, -down));
                Some(d)
            })
            .boxed(),
    );
    proptest::strategy::Union::new(variants).boxed()
}

/// A child drawn near `parent`: each part kept or redrawn, constraints edited one by one.
fn child_of(p: Scope) -> impl Strategy<Value = Scope> {
    let limits = (
        keep_or(p.limits.max_uses, proptest::option::of(0u64..5)),
        keep_or(p.limits.rate, proptest::option::of(rate())),
        keep_or(p.limits.budget.clone(), proptest::option::of(budget())),
    );
    let edited: Vec<BoxedStrategy<Option<Constraint>>> = p.constraints.values().map(near).collect();
    let args: Vec<String> = p.constraints.keys().cloned().collect();
    let constraints = (edited, constraints(), any::<u8>()).prop_map(move |(edited, fresh, mask)| {
        let mut out: BTreeMap<String, Constraint> =
            args.iter().cloned().zip(edited).filter_map(|(arg, c)| Some((arg, c?))).collect();
        for (i, (arg, c)) in fresh.into_iter().enumerate() {
            if (mask >> i) & 1 == 1 {
                out.entry(arg).or_insert(c);
            }
        }
        out
    });
    (
        keep_or(p.actions.clone(), proptest::collection::vec(action_pattern(), 1..3)),
        keep_or(p.resources.clone(), proptest::collection::vec(resource_pattern(), 1..3)),
        keep_or(p.data_classes.clone(), data_classes()),
        constraints,
        limits,
    )
        .prop_map(|(actions, resources, data_classes, constraints, (max_uses, rate, budget))| Scope {
            actions,
            resources,
            data_classes,
            constraints: constraints.into(),
            limits: Limits { max_uses, rate, budget },
        })
}

fn pair() -> impl Strategy<Value = (Scope, Scope)> {
    scope().prop_flat_map(|p| (Just(p.clone()), child_of(p)))
}

fn arg_value() -> impl Strategy<Value = Option<Value>> {
    proptest::option::of(prop_oneof![
        4 => number().prop_map(Value::Number),
        2 => select(vec!["usd", "eur", "gbp", "1"]).prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
        1 => Just(serde_json::json!([1])),
    ])
}

#[derive(Debug, Clone)]
struct Request {
    action: String,
    resource: String,
    data_class: Option<String>,
    args: Map<String, Value>,
}

fn make_request(
    action: String,
    resource: String,
    data_class: Option<String>,
    amount: Option<Value>,
    currency: Option<Value>,
) -> Request {
    let mut args = Map::new();
    if let Some(v) = amount {
        args.insert("amount".to_owned(), v);
    }
    if let Some(v) = currency {
        args.insert("currency".to_owned(), v);
    }
    Request { action, resource, data_class, args }
}

const ACTIONS: &[&str] =
    &["a", "a.b", "a.b.c", "a.b.c.d", "a.c", "ab", "ab.c", "b", "b.x", "c", "*", "a.*", "a..b", ""];
const RESOURCES: &[&str] = &["x", "x/y", "x/y/z", "x/z", "xy", "xy/z", "y", "y/q", "z", "*", "x/*", "x/..", "x//y", ""];

/// A request drawn from the small alphabets.
fn request() -> impl Strategy<Value = Request> {
    (
        select(ACTIONS).prop_map(String::from),
        select(RESOURCES).prop_map(String::from),
        proptest::option::of(select(vec!["pub", "int", "pci", "other"]).prop_map(String::from)),
        arg_value(),
        arg_value(),
    )
        .prop_map(|(a, r, d, amount, currency)| make_request(a, r, d, amount, currency))
}

/// A name that `pattern` matches (or, for odd picks, nearly matches).
fn instance(pattern: &str, sep: char, names: &'static [&'static str]) -> BoxedStrategy<String> {
    if pattern == "*" {
        return select(names).prop_map(String::from).boxed();
    }
    let wildcard = format!("{sep}*");
    match pattern.strip_suffix(wildcard.as_str()) {
        Some(prefix) => {
            let prefix = prefix.to_owned();
            select(vec!["b", "c", "b.c", "b/c", "", "*", ".."])
                .prop_map(move |rest| format!("{prefix}{sep}{}", rest.replace(['.', '/'], &sep.to_string())))
                .boxed()
        }
        None => Just(pattern.to_owned()).boxed(),
    }
}

/// Values at and around the bounds of the child's constraint on `arg`, or anything.
fn value_for(child: &Scope, arg: &str) -> BoxedStrategy<Option<Value>> {
    let mut near: Vec<Value> = Vec::new();
    if let Some(c) = child.constraints.get(arg) {
        for n in c.max.iter().chain(&c.min) {
            let f = n.as_f64().unwrap();
            near.push(Value::Number(n.clone()));
            near.push(Value::from(f + 0.5));
            near.push(Value::from(f - 0.5));
        }
        near.extend(c.one_of.iter().flatten().chain(&c.eq).map(Scalar::to_value));
    }
    if near.is_empty() {
        arg_value().boxed()
    } else {
        prop_oneof![3 => select(near).prop_map(Some), 1 => arg_value()].boxed()
    }
}

/// A request aimed at what `child` permits, so that covered children are exercised.
fn targeted(child: &Scope) -> BoxedStrategy<Request> {
    let actions: Vec<BoxedStrategy<String>> = child.actions.iter().map(|p| instance(p, '.', ACTIONS)).collect();
    let resources: Vec<BoxedStrategy<String>> = child.resources.iter().map(|p| instance(p, '/', RESOURCES)).collect();
    let classes: Vec<String> = child.data_classes.clone().unwrap_or_else(|| vec!["pub".to_owned()]);
    (
        proptest::strategy::Union::new(actions),
        proptest::strategy::Union::new(resources),
        proptest::option::weighted(0.9, select(classes)),
        value_for(child, "amount"),
        value_for(child, "currency"),
    )
        .prop_map(|(a, r, d, amount, currency)| make_request(a, r, d, amount, currency))
        .boxed()
}

/// A parent, a child near it, and requests, most aimed at the child.
fn case() -> impl Strategy<Value = (Scope, Scope, Vec<Request>)> {
    pair().prop_flat_map(|(p, c)| {
        let requests = proptest::collection::vec(prop_oneof![1 => request().boxed(), 3 => targeted(&c)], 64);
        (Just(p), Just(c), requests)
    })
}

impl Request {
    fn view(&self) -> ScopeRequest<'_> {
        ScopeRequest {
            action: &self.action,
            resource: &self.resource,
            data_class: self.data_class.as_deref(),
            args: &self.args,
        }
    }
}

/// Checks, independently of `covers`, that every parent limit is in the child and no looser.
/// For rates: in any window of the parent's length the child allows at most
/// `n_c * ceil(w_p / w_c)` uses, which must not exceed `n_p`.
fn limits_no_looser(parent: &Limits, child: &Limits) -> Result<(), String> {
    if let Some(p) = parent.max_uses {
        let c = child.max_uses.ok_or("max_uses missing")?;
        prop_assert_ok(c <= p, "max_uses looser")?;
    }
    if let Some(p) = parent.rate {
        let c = child.rate.ok_or("rate missing")?;
        let windows = p.per_seconds.div_ceil(c.per_seconds);
        prop_assert_ok(c.count * windows <= p.count, "rate looser")?;
    }
    if let Some(p) = &parent.budget {
        let c = child.budget.as_ref().ok_or("budget missing")?;
        prop_assert_ok(c.arg == p.arg, "budget on another arg")?;
        prop_assert_ok(c.max_total.as_f64() <= p.max_total.as_f64(), "budget looser")?;
    }
    Ok(())
}

fn prop_assert_ok(cond: bool, what: &str) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what.to_owned())
    }
}

// ---- (1) attenuation never widens ---------------------------------------------------------

proptest! {
    #![proptest_config(Config { cases: 1024, ..Config::default() })]

    #[test]
    fn a_covered_child_permits_nothing_its_parent_denies((parent, child, requests) in case()) {
        if covers(&parent, &child).is_ok() {
            for r in &requests {
                if child.permits(&r.view()).is_ok() {
                    prop_assert!(
                        parent.permits(&r.view()).is_ok(),
                        "child {} permits {:?} but parent {} denies: {:?}",
                        child.to_api_value(), r, parent.to_api_value(), parent.permits(&r.view())
                    );
                }
            }
            prop_assert_eq!(limits_no_looser(&parent.limits, &child.limits), Ok(()));
        }
    }

    // ---- (3) covers is reflexive; both forms round-trip --------------------------------

    #[test]
    fn covers_is_reflexive_and_forms_round_trip(s in scope()) {
        prop_assume!(s.validate().is_ok());
        prop_assert_eq!(covers(&s, &s), Ok(()));
        prop_assert_eq!(Scope::from_wire(&s.to_wire()).unwrap(), s.clone());
        prop_assert_eq!(Scope::from_api_value(&s.to_api_value()).unwrap(), s.clone());
        let text = serde_json::to_string(&s).unwrap();
        prop_assert_eq!(Scope::parse_json(&text).unwrap(), s);
    }
}

/// The generators above must produce enough covered pairs, and covered children that permit
/// something, for property (1) to mean anything.
#[test]
fn the_attenuation_property_is_not_vacuous() {
    let mut runner = TestRunner::deterministic();
    let strategy = case();
    let (mut covered, mut strict, mut permitting) = (0, 0, 0);
    for _ in 0..2000 {
        let (parent, child, requests) = strategy.new_tree(&mut runner).unwrap().current();
        if covers(&parent, &child).is_ok() {
            covered += 1;
            strict += usize::from(parent != child);
            permitting += usize::from(requests.iter().any(|r| child.permits(&r.view()).is_ok()));
        }
    }
    assert!(covered >= 200 && strict >= 100 && permitting >= 100, "{covered} {strict} {permitting}");
}

// ---- (2) parsing never panics ---------------------------------------------------------------

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(vec![
            "type", "actions", "locations", "datatypes", "resources", "data_classes", "constraints",
            "limits", "max", "min", "in", "eq", "max_uses", "rate", "budget", "arg", "max_total", "amount",
        ])
        .prop_map(String::from),
        1 => ".{0,8}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        select(vec!["rid_scope", "a", "a.*", "*", "x/*", "pci", "10/min", "0/min", "usd", ""]).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(key(), inner, 0..7).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(Config { cases: 2048, ..Config::default() })]

    #[test]
    fn parsing_arbitrary_json_never_panics(v in json_value()) {
        for s in [Scope::from_wire(&v), Scope::from_api_value(&v)].into_iter().flatten() {
            prop_assert!(s.validate().is_ok());
            prop_assert_eq!(covers(&s, &s), Ok(()));
            prop_assert_eq!(Scope::from_wire(&s.to_wire()).unwrap(), s);
        }
        let _ = serde_json::from_value::<Scope>(v.clone());
        let _ = scopes_from_wire(&v);
        let _ = scopes_from_wire(&Value::Array(vec![v.clone(), v]));
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(s in ".{0,64}", v in json_value(), cut in 0usize..200) {
        let _ = Scope::parse_json(&s);
        let _ = Rate::parse(&s);
        let text = v.to_string();
        let cut = text.char_indices().map(|(i, _)| i).nth(cut).unwrap_or(text.len());
        let _ = Scope::parse_json(&text[..cut]);
        let _ = Scope::parse_json(&text);
    }
}

#[test]
fn wire_entries_of_valid_scopes_parse() {
    // A sanity anchor for the generators: a plain valid wire scope parses.
    let v = serde_json::json!({"type": "rid_scope", "actions": ["a.*"], "locations": ["x/*"], "datatypes": ["pci"]});
    assert!(Scope::from_wire(&v).is_ok());
}
