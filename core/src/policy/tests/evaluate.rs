use std::collections::BTreeMap;

use super::*;

#[test]
fn scenario_r1() {
    let e = engine(SCENARIO);
    let out = Call::r1().eval(&e).unwrap();
    assert_eq!(out, PolicyOutcome { permits: ids(&["D03"]), ..PolicyOutcome::default() });
}

#[test]
fn f01_forbids_pci_data_unless_cleared() {
    let e = engine(SCENARIO);
    let uncleared = Call::r1().agent_attrs(json!({"team": "support"}));
    let out = uncleared.eval(&e).unwrap();
    assert_eq!(out.forbids, ids(&["F01"]));
    // Satisfied permits are still reported alongside the forbid.
    assert_eq!(out.permits, ids(&["D03"]));
    let refused = Call::r1().agent_attrs(json!({"pci_cleared": false}));
    assert_eq!(refused.eval(&e).unwrap().forbids, ids(&["F01"]));
    assert!(Call::r1().eval(&e).unwrap().forbids.is_empty());
    assert!(uncleared.clone().data_class(None).eval(&e).unwrap().forbids.is_empty());
    assert!(uncleared.data_class(Some("public")).eval(&e).unwrap().forbids.is_empty());
}

#[test]
fn permit_conditions_on_undeclared_arguments() {
    let e = engine(SCENARIO);
    assert!(Call::r1().args(json!({"amount": 500, "currency": "USD"})).eval(&e).unwrap().permits.is_empty());
    assert!(Call::r1().args(json!({"currency": "USD"})).eval(&e).unwrap().permits.is_empty());
    let mut other = Call::r1();
    other.on_behalf_of = "user:bob".into();
    assert!(other.eval(&e).unwrap().permits.is_empty());
}

#[test]
fn approvals_are_reported_with_their_reason() {
    let e = engine(
        r#"@id("big") @approval("refund over 100") permit (principal, action == Action::"payments.refund", resource)
             when { context.args has amount && context.args.amount > 100 };
           @id("ok") permit (principal, action, resource);"#,
    );
    let out = Call::r1().args(json!({"amount": 150})).eval(&e).unwrap();
    assert_eq!(out.approvals, vec![("big".to_owned(), "refund over 100".to_owned())]);
    assert_eq!(out.permits, ids(&["ok"]));
    assert!(Call::r1().eval(&e).unwrap().approvals.is_empty());
}

#[test]
fn require_permit_is_surfaced() {
    let on = PolicyEngine::load(&text(SCENARIO), &SchemaHints::default(), true).unwrap();
    assert!(on.require_permit());
    assert!(!engine(SCENARIO).require_permit());
    // The outcome carries what the caller needs: no permit for this call.
    assert!(Call::r1().action("payments.charge").eval(&on).unwrap().permits.is_empty());
}

#[test]
fn action_groups() {
    let e = engine(
        r#"@id("pay") forbid (principal, action in Action::"payments.*", resource) when { context.args has amount && context.args.amount > 1000 };
           @id("all") permit (principal, action in Action::"*", resource);
           @id("deep") permit (principal, action in [Action::"a.b.*", Action::"x.y"], resource);
           @id("cond") permit (principal, action, resource) when { action in Action::"crm.*" };"#,
    );
    let big = json!({"amount": 5000});
    assert_eq!(Call::r1().args(big.clone()).eval(&e).unwrap().forbids, ids(&["pay"]));
    assert_eq!(Call::r1().action("payments.charge").args(big.clone()).eval(&e).unwrap().forbids, ids(&["pay"]));
    assert!(Call::r1().action("payments").args(big.clone()).eval(&e).unwrap().forbids.is_empty());
    assert!(Call::r1().action("crm.read").args(big).eval(&e).unwrap().forbids.is_empty());
    assert_eq!(Call::r1().action("crm.read").eval(&e).unwrap().permits, ids(&["all", "cond"]));
    assert_eq!(Call::r1().action("a.b.c.d").eval(&e).unwrap().permits, ids(&["all", "deep"]));
    assert_eq!(Call::r1().action("x.y").eval(&e).unwrap().permits, ids(&["all", "deep"]));
    assert_eq!(Call::r1().action("a.b").eval(&e).unwrap().permits, ids(&["all"]));
    // An odd action name is in `*` only, as in scope matching.
    assert_eq!(Call::r1().action("odd name").eval(&e).unwrap().permits, ids(&["all"]));
    for bad in ["", "payments.*", "*"] {
        assert_eq!(Call::r1().action(bad).eval(&e).unwrap_err().code(), ErrorCode::InvalidArgument);
    }
}

#[test]
fn principal_in_org() {
    let e = engine(
        r#"@id("acme") permit (principal in Org::"acme", action, resource); @id("beta") forbid (principal in Org::"beta", action, resource);"#,
    );
    assert_eq!(Call::r1().eval(&e).unwrap().permits, ids(&["acme"]));
    let mut none = Call::r1();
    none.org = None;
    assert_eq!(none.eval(&e).unwrap(), PolicyOutcome::default());
    let mut beta = Call::r1();
    beta.org = Some("beta".into());
    assert_eq!(beta.eval(&e).unwrap().forbids, ids(&["beta"]));
}

#[test]
fn float_arguments_become_decimals() {
    let e = engine(
        r#"@id("dec") forbid (principal, action, resource)
             when { context.args has amount && context.args.amount.greaterThan(decimal("100.00")) };
           @id("long") permit (principal, action, resource) when { context.args has amount && context.args.amount <= 100 };"#,
    );
    let out = Call::r1().args(json!({"amount": 150.25})).eval(&e).unwrap();
    assert_eq!(out.forbids, ids(&["dec"]));
    // Comparing a decimal with `<=` on a Long is an evaluation error: reported, never a permit.
    assert_eq!(out.permit_errors.len(), 1, "{out:?}");
    assert!(out.permits.is_empty());
    assert!(Call::r1().args(json!({"amount": 99.5})).eval(&e).unwrap().forbids.is_empty());
    for unrepresentable in [json!(0.12345), json!(1e300), json!(0.1 + 0.2)] {
        let err = Call::r1().args(json!({ "amount": unrepresentable })).eval(&e).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidArgument);
        assert!(err.message().starts_with("argument `amount` value"), "{}", err.message());
    }
    let err = Call::r1().args(json!({"amount": u64::MAX})).eval(&e).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
}

/// `10.0` and `10` are one JSON number (frameworks such as pydantic turn ints into floats):
/// both compare as the integer in policies, as they hash the same in `action_hash`.
#[test]
fn integral_floats_are_integers() {
    let e = engine(
        r#"@id("big") forbid (principal, action, resource) when { context.args has amount && context.args.amount > 80 };"#,
    );
    for (amount, forbidden) in [(json!(90.0), true), (json!(90), true), (json!(10.0), false), (json!(-0.0), false)] {
        let out = Call::r1().args(json!({ "amount": amount })).eval(&e).unwrap();
        assert!(out.errors.is_empty() && out.permit_errors.is_empty(), "{amount}: {out:?}");
        assert_eq!(!out.forbids.is_empty(), forbidden, "{amount}");
    }
    // A fraction stays a decimal: comparing it with `>` on a Long is an error, reported.
    let out = Call::r1().args(json!({"amount": 90.5})).eval(&e).unwrap();
    assert_eq!(out.errors.len(), 1, "{out:?}");
}

#[test]
fn null_arguments_are_left_out() {
    let e = engine(r#"@id("has") forbid (principal, action, resource) when { context.args has note };"#);
    assert!(Call::r1().args(json!({"note": null})).eval(&e).unwrap().forbids.is_empty());
    assert_eq!(Call::r1().args(json!({"note": "x"})).eval(&e).unwrap().forbids, ids(&["has"]));
    // Inside an array a null cannot be left out without changing the set: an error.
    let err = Call::r1().args(json!({"note": ["a", null]})).eval(&e).unwrap_err();
    assert!(err.message().contains("argument `note[1]`"), "{}", err.message());
}

#[test]
fn erroring_policies_are_reported() {
    let e = engine(
        r#"@id("f") forbid (principal, action, resource) when { principal.clearance < 3 };
           @id("a") @approval("why") permit (principal, action, resource) when { context.args.amount > 10 };
           @id("p") permit (principal, action, resource) when { resource.owner == "x" };"#,
    );
    let out = Call::r1().args(json!({})).eval(&e).unwrap();
    let errored: Vec<&str> = out.errors.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(errored, ["a", "f"]);
    assert!(out.errors[1].1.contains("clearance"), "{out:?}");
    assert_eq!(out.permit_errors.len(), 1);
    assert_eq!(out.permit_errors[0].0, "p");
    assert!(out.forbids.is_empty() && out.permits.is_empty() && out.approvals.is_empty());
    // A value of another type is an error too, not a silent pass.
    let out = Call::r1().agent_attrs(json!({"clearance": "3"})).eval(&e).unwrap();
    assert!(out.errors.iter().any(|(id, _)| id == "f"), "{out:?}");
}

#[test]
fn declared_types_are_enforced_at_run_time() {
    let hints = SchemaHints {
        agent_attributes: BTreeMap::from([("level".to_owned(), ValueType::Long)]),
        ..SchemaHints::default()
    }
    .with_action("payments.refund", BTreeMap::from([("amount".to_owned(), Field::required(ValueType::Decimal))]));
    let e = engine_with(
        r#"@id("f") forbid (principal, action, resource) when { principal has level && principal.level == 3 };
           @id("r") forbid (principal, action == Action::"payments.refund", resource)
             when { context.args.amount.greaterThan(decimal("100.0")) };"#,
        &hints,
    );
    assert_eq!(Call::r1().agent_attrs(json!({"level": 3})).eval(&e).unwrap().forbids, ids(&["f"]));
    // "3" == 3 would be silently false; the declared type makes it an error instead.
    let err = Call::r1().agent_attrs(json!({"level": "3"})).eval(&e).unwrap_err();
    assert_eq!(err.message(), "agent attribute `level` must be an integer");
    // Declared decimal arguments take integers too; required ones must be present.
    assert_eq!(Call::r1().args(json!({"amount": 500})).eval(&e).unwrap().forbids, ids(&["r"]));
    let err = Call::r1().args(json!({"amount": null})).eval(&e).unwrap_err();
    assert_eq!(err.message(), "argument `amount` of action `payments.refund` is required");
}

#[test]
fn env_risk_and_context() {
    let e = engine(
        r#"@id("eu") forbid (principal, action, resource) when { context.env has region && context.env.region == "eu" };
           @id("risk") forbid (principal, action, resource) when { context.risk has score && context.risk.score > 70 };
           @id("ctx") permit (principal, action, resource) when {
             context.delegation.depth == 1 && context.delegation.grant_id == "g-1" &&
             context.delegation has purpose && context.delegation.purpose == "support" &&
             principal.owner == "user:alice" && principal.status == "active" &&
             principal has org && principal.org == "acme" && resource.path == "customer/42" };"#,
    );
    assert_eq!(Call::r1().eval(&e).unwrap().permits, ids(&["ctx"]));
    let mut c = Call::r1();
    c.env = Some(json!({"region": "eu"}));
    c.risk = Some(json!({"score": 80}));
    assert_eq!(c.eval(&e).unwrap().forbids, ids(&["eu", "risk"]));
    c.risk = Some(json!(80));
    assert_eq!(c.eval(&e).unwrap_err().message(), "`risk` must be a JSON object");
}

#[test]
fn bad_application_attributes_are_errors() {
    let e = engine(SCENARIO);
    let err = Call::r1().agent_attrs(json!({"owner": "someone"})).eval(&e).unwrap_err();
    assert!(err.message().contains("agent attribute `owner` is built in"), "{}", err.message());
    let err = Call::r1().resource_attrs(json!({"path": "other"})).eval(&e).unwrap_err();
    assert!(err.message().contains("resource attribute `path` is built in"), "{}", err.message());
    let mut deep = json!(1);
    for _ in 0..40 {
        deep = json!([deep]);
    }
    let err = Call::r1().resource_attrs(json!({ "deep": deep })).eval(&e).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InputTooLarge);
}
