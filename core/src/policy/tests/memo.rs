//! The outcome memo never changes an answer: every call evaluated with a vouched entities
//! version (memoized, asked twice) gets the outcome it gets without one (never memoized).

use super::*;

/// Policies reading arguments, delegation, attributes and the time.
const RULES: &str = r#"
@id("big") forbid (principal, action == Action::"payments.refund", resource)
  when { context.args has amount && context.args.amount > 100 };
@id("ask") @approval("refund over 50") permit (principal, action == Action::"payments.refund", resource)
  when { context.args has amount && context.args.amount > 50 };
@id("deep") forbid (principal, action, resource) when { context.delegation.depth > 1 };
@id("late") forbid (principal, action == Action::"crm.read", resource) when { context.now >= 1767225700 };
@id("pci") forbid (principal, action, resource)
  when { resource has data_class && resource.data_class == "pci" && !(principal has pci_cleared && principal.pci_cleared) };
@id("any") permit (principal, action, resource);
"#;

fn variants() -> Vec<Call> {
    let base = Call::r1();
    let mut calls = vec![
        base.clone(),
        base.clone().args(json!({"amount": 60, "currency": "USD"})),
        base.clone().args(json!({"amount": 60.0, "currency": "USD"})),
        base.clone().args(json!({"amount": 500})),
        base.clone().args(json!({"amount": "500"})),
        base.clone().args(json!({"nested": {"amount": 500}})),
        base.clone().action("crm.read"),
        base.clone().data_class(Some("public")),
        base.clone().data_class(None),
    ];
    let mut other_agent = base.clone().agent_attrs(json!({"team": "support"}));
    other_agent.agent = "agent:acme/other".into();
    calls.push(other_agent);
    let mut other_user = base.clone();
    other_user.on_behalf_of = "user:bob".into();
    calls.push(other_user);
    for now in [1_767_225_699, 1_767_225_700, 1_767_225_701] {
        let mut timed = base.clone().action("crm.read");
        timed.now = now;
        calls.push(timed);
    }
    calls
}

#[test]
fn memoized_outcomes_equal_fresh_ones() {
    let e = engine(RULES);
    let calls = variants();
    for round in 0..3 {
        for call in &calls {
            let fresh = call.eval(&e).unwrap();
            let mut vouched = call.clone();
            vouched.version = Some(7);
            assert_eq!(vouched.eval(&e).unwrap(), fresh, "round {round}: {:?} {:?}", call.action, call.args);
        }
    }
}

#[test]
fn the_time_is_part_of_the_key_only_where_a_policy_reads_it() {
    let e = engine(RULES);
    let mut call = Call::r1().action("crm.read");
    call.version = Some(1);
    call.now = 1_767_225_699;
    assert!(call.eval(&e).unwrap().forbids.is_empty());
    call.now = 1_767_225_700;
    assert_eq!(call.eval(&e).unwrap().forbids, ids(&["late"]));
}

#[test]
fn a_new_entities_version_is_evaluated_afresh() {
    let e = engine(RULES);
    let mut call = Call::r1();
    call.version = Some(1);
    assert!(call.eval(&e).unwrap().forbids.is_empty());
    // The attributes changed and the caller says so with a new version.
    call = call.agent_attrs(json!({"team": "support"}));
    call.version = Some(2);
    assert_eq!(call.eval(&e).unwrap().forbids, ids(&["pci"]));
}
