//! Delegation: minting link 0 (`delegate`), narrower links (`attenuate`), verification with
//! caching, and revocation with cascade.

use std::sync::Arc;

use serde_json::Value;

use crate::agent::AgentStatus;
use crate::audit::{lifecycle, EventType};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::PrivateKey;
use crate::principal::{PrincipalId, PrincipalKind};
use crate::scope::{validate_scopes, Scope};
use crate::store::GrantRecord;
use crate::token::claims::{ActClaim, CnfClaim, LinkClaims, RidClaim};
use crate::token::jws::{link_digest, sign_link};
use crate::token::rules;
use crate::token::seal::Seal;
use crate::token::{Credential, Token, VerifiedChain, MAX_PURPOSE_LEN};

use super::state::Loaded;
use super::Runtime;

/// A grant from a principal to an agent, signed by the authority (link 0).
#[derive(Debug, Clone, Default)]
pub struct DelegateRequest {
    /// The agent receiving the grant.
    pub to: String,
    /// The principal on whose behalf it acts (a user, or the owner of an autonomous agent).
    pub on_behalf_of: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// Lifetime in seconds (default: the runtime's, 15 minutes).
    pub ttl: Option<u64>,
    /// Why.
    pub purpose: Option<String>,
    /// How deep the chain may grow (default and cap: the agent's `max_delegation_depth`).
    pub max_depth: Option<u32>,
}

/// A narrower grant from the credential's agent to a sub-agent.
#[derive(Debug, Clone, Default)]
pub struct AttenuateRequest {
    /// The sub-agent.
    pub to: String,
    /// What it may do: each scope covered by one of the parent's.
    pub scopes: Vec<Scope>,
    /// Lifetime in seconds (default: the runtime's, cut to the parent's expiry; an explicit
    /// ttl past the parent's expiry is refused).
    pub ttl: Option<u64>,
    /// Why.
    pub purpose: Option<String>,
    /// How deep the chain may grow from here (at most the parent's).
    pub max_depth: Option<u32>,
}

fn registered_agent_key(rt: &Runtime, id: &PrincipalId) -> Result<crate::agent::AgentKey> {
    let rec = rt.get_agent(id.as_str())?;
    match rec.status {
        AgentStatus::Active => {}
        AgentStatus::Suspended => {
            return Err(Error::new(ErrorCode::AgentSuspended, format!("agent `{id}` is suspended")))
        }
        AgentStatus::Revoked => return Err(Error::new(ErrorCode::AgentRevoked, format!("agent `{id}` is revoked"))),
    }
    rec.current_key()
        .cloned()
        .ok_or_else(|| Error::new(ErrorCode::KeyInvalid, format!("agent `{id}` has no current key")))
}

fn check_purpose(purpose: &Option<String>) -> Result<()> {
    if rules::purpose_fits(purpose.as_deref()) {
        Ok(())
    } else {
        Err(Error::new(ErrorCode::InputTooLarge, format!("`purpose` is over {MAX_PURPOSE_LEN} bytes")))
    }
}

fn to_i64(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX)
}

impl Runtime {
    pub(super) fn loaded(&self) -> Result<Arc<Loaded>> {
        self.verifier.loaded()
    }

    fn ttl(&self, ttl: Option<u64>) -> Result<u64> {
        let ttl = ttl.unwrap_or(self.options.default_ttl);
        if ttl == 0 || ttl > self.options.max_ttl {
            return Err(Error::new(
                ErrorCode::TtlInvalid,
                format!("ttl {ttl}s must be between 1s and the maximum {}s", self.options.max_ttl),
            ));
        }
        Ok(ttl)
    }

    /// The authority grants `req.scopes` to agent `req.to` on behalf of `req.on_behalf_of`.
    pub fn delegate(&self, req: &DelegateRequest) -> Result<Credential> {
        let to = PrincipalId::parse(&req.to)?.expect_agent()?;
        let sub = PrincipalId::parse(&req.on_behalf_of)?;
        if sub.kind() == PrincipalKind::Agent {
            return Err(Error::new(
                ErrorCode::PrincipalInvalid,
                format!("`on_behalf_of` `{sub}` is an agent; an agent delegates with attenuate"),
            ));
        }
        validate_scopes(&req.scopes)?;
        check_purpose(&req.purpose)?;
        let ttl = self.ttl(req.ttl)?;
        let agent = self.get_agent(to.as_str())?;
        let key = registered_agent_key(self, &to)?;
        let max_depth = match req.max_depth {
            Some(d) if !rules::within_agent_depth(0, d, agent.max_delegation_depth) => {
                return Err(Error::new(
                    ErrorCode::DepthExceeded,
                    format!(
                        "`max_depth` {d} is over agent `{to}`'s `max_delegation_depth` {}",
                        agent.max_delegation_depth
                    ),
                ))
            }
            Some(d) => d,
            None => agent.max_delegation_depth,
        };
        let now = self.now();
        let seal = Seal::from_seed(self.options.ids.seal_seed()?);
        let claims = LinkClaims {
            iss: self.issuer.clone(),
            sub: sub.as_str().to_owned(),
            aud: self.issuer.clone(),
            iat: now,
            nbf: now,
            exp: now.saturating_add(to_i64(ttl)),
            jti: self.options.ids.next_id(now.saturating_mul(1000)),
            act: ActClaim { sub: to.as_str().to_owned(), act: None },
            cnf: CnfClaim { jwk: key.jwk },
            authorization_details: req.scopes.iter().map(Scope::to_wire).collect(),
            rid: RidClaim { depth: 0, max_depth, purpose: req.purpose.clone(), prf: None, nxt: seal.public_jwk() },
        };
        let signer = self.signing_key()?;
        let link = sealed(sign_link(&claims, signer.as_ref())?, &seal);
        let grant = GrantRecord {
            key_kid: Some(claims.cnf.jwk.thumbprint()),
            grant_id: claims.jti.clone(),
            parent_id: None,
            issuer: claims.iss.clone(),
            actor: to,
            on_behalf_of: sub,
            issued_at: now,
            expires_at: claims.exp,
        };
        self.store.record_grant(&grant)?;
        let scopes = Value::Array(claims.authorization_details);
        let purpose = claims.rid.purpose.as_deref();
        self.emit(lifecycle::grant(EventType::GrantIssued, &grant, scopes, purpose, signer.kid(), self.now_ms()))?;
        self.verify(&link)
    }

    /// The agent holding `parent` grants a narrower credential to `req.to`, signing with its
    /// key from the store.
    pub fn attenuate(&self, parent: &str, req: &AttenuateRequest) -> Result<Credential> {
        let chain = self.verify_token(parent)?;
        let leaf = chain.leaf().ok_or_else(|| Error::new(ErrorCode::TokenMalformed, "token has no links"))?;
        let key = self.store.agent_private_key(&leaf.key_kid)?.ok_or_else(|| {
            Error::new(
                ErrorCode::KeyInvalid,
                format!(
                    "the store does not hold the private key `{}` of agent `{}`; sign with the agent's own key",
                    leaf.key_kid, leaf.actor
                ),
            )
        })?;
        self.attenuate_chain(parent, &chain, req, &key)
    }

    /// Like [`Runtime::attenuate`], signing with `key`, the parent's actor's private key (for
    /// agents that keep their own keys).
    pub fn attenuate_with_key(&self, parent: &str, req: &AttenuateRequest, key: &PrivateKey) -> Result<Credential> {
        let chain = self.verify_token(parent)?;
        self.attenuate_chain(parent, &chain, req, key)
    }

    fn attenuate_chain(
        &self,
        parent: &str,
        chain: &VerifiedChain,
        req: &AttenuateRequest,
        key: &PrivateKey,
    ) -> Result<Credential> {
        let leaf = chain.leaf().ok_or_else(|| Error::new(ErrorCode::TokenMalformed, "token has no links"))?;
        if key.kid() != &*leaf.key_kid {
            return Err(Error::new(
                ErrorCode::KeyInvalid,
                format!(
                    "key `{}` is not the key `{}` that the parent grant binds to agent `{}`",
                    key.kid(),
                    leaf.key_kid,
                    leaf.actor
                ),
            ));
        }
        if let Some(retired) =
            self.loaded()?.agents.get(leaf.actor.as_str()).and_then(|a| a.key_retired_at(&leaf.key_kid))
        {
            return Err(Error::new(
                ErrorCode::KeyInvalid,
                format!(
                    "key `{}` of agent `{}` was retired at {}; a retired key signs no new grant",
                    leaf.key_kid,
                    leaf.actor,
                    crate::clock::rfc3339(retired)
                ),
            ));
        }
        let to = PrincipalId::parse(&req.to)?.expect_agent()?;
        validate_scopes(&req.scopes)?;
        check_purpose(&req.purpose)?;
        let depth = leaf.depth + 1;
        if !rules::depth_within(depth, leaf.max_depth) || !rules::max_depth_allowed(depth) {
            return Err(Error::new(
                ErrorCode::DepthExceeded,
                format!(
                    "the chain allows depth {} and this grant would be at depth {depth}",
                    leaf.max_depth.min(rules::hard_max_depth())
                ),
            ));
        }
        rules::narrows(&leaf.scopes, &req.scopes)?;
        let agent = self.get_agent(to.as_str())?;
        let child_key = registered_agent_key(self, &to)?;
        let max_depth = match req.max_depth {
            Some(d) if !rules::max_depth_narrows(d, leaf.max_depth) => {
                return Err(Error::new(
                    ErrorCode::DepthExceeded,
                    format!("`max_depth` {d} is over the parent's {}", leaf.max_depth),
                ))
            }
            Some(d) if !rules::depth_within(depth, d) => {
                return Err(Error::new(
                    ErrorCode::DepthExceeded,
                    format!("`max_depth` {d} is below this grant's depth {depth}"),
                ))
            }
            Some(d) if !rules::within_agent_depth(depth, d, agent.max_delegation_depth) => {
                return Err(Error::new(
                    ErrorCode::DepthExceeded,
                    format!(
                        "`max_depth` {d} is over agent `{to}`'s `max_delegation_depth` {} from depth {depth}",
                        agent.max_delegation_depth
                    ),
                ))
            }
            Some(d) => d,
            None => leaf.max_depth.min(depth.saturating_add(agent.max_delegation_depth)),
        };
        let now = self.now();
        let exp = match req.ttl {
            Some(ttl) => {
                let exp = now.saturating_add(to_i64(self.ttl(Some(ttl))?));
                if !rules::expires_within(exp, chain.expires_at) {
                    return Err(Error::new(
                        ErrorCode::ScopeEscalation,
                        format!(
                            "ttl {ttl}s would outlive the parent grant, which expires at {}",
                            crate::clock::rfc3339(chain.expires_at)
                        ),
                    ));
                }
                exp
            }
            None => now.saturating_add(to_i64(self.ttl(None)?)).min(chain.expires_at),
        };
        // The parent's seal is dropped: the new link's replaces it.
        let (parent, _) = crate::token::seal::split(parent.trim())?;
        let last = parent.rsplit('~').next().unwrap_or(parent);
        let prev_act = act_of(chain);
        let seal = Seal::from_seed(self.options.ids.seal_seed()?);
        let claims = LinkClaims {
            iss: leaf.actor.as_str().to_owned(),
            sub: chain.on_behalf_of.as_str().to_owned(),
            aud: self.issuer.clone(),
            iat: now,
            nbf: now,
            exp,
            jti: self.options.ids.next_id(now.saturating_mul(1000)),
            act: ActClaim { sub: to.as_str().to_owned(), act: Some(Box::new(prev_act)) },
            cnf: CnfClaim { jwk: child_key.jwk },
            authorization_details: req.scopes.iter().map(Scope::to_wire).collect(),
            rid: RidClaim {
                depth,
                max_depth,
                purpose: req.purpose.clone(),
                prf: Some(link_digest(last)),
                nxt: seal.public_jwk(),
            },
        };
        let token = sealed(format!("{parent}~{}", sign_link(&claims, key)?), &seal);
        let grant = GrantRecord {
            key_kid: Some(claims.cnf.jwk.thumbprint()),
            grant_id: claims.jti.clone(),
            parent_id: Some(leaf.grant_id.to_string()),
            issuer: claims.iss.clone(),
            actor: to,
            on_behalf_of: chain.on_behalf_of.clone(),
            issued_at: now,
            expires_at: exp,
        };
        self.store.record_grant(&grant)?;
        let scopes = Value::Array(claims.authorization_details);
        let purpose = claims.rid.purpose.as_deref();
        self.emit(lifecycle::grant(EventType::GrantAttenuated, &grant, scopes, purpose, key.kid(), self.now_ms()))?;
        self.verify(&token)
    }

    /// Verifies a token completely — signatures and chain rules (cached), times, revocation
    /// and agent status (every time) — and returns the credential.
    pub fn verify(&self, token: &str) -> Result<Credential> {
        let chain = self.verify_token(token)?;
        Ok(Credential::new(Token::new(token.trim().to_owned()), chain))
    }

    /// Like [`Runtime::verify`], returning only the shared verified chain.
    pub fn verify_token(&self, token: &str) -> Result<Arc<VerifiedChain>> {
        self.verify_with(&*self.loaded()?, token)
    }

    pub(super) fn verify_with(&self, loaded: &Loaded, token: &str) -> Result<Arc<VerifiedChain>> {
        self.verifier.verify(loaded, token, self.now())
    }

    /// Re-checks an already verified credential: times, revocation, agent status, and that
    /// the authority still has the key of link 0.
    pub fn revalidate(&self, credential: &Credential) -> Result<()> {
        self.revalidate_with(&*self.loaded()?, credential)
    }

    pub(super) fn revalidate_with(&self, loaded: &Loaded, credential: &Credential) -> Result<()> {
        self.verifier.revalidate(loaded, credential.chain(), self.now())
    }

    /// Revokes a grant and, with it, every grant attenuated from it. Returns the grant ids
    /// revoked now (empty if it already was).
    pub fn revoke(&self, grant_id: &str) -> Result<Vec<String>> {
        let id = grant_id.trim();
        if id.len() > crate::token::MAX_JTI_LEN {
            // Likely a token: never echo it.
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                format!(
                    "a grant id is at most {} bytes; pass a credential or its grant id, not a token",
                    crate::token::MAX_JTI_LEN
                ),
            ));
        }
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                format!("grant id `{}` is not valid", crate::principal::preview(id)),
            ));
        }
        let revoked = self.store.revoke_grant(id, self.now())?;
        self.emit(lifecycle::grant_revoked(id, &revoked, self.now_ms()))?;
        Ok(revoked)
    }

    /// Forgets every verified chain, and the names and scope sets chains shared: the next use
    /// of each token verifies and parses it in full (the decoded agent keys stay). Nothing
    /// needs this for safety — revocation, agent status and times are checked on every use;
    /// it exists for benchmarks and tests.
    pub fn clear_chain_cache(&self) {
        self.verifier.clear();
    }

    /// Number of verified chains currently cached.
    pub fn cached_chains(&self) -> usize {
        self.verifier.cached_chains()
    }
}

/// `links~seal`, kept in a buffer that is zeroized when dropped.
fn sealed(links: String, seal: &Seal) -> zeroize::Zeroizing<String> {
    let seal = seal.encode();
    let mut token = zeroize::Zeroizing::new(String::with_capacity(links.len() + 1 + seal.len()));
    token.push_str(&links);
    token.push('~');
    token.push_str(&seal);
    token
}

fn act_of(chain: &VerifiedChain) -> ActClaim {
    let mut act: Option<ActClaim> = None;
    for link in &chain.links {
        act = Some(ActClaim { sub: link.actor.as_str().to_owned(), act: act.map(Box::new) });
    }
    act.unwrap_or(ActClaim { sub: String::new(), act: None })
}
