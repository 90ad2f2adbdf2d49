//! Audit logs as a third party gets them — the lines, the authority's JWKS and the newest
//! checkpoint the operator's store reports — intact and tampered in every way verification
//! names, with the first bad `seq` and the kind expected.

use std::sync::Arc;

use runtime_identity::audit::{AuditOptions, Durability, Outcome};
use runtime_identity::scope::Scope;
use runtime_identity::CheckRequest;
use runtime_identity::RuntimeOptions;
use runtime_identity::SequentialIds;
use runtime_identity::{AgentSpec, Algorithm, DelegateRequest, FixedClock, Jwks, Runtime};
use serde_json::{json, Value};

use crate::fixture::*;

/// A log of ~20 events with checkpoints every 6, written by a folder runtime and closed.
fn sample_log() -> (Vec<String>, Jwks) {
    let dir = std::env::temp_dir().join(format!("rid-vectors-audit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let clock = FixedClock::at(NOW);
    let options = RuntimeOptions {
        issuer: Some(ISSUER.into()),
        clock: Arc::new(clock.clone()),
        ids: Arc::new(SequentialIds::new()),
        audit: AuditOptions {
            durability: Durability::Sync,
            checkpoint_every: 6,
            record_args: vec!["currency".into()],
            ..AuditOptions::default()
        },
        ..RuntimeOptions::default()
    };
    let rt = Runtime::open(Some(&dir), options).expect("runtime");
    let authority = key(Algorithm::Es256, "authority-ES256");
    let generated = rt.authority_keys().expect("keys");
    rt.import_authority_key(&authority.to_secret_json().expect("key")).expect("import");
    for k in generated {
        rt.remove_authority_key(&k.kid).expect("remove the generated key");
    }
    let bot = key(Algorithm::Es256, &format!("agent:{BOT}"));
    rt.register_agent(
        BOT,
        AgentSpec { owner: Some(ALICE.into()), public_key: Some(bot.public_key().to_jwk()), ..Default::default() },
    )
    .expect("register");
    let scopes =
        vec![Scope::from_api_value(&json!({"actions": ["payments.refund", "crm.read"], "resources": ["customer/*"],
        "constraints": {"amount": {"max": 100}}}))
        .expect("scope")];
    let token = rt
        .delegate(&DelegateRequest {
            to: BOT.into(),
            on_behalf_of: ALICE.into(),
            scopes,
            ttl: Some(900),
            ..Default::default()
        })
        .expect("grant")
        .token()
        .to_owned();
    for (i, amount) in [10, 20, 500, 30, 40, 700, 50].iter().enumerate() {
        clock.advance(1);
        let args = json!({"amount": amount, "currency": "USD"});
        let args = args.as_object().expect("object");
        let d = rt.check(
            token.as_str(),
            &CheckRequest {
                action: "payments.refund",
                resource: Some("customer/42"),
                args: Some(args),
                ..Default::default()
            },
        );
        if d.allowed {
            let outcome = Outcome {
                ok: i % 3 != 0,
                error: (i % 3 == 0).then(|| "Timeout".to_owned()),
                duration: Some(std::time::Duration::from_micros(12_500)),
                ..Default::default()
            };
            rt.record_outcome(&d.decision_id, &outcome).expect("outcome");
        }
    }
    rt.suspend_agent(BOT).expect("suspend");
    let jwks = rt.jwks().expect("jwks");
    rt.close().expect("close");
    let text = std::fs::read_to_string(dir.join("audit.jsonl")).expect("log");
    let _ = std::fs::remove_dir_all(&dir);
    (text.lines().map(str::to_owned).collect(), jwks)
}

fn seq_of(line: &str) -> u64 {
    serde_json::from_str::<Value>(line).expect("line")["seq"].as_u64().expect("seq")
}

fn is_checkpoint(line: &str) -> bool {
    serde_json::from_str::<Value>(line).expect("line")["type"] == "checkpoint"
}

pub fn audit() -> VectorFile {
    let (lines, jwks) = sample_log();
    let f = Fixture::new(
        "audit",
        "Audit logs verified by a third party from the lines, the authority's JWKS and the \
         store's newest checkpoint (`anchor`): intact, and tampered in each way verification \
         names, with the first bad seq.",
        Algorithm::Es256,
        &[],
        json!([]),
        "",
        json!({}),
    );
    let last = lines.last().expect("a line").clone();
    let anchor = json!({"seq": seq_of(&last), "hash": serde_json::from_str::<Value>(&last).expect("line")["hash"]});
    let n = lines.len() as u64;
    let jwks = serde_json::to_value(&jwks).expect("jwks");
    let verify = |log: &[String], anchor: Option<&Value>, expect: Value| {
        op("verify_audit_log", json!({"issuer": ISSUER, "jwks": jwks, "anchor": anchor, "log": log, "expect": expect}))
    };
    let bad = |seq: u64, kind: &str| json!({"ok": false, "first_bad_seq": seq, "kind": kind});
    // A decision line in the middle, not a checkpoint.
    let is_decision = |l: &str| serde_json::from_str::<Value>(l).expect("line")["type"] == "decision";
    let k = (lines.len() / 3..lines.len() - 1)
        .find(|&i| is_decision(&lines[i]) && !is_checkpoint(&lines[i + 1]))
        .expect("k");
    let seq_k = seq_of(&lines[k]);

    f.case(
        "an intact log verifies with its anchor",
        &["audit_intact"],
        vec![verify(&lines, Some(&anchor), json!({"ok": true, "events": n}))],
    );
    f.case(
        "an intact log verifies without an anchor",
        &["audit_intact"],
        vec![verify(&lines, None, json!({"ok": true, "events": n}))],
    );

    let mut edited = lines.clone();
    edited[k] = edited[k].replacen("\"customer/42\"", "\"customer/43\"", 1);
    assert_ne!(edited[k], lines[k], "the edit must change the line");
    f.case("an edited event", &["edited"], vec![verify(&edited, Some(&anchor), bad(seq_k, "edited"))]);

    let mut removed = lines.clone();
    removed.remove(k);
    f.case("a removed event", &["removed"], vec![verify(&removed, Some(&anchor), bad(seq_k, "removed"))]);

    let mut swapped = lines.clone();
    swapped.swap(k, k + 1);
    f.case("two events swapped", &["reordered"], vec![verify(&swapped, Some(&anchor), bad(seq_k, "reordered"))]);

    let mut inserted = lines.clone();
    inserted.insert(k + 1, lines[k].clone());
    f.case("a duplicated event", &["inserted"], vec![verify(&inserted, Some(&anchor), bad(seq_k + 1, "inserted"))]);

    let mut junk = lines.clone();
    junk.insert(k + 1, "{\"note\": \"not an event\"}".to_owned());
    f.case(
        "a line that is not an event",
        &["inserted"],
        vec![verify(&junk, Some(&anchor), bad(seq_k + 1, "inserted"))],
    );

    let cut = &lines[..lines.len() - 3];
    f.case(
        "the tail cut off, seen against the anchor",
        &["truncated"],
        vec![verify(cut, Some(&anchor), bad(seq_of(&lines[lines.len() - 3]), "truncated"))],
    );
    let last_cp = (0..lines.len() - 1).rev().find(|&i| is_checkpoint(&lines[i])).expect("a checkpoint");
    let to_cp = &lines[..=last_cp];
    f.case(
        "without an anchor, a tail cut at a checkpoint goes unnoticed (why the anchor exists)",
        &["audit_intact"],
        vec![verify(to_cp, None, json!({"ok": true, "events": last_cp as u64 + 1}))],
    );
    let mut torn = lines.clone();
    let tail = torn.pop().expect("last");
    torn.push(tail[..tail.len() / 2].to_owned());
    let mut torn_step = verify(&torn, Some(&anchor), bad(seq_of(&lines[lines.len() - 1]), "truncated"));
    torn_step["log_ends_with_newline"] = json!(false);
    f.case("a torn last line", &["truncated"], vec![torn_step]);

    // Rewriting history from k on, with every hash recomputed: only the checkpoints catch it.
    let rehashed = rehash_from(&lines, k, |v| v["resource"] = json!("customer/43"));
    let next_cp = (k..lines.len()).find(|&i| is_checkpoint(&lines[i])).expect("a later checkpoint");
    f.case(
        "an edit with every later hash recomputed is caught by the next checkpoint",
        &["bad_checkpoint_signature"],
        vec![verify(&rehashed, Some(&anchor), bad(seq_of(&lines[next_cp]), "bad_checkpoint_signature"))],
    );
    let other = Jwks { keys: vec![key(Algorithm::Es256, "rogue").public_key().to_jwk()] };
    let first_cp = (0..lines.len()).find(|&i| is_checkpoint(&lines[i])).expect("a checkpoint");
    f.case(
        "checkpoints checked against another authority's keys",
        &["bad_checkpoint_signature"],
        vec![op(
            "verify_audit_log",
            json!({"issuer": ISSUER, "jwks": other, "anchor": anchor, "log": lines,
               "expect": bad(seq_of(&lines[first_cp]), "bad_checkpoint_signature")}),
        )],
    );
    let mut bad_key = serde_json::to_value(key(Algorithm::Es256, "rogue").public_key().to_jwk()).expect("jwk");
    bad_key["x"] = json!("AAAA");
    f.case(
        "a JWKS with a key that is not a key is refused, not blamed on the log",
        &["invalid_argument"],
        vec![op(
            "verify_audit_log",
            json!({"issuer": ISSUER, "jwks": {"keys": [bad_key]}, "anchor": anchor, "log": lines,
               "expect": {"error": "invalid_argument"}}),
        )],
    );
    f.case(
        "an issuer that is not a principal or URL is refused",
        &["issuer_invalid"],
        vec![op(
            "verify_audit_log",
            json!({"issuer": "", "jwks": jwks, "anchor": anchor, "log": lines, "expect": {"error": "issuer_invalid"}}),
        )],
    );
    f.finish()
}

/// The log with `edit` applied to line `from`, and every hash and `prev` from there on
/// recomputed — what an attacker without the authority key can do.
fn rehash_from(lines: &[String], from: usize, edit: impl Fn(&mut Value)) -> Vec<String> {
    use runtime_identity::audit::line_hash;
    let mut out: Vec<String> = lines[..from].to_vec();
    let mut prev =
        serde_json::from_str::<Value>(&lines[from - 1]).expect("line")["hash"].as_str().expect("hash").to_owned();
    for (i, line) in lines.iter().enumerate().skip(from) {
        let mut v: Value = serde_json::from_str(line).expect("line");
        if i == from {
            edit(&mut v);
        }
        v["prev"] = json!(prev);
        let h = line_hash(v.as_object().expect("object"));
        v["hash"] = json!(h);
        prev = h;
        out.push(serde_json::to_string(&v).expect("json"));
    }
    out
}
