//! Policy evaluation for the scenario's request R1 under its 20 rules, then with 1,000 and
//! 10,000 extra policies on other actions (which slicing keeps out of the evaluation).
#![allow(clippy::panic, reason = "a benchmark whose setup fails must stop loudly")]

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use runtime_identity::policy::{
    AgentEntity, DelegationContext, PolicyEngine, PolicyRequest, PolicySource, ResourceEntity, SchemaHints,
};
use serde_json::{json, Map, Value};

/// The 20 scenario rules in our conventions (shared with the unit tests).
const SCENARIO: &str = include_str!("../src/policy/tests/scenario.cedar");

/// `n` policies on other actions: exact actions, action lists, groups, approvals.
fn unrelated(n: usize) -> String {
    (0..n)
        .map(|i| match i % 4 {
            0 => format!("@id(\"X{i}\") permit (principal, action == Action::\"svc{i}.op\", resource) when {{ context.args has n && context.args.n <= {i} }};\n"),
            1 => format!("@id(\"X{i}\") forbid (principal, action in [Action::\"svc{i}.read\", Action::\"svc{i}.write\"], resource);\n"),
            2 => format!("@id(\"X{i}\") forbid (principal, action in Action::\"svc{i}.*\", resource) when {{ resource.path like \"x/*\" }};\n"),
            _ => format!("@id(\"X{i}\") @approval(\"r{i}\") permit (principal, action == Action::\"payments.refund.sub{i}\", resource);\n"),
        })
        .collect()
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

fn bench(c: &mut Criterion) {
    let agent_attrs = object(json!({"pci_cleared": true, "team": "support"}));
    let resource_attrs = Map::new();
    let args = object(json!({"amount": 50, "currency": "USD"}));
    let request = PolicyRequest {
        principal: AgentEntity {
            id: "agent:acme/support-bot",
            owner: "user:alice",
            org: Some("acme"),
            status: "active",
            attributes: &agent_attrs,
        },
        action: "payments.refund",
        resource: ResourceEntity { id: "customer/42", data_class: Some("pci"), attributes: &resource_attrs },
        args: &args,
        delegation: DelegationContext { depth: 1, on_behalf_of: "user:alice", purpose: None, grant_id: "g-1" },
        env: None,
        risk: None,
        now: 1_796_000_000,
        entities_version: None,
    };
    for (label, extra) in [("20 rules", 0), ("+1,000 on other actions", 1_000), ("+10,000 on other actions", 10_000)] {
        let sources = [PolicySource::new("scenario.cedar", format!("{SCENARIO}\n{}", unrelated(extra)))];
        let started = Instant::now();
        let engine = PolicyEngine::load(&sources, &SchemaHints::default(), false).unwrap_or_else(|e| panic!("{e}"));
        eprintln!("load, {label}: {} policies in {:?}", engine.policy_count(), started.elapsed());
        let outcome = engine.evaluate(&request).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(outcome.permits, ["D03"], "{outcome:?}");
        c.bench_function(&format!("policy evaluate R1, {label}"), |b| b.iter(|| engine.evaluate(black_box(&request))));
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
