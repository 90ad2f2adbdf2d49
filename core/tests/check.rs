//! The runtime check: credential, actors, scope, limits, proofs, and failing closed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use runtime_identity::scope::Scope;
use runtime_identity::CheckRequest;
use runtime_identity::RuntimeOptions;
use runtime_identity::{AgentSpec, AttenuateRequest, DelegateRequest, Effect, FixedClock, ReasonCode, Runtime};
use serde_json::json;

fn args(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    v.as_object().unwrap().clone()
}

fn req<'a>(action: &'a str, resource: &'a str, a: &'a serde_json::Map<String, serde_json::Value>) -> CheckRequest<'a> {
    CheckRequest { action, resource: Some(resource), args: Some(a), ..Default::default() }
}

fn grant(f: &Fixture, scopes: Vec<Scope>) -> runtime_identity::token::Credential {
    f.rt.delegate(&DelegateRequest {
        to: BOT.into(),
        on_behalf_of: ALICE.into(),
        scopes,
        ttl: Some(900),
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn scope_reasons_and_an_allow() {
    let f = fixture();
    let cred = delegate(&f);
    let ok = args(json!({"amount": 50, "currency": "USD"}));
    let d = f.rt.check(cred.token(), &req("payments.refund", "customer/42", &ok));
    assert_eq!(d.effect, Effect::Allow, "{d:?}");
    assert!(d.allowed);
    assert_eq!(d.code(), Some(ReasonCode::Granted));
    assert_eq!(d.actor.as_deref(), Some(BOT));
    assert_eq!(d.on_behalf_of.as_deref(), Some(ALICE));
    assert_eq!(d.grant_id.as_deref(), Some(cred.grant_id()));
    assert_eq!(d.chain, vec![BOT.to_owned()]);
    assert_eq!(d.decision_id.len(), 36);
    // The same through an already verified credential.
    assert!(f.rt.check(&cred, &req("payments.refund", "customer/42", &ok)).allowed);

    let cases: Vec<(&str, &str, serde_json::Value, ReasonCode)> = vec![
        ("payments.charge", "customer/42", json!({}), ReasonCode::ActionNotGranted),
        ("payments.refund", "invoice/42", json!({"amount": 5, "currency": "USD"}), ReasonCode::ResourceNotGranted),
        ("payments.refund", "customer/42", json!({"amount": 101, "currency": "USD"}), ReasonCode::ConstraintViolated),
        ("payments.refund", "customer/42", json!({"amount": "50", "currency": "USD"}), ReasonCode::ConstraintViolated),
        ("payments.refund", "customer/42", json!({"amount": 5, "currency": "GBP"}), ReasonCode::ConstraintViolated),
        ("payments.refund", "customer/42", json!({"currency": "USD"}), ReasonCode::ArgumentMissing),
        ("payments..refund", "customer/42", json!({}), ReasonCode::RequestInvalid),
        ("crm.read", "customer/../admin", json!({}), ReasonCode::RequestInvalid),
    ];
    for (action, resource, a, code) in cases {
        let a = args(a);
        let d = f.rt.check(cred.token(), &req(action, resource, &a));
        assert_eq!((d.effect, d.code()), (Effect::Deny, Some(code)), "{action} {resource} {a:?}: {d:?}");
        assert!(!d.allowed);
    }
    let d = f
        .rt
        .check(cred.token(), &req("payments.refund", "customer/42", &args(json!({"amount": 101, "currency": "USD"}))));
    assert!(d.reasons[0].message.contains("amount"), "{}", d.reasons[0].message);
    let bad_ctx = json!({"surprise": 1});
    let d = f.rt.check(cred.token(), &CheckRequest { context: Some(&bad_ctx), ..req("crm.read", "customer/1", &ok) });
    assert_eq!(d.code(), Some(ReasonCode::RequestInvalid));
}

#[test]
fn data_classes_come_from_registered_resources_or_the_call() {
    let f = fixture();
    let cred = grant(
        &f,
        vec![scope(json!({"actions": ["crm.read"], "resources": ["customer/*"], "data_classes": ["internal"]}))],
    );
    f.rt.upsert_resource("customer/42", Some("internal"), None).unwrap();
    f.rt.upsert_resource("customer/77", Some("pci"), Some(json!({"region": "eu"}))).unwrap();
    let none = serde_json::Map::new();
    assert!(f.rt.check(cred.token(), &req("crm.read", "customer/42", &none)).allowed);
    let d = f.rt.check(cred.token(), &req("crm.read", "customer/77", &none));
    assert_eq!(d.code(), Some(ReasonCode::DataClassNotGranted));
    // An unregistered resource has no data class: a scope that lists classes refuses it.
    assert_eq!(
        f.rt.check(cred.token(), &req("crm.read", "customer/1", &none)).code(),
        Some(ReasonCode::DataClassNotGranted)
    );
    // Passed with the call.
    let ctx = json!({"resource": {"data_class": "internal"}});
    assert!(
        f.rt.check(cred.token(), &CheckRequest { context: Some(&ctx), ..req("crm.read", "customer/1", &none) }).allowed
    );
    assert!(f.rt.upsert_resource("customer/../x", None, None).is_err());
    assert!(f.rt.upsert_resource("customer/1", Some("bad class"), None).is_err());
}

#[test]
fn credential_and_actor_reasons() {
    let f = fixture();
    let cred = three_links(&f);
    let none = serde_json::Map::new();
    let r = req("crm.read", "customer/42", &none);
    assert!(f.rt.check(cred.token(), &r).allowed);
    assert_eq!(f.rt.check("garbage", &r).code(), Some(ReasonCode::CredentialInvalid));
    f.rt.suspend_agent(SUB).unwrap();
    assert_eq!(f.rt.check(cred.token(), &r).code(), Some(ReasonCode::AgentSuspended));
    assert_eq!(f.rt.check(&cred, &r).code(), Some(ReasonCode::AgentSuspended));
    f.rt.resume_agent(SUB).unwrap();
    f.rt.revoke(&cred.chain().links[1].grant_id).unwrap();
    assert_eq!(f.rt.check(cred.token(), &r).code(), Some(ReasonCode::GrantRevoked));
    let fresh = delegate(&f);
    f.rt.revoke_agent(BOT).unwrap();
    assert_eq!(f.rt.check(fresh.token(), &r).code(), Some(ReasonCode::AgentRevoked));
    let g = fixture();
    let c = delegate(&g);
    g.clock.advance(2000);
    assert_eq!(g.rt.check(c.token(), &r).code(), Some(ReasonCode::CredentialExpired));
    // An agent that is not registered (a chain forged by an agent holding its key).
    let h = fixture();
    let c0 = delegate(&h);
    let c1 = attenuate(&h, &c0, SUB, narrow_scopes());
    let p = links(c1.token());
    let mut c = claims(&p[1]);
    c["act"]["sub"] = "agent:acme/ghost".into();
    let forged = sealed(&[p[0].clone(), resign(&header(&p[1]), &c, &agent_key(&h.rt, BOT))], c1.token());
    assert_eq!(h.rt.check(forged.as_str(), &r).code(), Some(ReasonCode::AgentUnknown));
}

#[test]
fn max_uses_rate_and_budget_count_only_allowed_calls_and_bind_ancestors() {
    let f = fixture();
    let cred = grant(
        &f,
        vec![scope(json!({"actions": ["payments.refund"], "resources": ["customer/*"],
            "constraints": {"amount": {"max": 100}},
            "limits": {"max_uses": 4, "rate": "3/min", "budget": {"arg": "amount", "max_total": 150}}}))],
    );
    let a = |n: i64| args(json!({"amount": n}));
    let check = |n: i64| f.rt.check(cred.token(), &req("payments.refund", "customer/1", &a(n)));
    assert!(check(50).allowed);
    // A denied call (constraint) counts nothing.
    assert_eq!(check(500).code(), Some(ReasonCode::ConstraintViolated));
    assert!(check(50).allowed);
    assert_eq!(check(60).code(), Some(ReasonCode::LimitBudget));
    assert!(check(50).allowed);
    assert_eq!(check(1).code(), Some(ReasonCode::LimitRate));
    f.clock.advance(60);
    assert_eq!(check(1).code(), Some(ReasonCode::LimitBudget), "150 of 150 used");
    assert!(check(0).allowed, "the fourth use");
    assert_eq!(check(0).code(), Some(ReasonCode::LimitMaxUses));
    let missing = serde_json::Map::new();
    assert_eq!(
        f.rt.check(cred.token(), &req("payments.refund", "customer/1", &missing)).code(),
        Some(ReasonCode::ArgumentMissing)
    );

    // A child's uses count against its parent's limits.
    let g = fixture();
    let parent =
        g.rt.delegate(&DelegateRequest {
            to: BOT.into(),
            on_behalf_of: ALICE.into(),
            scopes: vec![scope(json!({"actions": ["crm.*"], "limits": {"max_uses": 3}}))],
            ..Default::default()
        })
        .unwrap();
    let child =
        g.rt.attenuate(
            parent.token(),
            &AttenuateRequest {
                to: SUB.into(),
                scopes: vec![scope(json!({"actions": ["crm.read"], "limits": {"max_uses": 3}}))],
                ..Default::default()
            },
        )
        .unwrap();
    let none = serde_json::Map::new();
    assert!(g.rt.check(child.token(), &req("crm.read", "x", &none)).allowed);
    assert!(g.rt.check(child.token(), &req("crm.read", "x", &none)).allowed);
    assert!(g.rt.check(parent.token(), &req("crm.write", "x", &none)).allowed);
    assert_eq!(g.rt.check(child.token(), &req("crm.read", "x", &none)).code(), Some(ReasonCode::LimitMaxUses));
    assert_eq!(g.rt.check(parent.token(), &req("crm.read", "x", &none)).code(), Some(ReasonCode::LimitMaxUses));
}

fn count_allowed(rt: &Runtime, token: &str, threads: usize, calls: usize) -> usize {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let none = serde_json::Map::new();
                    (0..calls).filter(|_| rt.check(token, &req("crm.read", "customer/1", &none)).allowed).count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

fn limited(rt: &Runtime) -> String {
    rt.delegate(&DelegateRequest {
        to: BOT.into(),
        on_behalf_of: ALICE.into(),
        scopes: vec![scope(json!({"actions": ["crm.read"], "limits": {"max_uses": 500}}))],
        ..Default::default()
    })
    .unwrap()
    .token()
    .to_owned()
}

#[test]
fn max_uses_is_exact_under_eight_threads() {
    let f = fixture();
    let token = limited(&f.rt);
    assert_eq!(count_allowed(&f.rt, &token, 8, 1000), 500);
}

fn folder_runtime(dir: &std::path::Path) -> Runtime {
    Runtime::open(Some(dir), options(&FixedClock::at(NOW))).unwrap()
}

#[test]
fn max_uses_is_exact_across_threads_and_two_processes_sharing_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let rt = folder_runtime(dir.path());
    rt.register_agent(BOT, AgentSpec { owner: Some(ALICE.into()), ..Default::default() }).unwrap();
    let token = limited(&rt);
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, &token).unwrap();
    let spawn = || {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "limit_worker", "--ignored", "--nocapture", "--test-threads", "1"])
            .env("RID_LIMIT_WORKER_HOME", dir.path())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let here = count_allowed(&rt, &token, 4, 100);
    let mut total = here;
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        let n: usize = text
            .lines()
            .find_map(|l| l.split("allowed=").nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("worker printed no count: {text}"))
            .parse()
            .unwrap();
        total += n;
    }
    assert_eq!(total, 500, "threads here allowed {here}");
}

/// Runs in a child process: 4 threads × 100 checks against the shared folder.
#[test]
#[ignore = "run by max_uses_is_exact_across_threads_and_two_processes_sharing_a_folder"]
fn limit_worker() {
    let Some(home) = std::env::var_os("RID_LIMIT_WORKER_HOME") else { return };
    let home = std::path::PathBuf::from(home);
    let rt = folder_runtime(&home);
    let token = std::fs::read_to_string(home.join("token")).unwrap();
    println!("\nallowed={}", count_allowed(&rt, &token, 4, 100));
}

#[test]
fn proofs_of_possession_are_bound_to_the_call_and_single_use() {
    let rt = Runtime::in_memory(RuntimeOptions { require_proof: true, ..options(&FixedClock::at(NOW)) }).unwrap();
    let cred = bot_grant(&rt, narrow_scopes());
    let none = serde_json::Map::new();
    let r = req("crm.read", "customer/42", &none);
    assert_eq!(rt.check(cred.token(), &r).code(), Some(ReasonCode::ProofRequired));
    let hash = rt.action_hash(&cred, &r).unwrap();
    let key = agent_key(&rt, BOT);
    let proof = runtime_identity::proof::sign_proof(&key, &hash, NOW).unwrap();
    let with = CheckRequest { proof: Some(&proof), ..r };
    let proved = rt.check(cred.token(), &with);
    assert!(proved.allowed && proved.proof, "a verified proof is recorded in the decision");
    let replayed = rt.check(cred.token(), &with);
    assert_eq!(replayed.code(), Some(ReasonCode::ProofInvalid), "replayed");
    assert!(!replayed.proof);
    // And in the decision's audit event; a call without a proof says `proof: false`.
    let events = rt.audit().events(&Default::default()).unwrap();
    let event_of = |id: &str| events.iter().find(|e| e.decision_id.as_deref() == Some(id)).unwrap().proof;
    assert_eq!(event_of(&proved.decision_id), Some(true));
    assert_eq!(event_of(&replayed.decision_id), Some(false));
    let other = runtime_identity::proof::sign_proof(&key, "another-call", NOW).unwrap();
    assert_eq!(
        rt.check(cred.token(), &CheckRequest { proof: Some(&other), ..r }).code(),
        Some(ReasonCode::ProofInvalid)
    );
    let old = runtime_identity::proof::sign_proof(&key, &hash, NOW - 120).unwrap();
    assert_eq!(rt.check(cred.token(), &CheckRequest { proof: Some(&old), ..r }).code(), Some(ReasonCode::ProofInvalid));
    let stranger = runtime_identity::PrivateKey::generate(runtime_identity::Algorithm::Es256).unwrap();
    let forged = runtime_identity::proof::sign_proof(&stranger, &hash, NOW).unwrap();
    assert_eq!(
        rt.check(cred.token(), &CheckRequest { proof: Some(&forged), ..r }).code(),
        Some(ReasonCode::ProofInvalid)
    );
}

#[test]
fn every_reason_code_is_exported_and_unique() {
    let mut seen = std::collections::HashSet::new();
    for code in ReasonCode::ALL {
        assert!(seen.insert(code.as_str()));
        assert_eq!(ReasonCode::from_code(code.as_str()), Some(*code));
    }
    assert!(seen.contains("policy_forbid") && seen.contains("limit_budget") && seen.contains("proof_invalid"));
}

#[test]
fn registered_resource_attributes_win_unless_overriding_is_allowed() {
    let forbid_pci =
        r#"forbid(principal, action, resource) when { resource has data_class && resource.data_class == "pci" };"#;
    let relabel = json!({"resource": {"data_class": "public"}});
    let none = args(json!({}));
    let read = CheckRequest { context: Some(&relabel), ..req("crm.read", "customer/77", &none) };
    for (overrides, expected) in [(false, ReasonCode::RequestInvalid), (true, ReasonCode::Granted)] {
        let clock = FixedClock::at(NOW);
        let rt = Runtime::in_memory(RuntimeOptions { allow_resource_override: overrides, ..options(&clock) }).unwrap();
        rt.upsert_resource("customer/77", Some("pci"), None).unwrap();
        rt.load_policy_text(forbid_pci).unwrap();
        let cred = bot_grant(&rt, wide_scopes());
        let d = rt.check(&cred, &read);
        assert_eq!(d.code(), Some(expected), "override {overrides}: {d:?}");
        // Without the relabelling, the forbid applies either way.
        assert_eq!(rt.check(&cred, &req("crm.read", "customer/77", &none)).code(), Some(ReasonCode::PolicyForbid));
    }
}

/// `levels` nested arrays around `1`.
fn nested(levels: usize) -> serde_json::Value {
    (0..levels).fold(json!(1), |inner, _| json!([inner]))
}

#[test]
fn arguments_or_context_nested_too_deep_are_request_invalid_not_internal_errors() {
    let limit = runtime_identity::internal::json::MAX_DEPTH;
    for policies in [false, true] {
        let f = fixture();
        if policies {
            // Cedar converts every argument and `context.env`: deep values used to fail there
            // with an internal error.
            f.rt.load_policy_text("forbid (principal, action, resource) when { context.env has stop };").unwrap();
        }
        let cred = delegate(&f);
        let call = |a: &serde_json::Map<String, serde_json::Value>, context: Option<&serde_json::Value>| {
            f.rt.check(cred.token(), &CheckRequest { context, ..req("crm.read", "customer/42", a) })
        };
        // At the bound (the arguments object counts as one level): decided normally.
        let d = call(&args(json!({"x": nested(limit - 1)})), None);
        assert_eq!(d.code(), Some(ReasonCode::Granted), "{d:?}");
        let ctx = json!({"env": {"x": nested(limit - 2)}});
        assert_eq!(call(&args(json!({})), Some(&ctx)).code(), Some(ReasonCode::Granted));
        // Beyond it, and far beyond: the caller's input is refused.
        for levels in [limit, limit + 8, 200] {
            let d = call(&args(json!({"x": nested(levels)})), None);
            assert_eq!(d.code(), Some(ReasonCode::RequestInvalid), "{levels}: {d:?}");
            assert!(d.reasons[0].message.contains("nested more than"), "{d:?}");
            let ctx = json!({"env": {"x": nested(levels)}});
            let d = call(&args(json!({})), Some(&ctx));
            assert_eq!(d.code(), Some(ReasonCode::RequestInvalid), "{levels}: {d:?}");
        }
    }
}

#[test]
fn attributes_nested_too_deep_are_refused_before_they_are_stored() {
    let f = fixture();
    let deep = json!({"x": nested(runtime_identity::internal::json::MAX_DEPTH)});
    let spec = AgentSpec { owner: Some(ALICE.into()), attributes: Some(deep.clone()), ..Default::default() };
    let e = f.rt.register_agent("agent:acme/deep", spec).unwrap_err();
    assert_eq!(e.code(), runtime_identity::ErrorCode::InputTooLarge, "{e}");
    let e = f.rt.upsert_resource("doc/1", None, Some(deep)).unwrap_err();
    assert_eq!(e.code(), runtime_identity::ErrorCode::InputTooLarge, "{e}");
}
