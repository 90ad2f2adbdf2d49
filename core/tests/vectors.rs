//! The conformance vectors of `tests/vectors/` run through the Rust API: every case of every
//! file, step by step, as the Python and Node suites run them (see the folder's README).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use runtime_identity::audit::{verify_log, Outcome};
use runtime_identity::scope::Scope;
use runtime_identity::store::StoredCheckpoint;
use runtime_identity::CheckRequest;
use runtime_identity::RuntimeOptions;
use runtime_identity::{
    AgentSpec, Algorithm, Approver, AttenuateRequest, DelegateRequest, Error, FixedClock, Jwks, PrivateKey, Runtime,
};
use serde_json::{json, Value};

fn vector_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

fn vector_files() -> Vec<(String, Value)> {
    let mut files: Vec<_> = std::fs::read_dir(vector_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && p.file_name().is_some_and(|n| n != "schema.json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| (p.display().to_string(), serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()))
        .collect()
}

/// The file's setup with the case's replacements.
fn case_setup(file: &Value, case: &Value) -> Value {
    let mut setup = file["setup"].clone();
    if let Some(patch) = case.get("setup").and_then(Value::as_object) {
        for (k, v) in patch {
            setup[k] = v.clone();
        }
    }
    setup
}

struct Run {
    rt: Runtime,
    clock: FixedClock,
    setup: Value,
    saved: HashMap<String, String>,
}

fn open(setup: &Value, issuer: &str) -> Result<(Runtime, FixedClock), Error> {
    let clock = FixedClock::at(setup["now"].as_i64().unwrap());
    let options = RuntimeOptions {
        issuer: Some(issuer.to_owned()),
        alg: Algorithm::parse(setup["alg"].as_str().unwrap()).unwrap(),
        clock: Arc::new(clock.clone()),
        require_permit: setup["options"]["require_permit"].as_bool().unwrap_or(false),
        require_proof: setup["options"]["require_proof"].as_bool().unwrap_or(false),
        ..RuntimeOptions::default()
    };
    Ok((Runtime::in_memory(options)?, clock))
}

impl Run {
    fn new(setup: Value) -> Self {
        let (rt, clock) = open(&setup, setup["issuer"].as_str().unwrap()).unwrap();
        rt.import_authority_key(&setup["authority_key"].to_string()).unwrap();
        for a in setup["agents"].as_array().unwrap() {
            let spec = AgentSpec {
                owner: Some(a["owner"].as_str().unwrap().to_owned()),
                attributes: Some(a["attributes"].clone()),
                max_delegation_depth: a["max_delegation_depth"].as_u64().map(|d| d as u32),
                public_key: Some(serde_json::from_value(a["public_key"].clone()).unwrap()),
                ..Default::default()
            };
            rt.register_agent(a["id"].as_str().unwrap(), spec).unwrap();
        }
        if let Some(text) = setup["policies"].as_str().filter(|t| !t.is_empty()) {
            rt.load_policy_text(text).unwrap();
        }
        for r in setup["resources"].as_array().unwrap() {
            rt.upsert_resource(r["id"].as_str().unwrap(), r["data_class"].as_str(), r.get("attributes").cloned())
                .unwrap();
        }
        Self { rt, clock, setup, saved: HashMap::new() }
    }

    /// A `$name` refers to a value saved by an earlier step.
    fn value(&self, v: &Value) -> String {
        let s = v.as_str().unwrap_or_default();
        match s.strip_prefix('$') {
            Some(name) => self.saved.get(name).unwrap_or_else(|| panic!("nothing saved as `{name}`")).clone(),
            None => s.to_owned(),
        }
    }

    fn agent_key(&self, id: &str) -> PrivateKey {
        let agent = self.setup["agents"].as_array().unwrap().iter().find(|a| a["id"] == id).unwrap();
        PrivateKey::from_secret_json(&agent["secret_key"].to_string()).unwrap()
    }

    fn step(&mut self, step: &Value) {
        let expect = &step["expect"];
        match step["op"].as_str().unwrap() {
            "set_time" => self.clock.set(step["now"].as_i64().unwrap()),
            "check" => self.check(step),
            "verify" => {
                let token = self.value(&step["token"]);
                outcome(self.rt.verify(&token).map(|c| chain_json(c.chain())), expect);
            }
            "delegate" => {
                let made = scopes(&step["scopes"]).and_then(|scopes| {
                    self.rt.delegate(&DelegateRequest {
                        to: step["to"].as_str().unwrap().into(),
                        on_behalf_of: step["on_behalf_of"].as_str().unwrap().into(),
                        scopes,
                        ttl: step["ttl"].as_u64(),
                        purpose: step["purpose"].as_str().map(str::to_owned),
                        max_depth: step["max_depth"].as_u64().map(|d| d as u32),
                    })
                });
                self.save(step, made.as_ref().ok().map(|c| c.token().to_owned()));
                outcome(made.map(|c| chain_json(c.chain())), expect);
            }
            "attenuate" => {
                let parent = self.value(&step["parent"]);
                let key = self.agent_key(step["key"].as_str().unwrap());
                let made = scopes(&step["scopes"]).and_then(|scopes| {
                    let req = AttenuateRequest {
                        to: step["to"].as_str().unwrap().into(),
                        scopes,
                        ttl: step["ttl"].as_u64(),
                        purpose: step["purpose"].as_str().map(str::to_owned),
                        max_depth: step["max_depth"].as_u64().map(|d| d as u32),
                    };
                    self.rt.attenuate_with_key(&parent, &req, &key)
                });
                self.save(step, made.as_ref().ok().map(|c| c.token().to_owned()));
                outcome(made.map(|c| chain_json(c.chain())), expect);
            }
            "revoke" => {
                let grant = match step.get("token") {
                    Some(t) => self.rt.verify(&self.value(t)).unwrap().grant_id().to_owned(),
                    None => self.value(&step["grant_id"]),
                };
                outcome(self.rt.revoke(&grant).map(|_| json!({})), expect);
            }
            op @ ("suspend_agent" | "resume_agent" | "revoke_agent") => {
                let id = step["id"].as_str().unwrap();
                let r = match op {
                    "suspend_agent" => self.rt.suspend_agent(id),
                    "resume_agent" => self.rt.resume_agent(id),
                    _ => self.rt.revoke_agent(id),
                };
                outcome(r.map(|a| json!({"status": a.status})), expect);
            }
            "register_agent" => {
                let spec = AgentSpec { owner: step["owner"].as_str().map(str::to_owned), ..Default::default() };
                let r = self.rt.register_agent(step["id"].as_str().unwrap(), spec);
                outcome(r.map(|a| json!({"status": a.status})), expect);
            }
            "load_policies" => {
                outcome(self.rt.load_policy_text(step["text"].as_str().unwrap()).map(|n| json!({"count": n})), expect);
            }
            "upsert_resource" => {
                let r = self.rt.upsert_resource(
                    step["id"].as_str().unwrap(),
                    step["data_class"].as_str(),
                    step.get("attributes").cloned(),
                );
                outcome(r.map(|_| json!({})), expect);
            }
            "approve" => {
                let approver =
                    Approver { id: step["approver"].as_str().unwrap(), attributes: step["attributes"].as_object() };
                let r = self.rt.approve(&self.value(&step["request"]), approver);
                self.save(step, r.as_ref().ok().map(|r| r.token.clone()));
                outcome(r.map(|_| json!({})), expect);
            }
            "deny_approval" => {
                let approver =
                    Approver { id: step["approver"].as_str().unwrap(), attributes: step["attributes"].as_object() };
                let r = self.rt.deny_approval(&self.value(&step["request"]), approver);
                outcome(r.map(|_| json!({})), expect);
            }
            "import_authority_key" => {
                outcome(self.rt.import_authority_key(&step["key"].to_string()).map(|_| json!({})), expect);
            }
            "open" => outcome(open(&self.setup, step["issuer"].as_str().unwrap()).map(|_| json!({})), expect),
            "record_outcome" => {
                let o = if step["ok"].as_bool().unwrap() { Outcome::ok() } else { Outcome::error("Error") };
                outcome(self.rt.record_outcome(&self.value(&step["decision"]), &o).map(|_| json!({})), expect);
            }
            "verify_audit_log" => {
                let mut text =
                    step["log"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect::<Vec<_>>().join("\n");
                if step["log_ends_with_newline"].as_bool().unwrap_or(true) {
                    text.push('\n');
                }
                let jwks: Jwks = serde_json::from_value(step["jwks"].clone()).unwrap();
                let anchor: Option<StoredCheckpoint> = serde_json::from_value(step["anchor"].clone()).unwrap();
                let report = verify_log(text.as_bytes(), step["issuer"].as_str().unwrap(), &jwks, anchor);
                outcome(report.map(|r| serde_json::to_value(&r).unwrap()), expect);
            }
            other => panic!("unknown op `{other}`"),
        }
    }

    fn check(&mut self, step: &Value) {
        let token = self.value(&step["token"]);
        let r = &step["request"];
        let args = r["args"].as_object().cloned();
        let approval = step.get("approval").map(|a| self.value(a));
        let proof = step["proof"].as_str();
        let req = CheckRequest {
            action: r["action"].as_str().unwrap(),
            resource: r["resource"].as_str(),
            args: args.as_ref(),
            context: r.get("context"),
            approval: approval.as_deref(),
            proof,
        };
        let d = self.rt.check(token.as_str(), &req);
        let got = serde_json::to_value(&d).unwrap();
        let mut got = got.as_object().unwrap().clone();
        got.insert("reasons".into(), json!(d.reasons.iter().map(|r| r.code.as_str()).collect::<Vec<_>>()));
        subset(&Value::Object(got), &step["expect"], "decision");
        if let Some(name) = step["save_decision"].as_str() {
            self.saved.insert(name.to_owned(), d.decision_id.clone());
        }
        if let Some(name) = step["save_approval"].as_str() {
            let id = d.approval_request.as_ref().expect("an approval request").id.clone();
            self.saved.insert(name.to_owned(), id);
        }
    }

    fn save(&mut self, step: &Value, value: Option<String>) {
        if let (Some(name), Some(v)) = (step["save"].as_str(), value) {
            self.saved.insert(name.to_owned(), v);
        }
    }
}

fn scopes(v: &Value) -> Result<Vec<Scope>, Error> {
    v.as_array().unwrap().iter().map(Scope::from_api_value).collect()
}

fn chain_json(chain: &runtime_identity::token::VerifiedChain) -> Value {
    json!({
        "chain": chain.agents().map(|a| a.as_str()).collect::<Vec<_>>(),
        "on_behalf_of": chain.on_behalf_of.as_str(),
    })
}

/// An operation's result against `expect`: `{"error": code}`, or fields the success must have.
fn outcome(result: Result<Value, Error>, expect: &Value) {
    match (result, expect.get("error").and_then(Value::as_str)) {
        (Ok(got), None) => subset(&got, expect, "result"),
        (Ok(got), Some(code)) => panic!("expected error `{code}`, got success {got}"),
        (Err(e), None) => panic!("expected success, got {}: {}", e.code(), e.message()),
        (Err(e), Some(code)) => assert_eq!(e.code().as_str(), code, "{}", e.message()),
    }
}

/// Every field of `expect` (when it is an object) equals the same field of `got`.
fn subset(got: &Value, expect: &Value, what: &str) {
    if let Some(fields) = expect.as_object() {
        for (k, want) in fields {
            assert_eq!(&got[k], want, "{what} field `{k}`: got {got}");
        }
    }
}

#[test]
fn every_vector_passes_through_the_rust_api() {
    let files = vector_files();
    assert!(files.len() >= 10, "vector files missing in {}", vector_dir().display());
    let mut failures = Vec::new();
    let mut total = 0;
    for (path, file) in &files {
        for case in file["cases"].as_array().unwrap() {
            total += 1;
            let setup = case_setup(file, case);
            let steps = case["steps"].as_array().unwrap().clone();
            let result = std::panic::catch_unwind(move || {
                let mut run = Run::new(setup);
                for (i, step) in steps.iter().enumerate() {
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run.step(step)));
                    if let Err(e) = r {
                        std::panic::resume_unwind(Box::new(format!("step {i} ({}): {}", step["op"], panic_text(&e))));
                    }
                }
            });
            if let Err(e) = result {
                failures.push(format!("{path} {} — {}: {}", case["id"], case["title"], panic_text(&e)));
            }
        }
    }
    assert!(total >= 150, "only {total} cases");
    assert!(failures.is_empty(), "{} of {total} cases failed:\n{}", failures.len(), failures.join("\n"));
}

/// Codes only a broken environment produces (a failing disk, a corrupted store): tested in the
/// core with injected failures (`fail_closed.rs`, `audit.rs`), not expressible as vectors.
const ENVIRONMENT_ONLY: &[&str] =
    &["internal_error", "store_corrupt", "store_insecure", "store_unavailable", "audit_corrupt", "audit_unavailable"];

#[test]
fn the_vectors_cover_every_reason_and_error_code() {
    let mut seen = std::collections::BTreeSet::new();
    for (_, file) in vector_files() {
        for case in file["cases"].as_array().unwrap() {
            for step in case["steps"].as_array().unwrap() {
                let e = &step["expect"];
                seen.extend(e["error"].as_str().map(str::to_owned));
                seen.extend(
                    e["reasons"].as_array().into_iter().flatten().filter_map(|r| r.as_str().map(str::to_owned)),
                );
            }
        }
    }
    let reasons = runtime_identity::ReasonCode::ALL.iter().map(|c| c.as_str());
    let errors = runtime_identity::ErrorCode::ALL.iter().map(|c| c.as_str());
    let missing: Vec<&str> =
        reasons.chain(errors).filter(|c| !seen.contains(*c) && !ENVIRONMENT_ONLY.contains(c)).collect();
    assert!(missing.is_empty(), "no vector expects {missing:?}");
}

fn panic_text(e: &Box<dyn std::any::Any + Send>) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}
