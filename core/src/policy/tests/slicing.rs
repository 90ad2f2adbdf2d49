use super::*;

/// `n` policies on actions no test call uses, in several shapes (exact, list, group, forbid).
pub(super) fn unrelated(n: usize) -> String {
    (0..n)
        .map(|i| match i % 4 {
            0 => format!("@id(\"X{i}\") permit (principal, action == Action::\"svc{i}.op\", resource) when {{ context.args has n && context.args.n <= {i} }};\n"),
            1 => format!("@id(\"X{i}\") forbid (principal, action in [Action::\"svc{i}.read\", Action::\"svc{i}.write\"], resource);\n"),
            2 => format!("@id(\"X{i}\") forbid (principal, action in Action::\"svc{i}.*\", resource) when {{ resource.path like \"x/*\" }};\n"),
            _ => format!("@id(\"X{i}\") @approval(\"r{i}\") permit (principal, action == Action::\"payments.refund.sub{i}\", resource);\n"),
        })
        .collect()
}

#[test]
fn policies_on_other_actions_never_appear() {
    let e = engine(&format!("{SCENARIO}\n{}", unrelated(8)));
    for call in [Call::r1(), Call::r1().action("crm.read"), Call::r1().action("svc9.op")] {
        let out = call.eval(&e).unwrap();
        let all = out.forbids.iter().chain(&out.permits).chain(out.approvals.iter().map(|(id, _)| id));
        assert!(all.clone().all(|id| !id.starts_with('X')), "{out:?}");
    }
    // ... and do appear on their own actions.
    assert_eq!(Call::r1().action("svc1.write").eval(&e).unwrap().forbids, ids(&["X1"]));
    let mut in_group = Call::r1().action("svc2.a.b");
    assert!(in_group.eval(&e).unwrap().forbids.is_empty());
    in_group.resource = "x/1".into();
    assert_eq!(in_group.eval(&e).unwrap().forbids, ids(&["X2"]));
    let out = Call::r1().action("payments.refund.sub3").eval(&e).unwrap();
    assert_eq!(out.approvals, vec![("X3".to_owned(), "r3".to_owned())]);
    // A policy on an action is not evaluated for its group's other members or its parent.
    assert!(Call::r1().action("svc0").args(json!({"n": 0})).eval(&e).unwrap().permits.is_empty());
    assert_eq!(Call::r1().action("svc0.op").args(json!({"n": 0})).eval(&e).unwrap().permits, ids(&["X0"]));
}

#[test]
fn unrelated_policies_do_not_change_outcomes() {
    let base = engine(SCENARIO);
    let big = engine(&format!("{SCENARIO}\n{}", unrelated(1000)));
    assert_eq!(big.policy_count(), 1020);
    let calls = [
        Call::r1(),
        Call::r1().agent_attrs(json!({})),
        Call::r1().args(json!({"amount": 5000, "currency": "USD"})),
        Call::r1().action("crm.read"),
        Call::r1().action("kb.read"),
        Call::r1().action("payments.charge"),
        Call::r1().action("nothing.here"),
    ];
    for call in calls {
        assert_eq!(call.eval(&base).unwrap(), call.eval(&big).unwrap(), "{}", call.action);
    }
}
