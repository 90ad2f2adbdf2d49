//! The claims of one delegation link, as they are on the wire (docs/ARCHITECTURE.md § Tokens).

use serde::{Deserialize, Serialize};

use crate::keys::Jwk;

/// The payload of one link. `S` is how each scope is held: a JSON value (as issued), or its
/// raw text (as verified: parsed once, straight into a [`crate::scope::Scope`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkClaims<S = serde_json::Value> {
    /// Link 0: the authority's issuer; link i>0: the delegating agent.
    pub iss: String,
    /// The principal on whose behalf the chain acts; the same in every link.
    pub sub: String,
    /// The trust domain (the authority's issuer).
    pub aud: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Not before (Unix seconds).
    pub nbf: i64,
    /// Expires (Unix seconds).
    pub exp: i64,
    /// The grant id.
    pub jti: String,
    /// RFC 8693 actor claim, nested: current agent first.
    pub act: ActClaim,
    /// RFC 7800 confirmation: the actor's public key.
    pub cnf: CnfClaim,
    /// RFC 9396 scopes (`type: rid_scope`).
    pub authorization_details: Vec<S>,
    /// Chain bookkeeping.
    pub rid: RidClaim,
}

/// `act`: `{"sub": current, "act": {"sub": previous, …}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActClaim {
    /// The acting agent.
    pub sub: String,
    /// The agent that delegated to it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Box<ActClaim>>,
}

impl ActClaim {
    /// The actors, current first.
    pub fn subjects(&self) -> Vec<&str> {
        let mut out = vec![self.sub.as_str()];
        let mut cur = self.act.as_deref();
        while let Some(a) = cur {
            out.push(a.sub.as_str());
            cur = a.act.as_deref();
        }
        out
    }
}

/// `cnf`: `{"jwk": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CnfClaim {
    /// The actor's public key.
    pub jwk: Jwk,
}

/// `rid`: depth, limits and order binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RidClaim {
    /// 0 for the authority's link, i for link i.
    pub depth: u32,
    /// The deepest link this chain may reach.
    pub max_depth: u32,
    /// Why the grant was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// Base64url SHA-256 of the previous link (absent in link 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prf: Option<String>,
    /// The public half of a fresh Ed25519 key pair made when this link was minted; the token's
    /// seal is the private half of the last link's (see `token/seal.rs`).
    pub nxt: Jwk,
}
