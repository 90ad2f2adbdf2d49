//! Cedar policies in the check: the scenario, forbid over grants, approvals end to end, and
//! broken policy files that never replace the working set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;

use common::*;
use runtime_identity::scope::Scope;
use runtime_identity::CheckRequest;
use runtime_identity::RuntimeOptions;
use runtime_identity::{AgentSpec, DelegateRequest, Effect, ErrorCode, FixedClock, ReasonCode, Runtime};
use serde_json::json;

const SCENARIO_NOW: i64 = 1_796_000_000;
const SCENARIO_EXPIRES: i64 = 1_798_761_600;
const SCENARIO_POLICIES: &str = include_str!("../../examples/policies/scenario.cedar");

struct Scenario {
    rt: Runtime,
    clock: FixedClock,
    support: String,
}

/// The shared benchmark scenario: agents, resources, alice's delegation as a grant, the
/// organisation's rules as Cedar.
fn scenario() -> Scenario {
    let clock = FixedClock::at(SCENARIO_NOW);
    let options = RuntimeOptions {
        issuer: Some("org:acme".into()),
        clock: Arc::new(clock.clone()),
        max_ttl: 60 * 86_400,
        ..RuntimeOptions::default()
    };
    let rt = Runtime::in_memory(options).unwrap();
    for (name, owner, cleared) in
        [("support-bot", "alice", false), ("billing-bot", "bob", true), ("sales-bot", "frank", false)]
    {
        rt.register_agent(
            &format!("agent:acme/{name}"),
            AgentSpec {
                owner: Some(format!("user:{owner}@acme")),
                org: Some("acme".into()),
                attributes: Some(if cleared { json!({"pci_cleared": true}) } else { json!({}) }),
                ..Default::default()
            },
        )
        .unwrap();
    }
    for (id, class) in
        [("customer/42", "internal"), ("customer/77", "pci"), ("invoice/9", "internal"), ("kb/faq", "public")]
    {
        rt.upsert_resource(id, Some(class), None).unwrap();
    }
    rt.load_policy_text(SCENARIO_POLICIES).unwrap();
    let scopes = vec![
        Scope::from_api_value(&json!({"actions": ["crm.read"], "resources": ["customer/*"]})).unwrap(),
        Scope::from_api_value(&json!({"actions": ["payments.refund"], "resources": ["customer/*"],
            "constraints": {"amount": {"max": 100}, "currency": {"eq": "USD"}}}))
        .unwrap(),
    ];
    let support = rt
        .delegate(&DelegateRequest {
            to: "agent:acme/support-bot".into(),
            on_behalf_of: "user:alice@acme".into(),
            scopes,
            ttl: Some(u64::try_from(SCENARIO_EXPIRES - SCENARIO_NOW).unwrap()),
            ..Default::default()
        })
        .unwrap()
        .token()
        .to_owned();
    Scenario { rt, clock, support }
}

fn check(
    s: &Scenario,
    token: &str,
    action: &str,
    resource: &str,
    args: serde_json::Value,
) -> runtime_identity::Decision {
    let args = args.as_object().unwrap().clone();
    s.rt.check(token, &CheckRequest { action, resource: Some(resource), args: Some(&args), ..Default::default() })
}

#[test]
fn the_scenarios_timed_requests_decide_as_expected() {
    let s = scenario();
    let r1 = check(&s, &s.support, "payments.refund", "customer/42", json!({"amount": 50, "currency": "USD"}));
    assert_eq!((r1.effect, r1.code()), (Effect::Allow, Some(ReasonCode::Granted)), "R1 {r1:?}");
    let r2 = check(&s, &s.support, "payments.refund", "customer/42", json!({"amount": 500, "currency": "USD"}));
    assert_eq!((r2.effect, r2.code()), (Effect::Deny, Some(ReasonCode::ConstraintViolated)), "R2 {r2:?}");
    let r3 = check(&s, &s.support, "crm.read", "customer/42", json!({}));
    assert_eq!((r3.effect, r3.code()), (Effect::Allow, Some(ReasonCode::Granted)), "R3 {r3:?}");
    let r4 = check(&s, &s.support, "payments.refund", "customer/77", json!({"amount": 50, "currency": "USD"}));
    assert_eq!((r4.effect, r4.code()), (Effect::Deny, Some(ReasonCode::PolicyForbid)), "R4 {r4:?}");
    assert_eq!(r4.policies, vec!["F01".to_owned()]);
    assert!(r4.approval_request.is_none());
    // Correctness-only: expired delegation, wrong currency, an action not granted.
    let v6 = check(&s, &s.support, "payments.refund", "customer/42", json!({"amount": 50, "currency": "EUR"}));
    assert_eq!(v6.code(), Some(ReasonCode::ConstraintViolated));
    let v10 = check(&s, &s.support, "crm.write", "customer/42", json!({}));
    assert_eq!(v10.code(), Some(ReasonCode::ActionNotGranted));
    s.clock.set(SCENARIO_EXPIRES + 31);
    let v5 = check(&s, &s.support, "crm.read", "customer/42", json!({}));
    assert_eq!(v5.code(), Some(ReasonCode::CredentialExpired));
}

/// Regression: the entities of one (agent, resource) were reused for the next call with
/// another action, so that call was judged by the first action's policies.
#[test]
fn each_call_is_judged_by_its_own_action_whatever_came_before_on_the_resource() {
    let s = scenario();
    s.rt.load_policy_text(&format!(
        "{SCENARIO_POLICIES}\n@id(\"X1\")\nforbid (principal, action == Action::\"crm.read\", resource)\nwhen {{ context.args has secret }};"
    ))
    .unwrap();
    for _ in 0..2 {
        let read = check(&s, &s.support, "crm.read", "customer/42", json!({}));
        assert_eq!(read.code(), Some(ReasonCode::Granted), "{read:?}");
        let big = check(&s, &s.support, "payments.refund", "customer/42", json!({"amount": 90, "currency": "USD"}));
        assert_eq!((big.effect, big.policies.clone()), (Effect::RequireApproval, vec!["A01".to_owned()]), "{big:?}");
        let forbidden = check(&s, &s.support, "crm.read", "customer/42", json!({"secret": 1}));
        assert_eq!(
            (forbidden.code(), forbidden.policies.clone()),
            (Some(ReasonCode::PolicyForbid), vec!["X1".to_owned()])
        );
        let refund = check(
            &s,
            &s.support,
            "payments.refund",
            "customer/42",
            json!({"amount": 50, "currency": "USD", "secret": 1}),
        );
        assert_eq!(refund.code(), Some(ReasonCode::Granted), "{refund:?}");
    }
}

#[test]
fn a_forbid_overrides_a_grant_and_a_cleared_agent_passes_it() {
    let s = scenario();
    let billing = s
        .rt
        .delegate(&DelegateRequest {
            to: "agent:acme/billing-bot".into(),
            on_behalf_of: "user:bob@acme".into(),
            scopes: vec![Scope::from_api_value(&json!({"actions": ["crm.read"], "resources": ["customer/*"]})).unwrap()],
            ..Default::default()
        })
        .unwrap();
    assert!(check(&s, billing.token(), "crm.read", "customer/77", json!({})).allowed);
    assert_eq!(check(&s, &s.support, "crm.read", "customer/77", json!({})).code(), Some(ReasonCode::PolicyForbid));
    // Per-call resource attributes are seen by policies too.
    let args = serde_json::Map::new();
    let ctx = json!({"resource": {"data_class": "pci"}});
    let d = s.rt.check(
        s.support.as_str(),
        &CheckRequest {
            action: "crm.read",
            resource: Some("customer/1"),
            args: Some(&args),
            context: Some(&ctx),
            ..Default::default()
        },
    );
    assert_eq!(d.code(), Some(ReasonCode::PolicyForbid));
}

#[test]
fn approvals_are_bound_to_the_exact_call_and_used_once() {
    let s = scenario();
    let call = json!({"amount": 90, "currency": "USD", "note": 7});
    let d = check(&s, &s.support, "payments.refund", "customer/42", call.clone());
    assert_eq!(d.effect, Effect::RequireApproval, "{d:?}");
    assert_eq!(d.code(), Some(ReasonCode::ApprovalRequired));
    assert!(d.policies.contains(&"A01".to_owned()));
    let request = d.approval_request.clone().unwrap();
    assert!(request.reason.contains("second pair of eyes"));
    // Asking again gives the same pending request.
    let again = check(&s, &s.support, "payments.refund", "customer/42", call.clone());
    assert_eq!(again.approval_request.unwrap().id, request.id);
    // Only a user approves.
    assert_eq!(s.rt.approve(&request.id, "agent:acme/support-bot").unwrap_err().code(), ErrorCode::ApproverNotAllowed);
    let receipt = s.rt.approve(&request.id, "user:alice@acme").unwrap();
    assert_eq!(s.rt.approve(&request.id, "user:alice@acme").unwrap_err().code(), ErrorCode::ApprovalInvalid);
    let with = |args: &serde_json::Value| {
        let args = args.as_object().unwrap().clone();
        s.rt.check(
            s.support.as_str(),
            &CheckRequest {
                action: "payments.refund",
                resource: Some("customer/42"),
                args: Some(&args),
                approval: Some(&receipt.token),
                ..Default::default()
            },
        )
    };
    // A changed argument (7 → "7") does not match.
    let changed = with(&json!({"amount": 90, "currency": "USD", "note": "7"}));
    assert_eq!(changed.code(), Some(ReasonCode::ApprovalInvalid), "{changed:?}");
    let ok = with(&call);
    assert_eq!((ok.effect, ok.code()), (Effect::Allow, Some(ReasonCode::Approved)), "{ok:?}");
    let twice = with(&call);
    assert_eq!(twice.code(), Some(ReasonCode::ApprovalInvalid));
    assert!(twice.reasons[0].message.contains("already used"));

    // An expired receipt.
    let d = check(&s, &s.support, "payments.refund", "customer/42", json!({"amount": 95, "currency": "USD"}));
    let late = s.rt.approve(&d.approval_request.unwrap().id, "user:alice@acme").unwrap();
    s.clock.advance(601);
    let args = json!({"amount": 95, "currency": "USD"}).as_object().unwrap().clone();
    let expired = s.rt.check(
        s.support.as_str(),
        &CheckRequest {
            action: "payments.refund",
            resource: Some("customer/42"),
            args: Some(&args),
            approval: Some(&late.token),
            ..Default::default()
        },
    );
    assert_eq!(expired.code(), Some(ReasonCode::ApprovalInvalid));

    // A denied request cannot be used; cheap denials never ask a person.
    let d = check(&s, &s.support, "payments.refund", "customer/42", json!({"amount": 99, "currency": "USD"}));
    let id = d.approval_request.unwrap().id;
    s.rt.deny_approval(&id, "user:alice@acme").unwrap();
    assert_eq!(s.rt.get_approval(&id).unwrap().status, runtime_identity::approval::ApprovalStatus::Denied);
    let forbidden = check(&s, &s.support, "payments.refund", "customer/77", json!({"amount": 90, "currency": "USD"}));
    assert_eq!(forbidden.code(), Some(ReasonCode::PolicyForbid));
    assert!(forbidden.approval_request.is_none());
    let over = check(&s, &s.support, "payments.refund", "customer/42", json!({"amount": 150, "currency": "USD"}));
    assert_eq!(over.code(), Some(ReasonCode::ConstraintViolated));
    assert!(over.approval_request.is_none());
}

#[test]
fn broken_policies_are_refused_with_a_location_and_the_working_set_stays() {
    let s = scenario();
    let bad = [
        ("permit (principal, action, resource) when { context.now > };", "syntax"),
        ("permit (principal == Foo::\"x\", action, resource);", "unknown entity type"),
        ("permit (principal, action, resource) when { context.now like \"x\" };", "type error"),
    ];
    for (text, what) in bad {
        let e = s.rt.load_policy_text(text).unwrap_err();
        assert_eq!(e.code(), ErrorCode::PolicyInvalid, "{what}: {e}");
        assert!(e.message().contains("<text>:1:"), "{what}: no location in {e}");
        // F01 still forbids.
        let d = check(&s, &s.support, "payments.refund", "customer/77", json!({"amount": 50, "currency": "USD"}));
        assert_eq!(d.code(), Some(ReasonCode::PolicyForbid), "after a rejected {what}");
    }
    // Files: errors name the file.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.cedar"), "@id(\"ok\")\npermit (principal, action, resource);\n").unwrap();
    std::fs::write(
        dir.path().join("b.cedar"),
        "\n\nforbid (principal, action, resource) when { resource.data_class > 3 };\n",
    )
    .unwrap();
    let e = s.rt.load_policy_files(&[dir.path()]).unwrap_err();
    assert_eq!(e.code(), ErrorCode::PolicyInvalid);
    assert!(e.message().contains("b.cedar:3:"), "{e}");
    std::fs::remove_file(dir.path().join("b.cedar")).unwrap();
    assert_eq!(s.rt.load_policy_files(&[dir.path()]).unwrap(), 1);
}

#[test]
fn require_permit_needs_an_explicit_permit() {
    let rt = Runtime::in_memory(RuntimeOptions { require_permit: true, ..options(&FixedClock::at(NOW)) }).unwrap();
    let cred = bot_grant(&rt, wide_scopes());
    let none = serde_json::Map::new();
    let req =
        CheckRequest { action: "crm.read", resource: Some("customer/1"), args: Some(&none), ..Default::default() };
    assert_eq!(rt.check(cred.token(), &req).code(), Some(ReasonCode::NoPermit));
    rt.load_policy_text("@id(\"P1\")\npermit (principal, action == Action::\"crm.read\", resource);").unwrap();
    let d = rt.check(cred.token(), &req);
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.policies, vec!["P1".to_owned()]);
    let other = CheckRequest { action: "crm.write", ..req };
    assert_eq!(rt.check(cred.token(), &other).code(), Some(ReasonCode::NoPermit));
    // Groups by dotted prefix.
    rt.load_policy_text("@id(\"G\")\npermit (principal, action in Action::\"crm.*\", resource);").unwrap();
    assert!(rt.check(cred.token(), &other).allowed);
}

#[test]
fn a_proof_policy_requires_a_proof_of_possession_for_the_calls_it_matches() {
    let s = scenario();
    let text = format!(
        "{SCENARIO_POLICIES}\n@id(\"PRF\")\n@proof(\"refunds are signed by the agent itself\")\npermit (principal, action == Action::\"payments.refund\", resource);\n"
    );
    s.rt.load_policy_text(&text).unwrap();
    let args = json!({"amount": 10, "currency": "USD"}).as_object().unwrap().clone();
    let req = CheckRequest {
        action: "payments.refund",
        resource: Some("customer/42"),
        args: Some(&args),
        ..Default::default()
    };
    let d = s.rt.check(s.support.as_str(), &req);
    assert_eq!(d.code(), Some(ReasonCode::ProofRequired), "{d:?}");
    assert!(d.reasons[0].message.contains("PRF") && d.policies.contains(&"PRF".to_owned()));
    // Other actions are not affected.
    assert!(check(&s, &s.support, "crm.read", "customer/42", json!({})).allowed);
    let hash = s.rt.action_hash(s.support.as_str(), &req).unwrap();
    let rec = s.rt.get_agent("agent:acme/support-bot").unwrap();
    let key = s.rt.store().agent_private_key(&rec.current_key().unwrap().kid).unwrap().unwrap();
    let proof = runtime_identity::proof::sign_proof(&key, &hash, SCENARIO_NOW).unwrap();
    let d = s.rt.check(s.support.as_str(), &CheckRequest { proof: Some(&proof), ..req });
    assert!(d.allowed, "{d:?}");
    // `@proof` only on permits, with a reason.
    let e = s.rt.load_policy_text("@proof(\"x\")\nforbid (principal, action, resource);").unwrap_err();
    assert_eq!(e.code(), ErrorCode::PolicyInvalid);
    let e = s.rt.load_policy_text("@proof(\"\")\npermit (principal, action, resource);").unwrap_err();
    assert_eq!(e.code(), ErrorCode::PolicyInvalid);
}

#[test]
fn reclassifying_a_resource_is_seen_by_the_very_next_check() {
    // Policies reuse the entities built for an agent and resource until the store changes.
    let s = scenario();
    let refund = || check(&s, &s.support, "payments.refund", "customer/42", json!({"amount": 10, "currency": "USD"}));
    assert!(refund().allowed);
    assert!(refund().allowed);
    s.rt.upsert_resource("customer/42", Some("pci"), None).unwrap();
    assert_eq!(refund().code(), Some(ReasonCode::PolicyForbid));
    s.rt.upsert_resource("customer/42", Some("internal"), Some(json!({"region": "eu"}))).unwrap();
    assert!(refund().allowed);
}

#[test]
fn a_reused_cedar_answer_never_outlives_what_it_was_computed_from() {
    // Cedar's answers are reused for identical calls; a new resource attribute, the time a
    // policy reads, or new policies must each be seen by the very next check.
    let s = scenario();
    s.rt.load_policy_text(&format!(
        r#"@id("frozen") forbid (principal, action, resource) when {{ resource has frozen && resource.frozen == true }};
           @id("late") forbid (principal, action == Action::"crm.read", resource) when {{ context.now >= {} }};
           @id("any") permit (principal, action, resource);"#,
        SCENARIO_NOW + 10
    ))
    .unwrap();
    let read = || check(&s, &s.support, "crm.read", "customer/42", json!({}));
    let forbidden_by = |d: runtime_identity::Decision| {
        assert_eq!(d.code(), Some(ReasonCode::PolicyForbid), "{d:?}");
        d.policies
    };
    assert!(read().allowed);
    assert!(read().allowed);
    s.rt.upsert_resource("customer/42", Some("internal"), Some(json!({"frozen": true}))).unwrap();
    assert_eq!(forbidden_by(read()), ["frozen"]);
    s.rt.upsert_resource("customer/42", Some("internal"), Some(json!({"frozen": false}))).unwrap();
    assert!(read().allowed);
    s.clock.advance(10);
    assert_eq!(forbidden_by(read()), ["late"]);
    s.rt.load_policy_text(r#"@id("any") permit (principal, action, resource);"#).unwrap();
    assert!(read().allowed);
}
