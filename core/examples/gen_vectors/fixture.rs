//! The pieces every vector file is made of: the setup (issuer, clock, keys, agents, resources,
//! policies), a minting runtime built from that same setup, token surgery for attacks, and
//! the JSON of steps and expectations.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use runtime_identity::internal::jws::sign_raw;
use runtime_identity::scope::Scope;
use runtime_identity::RuntimeOptions;
use runtime_identity::SequentialIds;
use runtime_identity::{AgentSpec, Algorithm, AttenuateRequest, DelegateRequest, FixedClock, PrivateKey, Runtime};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const ISSUER: &str = "org:acme";
pub const NOW: i64 = 1_796_000_000;
pub const ALICE: &str = "user:alice@acme";
pub const BOB: &str = "user:bob@acme";
pub const CAROL: &str = "user:carol@acme";
pub const BOBS_BOT: &str = "agent:acme/bobs-bot";
pub const BOT: &str = "agent:acme/support-bot";
pub const SUB: &str = "agent:acme/sub-bot";
pub const LEAF: &str = "agent:acme/leaf-bot";
pub const SHALLOW: &str = "agent:acme/shallow-bot";
pub const CLEARED: &str = "agent:acme/cleared-bot";

/// The key with a fixed seed (retried past the rare seed that is not a P-256 scalar).
pub fn key(alg: Algorithm, name: &str) -> PrivateKey {
    (0u8..)
        .find_map(|i| {
            let seed: [u8; 32] = Sha256::new().chain_update(format!("rid-vectors:{name}:{i}")).finalize().into();
            PrivateKey::from_bytes(alg, &seed).ok()
        })
        .expect("a key")
}

fn secret(key: &PrivateKey) -> Value {
    serde_json::from_str(&key.to_secret_json().expect("key json")).expect("key json")
}

/// One file of vectors.
pub struct VectorFile {
    pub group: String,
    pub description: String,
    pub setup: Value,
    pub cases: Vec<Value>,
}

impl VectorFile {
    pub fn to_json(&self) -> String {
        let doc = json!({
            "$schema": "./schema.json",
            "version": 1,
            "group": self.group,
            "description": self.description,
            "setup": self.setup,
            "cases": self.cases,
        });
        let mut text = serde_json::to_string_pretty(&doc).expect("json");
        text.push('\n');
        text
    }
}

/// A setup and the runtime that mints its tokens.
pub struct Fixture {
    pub group: String,
    pub description: String,
    pub setup: Value,
    pub rt: Runtime,
    authority: PrivateKey,
    keys: BTreeMap<String, PrivateKey>,
    cases: std::cell::RefCell<Vec<Value>>,
}

/// What a setup's agent looks like: id, owner, max depth, attributes.
pub struct AgentDef<'a>(pub &'a str, pub &'a str, pub u32, pub Value);

pub fn default_agents() -> Vec<AgentDef<'static>> {
    vec![
        AgentDef(BOT, ALICE, 3, json!({})),
        AgentDef(SUB, ALICE, 3, json!({})),
        AgentDef(LEAF, ALICE, 3, json!({})),
        AgentDef(SHALLOW, ALICE, 0, json!({})),
        AgentDef(CLEARED, ALICE, 2, json!({"pci_cleared": true, "team": "payments"})),
    ]
}

pub fn default_resources() -> Value {
    json!([
        {"id": "customer/42", "data_class": "internal"},
        {"id": "customer/77", "data_class": "pci"},
        {"id": "customer/88", "data_class": "pii", "attributes": {"region": "eu"}},
        {"id": "ticket/9"}
    ])
}

impl Fixture {
    /// A setup with `agents`, `resources`, `policies` and runtime `options`, and a minting
    /// runtime built from it exactly as the runners build theirs.
    pub fn new(
        group: &str,
        description: &str,
        alg: Algorithm,
        agents: &[AgentDef<'_>],
        resources: Value,
        policies: &str,
        options: Value,
    ) -> Self {
        let authority = key(alg, &format!("authority-{}", alg.as_str()));
        let mut keys = BTreeMap::new();
        let mut agent_json = Vec::new();
        for AgentDef(id, owner, depth, attrs) in agents {
            let k = key(alg, &format!("agent:{id}"));
            agent_json.push(json!({
                "id": id, "owner": owner, "max_delegation_depth": depth, "attributes": attrs,
                "public_key": k.public_key().to_jwk(), "secret_key": secret(&k),
            }));
            keys.insert((*id).to_owned(), k);
        }
        let setup = json!({
            "issuer": ISSUER,
            "now": NOW,
            "alg": alg.as_str(),
            "authority_key": secret(&authority),
            "options": options,
            "agents": agent_json,
            "resources": resources,
            "policies": policies,
        });
        let clock = FixedClock::at(NOW);
        let rt = build_runtime(&setup, &clock);
        Self {
            group: group.to_owned(),
            description: description.to_owned(),
            setup,
            rt,
            authority,
            keys,
            cases: std::cell::RefCell::default(),
        }
    }

    pub fn agent_key(&self, id: &str) -> &PrivateKey {
        self.keys.get(id).expect("a setup agent")
    }

    pub fn authority_key(&self) -> &PrivateKey {
        &self.authority
    }

    /// A grant from the authority to `to` for alice.
    pub fn delegate(&self, to: &str, scopes: Value, ttl: u64, max_depth: Option<u32>) -> String {
        self.rt
            .delegate(&DelegateRequest {
                to: to.into(),
                on_behalf_of: ALICE.into(),
                scopes: scopes_of(&scopes),
                ttl: Some(ttl),
                purpose: Some("vector".into()),
                max_depth,
            })
            .expect("delegate")
            .token()
            .to_owned()
    }

    /// `parent` narrowed by its leaf agent `by` for `to`.
    pub fn attenuate(&self, parent: &str, by: &str, to: &str, scopes: Value) -> String {
        let req = AttenuateRequest { to: to.into(), scopes: scopes_of(&scopes), ..Default::default() };
        self.rt.attenuate_with_key(parent, &req, self.agent_key(by)).expect("attenuate").token().to_owned()
    }

    /// Adds a case; ids are `<group>-NNN` in order.
    pub fn case(&self, title: &str, covers: &[&str], steps: Vec<Value>) {
        let mut cases = self.cases.borrow_mut();
        let id = format!("{}-{:03}", self.group, cases.len() + 1);
        cases.push(json!({"id": id, "title": title, "covers": covers, "steps": steps}));
    }

    /// A case on a changed setup (`patch` keys replace the setup's: `now`, `options`, `policies`).
    pub fn case_with(&self, title: &str, covers: &[&str], patch: Value, steps: Vec<Value>) {
        self.case(title, covers, steps);
        if let Some(last) = self.cases.borrow_mut().last_mut() {
            last["setup"] = patch;
        }
    }

    pub fn finish(self) -> VectorFile {
        VectorFile {
            group: self.group,
            description: self.description,
            setup: self.setup,
            cases: self.cases.into_inner(),
        }
    }
}

/// The minting runtime: the runners' recipe plus sequential ids.
fn build_runtime(setup: &Value, clock: &FixedClock) -> Runtime {
    let alg = runtime_identity::Algorithm::parse(setup["alg"].as_str().expect("alg")).expect("alg");
    let options = RuntimeOptions {
        issuer: Some(ISSUER.into()),
        alg,
        clock: Arc::new(clock.clone()),
        ids: Arc::new(SequentialIds::new()),
        require_permit: setup["options"]["require_permit"].as_bool().unwrap_or(false),
        require_proof: setup["options"]["require_proof"].as_bool().unwrap_or(false),
        ..RuntimeOptions::default()
    };
    let rt = Runtime::in_memory(options).expect("runtime");
    rt.import_authority_key(&setup["authority_key"].to_string()).expect("authority key");
    for a in setup["agents"].as_array().expect("agents") {
        let spec = AgentSpec {
            owner: a["owner"].as_str().map(str::to_owned),
            attributes: Some(a["attributes"].clone()),
            max_delegation_depth: a["max_delegation_depth"].as_u64().map(|d| d as u32),
            public_key: Some(serde_json::from_value(a["public_key"].clone()).expect("jwk")),
            ..Default::default()
        };
        rt.register_agent(a["id"].as_str().expect("id"), spec).expect("register");
    }
    let text = setup["policies"].as_str().unwrap_or_default();
    if !text.is_empty() {
        rt.load_policy_text(text).expect("policies");
    }
    for r in setup["resources"].as_array().expect("resources") {
        rt.upsert_resource(r["id"].as_str().expect("id"), r["data_class"].as_str(), r.get("attributes").cloned())
            .expect("resource");
    }
    rt
}

pub fn scopes_of(v: &Value) -> Vec<Scope> {
    v.as_array().expect("scopes").iter().map(|s| Scope::from_api_value(s).expect("scope")).collect()
}

// ---- token surgery ----

/// The links of a token, without its seal.
pub fn links(token: &str) -> Vec<String> {
    let (links, _) = token.rsplit_once('~').expect("a sealed token");
    links.split('~').map(str::to_owned).collect()
}

/// The seal of a token (its last part).
pub fn seal(token: &str) -> String {
    token.rsplit_once('~').expect("a sealed token").1.to_owned()
}

/// `links` joined by `~`, ended with the seal of `token`.
pub fn sealed(links: &[String], token: &str) -> String {
    format!("{}~{}", links.join("~"), seal(token))
}

fn part(link: &str, i: usize) -> Value {
    serde_json::from_slice(&B64.decode(link.split('.').nth(i).expect("part")).expect("b64")).expect("json")
}

pub fn header(link: &str) -> Value {
    part(link, 0)
}

pub fn claims(link: &str) -> Value {
    part(link, 1)
}

pub fn b64json(v: &Value) -> String {
    B64.encode(serde_json::to_vec(v).expect("json"))
}

/// A link with this header and these claims, signed by `key`.
pub fn resign(header: &Value, claims: &Value, key: &PrivateKey) -> String {
    sign_raw(&serde_json::to_vec(header).expect("json"), &serde_json::to_vec(claims).expect("json"), key)
}

// ---- steps ----

pub fn req(action: &str, resource: &str, args: Value) -> Value {
    json!({"action": action, "resource": resource, "args": args})
}

/// `check` expecting a decision with these reason codes.
pub fn check(token: &str, request: Value, effect: &str, reasons: &[&str]) -> Value {
    json!({"op": "check", "token": token, "request": request,
           "expect": {"effect": effect, "reasons": reasons}})
}

/// `check` expecting an allow by grant, with the chain it went through.
pub fn allow(token: &str, request: Value, chain: &[&str]) -> Value {
    let mut s = check(token, request, "allow", &["granted"]);
    s["expect"]["chain"] = json!(chain);
    s["expect"]["actor"] = json!(chain.last());
    s["expect"]["on_behalf_of"] = json!(ALICE);
    s
}

/// `verify` expecting success with this chain of agents.
pub fn verify_ok(token: &str, chain: &[&str]) -> Value {
    json!({"op": "verify", "token": token, "expect": {"chain": chain, "on_behalf_of": ALICE}})
}

/// `verify` expecting this error code.
pub fn verify_err(token: &str, code: &str) -> Value {
    json!({"op": "verify", "token": token, "expect": {"error": code}})
}

pub fn set_time(now: i64) -> Value {
    json!({"op": "set_time", "now": now})
}

pub fn op(name: &str, fields: Value) -> Value {
    let mut v = json!({"op": name});
    if let (Some(o), Some(f)) = (v.as_object_mut(), fields.as_object()) {
        o.extend(f.clone());
    }
    v
}
