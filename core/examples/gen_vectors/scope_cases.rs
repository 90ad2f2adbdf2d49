//! Scopes at check time (patterns, data classes, constraints on both sides of each bound),
//! attenuation at mint time (every narrowing rule, both sides), and usage limits.

use runtime_identity::Algorithm;
use serde_json::{json, Value};

use crate::fixture::*;

fn fixture(group: &str, description: &str) -> Fixture {
    Fixture::new(group, description, Algorithm::Es256, &default_agents(), default_resources(), "", json!({}))
}

pub fn scopes() -> VectorFile {
    let f = fixture(
        "scopes",
        "The leaf link's scopes at check time: action and resource patterns, data classes, and \
         argument constraints on both sides of each bound.",
    );
    let g = |f: &Fixture, scopes: Value| f.delegate(BOT, scopes, 900, None);

    // Actions.
    let exact = g(&f, json!([{"actions": ["crm.read"], "resources": ["*"]}]));
    let prefix = g(&f, json!([{"actions": ["crm.*"], "resources": ["*"]}]));
    let all = g(&f, json!([{"actions": ["*"], "resources": ["*"]}]));
    let actions: Vec<(&str, &String, &str, bool)> = vec![
        ("an exact action matches itself", &exact, "crm.read", true),
        ("an exact action does not match a sibling", &exact, "crm.write", false),
        ("an exact action does not match a longer name", &exact, "crm.read.all", false),
        ("`crm.*` matches one more segment", &prefix, "crm.read", true),
        ("`crm.*` matches several more segments", &prefix, "crm.notes.add", true),
        ("`crm.*` does not match `crm` itself", &prefix, "crm", false),
        ("`crm.*` does not match a name that only starts with crm", &prefix, "crmx.read", false),
        ("`*` matches any action", &all, "payments.refund", true),
    ];
    for (title, token, action, ok) in actions {
        let r = req(action, "customer/42", json!({}));
        let step = if ok { allow(token, r, &[BOT]) } else { check(token, r, "deny", &["action_not_granted"]) };
        f.case(title, &[if ok { "granted" } else { "action_not_granted" }], vec![step]);
    }

    // Resources.
    let one = g(&f, json!([{"actions": ["crm.read"], "resources": ["customer/42"]}]));
    let tree = g(&f, json!([{"actions": ["crm.read"], "resources": ["customer/*"]}]));
    let resources: Vec<(&str, &String, &str, bool)> = vec![
        ("an exact resource matches itself", &one, "customer/42", true),
        ("an exact resource does not match another", &one, "customer/43", false),
        ("`customer/*` matches a child", &tree, "customer/42", true),
        ("`customer/*` matches a deeper path", &tree, "customer/42/notes", true),
        ("`customer/*` does not match a sibling tree", &tree, "customers/42", false),
        ("`customer/*` does not match `customer` itself", &tree, "customer", false),
    ];
    for (title, token, resource, ok) in resources {
        let r = req("crm.read", resource, json!({}));
        let step = if ok { allow(token, r, &[BOT]) } else { check(token, r, "deny", &["resource_not_granted"]) };
        f.case(title, &[if ok { "granted" } else { "resource_not_granted" }], vec![step]);
    }

    // Data classes (customer/42 internal, customer/77 pci, customer/88 pii, ticket/9 none).
    let internal = g(&f, json!([{"actions": ["crm.read"], "resources": ["*"], "data_classes": ["internal"]}]));
    let any = g(&f, json!([{"actions": ["crm.read"], "resources": ["*"]}]));
    let classes: Vec<(&str, &String, &str, bool)> = vec![
        ("a granted data class allows", &internal, "customer/42", true),
        ("another data class is refused", &internal, "customer/77", false),
        ("a grant without data classes allows any class", &any, "customer/77", true),
        ("a resource without a class fails a class-restricted grant", &internal, "ticket/9", false),
        ("an unregistered resource fails a class-restricted grant", &internal, "customer/999", false),
        ("an unregistered resource passes a grant without classes", &any, "customer/999", true),
    ];
    for (title, token, resource, ok) in classes {
        let r = req("crm.read", resource, json!({}));
        let step = if ok { allow(token, r, &[BOT]) } else { check(token, r, "deny", &["data_class_not_granted"]) };
        f.case(title, &[if ok { "granted" } else { "data_class_not_granted" }], vec![step]);
    }

    // Constraints, each bound from both sides.
    let c = g(
        &f,
        json!([{"actions": ["payments.refund"], "resources": ["customer/*"], "constraints": {
            "amount": {"max": 100, "min": 5}, "currency": {"in": ["USD", "EUR"]},
            "reason": {"eq": "duplicate"}, "priority": {"in": [1, 2, 3]}}}]),
    );
    let base = || json!({"amount": 50, "currency": "USD", "reason": "duplicate", "priority": 1});
    let with = |k: &str, v: Value| {
        let mut a = base();
        a[k] = v;
        a
    };
    let without = |k: &str| {
        let mut a = base();
        a.as_object_mut().map(|o| o.remove(k));
        a
    };
    let cases: Vec<(&str, Value, Option<&str>)> = vec![
        ("all constrained arguments within bounds", base(), None),
        ("amount equal to max", with("amount", json!(100)), None),
        ("amount just over max", with("amount", json!(100.01)), Some("constraint_violated")),
        ("amount equal to min", with("amount", json!(5)), None),
        ("amount just under min", with("amount", json!(4.99)), Some("constraint_violated")),
        ("an integral float is the integer it denotes", with("amount", json!(90.0)), None),
        ("currency in the set", with("currency", json!("EUR")), None),
        ("currency outside the set", with("currency", json!("GBP")), Some("constraint_violated")),
        ("eq holds", with("reason", json!("duplicate")), None),
        ("eq fails", with("reason", json!("goodwill")), Some("constraint_violated")),
        ("a number in a numeric set", with("priority", json!(3)), None),
        ("a number outside a numeric set", with("priority", json!(4)), Some("constraint_violated")),
        ("a string where the set holds numbers", with("priority", json!("1")), Some("constraint_violated")),
        ("a string where max needs a number", with("amount", json!("50")), Some("constraint_violated")),
        ("a boolean where max needs a number", with("amount", json!(true)), Some("constraint_violated")),
        ("a missing constrained argument", without("amount"), Some("argument_missing")),
        ("a null constrained argument is a missing one", with("currency", Value::Null), Some("argument_missing")),
        ("unconstrained extra arguments are allowed", with("note", json!("anything")), None),
    ];
    for (title, args, code) in cases {
        let r = req("payments.refund", "customer/42", args);
        let step = match code {
            None => allow(&c, r, &[BOT]),
            Some(code) => check(&c, r, "deny", &[code]),
        };
        f.case(title, &[code.unwrap_or("granted")], vec![step]);
    }

    // Several scopes: a call passes if one scope covers all of it.
    let two = g(
        &f,
        json!([{"actions": ["payments.refund"], "resources": ["customer/42"], "constraints": {"amount": {"max": 10}}},
               {"actions": ["payments.refund"], "resources": ["customer/77"], "constraints": {"amount": {"max": 1000}}}]),
    );
    f.case(
        "one of several scopes covers the call",
        &["granted"],
        vec![allow(&two, req("payments.refund", "customer/77", json!({"amount": 500})), &[BOT])],
    );
    f.case(
        "bounds of one scope do not combine with the resources of another",
        &["constraint_violated"],
        vec![check(
            &two,
            req("payments.refund", "customer/42", json!({"amount": 500})),
            "deny",
            &["constraint_violated"],
        )],
    );

    // Malformed requests.
    for (title, action, resource) in [
        ("an action with a space", "crm read", "customer/42"),
        ("an empty action", "", "customer/42"),
        ("a resource with a space", "crm.read", "customer 42"),
        ("a non-ASCII resource", "crm.read", "customer/é"),
    ] {
        f.case(
            &format!("{title} is a malformed request"),
            &["request_invalid"],
            vec![check(&any, req(action, resource, json!({})), "deny", &["request_invalid"])],
        );
    }
    // Bounds of a call: numbers the action hash represents exactly, members, nesting, txn.
    let safe = 9_007_199_254_740_991_i64;
    f.case(
        "an argument number beyond 2^53 - 1 is refused (it would hash like its neighbour)",
        &["granted", "request_invalid"],
        vec![
            allow(&any, req("crm.read", "customer/42", json!({"to_account": safe})), &[BOT]),
            allow(&any, req("crm.read", "customer/42", json!({"to_account": -safe})), &[BOT]),
            check(&any, req("crm.read", "customer/42", json!({"to_account": safe + 1})), "deny", &["request_invalid"]),
            check(
                &any,
                req("crm.read", "customer/42", json!({"to": [{"account": -safe - 1}]})),
                "deny",
                &["request_invalid"],
            ),
            check(&any, req("crm.read", "customer/42", json!({"to_account": 1e300})), "deny", &["request_invalid"]),
        ],
    );
    let members = |n: usize| Value::Object((0..n).map(|i| (format!("k{i}"), json!(i))).collect());
    let mut env_full = req("crm.read", "customer/42", json!({"a": 1}));
    env_full["context"] = json!({"env": members(511)});
    f.case(
        "a call's arguments and context hold at most 512 members together",
        &["granted", "request_invalid"],
        vec![
            allow(&any, req("crm.read", "customer/42", members(512)), &[BOT]),
            check(&any, req("crm.read", "customer/42", members(513)), "deny", &["request_invalid"]),
            check(&any, env_full, "deny", &["request_invalid"]),
        ],
    );
    let nested = |levels: usize| (0..levels).fold(json!(1), |inner, _| json!({"a": inner}));
    f.case(
        "arguments nest at most 32 levels deep",
        &["granted", "request_invalid"],
        vec![
            allow(&any, req("crm.read", "customer/42", nested(32)), &[BOT]),
            check(&any, req("crm.read", "customer/42", nested(33)), "deny", &["request_invalid"]),
        ],
    );
    let with_txn = |txn: &str| {
        let mut r = req("crm.read", "customer/42", json!({}));
        r["context"] = json!({"txn": txn});
        r
    };
    f.case(
        "a txn is 1 to 256 bytes of printable ascii",
        &["granted", "request_invalid"],
        vec![
            allow(&any, with_txn(&"r".repeat(256)), &[BOT]),
            check(&any, with_txn(&"r".repeat(257)), "deny", &["request_invalid"]),
            check(&any, with_txn("run-1\n2026-12-03 audit ok"), "deny", &["request_invalid"]),
            check(&any, with_txn("\u{1b}[2J"), "deny", &["request_invalid"]),
            check(&any, with_txn(""), "deny", &["request_invalid"]),
        ],
    );
    f.finish()
}

pub fn attenuation() -> VectorFile {
    let f = fixture(
        "attenuation",
        "Attenuation only narrows: for every rule, a child inside the bound is minted and \
         verifies, a child past it is refused when minted (scope_escalation or depth_exceeded).",
    );
    let parent_scopes = json!([{
        "actions": ["crm.*"], "resources": ["customer/*"], "data_classes": ["internal", "pii"],
        "constraints": {"amount": {"max": 100, "min": 10}, "currency": {"in": ["USD", "EUR"]}, "reason": {"eq": "duplicate"}},
        "limits": {"max_uses": 10, "rate": "10/min", "budget": {"arg": "amount", "max_total": 500}}
    }]);
    let parent = f.delegate(BOT, parent_scopes.clone(), 900, Some(2));
    let full = parent_scopes[0].clone();
    let child = |edit: &dyn Fn(&mut Value)| {
        let mut s = full.clone();
        edit(&mut s);
        json!([s])
    };
    type Edit = Box<dyn Fn(&mut Value)>;
    let rules: Vec<(&str, Edit, Option<&str>)> = vec![
        ("the same scope", Box::new(|_| {}), None),
        ("an action under the pattern", Box::new(|s| s["actions"] = json!(["crm.read"])), None),
        ("a narrower pattern", Box::new(|s| s["actions"] = json!(["crm.notes.*"])), None),
        ("`*` over `crm.*`", Box::new(|s| s["actions"] = json!(["*"])), Some("scope_escalation")),
        (
            "an action outside the pattern",
            Box::new(|s| s["actions"] = json!(["payments.refund"])),
            Some("scope_escalation"),
        ),
        ("a resource under the pattern", Box::new(|s| s["resources"] = json!(["customer/42"])), None),
        ("`*` over `customer/*`", Box::new(|s| s["resources"] = json!(["*"])), Some("scope_escalation")),
        ("a sibling resource tree", Box::new(|s| s["resources"] = json!(["customers/*"])), Some("scope_escalation")),
        ("a subset of data classes", Box::new(|s| s["data_classes"] = json!(["internal"])), None),
        ("an added data class", Box::new(|s| s["data_classes"] = json!(["internal", "pci"])), Some("scope_escalation")),
        (
            "no data classes (any) under a restricted parent",
            Box::new(|s| {
                s.as_object_mut().map(|o| o.remove("data_classes"));
            }),
            Some("scope_escalation"),
        ),
        ("a lower max", Box::new(|s| s["constraints"]["amount"]["max"] = json!(50)), None),
        ("a higher max", Box::new(|s| s["constraints"]["amount"]["max"] = json!(150)), Some("scope_escalation")),
        ("a higher min", Box::new(|s| s["constraints"]["amount"]["min"] = json!(20)), None),
        ("a lower min", Box::new(|s| s["constraints"]["amount"]["min"] = json!(5)), Some("scope_escalation")),
        (
            "a dropped min",
            Box::new(|s| {
                s["constraints"]["amount"].as_object_mut().map(|o| o.remove("min"));
            }),
            Some("scope_escalation"),
        ),
        ("a subset of `in`", Box::new(|s| s["constraints"]["currency"] = json!({"in": ["USD"]})), None),
        (
            "a widened `in`",
            Box::new(|s| s["constraints"]["currency"] = json!({"in": ["USD", "GBP"]})),
            Some("scope_escalation"),
        ),
        ("`eq` of a member of `in`", Box::new(|s| s["constraints"]["currency"] = json!({"eq": "EUR"})), None),
        (
            "another `eq`",
            Box::new(|s| s["constraints"]["reason"] = json!({"eq": "goodwill"})),
            Some("scope_escalation"),
        ),
        (
            "a dropped constraint",
            Box::new(|s| {
                s["constraints"].as_object_mut().map(|o| o.remove("currency"));
            }),
            Some("scope_escalation"),
        ),
        ("an added constraint", Box::new(|s| s["constraints"]["priority"] = json!({"max": 3})), None),
        ("a lower max_uses", Box::new(|s| s["limits"]["max_uses"] = json!(5)), None),
        ("a higher max_uses", Box::new(|s| s["limits"]["max_uses"] = json!(11)), Some("scope_escalation")),
        (
            "a dropped max_uses",
            Box::new(|s| {
                s["limits"].as_object_mut().map(|o| o.remove("max_uses"));
            }),
            Some("scope_escalation"),
        ),
        ("a slower rate", Box::new(|s| s["limits"]["rate"] = json!("5/min")), None),
        ("a faster rate", Box::new(|s| s["limits"]["rate"] = json!("20/min")), Some("scope_escalation")),
        (
            "the same count in a shorter window",
            Box::new(|s| s["limits"]["rate"] = json!("10/s")),
            Some("scope_escalation"),
        ),
        ("a smaller budget", Box::new(|s| s["limits"]["budget"]["max_total"] = json!(300)), None),
        ("a larger budget", Box::new(|s| s["limits"]["budget"]["max_total"] = json!(600)), Some("scope_escalation")),
        (
            "a budget over another argument",
            Box::new(|s| s["limits"]["budget"]["arg"] = json!("fee")),
            Some("scope_escalation"),
        ),
        (
            "a dropped budget",
            Box::new(|s| {
                s["limits"].as_object_mut().map(|o| o.remove("budget"));
            }),
            Some("scope_escalation"),
        ),
    ];
    for (title, edit, code) in rules {
        let scopes = child(&*edit);
        let mut step = op("attenuate", json!({"parent": parent, "key": BOT, "to": SUB, "scopes": scopes}));
        match code {
            None => {
                step["expect"] = json!({"chain": [BOT, SUB], "on_behalf_of": ALICE});
                f.case(&format!("a child with {title} is minted"), &["granted"], vec![step]);
            }
            Some(code) => {
                step["expect"] = json!({"error": code});
                f.case(&format!("a child with {title} is refused"), &[code], vec![step]);
            }
        }
    }
    let longer = op(
        "attenuate",
        json!({"parent": parent, "key": BOT, "to": SUB, "scopes": full_list(&full), "ttl": 3600, "expect": {"error": "scope_escalation"}}),
    );
    f.case("a child that would outlive its parent is refused", &["scope_escalation"], vec![longer]);
    let deeper = op(
        "attenuate",
        json!({"parent": parent, "key": BOT, "to": SUB, "scopes": full_list(&full), "max_depth": 3, "expect": {"error": "depth_exceeded"}}),
    );
    f.case("a child that raises the depth limit is refused", &["depth_exceeded"], vec![deeper]);
    let shallow = f.delegate(BOT, parent_scopes.clone(), 900, Some(0));
    f.case("a grant with max_depth 0 cannot be attenuated", &["depth_exceeded"], vec![op(
        "attenuate",
        json!({"parent": shallow, "key": BOT, "to": SUB, "scopes": full_list(&full), "expect": {"error": "depth_exceeded"}}),
    )]);
    let to_shallow = f.delegate(SHALLOW, parent_scopes.clone(), 900, None);
    f.case("an agent whose own depth limit is 0 cannot delegate further", &["depth_exceeded"], vec![op(
        "attenuate",
        json!({"parent": to_shallow, "key": SHALLOW, "to": SUB, "scopes": full_list(&full), "expect": {"error": "depth_exceeded"}}),
    )]);
    f.case("attenuating with a key that is not the leaf's is refused", &["key_invalid"], vec![op(
        "attenuate",
        json!({"parent": parent, "key": SUB, "to": LEAF, "scopes": full_list(&full), "expect": {"error": "key_invalid"}}),
    )]);
    f.case("attenuating to an unregistered agent is refused", &["agent_unknown"], vec![op(
        "attenuate",
        json!({"parent": parent, "key": BOT, "to": "agent:acme/ghost", "scopes": full_list(&full), "expect": {"error": "agent_unknown"}}),
    )]);
    f.case("attenuating to a principal that is not an agent is refused", &["principal_invalid"], vec![op(
        "attenuate",
        json!({"parent": parent, "key": BOT, "to": BOB, "scopes": full_list(&full), "expect": {"error": "principal_invalid"}}),
    )]);
    f.case("a minted child is used within its narrower scope", &["granted", "constraint_violated"], vec![
        op("attenuate", json!({"parent": parent, "key": BOT, "to": SUB, "save": "child",
            "scopes": [{"actions": ["crm.read"], "resources": ["customer/42"], "data_classes": ["internal"],
                        "constraints": {"amount": {"max": 20, "min": 10}, "currency": {"in": ["USD"]}, "reason": {"eq": "duplicate"}},
                        "limits": {"max_uses": 10, "rate": "10/min", "budget": {"arg": "amount", "max_total": 500}}}],
            "expect": {"chain": [BOT, SUB], "on_behalf_of": ALICE}})),
        allow("$child", req("crm.read", "customer/42", json!({"amount": 20, "currency": "USD", "reason": "duplicate"})), &[BOT, SUB]),
        check("$child", req("crm.read", "customer/42", json!({"amount": 30, "currency": "USD", "reason": "duplicate"})), "deny", &["constraint_violated"]),
    ]);
    f.finish()
}

fn full_list(scope: &Value) -> Value {
    json!([scope])
}

pub fn limits() -> VectorFile {
    let f = fixture(
        "limits",
        "Usage limits of a grant: max_uses, rate windows and budgets, counted only for allowed \
         calls.",
    );
    let uses =
        f.delegate(BOT, json!([{"actions": ["crm.read"], "resources": ["*"], "limits": {"max_uses": 2}}]), 900, None);
    let r = req("crm.read", "customer/42", json!({}));
    f.case(
        "max_uses allows that many calls, then denies",
        &["granted", "limit_max_uses"],
        vec![
            allow(&uses, r.clone(), &[BOT]),
            allow(&uses, r.clone(), &[BOT]),
            check(&uses, r.clone(), "deny", &["limit_max_uses"]),
        ],
    );
    f.case(
        "a denied call does not use up max_uses",
        &["granted", "resource_not_granted"],
        vec![
            allow(&uses, r.clone(), &[BOT]),
            check(&uses, req("crm.write", "customer/42", json!({})), "deny", &["action_not_granted"]),
            allow(&uses, r.clone(), &[BOT]),
        ],
    );
    let rate =
        f.delegate(BOT, json!([{"actions": ["crm.read"], "resources": ["*"], "limits": {"rate": "2/min"}}]), 900, None);
    f.case(
        "a rate allows that many calls per window",
        &["granted", "limit_rate"],
        vec![
            allow(&rate, r.clone(), &[BOT]),
            allow(&rate, r.clone(), &[BOT]),
            check(&rate, r.clone(), "deny", &["limit_rate"]),
        ],
    );
    f.case(
        "the rate window moves on",
        &["granted", "limit_rate"],
        vec![
            allow(&rate, r.clone(), &[BOT]),
            allow(&rate, r.clone(), &[BOT]),
            check(&rate, r.clone(), "deny", &["limit_rate"]),
            set_time(NOW + 61),
            allow(&rate, r.clone(), &[BOT]),
        ],
    );
    let budget = f.delegate(
        BOT,
        json!([{"actions": ["payments.refund"], "resources": ["*"], "limits": {"budget": {"arg": "amount", "max_total": 100}}}]),
        900,
        None,
    );
    let pay = |n: f64| req("payments.refund", "customer/42", json!({"amount": n}));
    f.case(
        "a budget sums the argument over the grant's life",
        &["granted", "limit_budget"],
        vec![
            allow(&budget, pay(60.0), &[BOT]),
            allow(&budget, pay(30.0), &[BOT]),
            check(&budget, pay(20.0), "deny", &["limit_budget"]),
            allow(&budget, pay(10.0), &[BOT]),
            check(&budget, pay(0.5), "deny", &["limit_budget"]),
        ],
    );
    f.case(
        "a budgeted call without the argument is denied",
        &["limit_budget"],
        vec![check(&budget, req("payments.refund", "customer/42", json!({})), "deny", &["limit_budget"])],
    );
    let t0 =
        f.delegate(BOT, json!([{"actions": ["crm.read"], "resources": ["*"], "limits": {"max_uses": 3}}]), 900, None);
    let t1 =
        f.attenuate(&t0, BOT, SUB, json!([{"actions": ["crm.read"], "resources": ["*"], "limits": {"max_uses": 3}}]));
    f.case(
        "a sub-agent's calls count against its ancestors' limits",
        &["granted", "limit_max_uses"],
        vec![
            allow(&t0, r.clone(), &[BOT]),
            allow(&t1, r.clone(), &[BOT, SUB]),
            allow(&t1, r.clone(), &[BOT, SUB]),
            check(&t0, r.clone(), "deny", &["limit_max_uses"]),
        ],
    );
    // A rate belongs to the grant: sub-agents share it, whoever holds which sub-grant.
    let r0 =
        f.delegate(BOT, json!([{"actions": ["crm.read"], "resources": ["*"], "limits": {"rate": "2/min"}}]), 900, None);
    let r1 =
        f.attenuate(&r0, BOT, SUB, json!([{"actions": ["crm.read"], "resources": ["*"], "limits": {"rate": "2/min"}}]));
    let r2 = f.attenuate(
        &r0,
        BOT,
        LEAF,
        json!([{"actions": ["crm.read"], "resources": ["*"], "limits": {"rate": "2/min"}}]),
    );
    f.case(
        "a rate counts every sub-agent's calls under the grant",
        &["granted", "limit_rate"],
        vec![
            allow(&r1, r.clone(), &[BOT, SUB]),
            allow(&r2, r.clone(), &[BOT, LEAF]),
            check(&r1, r.clone(), "deny", &["limit_rate"]),
            check(&r2, r.clone(), "deny", &["limit_rate"]),
            check(&r0, r.clone(), "deny", &["limit_rate"]),
        ],
    );
    let narrow =
        f.attenuate(&r0, BOT, SUB, json!([{"actions": ["crm.read"], "resources": ["*"], "limits": {"rate": "1/min"}}]));
    f.case(
        "a sub-grant's own narrower rate is counted too",
        &["granted", "limit_rate"],
        vec![
            allow(&narrow, r.clone(), &[BOT, SUB]),
            check(&narrow, r.clone(), "deny", &["limit_rate"]),
            allow(&r0, r.clone(), &[BOT]),
            check(&r0, r.clone(), "deny", &["limit_rate"]),
        ],
    );
    let pattern =
        f.delegate(BOT, json!([{"actions": ["crm.*"], "resources": ["*"], "limits": {"rate": "2/min"}}]), 900, None);
    f.case(
        "a rate on an action pattern counts every action it matches together",
        &["granted", "limit_rate"],
        vec![
            allow(&pattern, req("crm.read", "customer/42", json!({})), &[BOT]),
            allow(&pattern, req("crm.write", "customer/42", json!({})), &[BOT]),
            check(&pattern, req("crm.notes.add", "customer/42", json!({})), "deny", &["limit_rate"]),
        ],
    );
    let listed = f.delegate(
        BOT,
        json!([{"actions": ["crm.read", "crm.write"], "resources": ["*"], "limits": {"rate": "1/min"}}]),
        900,
        None,
    );
    f.case(
        "a rate counts each action a scope lists by name separately",
        &["granted", "limit_rate"],
        vec![
            allow(&listed, req("crm.read", "customer/42", json!({})), &[BOT]),
            allow(&listed, req("crm.write", "customer/42", json!({})), &[BOT]),
            check(&listed, req("crm.read", "customer/42", json!({})), "deny", &["limit_rate"]),
        ],
    );
    f.finish()
}
