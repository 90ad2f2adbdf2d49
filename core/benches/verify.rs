//! Verification cost of 1-, 2- and 3-link chains, cold (every signature checked) and cached
//! (chain cache hit + revocation and status checks), for ES256 and EdDSA.
#![allow(clippy::panic, reason = "a benchmark whose setup fails must stop loudly")]

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use runtime_identity::scope::Scope;
use runtime_identity::token::{verify_chain, AuthorityKeys};
use runtime_identity::RuntimeOptions;
use runtime_identity::{AgentSpec, Algorithm, AttenuateRequest, DelegateRequest, FixedClock, PublicKey, Runtime};

const NOW: i64 = 1_796_000_000;

fn chains(alg: Algorithm) -> (Runtime, Vec<String>) {
    let options = RuntimeOptions {
        issuer: Some("org:acme".into()),
        alg,
        clock: Arc::new(FixedClock::at(NOW)),
        ..RuntimeOptions::default()
    };
    let rt = Runtime::in_memory(options).unwrap_or_else(|e| panic!("{e}"));
    let agents = ["agent:acme/a", "agent:acme/b", "agent:acme/c"];
    for id in agents {
        rt.register_agent(
            id,
            AgentSpec { owner: Some("user:alice@acme".into()), max_delegation_depth: Some(3), ..Default::default() },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let scope = Scope::from_api_value(&serde_json::json!({
        "actions": ["crm.*", "payments.refund"], "resources": ["customer/*"],
        "constraints": {"amount": {"max": 100}}, "limits": {"max_uses": 100}
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let c0 = rt
        .delegate(&DelegateRequest {
            to: agents[0].into(),
            on_behalf_of: "user:alice@acme".into(),
            scopes: vec![scope.clone()],
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let c1 = rt
        .attenuate(
            c0.token(),
            &AttenuateRequest { to: agents[1].into(), scopes: vec![scope.clone()], ..Default::default() },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let c2 = rt
        .attenuate(c1.token(), &AttenuateRequest { to: agents[2].into(), scopes: vec![scope], ..Default::default() })
        .unwrap_or_else(|e| panic!("{e}"));
    let tokens = vec![c0.token().to_owned(), c1.token().to_owned(), c2.token().to_owned()];
    (rt, tokens)
}

fn folder_runtime(dir: &std::path::Path, alg: Algorithm) -> Runtime {
    let options = RuntimeOptions {
        issuer: Some("org:acme".into()),
        alg,
        clock: Arc::new(FixedClock::at(NOW)),
        ..RuntimeOptions::default()
    };
    let rt = Runtime::open(Some(dir), options).unwrap_or_else(|e| panic!("{e}"));
    rt.register_agent("agent:acme/a", AgentSpec { owner: Some("user:alice@acme".into()), ..Default::default() })
        .unwrap_or_else(|e| panic!("{e}"));
    rt
}

fn folder_token(rt: &Runtime) -> String {
    let scope = Scope::new(["crm.read"]);
    rt.delegate(&DelegateRequest {
        to: "agent:acme/a".into(),
        on_behalf_of: "user:alice@acme".into(),
        scopes: vec![scope],
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{e}"))
    .token()
    .to_owned()
}

struct Keys(String, Vec<(String, PublicKey)>);
impl AuthorityKeys for Keys {
    fn issuer(&self) -> &str {
        &self.0
    }
    fn key(&self, kid: &str) -> Option<PublicKey> {
        self.1.iter().find(|(k, _)| k == kid).map(|(_, v)| v.clone())
    }
}

fn bench(c: &mut Criterion) {
    for alg in [Algorithm::Es256, Algorithm::EdDsa] {
        let (rt, tokens) = chains(alg);
        let keys = Keys(
            rt.issuer().to_owned(),
            rt.jwks()
                .unwrap_or_else(|e| panic!("{e}"))
                .keys
                .iter()
                .map(|j| {
                    let k = PublicKey::from_jwk(j).unwrap_or_else(|e| panic!("{e}"));
                    (k.kid().to_owned(), k)
                })
                .collect(),
        );
        let mut group = c.benchmark_group(format!("verify/{alg}"));
        for (i, token) in tokens.iter().enumerate() {
            let links = i + 1;
            group.bench_with_input(BenchmarkId::new("cold", links), token, |b, t| {
                b.iter(|| verify_chain(t, &keys).unwrap_or_else(|e| panic!("{e}")))
            });
            rt.verify_token(token).unwrap_or_else(|e| panic!("{e}"));
            // A new chain of agents whose keys the runtime has met before: every signature
            // and rule checked, every scope parsed, the decoded `cnf` points reused.
            group.bench_with_input(BenchmarkId::new("first", links), token, |b, t| {
                b.iter(|| {
                    rt.clear_chain_cache();
                    rt.verify_token(t).unwrap_or_else(|e| panic!("{e}"))
                })
            });
            group.bench_with_input(BenchmarkId::new("cached", links), token, |b, t| {
                b.iter(|| rt.verify_token(t).unwrap_or_else(|e| panic!("{e}")))
            });
        }
        // The seal check alone (part of every cold and first verification): decode the seal,
        // derive its public key (one Ed25519 base-point multiplication), compare with `nxt`.
        let last = tokens.last().unwrap_or_else(|| panic!("no token"));
        let claims = runtime_identity::token::inspect(last).unwrap_or_else(|e| panic!("{e}"));
        let nxt: runtime_identity::Jwk = claims
            .last()
            .and_then(|(_, c)| c.pointer("/rid/nxt").and_then(|v| serde_json::from_value(v.clone()).ok()))
            .unwrap_or_else(|| panic!("no nxt"));
        let seal = last.rsplit('~').next().unwrap_or_default().to_owned();
        group.bench_function("seal", |b| {
            b.iter(|| {
                runtime_identity::internal::seal::Seal::parse(&seal)
                    .and_then(|s| s.check(&nxt))
                    .unwrap_or_else(|e| panic!("{e}"))
            })
        });
        // The same cached path over the folder store, which reads `store.rev` on every call
        // to see whether another process changed anything.
        let dir = std::env::temp_dir().join(format!("rid-bench-{}-{alg}", std::process::id()));
        let folder = folder_runtime(&dir, alg);
        let token = folder_token(&folder);
        folder.verify_token(&token).unwrap_or_else(|e| panic!("{e}"));
        group.bench_function("cached-folder-store/1", |b| {
            b.iter(|| folder.verify_token(&token).unwrap_or_else(|e| panic!("{e}")))
        });
        drop(folder);
        let _ = std::fs::remove_dir_all(&dir);
        group.finish();
        let key = runtime_identity::PrivateKey::generate(alg).unwrap_or_else(|e| panic!("{e}"));
        let sig = key.sign(b"a message of typical jws signing-input length, about a hundred bytes long...........");
        c.bench_function(&format!("signature/{alg}"), |b| {
            b.iter(|| {
                key.public_key()
                    .verify(
                        alg,
                        b"a message of typical jws signing-input length, about a hundred bytes long...........",
                        &sig,
                    )
                    .unwrap_or_else(|e| panic!("{e}"))
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
