//! Stateless verification of a chain: sizes, signatures, and the chain rules of docs/ARCHITECTURE.md § Tokens
//! (those minting shares are stated once, in `rules.rs`).
//! Time, revocation and agent status are checked separately on every use
//! ([`check_times`], and the runtime's state), because a verified chain may be cached.

use std::sync::Arc;

use crate::error::{Error, ErrorCode, Result};
use crate::keys::{KeyMemo, PublicKey};
use crate::principal::{PrincipalId, PrincipalKind};
use crate::scope::Scope;

use super::chain::{VerifiedChain, VerifiedLink};
use super::claims::{ActClaim, LinkClaims as WireClaims};

/// A link's claims as verified: each scope kept as its JSON text until parsed into a `Scope`.
type LinkClaims = WireClaims<Box<serde_json::value::RawValue>>;
use super::intern::{Fresh, Interner};
use super::jws::{link_digest, parse_link};
use super::rules;
use super::seal::{nxt_bytes, Seal};

/// The largest token accepted, in bytes (links, `~` separators and the seal).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// The most links a chain may have (the seal after them is not a link).
pub const MAX_LINKS: usize = 8;
/// Clock leeway applied to `nbf`, `iat` and `exp`, in seconds.
pub const LEEWAY_SECONDS: i64 = 30;
/// The longest grant id accepted.
pub const MAX_JTI_LEN: usize = 128;
/// The longest purpose accepted.
pub const MAX_PURPOSE_LEN: usize = 1024;

/// Where verification finds the authority's keys.
pub trait AuthorityKeys {
    /// The authority's issuer, expected as link 0's `iss` and every link's `aud`.
    fn issuer(&self) -> &str;
    /// A verifying key by `kid`, if the authority (still) has it.
    fn key(&self, kid: &str) -> Option<PublicKey>;
}

/// What a verification may reuse from earlier ones: decoded `cnf` points, and the names and
/// scope sets of chains that verified. The runtime's verifier owns both; without them every
/// chain decodes and holds its own.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reuse<'a> {
    pub(crate) memo: &'a KeyMemo,
    pub(crate) interner: &'a Interner,
}

fn code_err(code: ErrorCode, msg: impl Into<String>) -> Error {
    Error::new(code, msg)
}

/// Verifies everything about `token` that does not change with time or state.
pub fn verify_chain(token: &str, authority: &dyn AuthorityKeys) -> Result<VerifiedChain> {
    verify_chain_reusing(token, authority, None)
}

/// [`verify_chain`], reusing decoded keys, names and scopes (and keeping this chain's for
/// later ones once it has verified).
pub(crate) fn verify_chain_reusing(
    token: &str,
    authority: &dyn AuthorityKeys,
    reuse: Option<Reuse<'_>>,
) -> Result<VerifiedChain> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(code_err(
            ErrorCode::InputTooLarge,
            format!("token is {} bytes; the limit is {MAX_TOKEN_BYTES}", token.len()),
        ));
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(code_err(ErrorCode::TokenMalformed, "token is empty"));
    }
    // The links, then the seal: the last link's `nxt` private key (checked after the links).
    let (token, seal) = super::seal::split(token)?;
    let count = token.split('~').count();
    if count > MAX_LINKS {
        return Err(code_err(ErrorCode::DepthExceeded, format!("token has {count} links; the limit is {MAX_LINKS}")));
    }
    let mut links: Vec<VerifiedLink> = Vec::with_capacity(count);
    let mut prev: Option<(&str, LinkClaims)> = None;
    let mut on_behalf_of: Option<PrincipalId> = None;
    // Names and scopes parsed here, shared with later chains only if this one verifies.
    let mut fresh = Fresh::default();
    for (i, compact) in token.split('~').enumerate() {
        let raw = parse_link(compact, i)?;
        // The key that must have signed this link.
        let signer: PublicKey = match &prev {
            None => {
                let kid = raw
                    .header
                    .kid
                    .as_deref()
                    .ok_or_else(|| code_err(ErrorCode::UnknownKey, "link 0 header has no `kid`"))?;
                authority.key(kid).ok_or_else(|| {
                    code_err(
                        ErrorCode::UnknownKey,
                        format!(
                            "link 0 is signed by key `{}`, which the authority does not have",
                            crate::principal::preview(kid)
                        ),
                    )
                })?
            }
            Some(_) => {
                // The parent's `cnf` key, parsed once when the parent link was checked.
                let key = links
                    .last()
                    .map(|parent| parent.key.clone())
                    .ok_or_else(|| code_err(ErrorCode::InternalError, "chain state is inconsistent"))?;
                if let Some(kid) = raw.header.kid.as_deref() {
                    if kid != key.kid() {
                        return Err(code_err(
                            ErrorCode::ChainBroken,
                            format!(
                                "link {i} names key `{}` but must be signed by link {}'s `cnf` key `{}`",
                                crate::principal::preview(kid),
                                i - 1,
                                key.kid()
                            ),
                        ));
                    }
                }
                key
            }
        };
        signer
            .verify(raw.alg, raw.signing_input.as_bytes(), &raw.signature)
            .map_err(|e| Error::new(e.code(), format!("link {i}: {}", e.message())))?;
        let claims: LinkClaims = serde_json::from_slice(&raw.payload)
            .map_err(|e| code_err(ErrorCode::TokenMalformed, format!("link {i} claims are not valid: {e}")))?;
        let parent = prev.as_ref().map(|(c, p)| (*c, p));
        let link = check_link(i, &claims, parent, links.last(), authority, reuse, &signer, &mut fresh)?;
        match &on_behalf_of {
            None => on_behalf_of = Some(parse_principal(reuse, &mut fresh, i, "sub", &claims.sub)?),
            Some(sub) if sub.as_str() == claims.sub => {}
            Some(sub) => {
                return Err(code_err(
                    ErrorCode::ChainBroken,
                    format!("link {i} changes `sub` from `{sub}` to `{}`", crate::principal::preview(&claims.sub)),
                ))
            }
        }
        if links.iter().any(|l| l.grant_id == link.grant_id) {
            return Err(code_err(ErrorCode::ChainBroken, format!("link {i} repeats a grant id of the chain")));
        }
        links.push(link);
        prev = Some((compact, claims));
    }
    let on_behalf_of = on_behalf_of.ok_or_else(|| code_err(ErrorCode::TokenMalformed, "token has no links"))?;
    // Only the holder of the last link's seal may present the chain: a prefix of a longer
    // chain lacks it (the seal it carries is its stripped child's).
    let last = prev.as_ref().map(|(_, claims)| &claims.rid.nxt);
    Seal::parse(seal)?
        .check(last.ok_or_else(|| code_err(ErrorCode::TokenMalformed, "token has no links"))?)
        .map_err(|e| code_err(e.code(), format!("link {}: {}", count - 1, e.message())))?;
    let not_before = links.iter().map(|l| l.not_before.max(l.issued_at)).max().unwrap_or(i64::MAX);
    let expires_at = links.iter().map(|l| l.expires_at).min().unwrap_or(i64::MIN);
    if let Some(reuse) = reuse {
        reuse.interner.keep(fresh);
    }
    Ok(VerifiedChain { on_behalf_of, links, not_before, expires_at })
}

fn parse_principal(reuse: Option<Reuse<'_>>, fresh: &mut Fresh, i: usize, field: &str, s: &str) -> Result<PrincipalId> {
    match reuse {
        Some(reuse) => reuse.interner.principal(s, fresh),
        None => PrincipalId::parse(s),
    }
    .map_err(|e| code_err(ErrorCode::TokenMalformed, format!("link {i} `{field}`: {}", e.message())))
}

fn act_depth(act: &ActClaim) -> usize {
    let mut n = 1;
    let mut cur = act.act.as_deref();
    while let Some(a) = cur {
        n += 1;
        cur = a.act.as_deref();
    }
    n
}

#[expect(clippy::too_many_arguments, reason = "one link's checks, in one place")]
fn check_link(
    i: usize,
    claims: &LinkClaims,
    parent: Option<(&str, &LinkClaims)>,
    parent_link: Option<&VerifiedLink>,
    authority: &dyn AuthorityKeys,
    reuse: Option<Reuse<'_>>,
    signer: &PublicKey,
    fresh: &mut Fresh,
) -> Result<VerifiedLink> {
    let issuer = authority.issuer();
    if claims.aud != issuer {
        return Err(code_err(
            ErrorCode::AudienceInvalid,
            format!("link {i} is for audience `{}`, not `{issuer}`", crate::principal::preview(&claims.aud)),
        ));
    }
    if claims.jti.is_empty() || claims.jti.len() > MAX_JTI_LEN || !claims.jti.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(code_err(
            ErrorCode::TokenMalformed,
            format!("link {i} `jti` must be 1 to {MAX_JTI_LEN} printable ascii bytes"),
        ));
    }
    if claims.nbf > claims.exp || claims.iat > claims.exp {
        return Err(code_err(ErrorCode::TokenMalformed, format!("link {i} expires before it starts")));
    }
    if !rules::purpose_fits(claims.rid.purpose.as_deref()) {
        return Err(code_err(ErrorCode::InputTooLarge, format!("link {i} `purpose` is over {MAX_PURPOSE_LEN} bytes")));
    }
    let actor = parse_principal(reuse, fresh, i, "act.sub", &claims.act.sub)?;
    if actor.kind() != PrincipalKind::Agent {
        return Err(code_err(ErrorCode::TokenMalformed, format!("link {i} actor `{actor}` is not an agent")));
    }
    if act_depth(&claims.act) != i + 1 {
        return Err(code_err(ErrorCode::ChainBroken, format!("link {i} `act` must name {} actors", i + 1)));
    }
    if usize::try_from(claims.rid.depth).ok() != Some(i) {
        return Err(code_err(ErrorCode::ChainBroken, format!("link {i} says it is at depth {}", claims.rid.depth)));
    }
    if !rules::max_depth_allowed(claims.rid.max_depth) {
        return Err(code_err(
            ErrorCode::DepthExceeded,
            format!("link {i} `max_depth` {} is over the limit {}", claims.rid.max_depth, rules::hard_max_depth()),
        ));
    }
    if !rules::depth_within(claims.rid.depth, claims.rid.max_depth) {
        return Err(code_err(
            ErrorCode::DepthExceeded,
            format!("link {i} is at depth {} but the chain allows {}", claims.rid.depth, claims.rid.max_depth),
        ));
    }
    nxt_bytes(&claims.rid.nxt).map_err(|e| code_err(e.code(), format!("link {i}: {}", e.message())))?;
    let key = PublicKey::from_jwk_in(&claims.cnf.jwk, reuse.map(|r| r.memo))
        .map_err(|e| code_err(ErrorCode::TokenMalformed, format!("link {i} `cnf` key: {}", e.message())))?;
    if claims.authorization_details.is_empty() {
        return Err(code_err(
            ErrorCode::TokenMalformed,
            format!("link {i} grants nothing (`authorization_details` is empty)"),
        ));
    }
    let parsed = claims
        .authorization_details
        .iter()
        .map(|s| Scope::from_wire_json(s))
        .collect::<Result<Vec<_>>>()
        .map_err(|e| code_err(ErrorCode::TokenMalformed, format!("link {i} scope: {}", e.message())))?;
    crate::scope::validate_scopes(&parsed).map_err(|e| Error::new(e.code(), format!("link {i}: {}", e.message())))?;
    // Shared with an equal set of another cached chain (the parent's, often).
    let scopes: Arc<[Scope]> = match reuse {
        Some(reuse) => reuse.interner.scopes(parsed, fresh),
        None => parsed.into(),
    };
    match (parent, parent_link) {
        (None, _) => {
            if claims.iss != issuer {
                return Err(code_err(
                    ErrorCode::IssuerInvalid,
                    format!("link 0 is issued by `{}`, not by `{issuer}`", crate::principal::preview(&claims.iss)),
                ));
            }
            if claims.act.act.is_some() || claims.rid.prf.is_some() {
                return Err(code_err(ErrorCode::ChainBroken, "link 0 must not carry a previous actor or `prf`"));
            }
        }
        (Some((parent_compact, p)), Some(pl)) => {
            if claims.iss != p.act.sub {
                return Err(code_err(
                    ErrorCode::ChainBroken,
                    format!(
                        "link {i} is issued by `{}`, but link {} grants to `{}`",
                        crate::principal::preview(&claims.iss),
                        i - 1,
                        p.act.sub
                    ),
                ));
            }
            if claims.act.act.as_deref() != Some(&p.act) {
                return Err(code_err(
                    ErrorCode::ChainBroken,
                    format!("link {i} `act` does not extend link {}'s", i - 1),
                ));
            }
            if claims.rid.prf.as_deref() != Some(link_digest(parent_compact).as_str()) {
                return Err(code_err(
                    ErrorCode::ChainBroken,
                    format!("link {i} `prf` does not bind it to link {}", i - 1),
                ));
            }
            if !rules::max_depth_narrows(claims.rid.max_depth, p.rid.max_depth) {
                return Err(code_err(
                    ErrorCode::DepthExceeded,
                    format!("link {i} raises `max_depth` from {} to {}", p.rid.max_depth, claims.rid.max_depth),
                ));
            }
            if !rules::expires_within(claims.exp, p.exp) {
                return Err(code_err(
                    ErrorCode::ScopeEscalation,
                    format!("link {i} expires after its parent ({} > {})", claims.exp, p.exp),
                ));
            }
            rules::narrows(&pl.scopes, &scopes)
                .map_err(|e| Error::new(e.code(), format!("link {i}: {}", e.message())))?;
        }
        _ => return Err(code_err(ErrorCode::InternalError, "chain state is inconsistent")),
    }
    let issuer = match (parent_link, reuse) {
        (Some(parent), _) => parent.actor.shared_str(),
        (None, Some(reuse)) => reuse.interner.issuer(&claims.iss),
        (None, None) => Arc::from(claims.iss.as_str()),
    };
    Ok(VerifiedLink {
        issuer,
        actor,
        grant_id: Arc::from(claims.jti.as_str()),
        issued_at: claims.iat,
        not_before: claims.nbf,
        expires_at: claims.exp,
        scopes,
        depth: claims.rid.depth,
        max_depth: claims.rid.max_depth,
        purpose: claims.rid.purpose.clone(),
        signed_by_kid: signer.kid_shared(),
        key_kid: key.kid_shared(),
        key,
    })
}

/// Checks the chain's time window against `now` with [`LEEWAY_SECONDS`].
pub fn check_times(chain: &VerifiedChain, now: i64) -> Result<()> {
    if now >= chain.expires_at.saturating_add(LEEWAY_SECONDS) {
        return Err(code_err(
            ErrorCode::TokenExpired,
            format!("token expired at {}", crate::clock::rfc3339(chain.expires_at)),
        ));
    }
    if now.saturating_add(LEEWAY_SECONDS) < chain.not_before {
        return Err(code_err(
            ErrorCode::TokenNotYetValid,
            format!("token is not valid before {}", crate::clock::rfc3339(chain.not_before)),
        ));
    }
    Ok(())
}
