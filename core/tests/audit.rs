//! The audit log in one process: every tampering kind is named with its first bad seq,
//! lifecycle events, explain, PROV-JSON, redaction, durability modes, and failing closed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use runtime_identity::audit::{
    line_hash, verify_folder_log, AuditOptions, Durability, EventFilter, EventType, Outcome, TamperKind, VerifyReport,
    LOG_FILE,
};
use runtime_identity::store::{SqliteStore, Store};
use runtime_identity::CheckRequest;
use runtime_identity::RuntimeOptions;
use runtime_identity::{AgentSpec, AttenuateRequest, DelegateRequest, Effect, ErrorCode, FixedClock, PrivateKey};
use runtime_identity::{ReasonCode, Runtime};
use serde_json::{json, Map, Value};

fn file_options(clock: &FixedClock, every: u64, durability: Durability) -> RuntimeOptions {
    RuntimeOptions {
        audit: AuditOptions {
            durability,
            checkpoint_every: every,
            record_args: vec!["currency".into()],
            ..AuditOptions::default()
        },
        ..options(clock)
    }
}

fn args(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

/// A folder runtime with a granted bot and a few dozen events, checkpoints every 10.
fn populated(dir: &Path) -> Vec<String> {
    let clock = FixedClock::at(NOW);
    let rt = Runtime::open(Some(dir), file_options(&clock, 10, Durability::Sync)).unwrap();
    let cred = bot_grant(&rt, wide_scopes());
    let mut ids = Vec::new();
    for i in 0..30 {
        clock.advance(1);
        let a = args(json!({"amount": i, "currency": "USD"}));
        let d = rt.check(
            &cred,
            &CheckRequest {
                action: "payments.refund",
                resource: Some("customer/42"),
                args: Some(&a),
                ..Default::default()
            },
        );
        if d.allowed {
            rt.record_outcome(&d.decision_id, &Outcome::ok()).unwrap();
        }
        ids.push(d.decision_id);
    }
    rt.close().unwrap();
    ids
}

fn lines(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join(LOG_FILE)).unwrap().lines().map(str::to_owned).collect()
}

fn write_lines(dir: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(dir.join(LOG_FILE), text).unwrap();
}

/// What `rid audit verify` reports: the runtime's verification, or, when the runtime refuses
/// the log (it does not end where the store's anchor says), the folder's log verified against
/// the store without a runtime.
fn verify_dir(dir: &Path) -> VerifyReport {
    let clock = FixedClock::at(NOW + 1000);
    match Runtime::open(Some(dir), options(&clock)) {
        Ok(rt) => rt.audit().verify().unwrap(),
        Err(e) => {
            assert_eq!(e.code(), ErrorCode::AuditCorrupt, "{e}");
            let store = SqliteStore::open(dir).unwrap();
            verify_folder_log(&store, &dir.join(LOG_FILE)).unwrap()
        }
    }
}

fn seq_of(line: &str) -> u64 {
    serde_json::from_str::<Value>(line).unwrap()["seq"].as_u64().unwrap()
}

/// Re-hashes a parsed line as an attacker who knows the format would.
fn rehash(mut v: Map<String, Value>) -> String {
    v.remove("hash");
    let h = line_hash(&v);
    v.insert("hash".into(), Value::String(h));
    serde_json::to_string(&v).unwrap()
}

/// Copies the runtime folder so that each tampering starts from the same log.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
}

fn assert_tampered(r: &VerifyReport, kind: TamperKind, seq: u64) {
    assert!(!r.ok, "{r:?}");
    assert_eq!(r.kind, Some(kind), "{r:?}");
    assert_eq!(r.first_bad_seq, Some(seq), "{r:?}");
}

#[test]
fn every_tampering_is_named_with_its_first_bad_seq() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    populated(&base);
    let clean = verify_dir(&base);
    assert!(clean.ok, "{clean:?}");
    assert!(clean.checkpoints >= 4, "{clean:?}");
    let original = lines(&base);
    assert_eq!(clean.events, original.len() as u64);
    // Line index i holds seq i + 1; pick a decision line in the middle.
    let k = original.iter().position(|l| l.contains("\"type\":\"decision\"") && seq_of(l) > 20).unwrap();
    let seq = seq_of(&original[k]);
    let mut n = 0;
    let mut case = |name: &str, edit: &dyn Fn(&mut Vec<String>), kind: TamperKind, at: u64| {
        n += 1;
        let dir = tmp.path().join(format!("case{n}"));
        copy_dir(&base, &dir);
        let mut l = original.clone();
        edit(&mut l);
        write_lines(&dir, &l);
        let r = verify_dir(&dir);
        assert_tampered(&r, kind, at);
        eprintln!("{name}: {}", r.message.unwrap());
    };
    case("edit a field", &|l| l[k] = l[k].replace("payments.refund", "payments.refunx"), TamperKind::Edited, seq);
    case("delete a line", &|l| drop(l.remove(k)), TamperKind::Removed, seq);
    case("swap two lines", &|l| l.swap(k, k + 1), TamperKind::Reordered, seq);
    case(
        "insert a forged line",
        &|l| {
            let mut forged: Map<String, Value> = serde_json::from_str(&l[k]).unwrap();
            forged.insert("effect".into(), json!("allow"));
            forged.insert("action".into(), json!("payments.payout"));
            l.insert(k, rehash(forged));
        },
        TamperKind::Inserted,
        seq,
    );
    case("insert junk", &|l| l.insert(k, "{\"seq\":1}".into()), TamperKind::Inserted, seq);
    // Edits that leave the parsed content (and so its hash) as it was: a repeated member
    // (JSON readers differ on which one counts), members reordered, spacing.
    case(
        "repeat a member",
        &|l| l[k] = l[k].replacen("\"effect\":", "\"effect\":\"allow\",\"effect\":", 1),
        TamperKind::Edited,
        seq,
    );
    case(
        "reorder the members",
        &|l| {
            assert!(l[k].contains(",\"v\":1"), "{}", l[k]);
            l[k] = l[k].replacen(",\"v\":1", "", 1).replacen('{', "{\"v\":1,", 1);
        },
        TamperKind::Edited,
        seq,
    );
    case("add spacing", &|l| l[k] = l[k].replacen(",", ", ", 1), TamperKind::Edited, seq);
    let last = seq_of(original.last().unwrap());
    case("truncate the tail", &|l| l.truncate(l.len() - 3), TamperKind::Truncated, last - 2);
    case(
        "edit and re-hash the rest of the chain",
        &|l| {
            let mut prev: Option<String> = None;
            for line in l.iter_mut().skip(k) {
                let mut v: Map<String, Value> = serde_json::from_str(line).unwrap();
                if v["seq"].as_u64() == Some(seq) {
                    v.insert("effect".into(), json!("deny"));
                }
                if let Some(p) = &prev {
                    v.insert("prev".into(), json!(p));
                }
                *line = rehash(v);
                prev = Some(serde_json::from_str::<Value>(line).unwrap()["hash"].as_str().unwrap().to_owned());
            }
        },
        TamperKind::BadCheckpointSignature,
        seq.div_ceil(10) * 10,
    );
    let cp = original.iter().position(|l| l.contains("\"type\":\"checkpoint\"") && seq_of(l) > 10).unwrap();
    let cp_seq = seq_of(&original[cp]);
    case(
        "forge a checkpoint with another key",
        &|l| {
            let mut v: Map<String, Value> = serde_json::from_str(&l[cp]).unwrap();
            let key = PrivateKey::generate(runtime_identity::Algorithm::Es256).unwrap();
            let head = v["checkpoint"]["head"].clone();
            let payload = json!({"head": head, "iss": ISSUER, "seq": cp_seq});
            let header = json!({"alg": "ES256", "kid": key.kid(), "typ": "rid-audit-checkpoint+jws"});
            v["checkpoint"] =
                json!({"head": head, "kid": key.kid(), "seq": cp_seq, "sig": resign(&header, &payload, &key)});
            l[cp] = rehash(v);
        },
        TamperKind::BadCheckpointSignature,
        cp_seq,
    );
    case(
        "move a checkpoint's commitment",
        &|l| {
            let mut v: Map<String, Value> = serde_json::from_str(&l[cp]).unwrap();
            v["checkpoint"]["seq"] = json!(cp_seq + 1);
            l[cp] = rehash(v);
        },
        TamperKind::BadCheckpointSignature,
        cp_seq,
    );
}

#[test]
fn checkpoints_verify_across_rotated_and_removed_authority_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = FixedClock::at(NOW);
    let rt = Runtime::open(Some(tmp.path()), file_options(&clock, 5, Durability::Sync)).unwrap();
    let cred = bot_grant(&rt, narrow_scopes());
    let read = CheckRequest { action: "crm.read", resource: Some("customer/42"), ..Default::default() };
    for _ in 0..6 {
        assert!(rt.check(&cred, &read).allowed);
    }
    let old = authority_key(&rt).kid().to_owned();
    rt.rotate_authority_key(None).unwrap();
    for _ in 0..6 {
        rt.check(&cred, &read);
    }
    rt.remove_authority_key(&old).unwrap();
    for _ in 0..6 {
        rt.check(&cred, &read);
    }
    let r = rt.audit().verify().unwrap();
    assert!(r.ok, "{r:?}");
    let kids: std::collections::HashSet<String> = rt
        .audit()
        .events(&EventFilter { kind: Some("checkpoint".into()), ..Default::default() })
        .unwrap()
        .into_iter()
        .map(|e| e.checkpoint.unwrap().kid)
        .collect();
    assert_eq!(kids.len(), 2, "checkpoints by the old and the new key");
    // The removed key no longer verifies tokens, but its checkpoints still count.
    assert!(!rt.jwks().unwrap().keys.iter().any(|k| k.kid.as_deref() == Some(old.as_str())));
}

#[test]
fn lifecycle_events_are_recorded() {
    let clock = FixedClock::at(NOW);
    let rt = Runtime::in_memory(options(&clock)).unwrap();
    rt.load_policy_text(
        r#"@id("A01") @approval("refunds over 80 need a person")
           permit(principal, action == Action::"payments.refund", resource)
           when { context.args has amount && context.args.amount > 80 };"#,
    )
    .unwrap();
    assert!(rt.load_policy_text("permit(principal, action, resource) when {").is_err());
    let cred = bot_grant(&rt, wide_scopes());
    rt.register_agent(SUB, AgentSpec { owner: Some(ALICE.into()), ..Default::default() }).unwrap();
    let sub = rt
        .attenuate(cred.token(), &AttenuateRequest { to: SUB.into(), scopes: narrow_scopes(), ..Default::default() })
        .unwrap();
    rt.suspend_agent(SUB).unwrap();
    rt.resume_agent(SUB).unwrap();
    rt.rotate_agent_key(SUB, None).unwrap();
    let a = args(json!({"amount": 90, "currency": "USD"}));
    let refund =
        CheckRequest { action: "payments.refund", resource: Some("customer/7"), args: Some(&a), ..Default::default() };
    let d = rt.check(&cred, &refund);
    assert_eq!(d.effect, Effect::RequireApproval);
    let request_id = d.approval_request.unwrap().id;
    let refused = rt.approve(&request_id, "user:mallory@evil").unwrap_err();
    assert_eq!(refused.code(), runtime_identity::ErrorCode::ApproverNotAllowed);
    let receipt = rt.approve(&request_id, ALICE).unwrap();
    let allowed = rt.check(&cred, &CheckRequest { approval: Some(&receipt.token), ..refund });
    assert!(allowed.allowed, "{allowed:?}");
    let d2 = rt.check(&cred, &refund);
    rt.deny_approval(&d2.approval_request.unwrap().id, ALICE).unwrap();
    rt.revoke(sub.grant_id()).unwrap();
    rt.revoke_agent(SUB).unwrap();
    let kinds: Vec<String> = rt.audit().events(&EventFilter::default()).unwrap().into_iter().map(|e| e.kind).collect();
    for t in EventType::ALL {
        if matches!(t, EventType::TornLine | EventType::Checkpoint | EventType::Outcome) {
            continue;
        }
        assert!(kinds.iter().any(|k| k == t.as_str()), "no {t} event in {kinds:?}");
    }
    // Filters.
    let decisions = rt.audit().events(&EventFilter { kind: Some("decision".into()), ..Default::default() }).unwrap();
    assert_eq!(decisions.len(), 3);
    let allows = rt.audit().events(&EventFilter { effect: Some(Effect::Allow), ..Default::default() }).unwrap();
    assert_eq!(allows.len(), 1);
    assert_eq!(allows[0].decision_id.as_deref(), Some(allowed.decision_id.as_str()));
    let by_sub = rt.audit().events(&EventFilter { actor: Some(SUB.into()), ..Default::default() }).unwrap();
    assert!(by_sub.iter().any(|e| e.kind == "agent.suspended"));
    let later = rt.audit().events(&EventFilter { since_ms: Some(NOW * 1000 + 1), ..Default::default() }).unwrap();
    assert!(later.is_empty(), "the clock never moved");
    let last_two = rt.audit().events(&EventFilter { limit: Some(2), ..Default::default() }).unwrap();
    assert_eq!(last_two.last().unwrap().kind, "agent.revoked");
    assert!(rt.audit().verify().unwrap().ok);
}

#[test]
fn explain_gives_the_full_provenance_of_a_three_link_call_with_an_approval() {
    let f = fixture();
    f.rt.load_policy_text(
        r#"@id("A01") @approval("reads of customer 42 need a person")
           permit(principal, action == Action::"crm.read", resource is Resource) when { resource.path == "customer/42" };"#,
    )
    .unwrap();
    let cred = three_links(&f);
    let ctx = json!({"txn": "run-77"});
    let read =
        CheckRequest { action: "crm.read", resource: Some("customer/42"), context: Some(&ctx), ..Default::default() };
    let asked = f.rt.check(&cred, &read);
    assert_eq!(asked.effect, Effect::RequireApproval, "{asked:?}");
    f.clock.advance(5);
    let receipt = f.rt.approve(&asked.approval_request.as_ref().unwrap().id, "user:alice@acme").unwrap();
    f.clock.advance(5);
    let d = f.rt.check(&cred, &CheckRequest { approval: Some(&receipt.token), ..read });
    assert!(d.allowed, "{d:?}");
    f.rt.record_outcome(&d.decision_id, &Outcome::ok().with_duration(std::time::Duration::from_millis(12))).unwrap();

    let p = f.rt.audit().explain(&d.decision_id).unwrap();
    assert_eq!(p.chain.len(), 3);
    assert_eq!(p.chain[0].issuer, ISSUER);
    assert_eq!(p.chain[0].actor, BOT);
    assert_eq!(p.chain[1].issuer, BOT);
    assert_eq!(p.chain[1].actor, SUB);
    assert_eq!(p.chain[2].issuer, SUB);
    assert_eq!(p.chain[2].actor, LEAF);
    for (link, grant) in p.chain.iter().zip(cred.chain().grant_ids()) {
        assert_eq!(link.grant_id, grant);
        assert!(link.scopes.is_some(), "scopes of {grant}");
        assert!(link.expires_at > link.issued_at);
    }
    assert_eq!(p.chain[0].purpose.as_deref(), Some("support ticket 1234"));
    assert_eq!(p.on_behalf_of.as_deref(), Some(ALICE));
    assert_eq!(p.actor.as_deref(), Some(LEAF));
    assert_eq!(p.txn.as_deref(), Some("run-77"));
    assert_eq!(p.effect, Some(Effect::Allow));
    assert_eq!(p.reasons[0].code, ReasonCode::Approved);
    assert!(p.policies.contains(&"A01".to_owned()), "{:?}", p.policies);
    let a = p.approval.as_ref().unwrap();
    assert_eq!(a.approver.as_deref(), Some("user:alice@acme"));
    assert_eq!(a.status, "consumed");
    assert_eq!(a.requested_by_decision.as_deref(), Some(asked.decision_id.as_str()));
    assert!(a.decided_at.is_some() && a.requested_at.is_some());
    let o = p.outcome.as_ref().unwrap();
    assert_eq!(o.outcome.status, "ok");
    assert_eq!(o.outcome.duration_ms, Some(12.0));
    let text = p.to_string();
    assert!(text.contains("user:alice@acme") && text.contains(LEAF), "{text}");
    assert_eq!(code_of(f.rt.audit().explain("01890000-0000-7000-8000-000000000000")), ErrorCode::InvalidArgument);

    // PROV-JSON: the structure a PROV tool reads.
    let doc = f.rt.audit().export_prov(&EventFilter::default()).unwrap();
    assert_prov_json(&doc);
    let act_id = format!("call:{}", d.decision_id);
    let act = &doc["activity"][&act_id];
    assert_eq!(act["prov:type"]["$"], "rid:ToolCall");
    assert_eq!(act["rid:outcome"], "ok");
    assert!(act["prov:endTime"].is_string());
    let assoc: Vec<&Value> =
        doc["wasAssociatedWith"].as_object().unwrap().values().filter(|r| r["prov:activity"] == act_id).collect();
    assert_eq!(assoc[0]["prov:agent"], format!("principal:{LEAF}"));
    assert!(assoc.iter().any(|r| r["prov:plan"] == "policy:A01"));
    let behalf: Vec<&Value> =
        doc["actedOnBehalfOf"].as_object().unwrap().values().filter(|r| r["prov:activity"] == act_id).collect();
    assert_eq!(behalf[0]["prov:responsible"], format!("principal:{ALICE}"));
    let used: Vec<&Value> =
        doc["used"].as_object().unwrap().values().filter(|r| r["prov:activity"] == act_id).collect();
    assert_eq!(used[0]["prov:entity"], format!("grant:{}", cred.grant_id()));
}

/// Checks a document against the PROV-JSON structure: known top-level sections, declared
/// prefixes, typed records, and relations whose ends are declared records.
fn assert_prov_json(doc: &Value) {
    let sections = ["prefix", "entity", "activity", "agent", "wasAssociatedWith", "actedOnBehalfOf", "used"];
    for k in doc.as_object().unwrap().keys() {
        assert!(sections.contains(&k.as_str()), "unknown section {k}");
    }
    let prefixes = doc["prefix"].as_object().unwrap();
    let declared = |id: &str| {
        let (p, _) = id.split_once(':').unwrap();
        p == "prov" || prefixes.contains_key(p)
    };
    for section in ["entity", "activity", "agent"] {
        for (id, rec) in doc[section].as_object().unwrap() {
            assert!(declared(id), "{id}");
            assert!(rec["prov:type"]["$"].is_string(), "{section} {id} has no prov:type");
            assert_eq!(rec["prov:type"]["type"], "prov:QUALIFIED_NAME");
        }
    }
    let is = |section: &str, id: &Value| doc[section].as_object().unwrap().contains_key(id.as_str().unwrap());
    for (rel, ends) in [
        ("wasAssociatedWith", vec![("prov:activity", "activity"), ("prov:agent", "agent")]),
        (
            "actedOnBehalfOf",
            vec![("prov:delegate", "agent"), ("prov:responsible", "agent"), ("prov:activity", "activity")],
        ),
        ("used", vec![("prov:activity", "activity"), ("prov:entity", "entity")]),
    ] {
        let records = doc[rel].as_object().unwrap();
        assert!(!records.is_empty(), "no {rel}");
        for (id, r) in records {
            assert!(id.starts_with("_:"), "{id}");
            for (field, section) in &ends {
                assert!(is(section, &r[*field]), "{rel} {id}: {field} {} is not a declared {section}", r[*field]);
            }
            if let Some(plan) = r.get("prov:plan") {
                assert!(is("entity", plan), "plan {plan}");
                assert_eq!(doc["entity"][plan.as_str().unwrap()]["prov:type"]["$"], "prov:Plan");
            }
        }
    }
}

#[test]
fn no_token_key_or_unlisted_argument_reaches_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = FixedClock::at(NOW);
    let rt = Runtime::open(Some(tmp.path()), file_options(&clock, 4, Durability::Sync)).unwrap();
    rt.register_agent(SUB, AgentSpec { owner: Some(ALICE.into()), ..Default::default() }).unwrap();
    let cred = bot_grant(&rt, wide_scopes());
    let sub = rt
        .attenuate(cred.token(), &AttenuateRequest { to: SUB.into(), scopes: wide_scopes(), ..Default::default() })
        .unwrap();
    let secrets = ["4111-1111-1111-1111", "hunter2-password", "777.25"];
    for (amount, c) in
        [(json!(50), &cred), (json!(777.25), &sub), (json!(90), &cred), (json!("hunter2-password"), &sub)]
    {
        let a = args(
            json!({"amount": amount, "currency": "USD", "card": "4111-1111-1111-1111", "note": "hunter2-password"}),
        );
        let d = rt.check(
            c,
            &CheckRequest {
                action: "payments.refund",
                resource: Some("customer/42"),
                args: Some(&a),
                ..Default::default()
            },
        );
        if d.allowed {
            rt.record_outcome(&d.decision_id, &Outcome::error("ValueError")).unwrap();
        }
    }
    // A token passed by mistake as the action or the resource (with a valid and an invalid
    // credential) is recorded only as a digest.
    for presented in [cred.token(), "not-a-token"] {
        for (action, resource) in [(sub.token(), "customer/42"), ("crm.read", sub.token())] {
            let d = rt.check(presented, &CheckRequest { action, resource: Some(resource), ..Default::default() });
            assert!(!d.allowed);
            assert!(d.action.starts_with("<invalid sha256:") || d.resource.starts_with("<invalid sha256:"), "{d:?}");
        }
    }
    rt.close().unwrap();
    let log = std::fs::read_to_string(tmp.path().join(LOG_FILE)).unwrap();
    // The decisions did happen, with a digest of their arguments and the allow-listed field.
    assert_eq!(log.matches("\"type\":\"decision\"").count(), 8);
    assert_eq!(log.matches("<invalid sha256:").count(), 4);
    assert_eq!(log.matches("\"args_digest\"").count(), 8);
    assert_eq!(log.matches("\"currency\":\"USD\"").count(), 4);
    for s in secrets {
        assert!(!log.contains(s), "argument value {s} is in the log");
    }
    for token in [cred.token(), sub.token()] {
        for part in token.split(['~', '.']) {
            if part.len() > 20 {
                assert!(!log.contains(part), "a token part is in the log");
            }
        }
    }
    // Private keys: every `d` of every key file in the folder.
    let mut found = 0;
    for e in walk(tmp.path()) {
        if let Ok(text) = std::fs::read_to_string(&e) {
            if let Ok(v) = serde_json::from_str::<Value>(&text) {
                if let Some(d) = v.get("d").and_then(Value::as_str) {
                    found += 1;
                    assert!(!log.contains(d), "private key {} is in the log", e.display());
                }
            }
        }
    }
    assert!(found >= 3, "expected the authority's and the agents' key files, found {found}");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

#[test]
fn sync_decisions_are_in_the_file_when_check_returns_and_buffered_ones_within_100ms() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = FixedClock::at(NOW);
    let sync_dir = tmp.path().join("sync");
    let rt = Runtime::open(Some(&sync_dir), file_options(&clock, 0, Durability::Sync)).unwrap();
    let cred = bot_grant(&rt, narrow_scopes());
    let read = CheckRequest { action: "crm.read", resource: Some("customer/42"), ..Default::default() };
    let d = rt.check(&cred, &read);
    assert!(std::fs::read_to_string(sync_dir.join(LOG_FILE)).unwrap().contains(&d.decision_id));

    let buf_dir = tmp.path().join("buffered");
    let rt = Runtime::open(Some(&buf_dir), file_options(&clock, 0, Durability::Buffered)).unwrap();
    let cred =
        bot_grant(&rt, vec![scope(json!({"actions": ["crm.read", "payments.refund"], "resources": ["customer/*"]}))]);
    let d = rt.check(&cred, &read);
    std::thread::sleep(std::time::Duration::from_millis(250));
    assert!(std::fs::read_to_string(buf_dir.join(LOG_FILE)).unwrap().contains(&d.decision_id));
    // Many buffered events from several threads: one chain, closed by a checkpoint.
    let rt = Arc::new(rt);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let rt = Arc::clone(&rt);
            let token = cred.token().to_owned();
            std::thread::spawn(move || {
                // Calls with and without a recorded argument interleave in one chain.
                let refund = args(json!({"amount": 5, "currency": "USD"}));
                for i in 0..500 {
                    let read = CheckRequest { action: "crm.read", resource: Some("customer/42"), ..Default::default() };
                    let pay = CheckRequest {
                        action: "payments.refund",
                        resource: Some("customer/42"),
                        args: Some(&refund),
                        ..Default::default()
                    };
                    assert!(rt.check(token.as_str(), if i % 3 == 0 { &pay } else { &read }).allowed);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let rt = Arc::into_inner(rt).unwrap();
    rt.close().unwrap();
    let r = verify_dir(&buf_dir);
    assert!(r.ok, "{r:?}");
    let text = std::fs::read_to_string(buf_dir.join(LOG_FILE)).unwrap();
    assert_eq!(text.matches("\"type\":\"decision\"").count(), 2001);
    assert_eq!(text.matches("\"args\":{\"currency\":\"USD\"}").count(), 4 * 167);
    assert!(text.lines().last().unwrap().contains("\"type\":\"checkpoint\""));
}

#[test]
fn two_runtimes_on_one_folder_keep_one_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = FixedClock::at(NOW);
    let a = Runtime::open(Some(tmp.path()), file_options(&clock, 7, Durability::Sync)).unwrap();
    let b = Runtime::open(Some(tmp.path()), file_options(&clock, 7, Durability::Buffered)).unwrap();
    let cred = bot_grant(&a, narrow_scopes());
    let read = CheckRequest { action: "crm.read", resource: Some("customer/42"), ..Default::default() };
    for _ in 0..20 {
        assert!(a.check(&cred, &read).allowed);
        assert!(b.check(cred.token(), &read).allowed);
    }
    b.close().unwrap();
    a.close().unwrap();
    let r = verify_dir(tmp.path());
    assert!(r.ok, "{r:?}");
    assert!(r.checkpoints >= 5);
}

#[test]
fn a_torn_last_line_is_set_aside_with_a_warning_event() {
    let tmp = tempfile::tempdir().unwrap();
    populated(tmp.path());
    let torn = b"{\"action\":\"payments.refund\",\"seq\":99,\"ts\":\"2026-";
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(tmp.path().join(LOG_FILE)).unwrap();
        f.write_all(torn).unwrap();
    }
    let clock = FixedClock::at(NOW + 100);
    let rt = Runtime::open(Some(tmp.path()), options(&clock)).unwrap();
    let aside: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("audit.jsonl.torn-"))
        .collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(std::fs::read(aside[0].path()).unwrap(), torn);
    let warn = rt.audit().events(&EventFilter { kind: Some("audit.torn_line".into()), ..Default::default() }).unwrap();
    assert_eq!(warn.len(), 1);
    assert_eq!(warn[0].bytes, Some(torn.len() as u64));
    assert_eq!(warn[0].digest.as_deref(), Some(runtime_identity::audit::sha256_hex(torn).as_str()));
    assert_eq!(warn[0].file.as_deref(), Some(aside[0].file_name().to_string_lossy().as_ref()));
    let r = rt.audit().verify().unwrap();
    assert!(r.ok, "{r:?}");
}

#[test]
fn a_corrupt_log_stops_appends_and_checks_deny() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = FixedClock::at(NOW);
    let rt = Runtime::open(Some(tmp.path()), options(&clock)).unwrap();
    let cred = bot_grant(&rt, narrow_scopes());
    let read = CheckRequest { action: "crm.read", resource: Some("customer/42"), ..Default::default() };
    let before = rt.check(&cred, &read);
    assert!(before.allowed);
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(tmp.path().join(LOG_FILE)).unwrap();
        f.write_all(b"this is not an event\n").unwrap();
    }
    let d = rt.check(&cred, &read);
    assert!(!d.allowed);
    assert_eq!(d.code(), Some(ReasonCode::InternalError));
    assert!(d.reasons[0].message.contains("could not be recorded"), "{:?}", d.reasons);
    assert_eq!(code_of(rt.record_outcome(&before.decision_id, &Outcome::ok())), ErrorCode::AuditCorrupt);
    assert_eq!(code_of(Runtime::open(Some(tmp.path()), options(&clock))), ErrorCode::AuditCorrupt);
    assert_eq!(code_of(rt.record_outcome("not-a-decision", &Outcome::ok())), ErrorCode::InvalidArgument);
}

#[test]
fn lines_are_canonical_json_with_the_documented_fields() {
    let f = fixture();
    let cred = delegate(&f);
    let a = args(json!({"amount": 20, "currency": "EUR"}));
    let ctx = json!({"txn": "wf-1"});
    let d = f.rt.check(
        &cred,
        &CheckRequest {
            action: "payments.refund",
            resource: Some("customer/9"),
            args: Some(&a),
            context: Some(&ctx),
            ..Default::default()
        },
    );
    assert!(d.allowed, "{d:?}");
    let ev =
        f.rt.audit().events(&EventFilter { decision_id: Some(d.decision_id.clone()), ..Default::default() }).unwrap();
    let e = &ev[0];
    assert_eq!(e.v, 1);
    assert_eq!(e.kind, "decision");
    assert_eq!(e.ts, "2026-11-30T00:53:20.000Z");
    assert_eq!(e.txn.as_deref(), Some("wf-1"));
    assert_eq!(e.effect, Some(Effect::Allow));
    assert_eq!(e.chain, vec![BOT.to_owned()]);
    assert_eq!(e.grant_id.as_deref(), Some(cred.grant_id()));
    assert_eq!(e.args_digest.as_deref(), Some(runtime_identity::audit::args_digest(&a).as_str()));
    assert_eq!(e.args_digest.as_ref().unwrap().len(), 64);
    assert_eq!(e.hash.len(), 64);
    assert!(e.seq > 1);
}

#[test]
fn outcome_fields_are_bounded() {
    let f = fixture();
    let cred = delegate(&f);
    let d = f.rt.check(&cred, &CheckRequest { action: "crm.read", resource: Some("customer/1"), ..Default::default() });
    assert!(d.allowed, "{d:?}");
    let long = "x".repeat(300);
    assert_eq!(code_of(f.rt.record_outcome(&d.decision_id, &Outcome::error(long))), ErrorCode::InvalidArgument);
    assert_eq!(code_of(f.rt.record_outcome(&d.decision_id, &Outcome::error("a\nb"))), ErrorCode::InvalidArgument);
    // A refused field does not use up the decision's one outcome.
    f.rt.record_outcome(&d.decision_id, &Outcome::error("TimeoutError")).unwrap();
    let _ = DelegateRequest::default();
}

/// Issue 16 item 14: one outcome per allowed decision this runtime recorded; a denied
/// decision, a second outcome, an id never issued and another runtime's decision are refused.
#[test]
fn an_outcome_is_taken_once_and_only_for_an_allowed_decision_of_this_runtime() {
    let f = fixture();
    let cred = delegate(&f);
    let allowed =
        f.rt.check(&cred, &CheckRequest { action: "crm.read", resource: Some("customer/1"), ..Default::default() });
    assert!(allowed.allowed, "{allowed:?}");
    let denied =
        f.rt.check(&cred, &CheckRequest { action: "crm.delete", resource: Some("other/1"), ..Default::default() });
    assert!(!denied.allowed);
    assert_eq!(code_of(f.rt.record_outcome(&denied.decision_id, &Outcome::ok())), ErrorCode::OutcomeInvalid);
    let never = uuid::Uuid::now_v7().to_string();
    assert_eq!(code_of(f.rt.record_outcome(&never, &Outcome::ok())), ErrorCode::OutcomeInvalid);
    f.rt.record_outcome(&allowed.decision_id, &Outcome::ok()).unwrap();
    let e = f.rt.record_outcome(&allowed.decision_id, &Outcome::error("Late")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::OutcomeInvalid);
    assert!(e.message().contains(&allowed.decision_id), "{e}");
    // Another runtime's allowed decision is not this one's.
    let g = fixture();
    let other = g
        .rt
        .check(&delegate(&g), &CheckRequest { action: "crm.read", resource: Some("customer/1"), ..Default::default() });
    assert!(other.allowed);
    assert_eq!(code_of(f.rt.record_outcome(&other.decision_id, &Outcome::ok())), ErrorCode::OutcomeInvalid);
    let outcomes = f.rt.audit().events(&EventFilter { kind: Some("outcome".into()), ..Default::default() }).unwrap();
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].decision_id.as_deref(), Some(allowed.decision_id.as_str()));
}

/// A folder runtime that made `n` checks (checkpoints every 10, none by time) and then stopped
/// without closing, as a crash leaves it: events after the last checkpoint. Returns the ids.
fn crashed(dir: &Path, n: usize) -> Vec<String> {
    let clock = FixedClock::at(NOW);
    let options = RuntimeOptions {
        audit: AuditOptions { checkpoint_every: 10, checkpoint_seconds: 0, ..AuditOptions::default() },
        ..options(&clock)
    };
    let rt = Runtime::open(Some(dir), options).unwrap();
    let cred = bot_grant(&rt, narrow_scopes());
    let read = CheckRequest { action: "crm.read", resource: Some("customer/42"), ..Default::default() };
    let ids = (0..n).map(|_| rt.check(&cred, &read).decision_id).collect();
    // No close, no closing checkpoint (and no thread left: sync, nothing by time).
    std::mem::forget(rt);
    ids
}

fn last_checkpoint_index(lines: &[String]) -> usize {
    lines.iter().rposition(|l| l.contains("\"type\":\"checkpoint\"")).unwrap()
}

fn open_code(dir: &Path) -> Option<ErrorCode> {
    Runtime::open(Some(dir), options(&FixedClock::at(NOW + 100))).err().map(|e| e.code())
}

/// Issue 16 item 5: the events after the last checkpoint cannot be cut without a key — the
/// store's running anchor says where the log ends, and a runtime refuses to append to (or
/// sign over) a log that ends elsewhere.
#[test]
fn cutting_the_tail_after_the_last_checkpoint_is_refused_on_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    crashed(tmp.path(), 15);
    let l = lines(tmp.path());
    let cp = last_checkpoint_index(&l);
    assert!(l.len() > cp + 3, "events after the last checkpoint");
    write_lines(tmp.path(), &l[..l.len() - 2]);
    assert_eq!(open_code(tmp.path()), Some(ErrorCode::AuditCorrupt));
    // Still refused (nothing was signed over the cut log), and verification says what happened.
    assert_eq!(open_code(tmp.path()), Some(ErrorCode::AuditCorrupt));
    let r = verify_dir(tmp.path());
    assert_tampered(&r, TamperKind::Truncated, seq_of(&l[l.len() - 2]));
    // Cut back to the checkpoint itself: refused too.
    write_lines(tmp.path(), &l[..=cp]);
    assert_eq!(open_code(tmp.path()), Some(ErrorCode::AuditCorrupt));
}

#[test]
fn rewriting_the_last_event_with_its_hash_recomputed_is_refused_on_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    crashed(tmp.path(), 15);
    let mut l = lines(tmp.path());
    let last = l.len() - 1;
    let mut v: Map<String, Value> = serde_json::from_str(&l[last]).unwrap();
    assert_eq!(v["type"], "decision");
    v.insert("effect".into(), json!("deny"));
    l[last] = rehash(v); // prev still chains: only the anchor tells.
    write_lines(tmp.path(), &l);
    assert_eq!(open_code(tmp.path()), Some(ErrorCode::AuditCorrupt));
    assert_tampered(&verify_dir(tmp.path()), TamperKind::Edited, seq_of(&l[last]));
    // Adding a forged event after the anchor is refused as well.
    let tmp2 = tempfile::tempdir().unwrap();
    crashed(tmp2.path(), 15);
    let mut l = lines(tmp2.path());
    let mut v: Map<String, Value> = serde_json::from_str(&l[l.len() - 1]).unwrap();
    let prev = v["hash"].clone();
    v.insert("seq".into(), json!(seq_of(&l[l.len() - 1]) + 1));
    v.insert("prev".into(), prev);
    v.insert("decision_id".into(), json!(uuid::Uuid::now_v7().to_string()));
    l.push(rehash(v));
    write_lines(tmp2.path(), &l);
    assert_eq!(open_code(tmp2.path()), Some(ErrorCode::AuditCorrupt));
    assert_tampered(&verify_dir(tmp2.path()), TamperKind::Inserted, seq_of(&l[l.len() - 1]));
}

#[test]
fn a_running_runtime_refuses_a_log_cut_under_it() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = FixedClock::at(NOW);
    let rt = Runtime::open(Some(tmp.path()), options(&clock)).unwrap();
    let cred = bot_grant(&rt, narrow_scopes());
    let read = CheckRequest { action: "crm.read", resource: Some("customer/42"), ..Default::default() };
    let ok: Vec<_> = (0..5).map(|_| rt.check(&cred, &read)).collect();
    assert!(ok.iter().all(|d| d.allowed));
    let l = lines(tmp.path());
    write_lines(tmp.path(), &l[..l.len() - 2]);
    let d = rt.check(&cred, &read);
    assert!(!d.allowed);
    assert_eq!(d.code(), Some(ReasonCode::InternalError));
    assert!(d.reasons[0].message.contains("shorter"), "{:?}", d.reasons);
    assert_eq!(code_of(rt.record_outcome(&ok[0].decision_id, &Outcome::ok())), ErrorCode::AuditCorrupt);
    // Its closing checkpoint is not signed over the cut log either.
    assert_eq!(code_of(rt.close()), ErrorCode::AuditCorrupt);
    assert!(!lines(tmp.path()).last().unwrap().contains("\"type\":\"checkpoint\""));
}

#[test]
fn a_last_event_without_its_line_break_is_kept_not_set_aside() {
    let tmp = tempfile::tempdir().unwrap();
    let ids = crashed(tmp.path(), 15);
    let path = tmp.path().join(LOG_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.pop(), Some(b'\n'));
    let last_line = bytes[bytes.iter().rposition(|&b| b == b'\n').unwrap() + 1..].to_vec();
    std::fs::write(&path, &bytes).unwrap();
    let rt = Runtime::open(Some(tmp.path()), options(&FixedClock::at(NOW + 100))).unwrap();
    let last = ids.last().unwrap();
    let found = rt.audit().events(&EventFilter { decision_id: Some(last.clone()), ..Default::default() }).unwrap();
    assert_eq!(found.len(), 1, "the last decision is still in the chain");
    let warn = rt.audit().events(&EventFilter { kind: Some("audit.torn_line".into()), ..Default::default() }).unwrap();
    assert_eq!(warn.len(), 1);
    assert!(warn[0].message.as_deref().unwrap().contains("line break was restored"), "{warn:?}");
    assert_eq!(warn[0].digest.as_deref(), Some(runtime_identity::audit::sha256_hex(&last_line).as_str()));
    assert!(warn[0].file.is_none());
    let aside =
        std::fs::read_dir(tmp.path()).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().contains(".torn-"));
    assert_eq!(aside.count(), 0);
    assert!(rt.audit().verify().unwrap().ok);
}

/// Rolling the store back together with the log to an earlier consistent state cannot be
/// seen from the folder alone: both agree. A checkpoint kept elsewhere (what the transparency-log
/// issue's witnessed checkpoints provide) shows it; rolling back only one of the two is refused.
#[test]
fn rolling_back_store_and_log_together_is_seen_only_with_a_checkpoint_kept_elsewhere() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("rt");
    populated(&home);
    let earlier = tmp.path().join("earlier");
    copy_dir(&home, &earlier);
    {
        let clock = FixedClock::at(NOW + 100);
        let rt = Runtime::open(Some(&home), options(&clock)).unwrap();
        let cred = rt
            .delegate(&DelegateRequest {
                to: BOT.into(),
                on_behalf_of: ALICE.into(),
                scopes: narrow_scopes(),
                ..Default::default()
            })
            .unwrap();
        for _ in 0..5 {
            rt.check(&cred, &CheckRequest { action: "crm.read", resource: Some("customer/42"), ..Default::default() });
        }
        rt.close().unwrap();
    }
    let kept_elsewhere = SqliteStore::open(&home).unwrap().audit_checkpoint().unwrap().unwrap();
    let jwks =
        serde_json::to_value(Runtime::open(Some(&home), options(&FixedClock::at(NOW + 200))).unwrap().jwks().unwrap())
            .unwrap();
    let restore = |names: &[&str]| {
        for e in std::fs::read_dir(&earlier).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if names.iter().any(|n| name.starts_with(n)) {
                std::fs::copy(e.path(), home.join(&name)).unwrap();
            }
        }
    };
    let later_log = std::fs::read(home.join(LOG_FILE)).unwrap();
    // Only the log rolled back: refused (it ends before the anchor).
    restore(&[LOG_FILE]);
    assert_eq!(open_code(&home), Some(ErrorCode::AuditCorrupt));
    // Only the store rolled back: refused (the log goes on past the anchor).
    std::fs::write(home.join(LOG_FILE), &later_log).unwrap();
    restore(&["store.db"]);
    assert_eq!(open_code(&home), Some(ErrorCode::AuditCorrupt));
    // Both: the folder is consistent, and nothing in it can tell.
    restore(&[LOG_FILE, "store.db"]);
    let r = verify_dir(&home);
    assert!(r.ok, "{r:?}");
    // The newest checkpoint, kept by someone else, does.
    let anchor = serde_json::to_value(&kept_elsewhere).unwrap();
    let r = runtime_identity::audit::verify_log_file(&home.join(LOG_FILE), ISSUER, &jwks, Some(&anchor)).unwrap();
    assert_tampered(&r, TamperKind::Truncated, r.last_seq + 1);
}

/// Checkpoints also by time: events this process wrote wait at most `checkpoint_seconds` (by
/// the runtime's clock) for one, at the next append or, when idle, from the background thread.
#[test]
fn a_checkpoint_is_written_when_events_waited_long_enough() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = FixedClock::at(NOW);
    let options =
        RuntimeOptions { audit: AuditOptions { checkpoint_every: 0, ..AuditOptions::default() }, ..options(&clock) };
    assert_eq!(options.audit.checkpoint_seconds, 60);
    let rt = Runtime::open(Some(tmp.path()), options).unwrap();
    let cred = bot_grant(&rt, narrow_scopes());
    let read = CheckRequest { action: "crm.read", resource: Some("customer/42"), ..Default::default() };
    let checkpoints = || lines(tmp.path()).iter().filter(|l| l.contains("\"type\":\"checkpoint\"")).count();
    rt.check(&cred, &read);
    clock.advance(59);
    rt.check(&cred, &read);
    assert_eq!(checkpoints(), 0);
    clock.advance(1);
    rt.check(&cred, &read);
    assert_eq!(checkpoints(), 1, "at the append 60 s after the first uncovered event");
    assert!(lines(tmp.path()).last().unwrap().contains("\"type\":\"checkpoint\""));
    // Idle: the background thread writes it.
    rt.check(&cred, &read);
    clock.advance(61);
    let start = std::time::Instant::now();
    while checkpoints() < 2 {
        assert!(start.elapsed() < std::time::Duration::from_secs(30), "no checkpoint while idle");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(rt.audit().verify().unwrap().ok);
}

/// The memory store keeps the anchor as the folder store does.
#[test]
fn both_stores_keep_the_running_anchor() {
    let tmp = tempfile::tempdir().unwrap();
    let a = runtime_identity::store::AuditAnchor {
        seq: 7,
        hash: "a".repeat(64),
        len: 700,
        durable_seq: 6,
        durable_hash: "b".repeat(64),
        durable_len: 600,
    };
    let stores: Vec<Box<dyn Store>> =
        vec![Box::new(runtime_identity::store::MemoryStore::new()), Box::new(SqliteStore::open(tmp.path()).unwrap())];
    for s in stores {
        assert_eq!(s.audit_anchor().unwrap(), None);
        s.save_audit_anchor(&a).unwrap();
        assert_eq!(s.audit_anchor().unwrap(), Some(a.clone()));
        let b = runtime_identity::store::AuditAnchor { seq: 3, ..a.clone() };
        s.save_audit_anchor(&b).unwrap();
        assert_eq!(s.audit_anchor().unwrap(), Some(b));
    }
}
