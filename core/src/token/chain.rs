//! A verified delegation chain: what the links say once every signature and rule has held.

use std::sync::Arc;

use serde::Serialize;

use crate::keys::PublicKey;
use crate::principal::PrincipalId;
use crate::scope::Scope;

/// One verified link.
#[derive(Debug, Clone, Serialize)]
pub struct VerifiedLink {
    /// Who signed it: the authority's issuer (link 0) or the delegating agent.
    pub issuer: Arc<str>,
    /// The agent this link grants to.
    pub actor: PrincipalId,
    /// The grant id (`jti`).
    pub grant_id: Arc<str>,
    /// Issued at (Unix seconds).
    pub issued_at: i64,
    /// Not before (Unix seconds).
    pub not_before: i64,
    /// Expires (Unix seconds).
    pub expires_at: i64,
    /// What it grants. Chains granting exactly the same scopes may share them.
    pub scopes: Arc<[Scope]>,
    /// Position in the chain (0 = the authority's link).
    pub depth: u32,
    /// The deepest link the chain may reach from here.
    pub max_depth: u32,
    /// Why it was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// The `kid` of the key that signed this link.
    pub signed_by_kid: Arc<str>,
    /// The actor's key (`cnf`): the next link and proofs must be signed by it.
    #[serde(skip)]
    pub key: PublicKey,
    /// The `kid` of [`VerifiedLink::key`].
    pub key_kid: Arc<str>,
}

/// A verified chain of links.
#[derive(Debug, Clone, Serialize)]
pub struct VerifiedChain {
    /// The principal on whose behalf the chain acts (`sub`).
    pub on_behalf_of: PrincipalId,
    /// The links, the authority's first.
    pub links: Vec<VerifiedLink>,
    /// The latest `nbf` of any link.
    pub not_before: i64,
    /// The earliest `exp` of any link: the chain's expiry.
    pub expires_at: i64,
}

impl VerifiedChain {
    /// The leaf link (the one granting to the presenting agent).
    pub fn leaf(&self) -> Option<&VerifiedLink> {
        self.links.last()
    }

    /// The agent presenting the chain.
    pub fn actor(&self) -> Option<&PrincipalId> {
        self.leaf().map(|l| &l.actor)
    }

    /// The leaf's grant id.
    pub fn grant_id(&self) -> Option<&str> {
        self.leaf().map(|l| &*l.grant_id)
    }

    /// The leaf's scopes: what the presenting agent may do.
    pub fn scopes(&self) -> &[Scope] {
        self.leaf().map(|l| &l.scopes[..]).unwrap_or(&[])
    }

    /// Every agent in the chain, the authority's grantee first.
    pub fn agents(&self) -> impl Iterator<Item = &PrincipalId> {
        self.links.iter().map(|l| &l.actor)
    }

    /// Every grant id in the chain, root first.
    pub fn grant_ids(&self) -> impl Iterator<Item = &str> {
        self.links.iter().map(|l| &*l.grant_id)
    }
}
