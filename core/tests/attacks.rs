//! Token attacks: each is refused with its stable error code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use common::*;
use runtime_identity::internal::jws::link_digest;
use runtime_identity::{Algorithm, DelegateRequest, ErrorCode, PrivateKey};

fn b64json(v: &serde_json::Value) -> String {
    B64.encode(serde_json::to_vec(v).unwrap())
}

#[test]
fn alg_none_is_refused() {
    let f = fixture();
    let token = delegate(&f).token().to_owned();
    let mut h = header(&token);
    h["alg"] = "none".into();
    let forged = format!("{}.{}.~{}", b64json(&h), token.split('.').nth(1).unwrap(), seal(&token));
    assert_eq!(code_of(f.rt.verify(&forged)), ErrorCode::AlgorithmNotAllowed);
}

#[test]
fn hs256_with_the_public_key_as_secret_is_refused() {
    use hmac_like::hs256;
    let f = fixture();
    let token = delegate(&f).token().to_owned();
    let mut h = header(&token);
    h["alg"] = "HS256".into();
    let jwks = serde_json::to_vec(&f.rt.jwks().unwrap().keys[0]).unwrap();
    let input = format!("{}.{}", b64json(&h), token.split('.').nth(1).unwrap());
    let forged = format!("{input}.{}~{}", B64.encode(hs256(&jwks, input.as_bytes())), seal(&token));
    assert_eq!(code_of(f.rt.verify(&forged)), ErrorCode::AlgorithmNotAllowed);
}

/// HMAC-SHA256 from its definition, only to build the attack token.
mod hmac_like {
    pub fn hs256(key: &[u8], msg: &[u8]) -> Vec<u8> {
        use sha2::{Digest, Sha256};
        let mut k = [0u8; 64];
        if key.len() > 64 {
            k[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
        let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
        let inner = Sha256::new().chain_update(&ipad).chain_update(msg).finalize();
        Sha256::new().chain_update(&opad).chain_update(inner).finalize().to_vec()
    }
}

#[test]
fn unknown_kid_and_missing_kid_are_refused() {
    let f = fixture();
    let token = delegate(&f).token().to_owned();
    let key = authority_key(&f.rt);
    let mut h = header(&token);
    h["kid"] = "not-a-key".into();
    assert_eq!(code_of(f.rt.verify(&sealed(&[resign(&h, &claims(&token), &key)], &token))), ErrorCode::UnknownKey);
    h.as_object_mut().unwrap().remove("kid");
    assert_eq!(code_of(f.rt.verify(&sealed(&[resign(&h, &claims(&token), &key)], &token))), ErrorCode::UnknownKey);
}

#[test]
fn a_signature_from_the_wrong_key_is_refused() {
    let f = fixture();
    let token = delegate(&f).token().to_owned();
    let rogue = PrivateKey::generate(Algorithm::Es256).unwrap();
    // Same kid in the header, signed by another key.
    let forged = sealed(&[resign(&header(&token), &claims(&token), &rogue)], &token);
    assert_eq!(code_of(f.rt.verify(&forged)), ErrorCode::SignatureInvalid);
    // A child link signed by someone other than the parent's cnf key.
    let c1 = attenuate(&f, &delegate(&f), SUB, narrow_scopes());
    let parts = links(c1.token());
    let mut h = header(&parts[1]);
    h["kid"] = rogue.kid().into();
    let forged = sealed(&[parts[0].clone(), resign(&h, &claims(&parts[1]), &rogue)], c1.token());
    assert_eq!(code_of(f.rt.verify(&forged)), ErrorCode::ChainBroken);
    let forged = sealed(&[parts[0].clone(), resign(&header(&parts[1]), &claims(&parts[1]), &rogue)], c1.token());
    assert_eq!(code_of(f.rt.verify(&forged)), ErrorCode::SignatureInvalid);
    // One flipped signature byte.
    let mut bytes = links(&token)[0].clone().into_bytes();
    let last = bytes.len() - 5;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    let flipped = sealed(&[String::from_utf8(bytes).unwrap()], &token);
    assert_eq!(code_of(f.rt.verify(&flipped)), ErrorCode::SignatureInvalid);
}

#[test]
fn reordered_dropped_and_spliced_links_are_refused() {
    let f = fixture();
    let cred = three_links(&f);
    let p = links(cred.token());
    // Reordered: link 1 first.
    let reordered = sealed(&[p[1].clone(), p[0].clone(), p[2].clone()], cred.token());
    assert!(matches!(
        code_of(f.rt.verify(&reordered)),
        ErrorCode::UnknownKey | ErrorCode::IssuerInvalid | ErrorCode::ChainBroken
    ));
    let swapped = sealed(&[p[0].clone(), p[2].clone(), p[1].clone()], cred.token());
    assert!(matches!(
        code_of(f.rt.verify(&swapped)),
        ErrorCode::UnknownKey | ErrorCode::SignatureInvalid | ErrorCode::ChainBroken
    ));
    // Dropped middle link: link 2 is not signed by link 0's cnf key.
    let dropped = sealed(&[p[0].clone(), p[2].clone()], cred.token());
    assert!(matches!(code_of(f.rt.verify(&dropped)), ErrorCode::ChainBroken | ErrorCode::SignatureInvalid));
    // Spliced from another chain of the same agents: signatures hold, prf does not.
    let other = three_links(&f);
    let q = links(other.token());
    let spliced = sealed(&[p[0].clone(), q[1].clone(), q[2].clone()], other.token());
    assert_eq!(code_of(f.rt.verify(&spliced)), ErrorCode::ChainBroken);
    let spliced = sealed(&[p[0].clone(), p[1].clone(), q[2].clone()], other.token());
    assert_eq!(code_of(f.rt.verify(&spliced)), ErrorCode::ChainBroken);
}

/// The agent itself (holding its key) tries to forge its child link.
fn forge_child(f: &Fixture, edit: impl Fn(&mut serde_json::Value)) -> ErrorCode {
    let c0 = delegate(f);
    let c1 = attenuate(f, &c0, SUB, narrow_scopes());
    let p = links(c1.token());
    let mut c = claims(&p[1]);
    edit(&mut c);
    let key = agent_key(&f.rt, BOT);
    code_of(f.rt.verify(&sealed(&[p[0].clone(), resign(&header(&p[1]), &c, &key)], c1.token())))
}

#[test]
fn a_signed_child_link_cannot_break_the_chain_rules() {
    let f = fixture();
    // sub changed mid-chain
    assert_eq!(forge_child(&f, |c| c["sub"] = "user:mallory@acme".into()), ErrorCode::ChainBroken);
    // exp extended beyond the parent
    assert_eq!(forge_child(&f, |c| c["exp"] = (NOW + 10_000).into()), ErrorCode::ScopeEscalation);
    // wider scope than the parent
    assert_eq!(
        forge_child(&f, |c| c["authorization_details"][0]["actions"] = serde_json::json!(["*"])),
        ErrorCode::ScopeEscalation
    );
    // depth over max_depth (the parent allows 3; claim depth 1 but max_depth 0)
    assert_eq!(forge_child(&f, |c| c["rid"]["max_depth"] = 0.into()), ErrorCode::DepthExceeded);
    assert_eq!(forge_child(&f, |c| c["rid"]["max_depth"] = 7.into()), ErrorCode::DepthExceeded);
    // wrong depth number, wrong prf, wrong iss, act not extending the parent's
    assert_eq!(forge_child(&f, |c| c["rid"]["depth"] = 2.into()), ErrorCode::ChainBroken);
    assert_eq!(forge_child(&f, |c| c["rid"]["prf"] = link_digest("x").into()), ErrorCode::ChainBroken);
    assert_eq!(forge_child(&f, |c| c["iss"] = SUB.into()), ErrorCode::ChainBroken);
    assert_eq!(forge_child(&f, |c| c["act"]["act"]["sub"] = LEAF.into()), ErrorCode::ChainBroken);
    assert_eq!(forge_child(&f, |c| c["aud"] = "org:other".into()), ErrorCode::AudienceInvalid);
    // unknown claim, non-ascii actor
    assert_eq!(forge_child(&f, |c| c["extra"] = true.into()), ErrorCode::TokenMalformed);
    assert_eq!(forge_child(&f, |c| c["act"]["sub"] = "agent:acmé/bot".into()), ErrorCode::TokenMalformed);
    // a registered-looking but unknown sub-agent
    assert_eq!(forge_child(&f, |c| c["act"]["sub"] = "agent:acme/ghost".into()), ErrorCode::AgentUnknown);
    // the parent's jti reused
    let c0 = delegate(&f);
    let jti = c0.grant_id().to_owned();
    let c1 = attenuate(&f, &c0, SUB, narrow_scopes());
    let p = links(c1.token());
    let mut c = claims(&p[1]);
    c["jti"] = jti.into();
    let key = agent_key(&f.rt, BOT);
    let forged = sealed(&[p[0].clone(), resign(&header(&p[1]), &c, &key)], c1.token());
    assert_eq!(code_of(f.rt.verify(&forged)), ErrorCode::ChainBroken);
}

/// Chains granting exactly the same scopes share one parsed copy; sharing never skips the
/// check that a child's scopes stay within its parent's.
#[test]
fn shared_scope_sets_are_still_checked_against_each_parent() {
    let f = fixture();
    let (a, b) = (delegate(&f), delegate(&f));
    let (a, b) = (f.rt.verify(a.token()).unwrap(), f.rt.verify(b.token()).unwrap());
    assert!(std::sync::Arc::ptr_eq(&a.chain().links[0].scopes, &b.chain().links[0].scopes));
    let req =
        DelegateRequest { to: BOT.into(), on_behalf_of: ALICE.into(), scopes: narrow_scopes(), ..Default::default() };
    let narrow = f.rt.verify(f.rt.delegate(&req).unwrap().token()).unwrap();
    assert!(!std::sync::Arc::ptr_eq(&a.chain().links[0].scopes, &narrow.chain().links[0].scopes));
    assert_eq!(narrow.chain().scopes(), narrow_scopes().as_slice());
    // A narrow parent; the child link re-signed with the wide set the runtime already holds.
    let child = attenuate(&f, &narrow, SUB, narrow_scopes());
    let p = links(child.token());
    let mut c = claims(&p[1]);
    c["authorization_details"] = claims(a.token())["authorization_details"].clone();
    let key = agent_key(&f.rt, BOT);
    let forged = sealed(&[p[0].clone(), resign(&header(&p[1]), &c, &key)], child.token());
    assert_eq!(code_of(f.rt.verify(&forged)), ErrorCode::ScopeEscalation);
}

#[test]
fn link_zero_must_come_from_this_authority() {
    let f = fixture();
    let token = delegate(&f).token().to_owned();
    let key = authority_key(&f.rt);
    let mut c = claims(&token);
    c["iss"] = "org:evil".into();
    assert_eq!(code_of(f.rt.verify(&sealed(&[resign(&header(&token), &c, &key)], &token))), ErrorCode::IssuerInvalid);
    let mut h = header(&token);
    h["typ"] = "JWT".into();
    assert_eq!(code_of(f.rt.verify(&sealed(&[resign(&h, &claims(&token), &key)], &token))), ErrorCode::TokenMalformed);
    let mut h = header(&token);
    h["crit"] = serde_json::json!(["exp"]);
    assert_eq!(code_of(f.rt.verify(&sealed(&[resign(&h, &claims(&token), &key)], &token))), ErrorCode::TokenMalformed);
    // Another runtime's perfectly valid token.
    let other = fixture();
    assert!(matches!(code_of(f.rt.verify(delegate(&other).token())), ErrorCode::UnknownKey));
}

#[test]
fn oversized_deep_and_garbage_input_is_refused_cleanly() {
    let f = fixture();
    let token = delegate(&f).token().to_owned();
    // > 16 KiB
    let big = format!("{token}{}", "A".repeat(16 * 1024));
    assert_eq!(code_of(f.rt.verify(&big)), ErrorCode::InputTooLarge);
    // more than 8 links
    let many = sealed(&vec![links(&token)[0].clone(); 9], &token);
    assert_eq!(code_of(f.rt.verify(&many)), ErrorCode::DepthExceeded);
    // 1000-deep nested JSON in the claims, validly signed
    let key = authority_key(&f.rt);
    let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
    let forged =
        runtime_identity::internal::jws::sign_raw(&serde_json::to_vec(&header(&token)).unwrap(), deep.as_bytes(), &key);
    assert_eq!(code_of(f.rt.verify(&sealed(&[forged], &token))), ErrorCode::TokenMalformed);
    // deep nesting in the header
    let forged = format!("{}.{}.x~{}", B64.encode(&deep), token.split('.').nth(1).unwrap(), seal(&token));
    assert_eq!(code_of(f.rt.verify(&forged)), ErrorCode::TokenMalformed);
    let s = seal(&token);
    for garbage in ["", "~", "a.b", "a.b.c.d", "...", "e30.e30.e30", "\u{0}", "é.é.é"] {
        assert_eq!(code_of(f.rt.verify(&format!("{garbage}~{s}"))), ErrorCode::TokenMalformed, "{garbage:?}");
    }
    assert_eq!(code_of(f.rt.verify("")), ErrorCode::TokenMalformed);
    // Without a seal (or with something else in its place) nothing is parsed further.
    for unsealed in ["a.b.c.d", "e30.e30.e30", &links(&token)[0]] {
        assert_eq!(code_of(f.rt.verify(unsealed)), ErrorCode::SealInvalid, "{unsealed:?}");
    }
}

#[test]
fn non_ascii_and_malformed_principals_are_refused_everywhere() {
    let f = fixture();
    for bad in ["agent:acmé/bot", "agent:acme bot", "bot", "agent:"] {
        let spec = runtime_identity::AgentSpec { owner: Some(ALICE.into()), ..Default::default() };
        assert_eq!(code_of(f.rt.register_agent(bad, spec)), ErrorCode::PrincipalInvalid, "{bad}");
    }
    let spec = runtime_identity::AgentSpec { owner: Some("user:alicé".into()), ..Default::default() };
    assert_eq!(code_of(f.rt.register_agent("agent:acme/x", spec)), ErrorCode::PrincipalInvalid);
    let spec = runtime_identity::AgentSpec { owner: Some(BOT.into()), ..Default::default() };
    assert_eq!(code_of(f.rt.register_agent("agent:acme/x", spec)), ErrorCode::PrincipalInvalid);
    let spec = runtime_identity::AgentSpec::default();
    assert_eq!(code_of(f.rt.register_agent("agent:acme/x", spec)), ErrorCode::InvalidArgument);
    // A forged link 0 with a non-ascii sub.
    let token = delegate(&f).token().to_owned();
    let mut c = claims(&token);
    c["sub"] = "user:alicé".into();
    let forged = sealed(&[resign(&header(&token), &c, &authority_key(&f.rt))], &token);
    assert_eq!(code_of(f.rt.verify(&forged)), ErrorCode::TokenMalformed);
}

#[test]
fn a_link_must_bind_its_actor_to_one_of_the_actors_registered_keys() {
    // BOT signs a link granting to SUB but binds it to BOT's own key, hoping to act as SUB.
    let f = fixture();
    let c0 = delegate(&f);
    let c1 = attenuate(&f, &c0, SUB, narrow_scopes());
    let p = links(c1.token());
    let mut c = claims(&p[1]);
    c["cnf"]["jwk"] = claims(&p[0])["cnf"]["jwk"].clone();
    let forged = sealed(&[p[0].clone(), resign(&header(&p[1]), &c, &agent_key(&f.rt, BOT))], c1.token());
    assert_eq!(code_of(f.rt.verify(&forged)), ErrorCode::ChainBroken);
    // After SUB rotates its key, the link bound to its old key still verifies (overlap).
    f.rt.rotate_agent_key(SUB, None).unwrap();
    f.rt.verify(c1.token()).unwrap();
}

#[test]
fn an_agents_own_delegation_depth_limit_holds_at_verification() {
    let f = fixture();
    f.rt.register_agent(
        "agent:acme/no-delegation",
        runtime_identity::AgentSpec { owner: Some(ALICE.into()), max_delegation_depth: Some(0), ..Default::default() },
    )
    .unwrap();
    // BOT grants to the agent with max_depth 3, forging around the minting check.
    let c0 = delegate(&f);
    let c1 = attenuate(&f, &c0, SUB, wide_scopes());
    let p = links(c1.token());
    let mut c = claims(&p[1]);
    c["act"]["sub"] = "agent:acme/no-delegation".into();
    c["cnf"]["jwk"] = serde_json::to_value(&f.rt.get_agent("agent:acme/no-delegation").unwrap().keys[0].jwk).unwrap();
    c["rid"]["max_depth"] = 3.into();
    let forged = sealed(&[p[0].clone(), resign(&header(&p[1]), &c, &agent_key(&f.rt, BOT))], c1.token());
    assert_eq!(code_of(f.rt.verify(&forged)), ErrorCode::DepthExceeded);
    // Minting respects it too.
    let req = runtime_identity::AttenuateRequest {
        to: "agent:acme/no-delegation".into(),
        scopes: narrow_scopes(),
        max_depth: Some(3),
        ..Default::default()
    };
    assert_eq!(code_of(f.rt.attenuate(c0.token(), &req)), ErrorCode::DepthExceeded);
}

#[test]
fn a_public_key_belongs_to_one_principal() {
    let f = fixture();
    let bot_key = f.rt.get_agent(BOT).unwrap().keys[0].jwk.clone();
    let spec =
        runtime_identity::AgentSpec { owner: Some(ALICE.into()), public_key: Some(bot_key), ..Default::default() };
    assert_eq!(code_of(f.rt.register_agent("agent:acme/copycat", spec)), ErrorCode::KeyInvalid);
    let authority = f.rt.jwks().unwrap().keys[0].clone();
    let spec =
        runtime_identity::AgentSpec { owner: Some(ALICE.into()), public_key: Some(authority), ..Default::default() };
    assert_eq!(code_of(f.rt.register_agent("agent:acme/copycat", spec)), ErrorCode::KeyInvalid);
}

/// Issue 16 item 3: a sub-agent drops its last link to act with its parent's wider grant.
#[test]
fn stripping_the_last_link_does_not_give_the_parents_grant() {
    let f = fixture();
    let cred = three_links(&f);
    let p = links(cred.token());
    // The prefix with the leaf's seal: the seal is not link 1's.
    for cut in 1..p.len() {
        let prefix = sealed(&p[..cut], cred.token());
        assert_eq!(code_of(f.rt.verify(&prefix)), ErrorCode::SealInvalid, "{cut} links");
        let call =
            runtime_identity::CheckRequest { action: "crm.read", resource: Some("customer/42"), ..Default::default() };
        let decision = f.rt.check(prefix.as_str(), &call);
        assert_eq!(decision.code(), Some(runtime_identity::ReasonCode::CredentialInvalid));
        // Without any seal.
        assert_eq!(code_of(f.rt.verify(&p[..cut].join("~"))), ErrorCode::SealInvalid, "{cut} links");
    }
    // Another chain's seal does not fit either, nor an altered one.
    let other = three_links(&f);
    assert_eq!(code_of(f.rt.verify(&sealed(&p, other.token()))), ErrorCode::SealInvalid);
    let mut s = seal(cred.token()).into_bytes();
    s[0] = if s[0] == b'A' { b'B' } else { b'A' };
    let altered = format!("{}~{}", p.join("~"), String::from_utf8(s).unwrap());
    assert_eq!(code_of(f.rt.verify(&altered)), ErrorCode::SealInvalid);
    // The real token, and the parent's own (the holder of the parent credential keeps it).
    f.rt.verify(cred.token()).unwrap();
    // Attenuating replaces the seal: the child's ends with a new one matching its new link.
    let child = attenuate(&f, &f.rt.verify(cred.token()).unwrap(), "agent:acme/leaf-bot", narrow_scopes());
    assert_ne!(seal(child.token()), seal(cred.token()));
    assert_eq!(links(child.token())[..p.len()], p[..]);
    assert_eq!(code_of(f.rt.verify(&sealed(&p, child.token()))), ErrorCode::SealInvalid);
}

#[test]
fn the_seal_never_shows_in_debug_output_or_errors() {
    let f = fixture();
    let cred = three_links(&f);
    let s = seal(cred.token());
    assert!(!format!("{cred:?}").contains(&s));
    let p = links(cred.token());
    let other = three_links(&f);
    for bad in [sealed(&p[..2], cred.token()), sealed(&p, other.token()), format!("{}~{s}x", p.join("~"))] {
        let e = f.rt.verify(&bad).unwrap_err();
        assert!(!format!("{e} {e:?}").contains(&s), "{e}");
    }
    let shown = runtime_identity::token::inspect(cred.token()).unwrap();
    assert_eq!(shown.len(), 3);
    assert!(!format!("{shown:?}").contains(&s));
}

/// Issue 16 item 8: after a rotation, the retired key still signed sub-grants and proofs.
#[test]
fn a_retired_agent_key_signs_no_new_link_and_no_proof() {
    let f = fixture();
    let c0 = delegate(&f);
    let c1 = attenuate(&f, &c0, SUB, narrow_scopes());
    let old = agent_key(&f.rt, BOT);
    f.rt.rotate_agent_key(BOT, None).unwrap();
    f.clock.advance(5);
    // What the key signed before its retirement still verifies.
    f.rt.verify(c0.token()).unwrap();
    f.rt.verify(c1.token()).unwrap();
    // A new sub-grant signed with it is refused: minted, or forged by whoever kept the key.
    let req = runtime_identity::AttenuateRequest { to: SUB.into(), scopes: narrow_scopes(), ..Default::default() };
    assert_eq!(code_of(f.rt.attenuate_with_key(c0.token(), &req, &old)), ErrorCode::KeyInvalid);
    let p = links(c1.token());
    let mut c = claims(&p[1]);
    c["iat"] = (NOW + 5).into();
    c["nbf"] = (NOW + 5).into();
    c["jti"] = "0196a000-0000-7000-8000-00000000f00d".into();
    let forged = sealed(&[p[0].clone(), resign(&header(&p[1]), &c, &old)], c1.token());
    assert_eq!(code_of(f.rt.verify(&forged)), ErrorCode::KeyInvalid);
    let call =
        runtime_identity::CheckRequest { action: "crm.read", resource: Some("customer/42"), ..Default::default() };
    assert_eq!(f.rt.check(forged.as_str(), &call).code(), Some(runtime_identity::ReasonCode::CredentialInvalid));
    // A proof signed with it is refused, whenever it claims to have been made.
    let hash = f.rt.action_hash(&c0, &call).unwrap();
    for iat in [NOW, NOW + 5] {
        let proof = runtime_identity::proof::sign_proof(&old, &hash, iat).unwrap();
        let with_proof = runtime_identity::CheckRequest { proof: Some(&proof), ..call };
        let d = f.rt.check(&c0, &with_proof);
        assert_eq!(d.code(), Some(runtime_identity::ReasonCode::ProofInvalid), "{:?}", d.reasons);
    }
    // Without a proof the old grant still allows (it was issued before the rotation).
    assert!(f.rt.check(&c0, &call).allowed);
}

/// Issue 16 item 8: rotating a compromised key revokes every grant bound to it.
#[test]
fn rotating_a_compromised_key_revokes_the_grants_bound_to_it() {
    let f = fixture();
    let bound = delegate(&f);
    let child = attenuate(&f, &bound, SUB, narrow_scopes());
    let to_sub =
        f.rt.delegate(&runtime_identity::DelegateRequest {
            to: SUB.into(),
            on_behalf_of: ALICE.into(),
            scopes: narrow_scopes(),
            ..Default::default()
        })
        .unwrap();
    let opts = runtime_identity::RotateKey { public_key: None, compromised: true };
    f.rt.rotate_agent_key_with(BOT, &opts).unwrap();
    let call =
        runtime_identity::CheckRequest { action: "crm.read", resource: Some("customer/42"), ..Default::default() };
    for cred in [&bound, &child] {
        assert_eq!(code_of(f.rt.verify(cred.token())), ErrorCode::GrantRevoked);
        assert_eq!(f.rt.check(cred, &call).code(), Some(runtime_identity::ReasonCode::GrantRevoked));
    }
    // Grants bound to other keys stay; a new grant binds the new key and verifies.
    assert!(f.rt.check(&to_sub, &call).allowed);
    assert!(f.rt.check(&delegate(&f), &call).allowed);
    // A plain rotation revokes nothing.
    let kept = delegate(&f);
    f.rt.rotate_agent_key(BOT, None).unwrap();
    assert!(f.rt.check(&kept, &call).allowed);
}

/// `(r, s)` of an ES256 signature replaced by `(r, n - s)`: the same signature's malleable twin,
/// valid for any ECDSA verifier that does not insist on the low-S form.
fn high_s_twin(sig: &[u8]) -> Vec<u8> {
    let sig = p256::ecdsa::Signature::from_slice(sig).unwrap();
    assert!(sig.normalize_s().is_none(), "our own signatures are low-S");
    let (r, s) = sig.split_scalars();
    p256::ecdsa::Signature::from_scalars(r, -s).unwrap().to_bytes().to_vec()
}

#[test]
fn an_es256_high_s_twin_of_a_valid_signature_is_refused() {
    // The bare verification that tokens, receipts, proofs and checkpoints all go through.
    let key = PrivateKey::generate(Algorithm::Es256).unwrap();
    for msg in [&b"a"[..], b"b", b"c", b"d"] {
        let sig = key.sign(msg);
        key.public_key().verify(Algorithm::Es256, msg, &sig).unwrap();
        let twin = high_s_twin(&sig);
        assert_eq!(code_of(key.public_key().verify(Algorithm::Es256, msg, &twin)), ErrorCode::SignatureInvalid);
    }
    // A delegation link with its signature so replaced.
    let f = fixture_with(Algorithm::Es256);
    let token = delegate(&f).token().to_owned();
    let link = links(&token).remove(0);
    let (signed, sig) = link.rsplit_once('.').unwrap();
    let twin = format!("{signed}.{}~{}", B64.encode(high_s_twin(&B64.decode(sig).unwrap())), seal(&token));
    f.rt.verify(&token).unwrap();
    assert_eq!(code_of(f.rt.verify(&twin)), ErrorCode::SignatureInvalid);
}

#[test]
fn a_repeated_member_in_a_signed_header_or_payload_is_refused() {
    let f = fixture();
    let token = delegate(&f).token().to_owned();
    let auth = authority_key(&f.rt);
    let h = serde_json::to_string(&header(&token)).unwrap();
    let c = serde_json::to_string(&claims(&token)).unwrap();
    // A member the header reader ignores, given twice (another verifier may read either).
    let header_twice = format!("{},\"x5u\":\"https://a\",\"x5u\":\"https://b\"}}", h.trim_end_matches('}'));
    let forged = runtime_identity::internal::jws::sign_raw(header_twice.as_bytes(), c.as_bytes(), &auth);
    let e = f.rt.verify(&sealed(&[forged], &token)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::TokenMalformed, "{e}");
    assert!(e.message().contains("appears twice"), "{e}");
    // A claim given twice, inside a scope and at the top.
    let scope_twice = c.replacen("\"actions\":[", "\"actions\":[\"crm.delete\"],\"actions\":[", 1);
    let iss_twice = c.replacen("\"iss\":", "\"iss\":\"org:other\",\"iss\":", 1);
    for payload in [scope_twice, iss_twice] {
        let forged = runtime_identity::internal::jws::sign_raw(h.as_bytes(), payload.as_bytes(), &auth);
        assert_eq!(code_of(f.rt.verify(&sealed(&[forged], &token))), ErrorCode::TokenMalformed, "{payload}");
    }
}
