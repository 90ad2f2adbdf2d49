//! `check` with a cached credential: the scenario's request R1 under 20 rules, the same with
//! 1,000 and 10,000 extra policies on other actions, and with a limit counter (in-memory
//! runtime, token strings); R1 at the input limits (members and nesting); and R1 as the bindings run it (a folder runtime with buffered audit,
//! a verified `Credential`).
#![allow(clippy::panic, reason = "a benchmark whose setup fails must stop loudly")]

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use runtime_identity::audit::{AuditOptions, Durability};
use runtime_identity::scope::Scope;
use runtime_identity::CheckRequest;
use runtime_identity::RuntimeOptions;
use runtime_identity::{AgentSpec, DelegateRequest, FixedClock, Runtime};

const NOW: i64 = 1_796_000_000;

/// The scenario's organisation-wide rules as Cedar (the delegation rules are grants).
const POLICIES: &str = include_str!("../../examples/policies/scenario.cedar");

fn runtime(extra: usize) -> (Runtime, String, String) {
    let rt = Runtime::in_memory(options(Durability::Sync)).unwrap_or_else(|e| panic!("{e}"));
    setup(rt, extra)
}

fn options(durability: Durability) -> RuntimeOptions {
    RuntimeOptions {
        issuer: Some("org:acme".into()),
        clock: Arc::new(FixedClock::at(NOW)),
        audit: AuditOptions { durability, ..AuditOptions::default() },
        ..RuntimeOptions::default()
    }
}

fn setup(rt: Runtime, extra: usize) -> (Runtime, String, String) {
    rt.register_agent(
        "agent:acme/support-bot",
        AgentSpec { owner: Some("user:alice@acme".into()), org: Some("acme".into()), ..Default::default() },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    rt.upsert_resource("customer/42", Some("internal"), None).unwrap_or_else(|e| panic!("{e}"));
    let mut text = POLICIES.to_owned();
    for i in 0..extra {
        text.push_str(&format!(
            "@id(\"X{i}\")\npermit (principal, action == Action::\"other{i}.run\", resource) when {{ context.args has n && context.args.n <= {i} }};\n"
        ));
    }
    rt.load_policy_text(&text).unwrap_or_else(|e| panic!("{e}"));
    let scopes = |json| vec![Scope::from_api_value(&json).unwrap_or_else(|e| panic!("{e}"))];
    let plain = rt
        .delegate(&DelegateRequest {
            to: "agent:acme/support-bot".into(),
            on_behalf_of: "user:alice@acme".into(),
            scopes: scopes(serde_json::json!({"actions": ["payments.refund"], "resources": ["customer/*"],
                "constraints": {"amount": {"max": 100}, "currency": {"eq": "USD"}}})),
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let limited = rt
        .delegate(&DelegateRequest {
            to: "agent:acme/support-bot".into(),
            on_behalf_of: "user:alice@acme".into(),
            scopes: scopes(serde_json::json!({"actions": ["payments.refund"], "resources": ["customer/*"],
                "constraints": {"amount": {"max": 100}, "currency": {"eq": "USD"}}, "limits": {"max_uses": 1_000_000_000u64}})),
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    (rt, plain.token().to_owned(), limited.token().to_owned())
}

fn bench(c: &mut Criterion) {
    let args = serde_json::json!({"amount": 50, "currency": "USD"});
    let args = args.as_object().unwrap_or_else(|| panic!("object"));
    let req = CheckRequest {
        action: "payments.refund",
        resource: Some("customer/42"),
        args: Some(args),
        ..Default::default()
    };
    for extra in [0usize, 1_000, 10_000] {
        // Built on first use, so that a filtered run (`cargo bench -- "0 extra"`) does not
        // pay for loading 10,000 policies.
        let setup = std::cell::OnceCell::new();
        let get = || {
            setup.get_or_init(|| {
                let (rt, plain, limited) = runtime(extra);
                let d = rt.check(plain.as_str(), &req);
                assert!(d.allowed, "{d:?}");
                (rt, plain, limited)
            })
        };
        c.bench_function(&format!("check/R1/{} extra policies", extra), |b| {
            let (rt, plain, _) = get();
            b.iter(|| rt.check(plain.as_str(), &req))
        });
        if extra == 0 {
            c.bench_function("check/R1/with max_uses counter", |b| {
                let (rt, _, limited) = get();
                b.iter(|| rt.check(limited.as_str(), &req))
            });
        }
    }
    // At the input limits (MAX_MEMBERS members, MAX_VALUE_DEPTH levels): a call passing `env`
    // is never answered from the memo, so Cedar converts and evaluates everything each time.
    let (rt, plain, _) = runtime(0);
    let mut wide = args.clone();
    for i in 0..489 {
        wide.insert(format!("extra{i}"), serde_json::json!(i));
    }
    let mut deep = serde_json::json!(1);
    for _ in 0..31 {
        deep = serde_json::json!({"a": deep});
    }
    let mut nested = args.clone();
    nested.insert("deep".into(), deep);
    let env = serde_json::json!({"env": (0..20).map(|i| (format!("k{i}"), serde_json::json!(i))).collect::<serde_json::Map<_, _>>()});
    for (name, a) in [("512 members (the limit)", &wide), ("32 levels", &nested)] {
        let at_limit = CheckRequest { args: Some(a), context: Some(&env), ..req };
        let d = rt.check(plain.as_str(), &at_limit);
        assert!(d.allowed, "{d:?}");
        c.bench_function(&format!("check/at the input limits/{name}"), |b| {
            b.iter(|| rt.check(plain.as_str(), &at_limit))
        });
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let folder =
        Runtime::open(Some(&dir.path().join("rt")), options(Durability::Buffered)).unwrap_or_else(|e| panic!("{e}"));
    let (rt, plain, _) = setup(folder, 0);
    let cred = rt.verify(&plain).unwrap_or_else(|e| panic!("{e}"));
    assert!(rt.check(&cred, &req).allowed);
    c.bench_function("check/R1/folder, credential", |b| b.iter(|| rt.check(&cred, &req)));
}

criterion_group!(benches, bench);
criterion_main!(benches);
