//! Delegation round trips, the wire format, lifecycle effects and revocation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use runtime_identity::internal::jws::link_digest;
use runtime_identity::{Algorithm, AttenuateRequest, DelegateRequest, ErrorCode, Jwks, PrivateKey};

#[test]
fn delegate_then_attenuate_twice_verifies_with_the_specified_claims() {
    for alg in [Algorithm::Es256, Algorithm::EdDsa] {
        let f = fixture_with(alg);
        let cred = three_links(&f);
        let verified = f.rt.verify(cred.token()).unwrap();
        let chain = verified.chain();
        assert_eq!(chain.links.len(), 3);
        assert_eq!(chain.on_behalf_of.as_str(), ALICE);
        assert_eq!(chain.actor().unwrap().as_str(), LEAF);
        let agents: Vec<_> = chain.agents().map(|a| a.as_str().to_owned()).collect();
        assert_eq!(agents, [BOT, SUB, LEAF]);

        let parts = links(cred.token());
        let c: Vec<_> = parts.iter().map(|l| claims(l)).collect();
        // iss: the authority, then each delegating agent.
        assert_eq!(c[0]["iss"], ISSUER);
        assert_eq!(c[1]["iss"], BOT);
        assert_eq!(c[2]["iss"], SUB);
        // sub never changes; aud is the trust domain.
        for link in &c {
            assert_eq!(link["sub"], ALICE);
            assert_eq!(link["aud"], ISSUER);
        }
        // act nests, current actor first.
        assert_eq!(c[0]["act"], serde_json::json!({"sub": BOT}));
        assert_eq!(c[1]["act"], serde_json::json!({"sub": SUB, "act": {"sub": BOT}}));
        assert_eq!(c[2]["act"], serde_json::json!({"sub": LEAF, "act": {"sub": SUB, "act": {"sub": BOT}}}));
        // cnf binds each actor's registered key; each next link is signed by it.
        for (i, id) in [BOT, SUB, LEAF].iter().enumerate() {
            let key = f.rt.get_agent(id).unwrap().current_key().unwrap().jwk.clone();
            assert_eq!(c[i]["cnf"]["jwk"], serde_json::to_value(&key).unwrap());
            if i + 1 < 3 {
                assert_eq!(header(&parts[i + 1])["kid"], key.kid.clone().unwrap());
            }
        }
        // prf binds the order; depth counts links.
        assert!(c[0]["rid"].get("prf").is_none());
        assert_eq!(c[1]["rid"]["prf"], link_digest(&parts[0]));
        assert_eq!(c[2]["rid"]["prf"], link_digest(&parts[1]));
        for (i, link) in c.iter().enumerate() {
            assert_eq!(link["rid"]["depth"], i);
            assert_eq!(header(&parts[i])["typ"], "rid-delegation+jwt");
            assert_eq!(header(&parts[i])["alg"], alg.as_str());
        }
        assert_eq!(c[0]["rid"]["purpose"], "support ticket 1234");
        // Each link carries a fresh Ed25519 `nxt`; the token ends with the last one's seal.
        let nxts: std::collections::HashSet<String> =
            c.iter().map(|l| l["rid"]["nxt"]["x"].as_str().unwrap().to_owned()).collect();
        assert_eq!(nxts.len(), 3);
        for link in &c {
            assert_eq!(link["rid"]["nxt"]["kty"], "OKP");
            assert_eq!(link["rid"]["nxt"]["crv"], "Ed25519");
        }
        let seed: [u8; 32] =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, seal(cred.token()))
                .unwrap()
                .try_into()
                .unwrap();
        let public = PrivateKey::from_bytes(Algorithm::EdDsa, &seed).unwrap().public_key().to_jwk();
        assert_eq!(c[2]["rid"]["nxt"]["x"], public.x);
        // RFC 9396 wire names.
        let detail = &c[0]["authorization_details"][1];
        assert_eq!(detail["type"], "rid_scope");
        assert_eq!(detail["locations"], serde_json::json!(["customer/*"]));
        assert_eq!(detail["limits"]["rate"], "10/min");
        // exp never grows; the leaf's expiry is the chain's.
        assert!(c[1]["exp"].as_i64() <= c[0]["exp"].as_i64());
        assert_eq!(verified.expires_at(), NOW + 900);
    }
}

fn jwk_to_decoding_key(jwk: &serde_json::Value) -> jsonwebtoken::DecodingKey {
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).unwrap();
    jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap()
}

/// Each link is an ordinary JWT: a plain JOSE library verifies link 0 with the authority
/// JWKS and every later link with the previous link's `cnf` key, and decodes our claims.
#[test]
fn every_link_verifies_with_a_plain_jose_library() {
    for alg in [Algorithm::Es256, Algorithm::EdDsa] {
        let f = fixture_with(alg);
        let cred = three_links(&f);
        let jwks: Jwks = f.rt.jwks().unwrap();
        let jwks = serde_json::to_value(&jwks).unwrap();
        let parts = links(cred.token());
        let jose_alg = match alg {
            Algorithm::Es256 => jsonwebtoken::Algorithm::ES256,
            Algorithm::EdDsa => jsonwebtoken::Algorithm::EdDSA,
        };
        let mut validation = jsonwebtoken::Validation::new(jose_alg);
        validation.set_audience(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
        validation.validate_exp = false; // the fixture's clock is fixed in the future
        validation.validate_nbf = false;
        let mut key = {
            let kid = header(&parts[0])["kid"].clone();
            let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid).unwrap();
            jwk_to_decoding_key(jwk)
        };
        for link in &parts {
            let data = jsonwebtoken::decode::<serde_json::Value>(link, &key, &validation)
                .unwrap_or_else(|e| panic!("{alg}: jsonwebtoken refused a link: {e}"));
            assert_eq!(data.claims, claims(link));
            assert_eq!(data.header.typ.as_deref(), Some("rid-delegation+jwt"));
            key = jwk_to_decoding_key(&data.claims["cnf"]["jwk"]);
        }
        // And a tampered link (one claim byte changed) is refused by the library too.
        let mut c = claims(&parts[0]);
        c["sub"] = serde_json::json!("user:mallory@acme");
        let forged_payload =
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, serde_json::to_vec(&c).unwrap());
        let mut pieces: Vec<&str> = parts[0].split('.').collect();
        pieces[1] = &forged_payload;
        let forged = pieces.join(".");
        let kid = header(&parts[0])["kid"].clone();
        let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid).unwrap();
        assert!(jsonwebtoken::decode::<serde_json::Value>(&forged, &jwk_to_decoding_key(jwk), &validation).is_err());
        assert_eq!(code_of(f.rt.verify(&sealed(&[forged], cred.token()))), ErrorCode::SignatureInvalid);
    }
}

#[test]
fn attenuation_that_widens_is_refused_when_minted() {
    let f = fixture();
    let parent = delegate(&f);
    let cases = [
        serde_json::json!({"actions": ["payments.*"], "resources": ["customer/*"]}),
        serde_json::json!({"actions": ["crm.read"], "resources": ["*"]}),
        serde_json::json!({"actions": ["payments.refund"], "resources": ["customer/*"],
            "constraints": {"amount": {"max": 101}, "currency": {"in": ["USD"]}},
            "limits": {"max_uses": 10, "rate": "10/min", "budget": {"arg": "amount", "max_total": 500}}}),
        serde_json::json!({"actions": ["payments.refund"], "resources": ["customer/*"],
            "constraints": {"amount": {"max": 100}, "currency": {"in": ["USD"]}},
            "limits": {"max_uses": 10, "rate": "10/min"}}),
        serde_json::json!({"actions": ["payments.refund"], "resources": ["customer/*"],
            "constraints": {"amount": {"max": 100}},
            "limits": {"max_uses": 10, "rate": "10/min", "budget": {"arg": "amount", "max_total": 500}}}),
    ];
    for case in cases {
        let req = AttenuateRequest { to: SUB.into(), scopes: vec![scope(case.clone())], ..Default::default() };
        assert_eq!(code_of(f.rt.attenuate(parent.token(), &req)), ErrorCode::ScopeEscalation, "{case}");
    }
    // Exactly the parent's bounds is fine.
    let same = AttenuateRequest { to: SUB.into(), scopes: wide_scopes(), ..Default::default() };
    f.rt.attenuate(parent.token(), &same).unwrap();
    // A ttl past the parent's expiry is a widening too.
    let long = AttenuateRequest { to: SUB.into(), scopes: narrow_scopes(), ttl: Some(3600), ..Default::default() };
    assert_eq!(code_of(f.rt.attenuate(parent.token(), &long)), ErrorCode::ScopeEscalation);
    // Without a ttl, the child's lifetime is cut to the parent's.
    f.clock.advance(600);
    let child = f
        .rt
        .attenuate(parent.token(), &AttenuateRequest { to: SUB.into(), scopes: narrow_scopes(), ..Default::default() })
        .unwrap();
    assert_eq!(child.expires_at(), parent.expires_at());
}

#[test]
fn depth_limits_are_enforced_when_minted() {
    let f = fixture();
    let req = |max_depth| DelegateRequest {
        to: BOT.into(),
        on_behalf_of: ALICE.into(),
        scopes: wide_scopes(),
        max_depth,
        ..Default::default()
    };
    // The agent allows 3; asking for more is refused.
    assert_eq!(code_of(f.rt.delegate(&req(Some(4)))), ErrorCode::DepthExceeded);
    let c0 = f.rt.delegate(&req(Some(1))).unwrap();
    let c1 = attenuate(&f, &c0, SUB, wide_scopes());
    let again = AttenuateRequest { to: LEAF.into(), scopes: narrow_scopes(), ..Default::default() };
    assert_eq!(code_of(f.rt.attenuate(c1.token(), &again)), ErrorCode::DepthExceeded);
    // A child cannot raise max_depth.
    let c0 = f.rt.delegate(&req(Some(2))).unwrap();
    let raise = AttenuateRequest { to: SUB.into(), scopes: narrow_scopes(), max_depth: Some(3), ..Default::default() };
    assert_eq!(code_of(f.rt.attenuate(c0.token(), &raise)), ErrorCode::DepthExceeded);
}

#[test]
fn times_are_checked_with_thirty_seconds_leeway() {
    let f = fixture();
    let cred = delegate(&f);
    let token = cred.token().to_owned();
    f.clock.set(NOW + 900 + 29);
    f.rt.verify(&token).unwrap();
    f.clock.set(NOW + 900 + 30);
    assert_eq!(code_of(f.rt.verify(&token)), ErrorCode::TokenExpired);
    f.clock.set(NOW - 30);
    f.rt.verify(&token).unwrap();
    f.clock.set(NOW - 31);
    assert_eq!(code_of(f.rt.verify(&token)), ErrorCode::TokenNotYetValid);
}

/// The verifier's chain cache goes with the authority's keys: after a rotation the next use
/// of the store view forgets every verified chain (each token then verifies in full again,
/// and a chain of a retired key still verifies until the key is removed).
#[test]
fn a_change_of_authority_keys_forgets_the_verified_chains() {
    let f = fixture();
    let c0 = delegate(&f);
    let c1 = attenuate(&f, &c0, SUB, wide_scopes());
    f.rt.verify(c0.token()).unwrap();
    f.rt.verify(c1.token()).unwrap();
    assert!(f.rt.cached_chains() >= 2);
    let old = f.rt.jwks().unwrap().keys[0].kid.clone().unwrap();
    f.rt.rotate_authority_key(None).unwrap();
    f.rt.verify(c1.token()).unwrap();
    assert_eq!(f.rt.cached_chains(), 1, "only the chain verified since the rotation");
    f.rt.remove_authority_key(&old).unwrap();
    assert_eq!(code_of(f.rt.verify(c1.token())), ErrorCode::UnknownKey);
    assert_eq!(f.rt.cached_chains(), 0);
}

#[test]
fn revocation_cascades_to_every_descendant_and_is_seen_through_the_cache() {
    let f = fixture();
    let c0 = delegate(&f);
    let c1 = attenuate(&f, &c0, SUB, wide_scopes());
    let c2 = attenuate(&f, &c1, LEAF, narrow_scopes());
    let sibling = attenuate(&f, &c0, LEAF, narrow_scopes());
    for c in [&c0, &c1, &c2, &sibling] {
        f.rt.verify(c.token()).unwrap();
    }
    assert!(f.rt.cached_chains() >= 4);
    let revoked = f.rt.revoke(c1.grant_id()).unwrap();
    assert_eq!(revoked.len(), 2);
    assert!(revoked.contains(&c2.grant_id().to_owned()));
    f.rt.verify(c0.token()).unwrap();
    f.rt.verify(sibling.token()).unwrap();
    assert_eq!(code_of(f.rt.verify(c1.token())), ErrorCode::GrantRevoked);
    assert_eq!(code_of(f.rt.verify(c2.token())), ErrorCode::GrantRevoked);
    assert_eq!(code_of(f.rt.revalidate(&c2)), ErrorCode::GrantRevoked);
    // Revoking again is not an error and revokes nothing new.
    assert!(f.rt.revoke(c1.grant_id()).unwrap().is_empty());
    // Revoking the root takes everything down; a revoked parent cannot be attenuated.
    f.rt.revoke(c0.grant_id()).unwrap();
    assert_eq!(code_of(f.rt.verify(sibling.token())), ErrorCode::GrantRevoked);
    let req = AttenuateRequest { to: SUB.into(), scopes: narrow_scopes(), ..Default::default() };
    assert_eq!(code_of(f.rt.attenuate(c0.token(), &req)), ErrorCode::GrantRevoked);
    assert_eq!(code_of(f.rt.revoke("")), ErrorCode::InvalidArgument);
}

#[test]
fn agent_status_takes_effect_on_the_next_verification_at_every_chain_position() {
    for position in [BOT, SUB, LEAF] {
        let f = fixture();
        let cred = three_links(&f);
        f.rt.verify(cred.token()).unwrap();
        f.rt.suspend_agent(position).unwrap();
        assert_eq!(code_of(f.rt.verify(cred.token())), ErrorCode::AgentSuspended, "{position}");
        f.rt.resume_agent(position).unwrap();
        f.rt.verify(cred.token()).unwrap();
        f.rt.revoke_agent(position).unwrap();
        assert_eq!(code_of(f.rt.verify(cred.token())), ErrorCode::AgentRevoked, "{position}");
        // Revocation is final.
        assert_eq!(code_of(f.rt.resume_agent(position)), ErrorCode::AgentRevoked);
        assert_eq!(code_of(f.rt.suspend_agent(position)), ErrorCode::AgentRevoked);
    }
}

#[test]
fn grants_cannot_be_minted_for_agents_that_may_not_act() {
    let f = fixture();
    let req = |to: &str| DelegateRequest {
        to: to.into(),
        on_behalf_of: ALICE.into(),
        scopes: narrow_scopes(),
        ..Default::default()
    };
    assert_eq!(code_of(f.rt.delegate(&req("agent:acme/ghost"))), ErrorCode::AgentUnknown);
    assert_eq!(code_of(f.rt.delegate(&req("user:bob"))), ErrorCode::PrincipalInvalid);
    f.rt.suspend_agent(BOT).unwrap();
    assert_eq!(code_of(f.rt.delegate(&req(BOT))), ErrorCode::AgentSuspended);
    let bad_sub = DelegateRequest {
        to: SUB.into(),
        on_behalf_of: "agent:acme/x".into(),
        scopes: narrow_scopes(),
        ..Default::default()
    };
    assert_eq!(code_of(f.rt.delegate(&bad_sub)), ErrorCode::PrincipalInvalid);
    let no_scopes = DelegateRequest { to: SUB.into(), on_behalf_of: ALICE.into(), ..Default::default() };
    assert_eq!(code_of(f.rt.delegate(&no_scopes)), ErrorCode::ScopeInvalid);
    let too_long = DelegateRequest { ttl: Some(24 * 3600 + 1), ..req(SUB) };
    assert_eq!(code_of(f.rt.delegate(&too_long)), ErrorCode::TtlInvalid);
}

#[test]
fn an_agent_with_only_a_public_key_attenuates_with_its_own_key() {
    let f = fixture();
    let own = runtime_identity::PrivateKey::generate(Algorithm::EdDsa).unwrap();
    f.rt.register_agent(
        "agent:acme/self-keyed",
        runtime_identity::AgentSpec {
            owner: Some(ALICE.into()),
            public_key: Some(own.public_key().to_jwk()),
            ..Default::default()
        },
    )
    .unwrap();
    let c0 =
        f.rt.delegate(&DelegateRequest {
            to: "agent:acme/self-keyed".into(),
            on_behalf_of: ALICE.into(),
            scopes: wide_scopes(),
            ..Default::default()
        })
        .unwrap();
    let req = AttenuateRequest { to: SUB.into(), scopes: narrow_scopes(), ..Default::default() };
    // The store does not hold its key…
    assert_eq!(code_of(f.rt.attenuate(c0.token(), &req)), ErrorCode::KeyInvalid);
    // …a wrong key is refused…
    let other = runtime_identity::PrivateKey::generate(Algorithm::EdDsa).unwrap();
    assert_eq!(code_of(f.rt.attenuate_with_key(c0.token(), &req, &other)), ErrorCode::KeyInvalid);
    // …and its own key works.
    let c1 = f.rt.attenuate_with_key(c0.token(), &req, &own).unwrap();
    assert_eq!(&*c1.chain().links[1].signed_by_kid, own.kid());
}

#[test]
fn rotating_an_agent_key_keeps_old_grants_and_binds_new_ones_to_the_new_key() {
    let f = fixture();
    let before = delegate(&f);
    let old_kid = f.rt.get_agent(BOT).unwrap().current_key().unwrap().kid.clone();
    let rec = f.rt.rotate_agent_key(BOT, None).unwrap();
    assert_eq!(rec.keys.len(), 2);
    assert!(rec.keys[0].retired_at.is_some());
    let new_kid = rec.current_key().unwrap().kid.clone();
    assert_ne!(old_kid, new_kid);
    // The old private key is gone from the store.
    assert!(f.rt.store().agent_private_key(&old_kid).unwrap().is_none());
    f.rt.verify(before.token()).unwrap();
    let after = delegate(&f);
    assert_eq!(*after.chain().links[0].key_kid, *new_kid);
    // Grants bound to the old key can no longer be attenuated through the store.
    let req = AttenuateRequest { to: SUB.into(), scopes: narrow_scopes(), ..Default::default() };
    assert_eq!(code_of(f.rt.attenuate(before.token(), &req)), ErrorCode::KeyInvalid);
    f.rt.attenuate(after.token(), &req).unwrap();
}

#[test]
fn authority_key_rotation_overlaps_until_the_old_key_is_removed() {
    let f = fixture();
    let old = delegate(&f);
    let old_kid = old.chain().links[0].signed_by_kid.clone();
    let new = f.rt.rotate_authority_key(Some(Algorithm::EdDsa)).unwrap();
    assert_ne!(*new.kid, *old_kid);
    let jwks = f.rt.jwks().unwrap();
    assert_eq!(jwks.keys.len(), 2);
    // Old tokens still verify; new ones use the new key.
    f.rt.verify(old.token()).unwrap();
    let fresh = delegate(&f);
    assert_eq!(*fresh.chain().links[0].signed_by_kid, *new.kid);
    assert_eq!(header(fresh.token())["alg"], "EdDSA");
    // The signing key cannot be removed; the retired one can, and then its tokens fail,
    // even though the chain was cached.
    assert_eq!(code_of(f.rt.remove_authority_key(&new.kid)), ErrorCode::InvalidArgument);
    f.rt.remove_authority_key(&old_kid).unwrap();
    assert_eq!(f.rt.jwks().unwrap().keys.len(), 1);
    assert_eq!(code_of(f.rt.verify(old.token())), ErrorCode::UnknownKey);
    assert_eq!(code_of(f.rt.revalidate(&old)), ErrorCode::UnknownKey);
    f.rt.verify(fresh.token()).unwrap();
    assert_eq!(code_of(f.rt.remove_authority_key("nope")), ErrorCode::UnknownKey);
}

#[test]
fn credentials_never_show_their_token() {
    let f = fixture();
    let cred = delegate(&f);
    let shown = format!("{cred:?}");
    assert!(!shown.contains(cred.token()));
    assert!(shown.contains(cred.grant_id()));
    let key = agent_key(&f.rt, BOT);
    assert!(format!("{key:?}").contains("redacted"));
}
