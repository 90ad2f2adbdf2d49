//! Properties of whole tokens: verification never panics on hostile input, and a minted
//! attenuation either is refused or permits a subset of what its parent permits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use common::*;
use proptest::prelude::*;
use runtime_identity::scope::Scope;
use runtime_identity::scope::{permits_any, ScopeRequest};
use runtime_identity::{AttenuateRequest, ErrorCode};

struct World {
    f: Fixture,
    tokens: Vec<String>,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let f = fixture();
        let a = three_links(&f).token().to_owned();
        let b = three_links(&f).token().to_owned();
        let c = delegate(&f).token().to_owned();
        World { f, tokens: vec![a, b, c] }
    })
}

// World holds a Runtime, which is Sync.
fn assert_sync<T: Sync>() {}
#[test]
fn world_is_shareable() {
    assert_sync::<runtime_identity::Runtime>();
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[a-z:/.*é]{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

const CLAIMS: [&str; 11] =
    ["iss", "sub", "aud", "iat", "nbf", "exp", "jti", "act", "cnf", "authorization_details", "rid"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn verify_never_panics_on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let w = world();
        let text = String::from_utf8_lossy(&bytes);
        prop_assert!(w.f.rt.verify(&text).is_err());
    }

    #[test]
    fn verify_never_panics_on_random_splices(picks in prop::collection::vec((0usize..3, 0usize..3), 1..9), sealer in 0usize..3) {
        let w = world();
        let pieces: Vec<String> = picks.iter().map(|(t, l)| {
            let links = links(&w.tokens[*t]);
            links[*l % links.len()].clone()
        }).collect();
        let token = sealed(&pieces, &w.tokens[sealer]);
        // A splice verifies only if it is literally one real chain with its own seal: a
        // prefix of a longer chain lacks its last link's seal.
        let is_real = w.tokens.contains(&token);
        match w.f.rt.verify(&token) {
            Ok(_) => prop_assert!(is_real, "an invented splice verified: {picks:?}"),
            Err(e) => prop_assert!(!is_real || e.code() == ErrorCode::InternalError, "{e}"),
        }
        // Unsealed, nothing verifies.
        prop_assert_eq!(w.f.rt.verify(&pieces.join("~")).map(|_| ()).unwrap_err().code(), ErrorCode::SealInvalid);
    }

    #[test]
    fn verify_never_panics_on_random_claim_edits(t in 0usize..3, l in 0usize..3, field in 0usize..CLAIMS.len(), value in arb_json(), resign_it in any::<bool>()) {
        let w = world();
        let parts = links(&w.tokens[t]);
        let l = l % parts.len();
        let mut c = claims(&parts[l]);
        let original = c[CLAIMS[field]].clone();
        c[CLAIMS[field]] = value.clone();
        let edited = if resign_it {
            // Re-signed by the rightful signer: only the chain rules can catch it.
            let key = if l == 0 { authority_key(&w.f.rt) } else {
                let signer = claims(&parts[l - 1])["act"]["sub"].as_str().unwrap().to_owned();
                agent_key(&w.f.rt, &signer)
            };
            resign(&header(&parts[l]), &c, &key)
        } else {
            let mut pieces: Vec<String> = parts[l].split('.').map(str::to_owned).collect();
            pieces[1] = B64.encode(serde_json::to_vec(&c).unwrap());
            pieces.join(".")
        };
        let mut new_parts = parts.clone();
        new_parts[l] = edited;
        let result = w.f.rt.verify(&sealed(&new_parts, &w.tokens[t]));
        if value != original {
            if !resign_it {
                prop_assert!(result.is_err(), "an unsigned edit verified");
            }
            // Re-signed edits of who/what/when/chain fields must never pass unnoticed;
            // `iat`/`nbf` moves that stay valid and `rid.purpose` are the only harmless ones.
            if let Ok(cred) = &result {
                prop_assert!(matches!(CLAIMS[field], "iat" | "nbf" | "exp" | "jti"), "edit of `{}` to {value} verified", CLAIMS[field]);
                let _ = cred;
            }
        }
    }

    #[test]
    fn a_minted_attenuation_is_refused_or_permits_a_subset(
        actions in prop::collection::vec(prop::sample::select(vec!["crm.read", "crm.*", "crm.write", "payments.refund", "payments.*", "*"]), 1..3),
        resources in prop::collection::vec(prop::sample::select(vec!["customer/42", "customer/*", "*", "invoice/1"]), 1..3),
        max in prop::option::of(0i64..200),
        currency in prop::option::of(prop::sample::subsequence(vec!["USD", "EUR", "GBP"], 1..3)),
        max_uses in prop::option::of(1u64..20),
        requests in prop::collection::vec((
            prop::sample::select(vec!["crm.read", "crm.write", "payments.refund", "payments.charge", "other"]),
            prop::sample::select(vec!["customer/42", "customer/7", "invoice/1"]),
            0i64..200,
            prop::sample::select(vec!["USD", "EUR", "GBP"]),
        ), 1..12),
    ) {
        let w = world();
        let parent = delegate(&w.f);
        let mut json = serde_json::json!({"actions": actions, "resources": resources});
        let mut constraints = serde_json::Map::new();
        if let Some(m) = max { constraints.insert("amount".into(), serde_json::json!({"max": m})); }
        if let Some(c) = &currency { constraints.insert("currency".into(), serde_json::json!({"in": c})); }
        json["constraints"] = constraints.into();
        let mut limits = serde_json::Map::new();
        if let Some(n) = max_uses { limits.insert("max_uses".into(), n.into()); }
        limits.insert("rate".into(), "10/min".into());
        limits.insert("budget".into(), serde_json::json!({"arg": "amount", "max_total": 500}));
        json["limits"] = limits.into();
        let child_scope = Scope::from_api_value(&json).unwrap();
        let req = AttenuateRequest { to: SUB.into(), scopes: vec![child_scope], ..Default::default() };
        match w.f.rt.attenuate(parent.token(), &req) {
            Err(e) => prop_assert_eq!(e.code(), ErrorCode::ScopeEscalation),
            Ok(child) => {
                for (action, resource, amount, cur) in requests {
                    let args = serde_json::json!({"amount": amount, "currency": cur});
                    let r = ScopeRequest { action, resource, data_class: None, args: args.as_object().unwrap() };
                    if permits_any(child.chain().scopes(), &r).is_ok() {
                        prop_assert!(permits_any(parent.chain().scopes(), &r).is_ok(), "child permits {action} {resource} {args} beyond its parent");
                    }
                }
                // And the verifier agrees with the minter.
                prop_assert!(w.f.rt.verify(child.token()).is_ok());
            }
        }
    }
}
