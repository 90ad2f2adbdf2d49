//! Shared fixtures for the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use runtime_identity::scope::Scope;
use runtime_identity::token::Credential;
use runtime_identity::RuntimeOptions;
use runtime_identity::{
    AgentSpec, Algorithm, AttenuateRequest, DelegateRequest, ErrorCode, FixedClock, PrivateKey, Runtime,
};

pub const ISSUER: &str = "org:acme";
pub const NOW: i64 = 1_796_000_000;
pub const ALICE: &str = "user:alice@acme";
pub const BOT: &str = "agent:acme/support-bot";
pub const SUB: &str = "agent:acme/sub-bot";
pub const LEAF: &str = "agent:acme/leaf-bot";

pub struct Fixture {
    pub rt: Runtime,
    pub clock: FixedClock,
}

/// Options for issuer [`ISSUER`] with a clock fixed at [`NOW`].
pub fn options(clock: &FixedClock) -> RuntimeOptions {
    RuntimeOptions { issuer: Some(ISSUER.into()), clock: Arc::new(clock.clone()), ..RuntimeOptions::default() }
}

/// Registers [`BOT`] (owned by [`ALICE`]) in `rt` and grants it `scopes`.
pub fn bot_grant(rt: &Runtime, scopes: Vec<Scope>) -> Credential {
    rt.register_agent(BOT, AgentSpec { owner: Some(ALICE.into()), ..Default::default() }).unwrap();
    rt.delegate(&DelegateRequest { to: BOT.into(), on_behalf_of: ALICE.into(), scopes, ..Default::default() }).unwrap()
}

pub fn fixture_with(alg: Algorithm) -> Fixture {
    let clock = FixedClock::at(NOW);
    let options = RuntimeOptions { alg, ..options(&clock) };
    let rt = Runtime::in_memory(options).unwrap();
    for id in [BOT, SUB, LEAF] {
        rt.register_agent(
            id,
            AgentSpec { owner: Some(ALICE.into()), max_delegation_depth: Some(3), ..Default::default() },
        )
        .unwrap();
    }
    Fixture { rt, clock }
}

pub fn fixture() -> Fixture {
    fixture_with(Algorithm::Es256)
}

pub fn scope(json: serde_json::Value) -> Scope {
    Scope::from_api_value(&json).unwrap()
}

pub fn wide_scopes() -> Vec<Scope> {
    vec![
        scope(serde_json::json!({"actions": ["crm.*"], "resources": ["customer/*"]})),
        scope(serde_json::json!({"actions": ["payments.refund"], "resources": ["customer/*"],
            "constraints": {"amount": {"max": 100}, "currency": {"in": ["USD", "EUR"]}},
            "limits": {"max_uses": 10, "rate": "10/min", "budget": {"arg": "amount", "max_total": 500}}})),
    ]
}

pub fn narrow_scopes() -> Vec<Scope> {
    vec![scope(serde_json::json!({"actions": ["crm.read"], "resources": ["customer/42"]}))]
}

pub fn delegate(f: &Fixture) -> Credential {
    f.rt.delegate(&DelegateRequest {
        to: BOT.into(),
        on_behalf_of: ALICE.into(),
        scopes: wide_scopes(),
        ttl: Some(900),
        purpose: Some("support ticket 1234".into()),
        max_depth: None,
    })
    .unwrap()
}

pub fn attenuate(f: &Fixture, parent: &Credential, to: &str, scopes: Vec<Scope>) -> Credential {
    f.rt.attenuate(parent.token(), &AttenuateRequest { to: to.into(), scopes, ..Default::default() }).unwrap()
}

/// A 3-link chain: authority → BOT → SUB → LEAF.
pub fn three_links(f: &Fixture) -> Credential {
    let c0 = delegate(f);
    let c1 = attenuate(f, &c0, SUB, wide_scopes());
    attenuate(f, &c1, LEAF, narrow_scopes())
}

pub fn code_of(r: runtime_identity::Result<impl Sized>) -> ErrorCode {
    match r {
        Ok(_) => panic!("expected an error, got success"),
        Err(e) => e.code(),
    }
}

/// Decodes one link's claims.
pub fn claims(link: &str) -> serde_json::Value {
    let payload = link.split('.').nth(1).unwrap();
    serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap()
}

/// Decodes one link's header.
pub fn header(link: &str) -> serde_json::Value {
    let h = link.split('.').next().unwrap();
    serde_json::from_slice(&B64.decode(h).unwrap()).unwrap()
}

/// Re-signs a link with new header/claims JSON using `key`.
pub fn resign(header: &serde_json::Value, claims: &serde_json::Value, key: &PrivateKey) -> String {
    runtime_identity::internal::jws::sign_raw(
        &serde_json::to_vec(header).unwrap(),
        &serde_json::to_vec(claims).unwrap(),
        key,
    )
}

/// The authority's current signing key.
pub fn authority_key(rt: &Runtime) -> Arc<PrivateKey> {
    let keys = rt.authority_keys().unwrap();
    let kid = &keys.iter().rev().find(|k| k.retired_at.is_none()).unwrap().kid;
    rt.store().authority_private_key(kid).unwrap().unwrap()
}

/// An agent's private key as kept in the store.
pub fn agent_key(rt: &Runtime, id: &str) -> Arc<PrivateKey> {
    let rec = rt.get_agent(id).unwrap();
    rt.store().agent_private_key(&rec.current_key().unwrap().kid).unwrap().unwrap()
}

/// The links of a token, without its seal.
pub fn links(token: &str) -> Vec<String> {
    let (links, _) = token.rsplit_once('~').unwrap();
    links.split('~').map(str::to_owned).collect()
}

/// The seal of a token: its last part, the private key of its last link's `nxt`.
pub fn seal(token: &str) -> String {
    token.rsplit_once('~').unwrap().1.to_owned()
}

/// `links` (joined by `~`) ended with the seal of `token`.
pub fn sealed(links: &[String], token: &str) -> String {
    format!("{}~{}", links.join("~"), seal(token))
}
