use std::collections::BTreeMap;

use super::*;

const F01: &str = r#"@id("F01") forbid (principal, action, resource) when { resource has data_class && resource.data_class == "pci" } unless { principal has pci_cleared && principal.pci_cleared };"#;
const REFUND_PERMIT: &str = r#"permit (principal, action == Action::"payments.refund", resource) when { context.args has amount && context.args.amount <= 100 };"#;

fn one(name: &str, t: &str) -> Vec<PolicySource> {
    vec![PolicySource::new(name, t)]
}

fn refund_hints() -> SchemaHints {
    SchemaHints::default().with_action(
        "payments.refund",
        BTreeMap::from([
            ("amount".to_owned(), Field::required(ValueType::Long)),
            ("currency".to_owned(), Field::optional(ValueType::String)),
        ]),
    )
}

#[test]
fn loads_text() {
    let e = engine(SCENARIO);
    assert_eq!(e.policy_count(), 20);
    assert!(!e.require_permit());
    assert_eq!(engine(&format!("{F01}\n{REFUND_PERMIT}")).policy_count(), 2);
}

#[test]
fn loads_named_sources_and_names_unnamed_policies() {
    let sources = vec![
        PolicySource::new("a.cedar", format!("{F01}\n{REFUND_PERMIT}")),
        PolicySource::new(
            "b.cedar",
            "permit (principal, action, resource);\n// two\npermit (principal, action, resource);",
        ),
    ];
    let e = PolicyEngine::load(&sources, &SchemaHints::default(), true).unwrap();
    assert_eq!(e.policy_count(), 4);
    assert!(e.require_permit());
    let out = Call::r1().eval(&e).unwrap();
    assert_eq!(out.permits, ids(&["a.cedar#2", "b.cedar#1", "b.cedar#2"]));
    assert!(out.forbids.is_empty());
}

#[test]
fn empty_engine() {
    let e = PolicyEngine::empty();
    assert_eq!(e.policy_count(), 0);
    assert_eq!(Call::r1().eval(&e).unwrap(), PolicyOutcome::default());
    assert!(e.schema_text().contains("entity Agent in [Org]"));
    let none = PolicyEngine::load(&[], &SchemaHints::default(), false).unwrap();
    assert_eq!(none.policy_count(), 0);
}

#[test]
fn syntax_error_is_located() {
    let msg = load_error(
        &one("bad.cedar", "permit (principal, action, resource);\npermit (principal, action, resource) when { 1 + };"),
        &SchemaHints::default(),
    );
    assert!(msg.starts_with("bad.cedar:2:49: unexpected token `}`"), "{msg}");
}

#[test]
fn unknown_entity_type_is_located() {
    let msg =
        load_error(&one("x.cedar", "\n\npermit (principal == Foo::\"x\", action, resource);"), &SchemaHints::default());
    assert!(msg.starts_with("x.cedar:3:22: for policy `x.cedar#1`, unrecognized entity type `Foo`"), "{msg}");
}

#[test]
fn type_errors_on_declared_attributes_are_located() {
    let t = "permit (principal, action, resource)\n  when { resource has data_class && resource.data_class > 3 };";
    let msg = load_error(&one("t.cedar", t), &SchemaHints::default());
    assert!(
        msg.starts_with("t.cedar:2:37: for policy `t.cedar#1`, unexpected type: expected Long but saw String"),
        "{msg}"
    );

    let msg = load_error(
        &one("n.cedar", "permit (principal, action, resource) when { context.now like \"x\" };"),
        &SchemaHints::default(),
    );
    assert!(
        msg.starts_with("n.cedar:1:45: for policy `n.cedar#1`, unexpected type: expected String but saw Long"),
        "{msg}"
    );
    assert_eq!(msg.lines().count(), 1, "duplicates across actions are merged: {msg}");
}

#[test]
fn approval_needs_a_reason() {
    for t in [
        "permit (principal, action, resource);\n  @approval permit (principal, action, resource);",
        "permit (principal, action, resource);\n  @approval(\" \") permit (principal, action, resource);",
    ] {
        let msg = load_error(&one("ap.cedar", t), &SchemaHints::default());
        assert!(msg.starts_with("ap.cedar:2:3: policy `ap.cedar#2`: `@approval` needs a reason"), "{msg}");
    }
    let msg =
        load_error(&one("f.cedar", "@approval(\"x\") forbid (principal, action, resource);"), &SchemaHints::default());
    assert!(msg.starts_with("f.cedar:1:16: policy `f.cedar#1`: an `@approval` policy must be a `permit`"), "{msg}");
}

#[test]
fn duplicate_ids_do_not_load() {
    let sources = vec![
        PolicySource::new("a.cedar", "@id(\"A\") permit (principal, action, resource);"),
        PolicySource::new(
            "b.cedar",
            "permit (principal, action, resource);\n@id(\"A\") forbid (principal, action, resource);",
        ),
    ];
    let msg = load_error(&sources, &SchemaHints::default());
    assert!(msg.starts_with("b.cedar:2:1: duplicate policy id `A` (first at `a.cedar:1:1`)"), "{msg}");
    let msg = load_error(&one("e.cedar", "@id(\"\") permit (principal, action, resource);"), &SchemaHints::default());
    assert!(msg.starts_with("e.cedar:1:1: `@id` must not be empty"), "{msg}");
    // An `@id` may not take the generated name of another policy either.
    let msg = load_error(
        &one("c", "permit (principal, action, resource);\n@id(\"c#1\") permit (principal, action, resource);"),
        &SchemaHints::default(),
    );
    assert!(msg.contains("duplicate policy id `c#1`"), "{msg}");
}

#[test]
fn load_is_all_or_nothing_and_reports_every_problem() {
    let good = PolicySource::new("good.cedar", format!("{F01}\n{REFUND_PERMIT}"));
    let bad1 = PolicySource::new("bad1.cedar", "permit (principal == Foo::\"x\", action, resource);");
    let bad2 = PolicySource::new("bad2.cedar", "permit (principal, action, resource) when { context.nope };");
    assert!(PolicyEngine::load(std::slice::from_ref(&good), &SchemaHints::default(), false).is_ok());
    let msg = load_error(&[good, bad1, bad2], &SchemaHints::default());
    let lines: Vec<&str> = msg.lines().collect();
    assert_eq!(lines.len(), 2, "{msg}");
    assert!(lines[0].starts_with("bad1.cedar:1:22:"), "{msg}");
    assert!(lines[1].starts_with("bad2.cedar:1:45:") && lines[1].contains("`nope`"), "{msg}");
}

#[test]
fn open_attributes_load() {
    // F01 reads an undeclared agent attribute; the permit reads an argument of an undeclared
    // action; both load with default hints.
    engine(&format!("{F01}\n{REFUND_PERMIT}"));
    engine(
        r#"permit (principal, action, resource) when {
             principal.team == "support" && resource has owner_team && resource.owner_team == principal.team &&
             context.env has region && context.env.region == "eu" && context.risk.score < 50 &&
             principal["pci-cleared"] == true && context.args.customer.tier == "gold"
           };"#,
    );
}

#[test]
fn closed_parts_reject_unknown_and_unguarded_attributes() {
    let cases = [
        (
            "permit (principal, action, resource) when { resource.data_class == \"pci\" };",
            "optional attribute `data_class`",
        ),
        ("permit (principal, action, resource) when { principal.org == \"acme\" };", "optional attribute `org`"),
        ("permit (principal, action, resource) when { context.delegation.expires > 0 };", "`delegation.expires`"),
        ("permit (principal, action, resource) when { context.delegation.purpose == \"x\" };", "`delegation.purpose`"),
        ("permit (principal, action, resource) when { Org::\"acme\".name == \"x\" };", "`name`"),
    ];
    for (t, needle) in cases {
        let msg = load_error(&text(t), &SchemaHints::default());
        assert!(msg.starts_with("<text>:1:") && msg.contains(needle), "{t}: {msg}");
    }
}

#[test]
fn declared_actions_are_strict() {
    let hints = refund_hints();
    engine_with(
        r#"permit (principal, action == Action::"payments.refund", resource) when { context.args.amount <= 100 };"#,
        &hints,
    );
    engine_with(
        r#"permit (principal, action, resource) when { context.args has amount && context.args.amount <= 100 };"#,
        &hints,
    );
    let cases = [
        (
            r#"permit (principal, action == Action::"payments.refund", resource) when { context.args.amont <= 100 };"#,
            "did you mean `amount`?",
        ),
        (
            r#"permit (principal, action == Action::"payments.refund", resource) when { context.args.currency == "USD" };"#,
            "optional attribute `args.currency`",
        ),
        (
            r#"permit (principal, action == Action::"payments.refund", resource) when { context.args.amount == "100" };"#,
            "not compatible",
        ),
        (
            r#"permit (principal, action in Action::"payments.*", resource) when { context.args.note == "x" };"#,
            "in context for Action::\"payments.refund\"",
        ),
    ];
    for (t, needle) in cases {
        let msg = load_error(&text(t), &hints);
        assert!(msg.contains(needle), "{t}: {msg}");
    }
}

#[test]
fn declared_attributes_are_typed() {
    let hints = SchemaHints {
        agent_attributes: BTreeMap::from([("pci_cleared".to_owned(), ValueType::Bool)]),
        resource_attributes: BTreeMap::from([("tier".to_owned(), ValueType::Long)]),
        ..SchemaHints::default()
    };
    engine_with(F01, &hints);
    let msg = load_error(&text("forbid (principal, action, resource) unless { principal.pci_cleared };"), &hints);
    assert!(msg.contains("optional attribute `pci_cleared`"), "{msg}");
    let msg = load_error(
        &text("forbid (principal, action, resource) when { resource has tier && resource.tier like \"a*\" };"),
        &hints,
    );
    assert!(msg.contains("expected String but saw Long"), "{msg}");
}

#[test]
fn action_names_are_checked() {
    let msg =
        load_error(&text(r#"permit (principal, action == Action::"payments.*", resource);"#), &SchemaHints::default());
    assert!(
        msg.starts_with("<text>:1:38: policy `<text>#1`: `action == Action::\"payments.*\"` never matches"),
        "{msg}"
    );
    let msg =
        load_error(&text(r#"permit (principal, action in [Action::"pay ments"], resource);"#), &SchemaHints::default());
    assert!(msg.contains("action `pay ments` must be"), "{msg}");
    let msg = load_error(
        &text(r#"permit (principal, action, resource) when { action == Action::"a..b" };"#),
        &SchemaHints::default(),
    );
    assert!(msg.contains("action `a..b` must be"), "{msg}");
}

#[test]
fn templates_are_rejected() {
    let msg = load_error(
        &text("permit (principal, action, resource);\npermit (principal == ?principal, action, resource);"),
        &SchemaHints::default(),
    );
    assert!(msg.starts_with("<text>:2:1: templates"), "{msg}");
}

#[test]
fn hints_are_validated() {
    let bad = [
        SchemaHints {
            agent_attributes: BTreeMap::from([("owner".to_owned(), ValueType::String)]),
            ..SchemaHints::default()
        },
        SchemaHints {
            resource_attributes: BTreeMap::from([("data_class".to_owned(), ValueType::String)]),
            ..SchemaHints::default()
        },
        SchemaHints {
            agent_attributes: BTreeMap::from([("a b".to_owned(), ValueType::String)]),
            ..SchemaHints::default()
        },
        SchemaHints::default().with_action("payments.*", BTreeMap::new()),
        SchemaHints::default().with_action("x", BTreeMap::from([("".to_owned(), Field::required(ValueType::Long))])),
    ];
    for hints in bad {
        let err = PolicyEngine::load(&text(F01), &hints, false).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidArgument, "{hints:?}");
    }
}

#[test]
fn schema_text_is_the_effective_schema() {
    let mut hints = refund_hints();
    hints.agent_attributes.insert("pci_cleared".into(), ValueType::Bool);
    hints.resource_attributes.insert("owner-team".into(), ValueType::Set(Box::new(ValueType::String)));
    let e = engine_with(&format!("{F01}\npermit (principal, action in Action::\"crm.*\", resource);"), &hints);
    let s = e.schema_text();
    for needle in [
        "  pci_cleared?: Bool,",
        "  \"owner-team\"?: Set<String>,",
        "action \"crm.*\" in [\"*\"] appliesTo { principal: Agent, resource: Resource, context: OpenContext };",
        "action \"payments.refund\" in [\"*\"] appliesTo { principal: Agent, resource: Resource, context: { args: {amount: Long, currency?: String}, delegation: Delegation, env: {}, risk: {}, now: Long } };",
    ] {
        assert!(s.contains(needle), "missing {needle:?} in\n{s}");
    }
    assert!(cedar_policy::Schema::from_cedarschema_str(&s).is_ok());
}

#[test]
fn hints_from_records() {
    let agents = [
        obj(
            json!({"pci_cleared": true, "team": "a", "level": 1, "tags": ["x"], "mixed": 1, "profile": {"a": 1}, "owner": "x"}),
        ),
        obj(json!({"pci_cleared": false, "level": 2.5, "tags": [], "mixed": "one", "limit": null})),
    ];
    let resources = [obj(json!({"tier": 3, "data_class": "pci"}))];
    let h = SchemaHints::from_records(agents.iter(), resources.iter());
    let expected = BTreeMap::from([
        ("level".to_owned(), ValueType::Decimal),
        ("pci_cleared".to_owned(), ValueType::Bool),
        ("tags".to_owned(), ValueType::Set(Box::new(ValueType::String))),
        ("team".to_owned(), ValueType::String),
    ]);
    assert_eq!(h.agent_attributes, expected);
    assert_eq!(h.resource_attributes, BTreeMap::from([("tier".to_owned(), ValueType::Long)]));
    h.validate().unwrap();
}

#[test]
fn engine_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<PolicyEngine>();
}

#[test]
fn batched_validation_sees_what_a_full_schema_would() {
    // A type error reachable only when the action is one the condition names.
    let t =
        r#"permit (principal, action, resource) when { action == Action::"payments.refund" && context.now like "x" };"#;
    assert!(load_error(&text(t), &SchemaHints::default()).contains("expected String but saw Long"));
    // A declared action reached only through an unconstrained scope.
    let t =
        r#"permit (principal, action, resource) when { context.args has amount && context.args.amount like "1*" };"#;
    assert!(load_error(&text(t), &refund_hints()).contains("expected String but saw Long"));
    // An error in a later batch is still located in its file.
    let mut many: String =
        (0..40).map(|i| format!("permit (principal, action == Action::\"a{i}.b\", resource);\n")).collect();
    many.push_str("permit (principal, action == Action::\"z.b\", resource) when { principal.owner > 1 };\n");
    let msg = load_error(&one("many.cedar", &many), &SchemaHints::default());
    assert!(msg.starts_with("many.cedar:41:"), "{msg}");
    assert_eq!(engine(&many.replace("principal.owner > 1", "true")).policy_count(), 41);
}
