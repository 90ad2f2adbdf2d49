//! Delegation tokens: valid chains of 1–3 links, every attack the core refuses (algorithm,
//! keys, signatures, chain rules, times, size, revocation), each verified and checked.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use runtime_identity::internal::jws::link_digest;
use runtime_identity::Algorithm;
use serde_json::{json, Value};

use crate::fixture::*;

const POLICIES: &str = "";

fn wide() -> Value {
    json!([
        {"actions": ["crm.*"], "resources": ["customer/*"]},
        {"actions": ["payments.refund"], "resources": ["customer/*"],
         "constraints": {"amount": {"max": 100}, "currency": {"in": ["USD", "EUR"]}},
         "limits": {"max_uses": 10, "rate": "10/min", "budget": {"arg": "amount", "max_total": 500}}}
    ])
}

fn narrow() -> Value {
    json!([{"actions": ["crm.read"], "resources": ["customer/42"]}])
}

fn narrowest() -> Value {
    json!([{"actions": ["crm.read"], "resources": ["customer/42"]}])
}

fn read42() -> Value {
    req("crm.read", "customer/42", json!({}))
}

/// Verify fails with `code`, and a check with the token denies with `reason`.
fn refused(token: &str, code: &str, reason: &str) -> Vec<Value> {
    vec![verify_err(token, code), check(token, read42(), "deny", &[reason])]
}

/// The token with its first link's ES256 signature `(r, s)` replaced by `(r, n - s)`: the
/// malleable twin any ECDSA verifier accepts unless it insists on the low-S form.
fn high_s(token: &str) -> String {
    let mut parts = links(token);
    let (signed, sig) = parts[0].rsplit_once('.').expect("a jws");
    let sig = p256::ecdsa::Signature::from_slice(&B64.decode(sig).expect("base64url")).expect("an es256 signature");
    let (r, s) = sig.split_scalars();
    let twin = p256::ecdsa::Signature::from_scalars(r, -s).expect("a signature");
    parts[0] = format!("{signed}.{}", B64.encode(twin.to_bytes()));
    sealed(&parts, token)
}

pub fn tokens(alg: Algorithm) -> VectorFile {
    let group = match alg {
        Algorithm::Es256 => "tokens-es256",
        Algorithm::EdDsa => "tokens-eddsa",
    };
    let f = Fixture::new(
        group,
        "Delegation tokens signed with one algorithm: valid chains of one to three links and the \
         attacks on them (algorithm, key ids, signatures, chain rules, times, size, revocation).",
        alg,
        &default_agents(),
        default_resources(),
        POLICIES,
        json!({}),
    );
    let t0 = f.delegate(BOT, wide(), 900, None);
    let t1 = f.attenuate(&t0, BOT, SUB, narrow());
    let t2 = f.attenuate(&t1, SUB, LEAF, narrowest());
    let p = links(&t2);
    let auth = f.authority_key();
    let bot_key = f.agent_key(BOT);
    let other_alg = match alg {
        Algorithm::Es256 => Algorithm::EdDsa,
        Algorithm::EdDsa => Algorithm::Es256,
    };

    f.case(
        "a one-link grant verifies and allows a granted call",
        &["granted"],
        vec![verify_ok(&t0, &[BOT]), allow(&t0, read42(), &[BOT])],
    );
    f.case(
        "a two-link chain verifies and allows within the narrower scope",
        &["granted"],
        vec![verify_ok(&t1, &[BOT, SUB]), allow(&t1, read42(), &[BOT, SUB])],
    );
    f.case(
        "a three-link chain verifies and allows within the narrowest scope",
        &["granted"],
        vec![verify_ok(&t2, &[BOT, SUB, LEAF]), allow(&t2, read42(), &[BOT, SUB, LEAF])],
    );
    f.case(
        "the parent's scope does not pass to the sub-agent",
        &["action_not_granted"],
        vec![check(&t1, req("crm.write", "customer/42", json!({})), "deny", &["action_not_granted"])],
    );

    // The algorithm.
    let mut h = header(&t0);
    h["alg"] = "none".into();
    let none = format!("{}.{}.~{}", b64json(&h), t0.split('.').nth(1).unwrap_or_default(), seal(&t0));
    f.case(
        "alg none is refused",
        &["algorithm_not_allowed", "credential_invalid"],
        refused(&none, "algorithm_not_allowed", "credential_invalid"),
    );
    for bad in ["HS256", "RS256", "ES384", "PS256"] {
        let mut h = header(&t0);
        h["alg"] = bad.into();
        let forged = sealed(&[resign(&h, &claims(&t0), auth)], &t0);
        f.case(
            &format!("alg {bad} is refused whatever the signature"),
            &["algorithm_not_allowed", "credential_invalid"],
            refused(&forged, "algorithm_not_allowed", "credential_invalid"),
        );
    }
    let mut h = header(&t0);
    h["alg"] = other_alg.as_str().into();
    let mismatched = sealed(&[resign(&h, &claims(&t0), auth)], &t0);
    f.case(
        "a header naming the other allowed algorithm than the key's is refused",
        &["algorithm_not_allowed", "credential_invalid"],
        refused(&mismatched, "algorithm_not_allowed", "credential_invalid"),
    );

    // Key ids and signatures.
    let mut h = header(&t0);
    h["kid"] = "not-a-key".into();
    f.case(
        "an unknown kid is refused",
        &["unknown_key"],
        refused(&sealed(&[resign(&h, &claims(&t0), auth)], &t0), "unknown_key", "credential_invalid"),
    );
    let mut h = header(&t0);
    h.as_object_mut().map(|o| o.remove("kid"));
    f.case(
        "a missing kid is refused",
        &["unknown_key"],
        refused(&sealed(&[resign(&h, &claims(&t0), auth)], &t0), "unknown_key", "credential_invalid"),
    );
    let rogue = key(alg, "rogue");
    f.case(
        "a signature by another key under the authority's kid is refused",
        &["signature_invalid"],
        refused(&sealed(&[resign(&header(&t0), &claims(&t0), &rogue)], &t0), "signature_invalid", "credential_invalid"),
    );
    let mut c = claims(&t0);
    c["rid"]["purpose"] = "vectoR".into();
    let tampered = format!(
        "{}.{}.{}",
        t0.split('.').next().unwrap_or_default(),
        b64json(&c),
        t0.split('.').nth(2).unwrap_or_default()
    );
    f.case(
        "one changed claim with the signature kept is refused",
        &["signature_invalid"],
        refused(&tampered, "signature_invalid", "credential_invalid"),
    );
    let mut bytes = links(&t0)[0].clone().into_bytes();
    let at = bytes.len() - 5;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    let flipped = sealed(&[String::from_utf8(bytes).unwrap_or_default()], &t0);
    f.case(
        "one flipped signature byte is refused",
        &["signature_invalid"],
        refused(&flipped, "signature_invalid", "credential_invalid"),
    );
    let foreign_key = key(alg, "foreign-authority");
    let mut h = header(&t0);
    h["kid"] = foreign_key.kid().into();
    let foreign = sealed(&[resign(&h, &claims(&t0), &foreign_key)], &t0);
    f.case(
        "a token of another authority is refused",
        &["unknown_key"],
        refused(&foreign, "unknown_key", "credential_invalid"),
    );

    // Chain surgery.
    let mut h = header(&p[1]);
    h["kid"] = rogue.kid().into();
    let rogue_child = sealed(&[p[0].clone(), resign(&h, &claims(&p[1]), &rogue)], &t1);
    f.case(
        "a child link signed by a key other than the parent's cnf is refused",
        &["chain_broken"],
        refused(&rogue_child, "chain_broken", "credential_invalid"),
    );
    let same_kid = sealed(&[p[0].clone(), resign(&header(&p[1]), &claims(&p[1]), &rogue)], &t1);
    f.case(
        "a child link signed by another key under the cnf kid is refused",
        &["signature_invalid"],
        refused(&same_kid, "signature_invalid", "credential_invalid"),
    );
    let dropped = sealed(&[p[0].clone(), p[2].clone()], &t2);
    f.case(
        "a dropped middle link is refused",
        &["chain_broken"],
        refused(&dropped, "chain_broken", "credential_invalid"),
    );
    let other_t1 = f.attenuate(&f.delegate(BOT, wide(), 900, None), BOT, SUB, narrow());
    let q = links(&other_t1);
    let spliced = sealed(&[p[0].clone(), q[1].clone()], &other_t1);
    f.case(
        "a link spliced from another chain of the same agents is refused (prf)",
        &["chain_broken"],
        refused(&spliced, "chain_broken", "credential_invalid"),
    );
    let swapped = sealed(&[p[0].clone(), p[2].clone(), p[1].clone()], &t2);
    f.case("swapped links are refused", &["chain_broken"], refused(&swapped, "chain_broken", "credential_invalid"));
    // The seal: a sub-agent cannot strip its last link to act with its parent's grant.
    f.case(
        "a chain's prefix with the leaf's seal is refused (the seal is not the parent's)",
        &["seal_invalid", "credential_invalid"],
        refused(&sealed(&p[..2], &t2), "seal_invalid", "credential_invalid"),
    );
    f.case(
        "a one-link prefix with the leaf's seal is refused",
        &["seal_invalid", "credential_invalid"],
        refused(&sealed(&p[..1], &t2), "seal_invalid", "credential_invalid"),
    );
    f.case(
        "a chain without its seal is refused",
        &["seal_invalid", "credential_invalid"],
        refused(&p.join("~"), "seal_invalid", "credential_invalid"),
    );
    f.case(
        "a chain's prefix without any seal is refused",
        &["seal_invalid", "credential_invalid"],
        refused(&p[..2].join("~"), "seal_invalid", "credential_invalid"),
    );
    f.case(
        "a chain with another chain's seal is refused",
        &["seal_invalid", "credential_invalid"],
        refused(&sealed(&p, &f.attenuate(&t1, SUB, LEAF, narrowest())), "seal_invalid", "credential_invalid"),
    );
    let mut s = seal(&t2).into_bytes();
    s[0] = if s[0] == b'A' { b'B' } else { b'A' };
    f.case(
        "a chain with one seal character changed is refused",
        &["seal_invalid", "credential_invalid"],
        refused(
            &format!("{}~{}", p.join("~"), String::from_utf8(s).unwrap_or_default()),
            "seal_invalid",
            "credential_invalid",
        ),
    );
    f.case(
        "a seal that is not 32 bytes of base64url is refused",
        &["seal_invalid", "credential_invalid"],
        refused(&format!("{}~AAAA", p.join("~")), "seal_invalid", "credential_invalid"),
    );
    f.case("the parent credential, with its own seal, still verifies", &["granted"], vec![verify_ok(&t1, &[BOT, SUB])]);

    type Edit = fn(&mut Value);
    let forged_children: Vec<(&str, &str, Edit)> = vec![
        ("the on-behalf-of subject changes mid-chain", "chain_broken", |c| c["sub"] = "user:mallory@acme".into()),
        ("a child outlives its parent", "scope_escalation", |c| c["exp"] = (NOW + 10_000).into()),
        ("a child widens the actions", "scope_escalation", |c| c["authorization_details"][0]["actions"] = json!(["*"])),
        ("a child widens the resources", "scope_escalation", |c| {
            c["authorization_details"][0]["locations"] = json!(["*"])
        }),
        ("a child claims a depth limit over its parent's", "depth_exceeded", |c| c["rid"]["max_depth"] = 7.into()),
        ("a child claims the wrong depth", "chain_broken", |c| c["rid"]["depth"] = 2.into()),
        ("a child's prf names another link", "chain_broken", |c| c["rid"]["prf"] = link_digest("x").into()),
        ("a child's issuer is not the parent's actor", "chain_broken", |c| c["iss"] = SUB.into()),
        ("a child's act does not extend the parent's", "chain_broken", |c| c["act"]["act"]["sub"] = LEAF.into()),
        ("a child names another audience", "audience_invalid", |c| c["aud"] = "org:other".into()),
        ("a child carries an unknown claim", "token_malformed", |c| c["extra"] = true.into()),
        ("a child's actor is not ASCII", "token_malformed", |c| c["act"]["sub"] = "agent:acmé/bot".into()),
        ("a child's actor is not registered", "agent_unknown", |c| c["act"]["sub"] = "agent:acme/ghost".into()),
    ];
    for (title, code, edit) in forged_children {
        let mut c = claims(&p[1]);
        edit(&mut c);
        let forged = sealed(&[p[0].clone(), resign(&header(&p[1]), &c, bot_key)], &t1);
        let reason = if code == "agent_unknown" { "agent_unknown" } else { "credential_invalid" };
        f.case(&format!("{title}: refused"), &[code], refused(&forged, code, reason));
    }
    let mut c = claims(&p[1]);
    c["jti"] = claims(&p[0])["jti"].clone();
    let reused = sealed(&[p[0].clone(), resign(&header(&p[1]), &c, bot_key)], &t1);
    f.case(
        "a child reusing its parent's grant id is refused",
        &["chain_broken"],
        refused(&reused, "chain_broken", "credential_invalid"),
    );

    // Link 0 rules.
    let mut c = claims(&t0);
    c["iss"] = "org:evil".into();
    f.case(
        "link 0 from another issuer is refused",
        &["issuer_invalid"],
        refused(&sealed(&[resign(&header(&t0), &c, auth)], &t0), "issuer_invalid", "credential_invalid"),
    );
    let mut h = header(&t0);
    h["typ"] = "JWT".into();
    f.case(
        "a link typed JWT is refused",
        &["token_malformed"],
        refused(&sealed(&[resign(&h, &claims(&t0), auth)], &t0), "token_malformed", "credential_invalid"),
    );
    let mut h = header(&t0);
    h["crit"] = json!(["exp"]);
    f.case(
        "a link with crit is refused",
        &["token_malformed"],
        refused(&sealed(&[resign(&h, &claims(&t0), auth)], &t0), "token_malformed", "credential_invalid"),
    );

    // Size and garbage.
    let big = format!("{t0}{}", "A".repeat(16 * 1024));
    f.case(
        "a token over 16 KiB is refused",
        &["input_too_large"],
        refused(&big, "input_too_large", "credential_invalid"),
    );
    let many = sealed(&vec![links(&t0)[0].clone(); 9], &t0);
    f.case(
        "a chain of more than 8 links is refused",
        &["depth_exceeded"],
        refused(&many, "depth_exceeded", "credential_invalid"),
    );
    let l0 = links(&t0)[0].clone();
    let s0 = seal(&t0);
    for (title, token) in [
        ("plain text", format!("not a token~{s0}")),
        ("an empty token", String::new()),
        ("a link with four parts", format!("{l0}.AAAA~{s0}")),
        ("a header that is not base64url", format!("!!!.{}~{s0}", l0.split_once('.').map(|x| x.1).unwrap_or_default())),
        ("an empty link before the seal", format!("{l0}~~{s0}")),
    ] {
        f.case(
            &format!("{title} is refused as malformed"),
            &["token_malformed"],
            refused(&token, "token_malformed", "credential_invalid"),
        );
    }

    // Times (15-minute grant issued at NOW; 30 s leeway).
    let exp = NOW + 900;
    f.case(
        "within the 30 s leeway after exp the grant still verifies",
        &["granted"],
        vec![set_time(exp + 29), verify_ok(&t0, &[BOT]), allow(&t0, read42(), &[BOT])],
    );
    f.case(
        "past exp and the leeway the grant is expired",
        &["token_expired", "credential_expired"],
        vec![
            set_time(exp + 31),
            verify_err(&t0, "token_expired"),
            check(&t0, read42(), "deny", &["credential_expired"]),
        ],
    );
    f.case(
        "before nbf beyond the leeway the grant is not yet valid",
        &["token_not_yet_valid", "credential_expired"],
        vec![
            set_time(NOW - 31),
            verify_err(&t0, "token_not_yet_valid"),
            check(&t0, read42(), "deny", &["credential_expired"]),
        ],
    );
    f.case(
        "before nbf within the leeway the grant verifies",
        &["granted"],
        vec![set_time(NOW - 29), verify_ok(&t0, &[BOT])],
    );

    // Revocation at each position of a three-link chain.
    for (i, name) in ["root", "middle", "leaf"].iter().enumerate() {
        let jti = claims(&p[i])["jti"].clone();
        f.case(
            &format!("revoking the {name} grant denies the chain"),
            &["grant_revoked"],
            vec![
                op("revoke", json!({"grant_id": jti})),
                verify_err(&t2, "grant_revoked"),
                check(&t2, read42(), "deny", &["grant_revoked"]),
            ],
        );
    }
    let jti1 = claims(&p[1])["jti"].clone();
    f.case(
        "revoking a middle grant leaves its parent usable",
        &["granted", "grant_revoked"],
        vec![
            op("revoke", json!({"grant_id": jti1})),
            allow(&t0, read42(), &[BOT]),
            check(&t1, read42(), "deny", &["grant_revoked"]),
        ],
    );
    if alg == Algorithm::Es256 {
        f.case(
            "a high-S signature (n - s of a valid one, still a valid ECDSA signature) is refused",
            &["signature_invalid"],
            refused(&high_s(&t0), "signature_invalid", "credential_invalid"),
        );
    }
    f.finish()
}
