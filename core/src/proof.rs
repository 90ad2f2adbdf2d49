//! Per-call proof of possession: a JWS signed by the key in the credential's leaf `cnf`, over
//! `{action_hash, iat, jti}`, single-use within its short lifetime.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::keys::{PrivateKey, PublicKey};
use crate::token::jws::parse_link_typed;

/// The JWS `typ` of proofs.
pub const PROOF_TYP: &str = "rid-proof+jwt";
/// How far a proof's `iat` may lie from now (seconds).
pub const PROOF_WINDOW_SECONDS: i64 = 60;
/// The largest proof accepted.
pub const MAX_PROOF_BYTES: usize = 2048;

/// The claims of a proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofClaims {
    /// The hash of the exact call (see [`crate::approval::action_hash`]).
    pub action_hash: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// A unique id (single use).
    pub jti: String,
}

/// Signs a proof for the call with `action_hash` (the agent side).
pub fn sign_proof(key: &PrivateKey, action_hash: &str, iat: i64) -> Result<String> {
    sign_proof_with_id(key, action_hash, iat, &uuid::Uuid::new_v4().to_string())
}

/// Signs a proof with a chosen `jti` (fixtures and vectors; it must never repeat).
pub fn sign_proof_with_id(key: &PrivateKey, action_hash: &str, iat: i64, jti: &str) -> Result<String> {
    let claims = ProofClaims { action_hash: action_hash.to_owned(), iat, jti: jti.to_owned() };
    let header = serde_json::json!({"alg": key.alg().as_str(), "kid": key.kid(), "typ": PROOF_TYP});
    let header = serde_json::to_vec(&header).map_err(|e| crate::err!(InternalError, "{e}"))?;
    let payload = serde_json::to_vec(&claims).map_err(|e| crate::err!(InternalError, "{e}"))?;
    Ok(crate::token::jws::sign_raw(&header, &payload, key))
}

/// Checks a proof against the leaf key and the call; returns its `jti` and the time until
/// which it must be remembered, or why it is invalid.
pub(crate) fn verify_proof(
    proof: &str,
    key: &PublicKey,
    action_hash: &str,
    now: i64,
) -> std::result::Result<(String, i64), String> {
    if proof.len() > MAX_PROOF_BYTES {
        return Err(format!("proof is over {MAX_PROOF_BYTES} bytes"));
    }
    let raw = parse_link_typed(proof, 0, PROOF_TYP).map_err(|e| format!("proof: {}", e.message()))?;
    key.verify(raw.alg, raw.signing_input.as_bytes(), &raw.signature)
        .map_err(|_| "proof is not signed by the credential's key".to_owned())?;
    let claims: ProofClaims =
        serde_json::from_slice(&raw.payload).map_err(|e| format!("proof claims are not valid: {e}"))?;
    if claims.action_hash != action_hash {
        return Err("proof is for another call (action hash differs)".to_owned());
    }
    if (now - claims.iat).abs() > PROOF_WINDOW_SECONDS {
        return Err(format!("proof was issued at {}, outside ±{PROOF_WINDOW_SECONDS}s of now", claims.iat));
    }
    if claims.jti.is_empty() || claims.jti.len() > 128 {
        return Err("proof `jti` must be 1 to 128 bytes".to_owned());
    }
    Ok((claims.jti, claims.iat + PROOF_WINDOW_SECONDS))
}
