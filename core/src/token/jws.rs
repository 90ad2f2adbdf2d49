//! JWS compact serialisation for one link: `b64(header).b64(payload).b64(signature)`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorCode, Result};
use crate::keys::{Algorithm, PrivateKey};

/// The `typ` of every delegation link.
pub const LINK_TYP: &str = "rid-delegation+jwt";

/// The protected header of a link.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    /// `ES256` or `EdDSA`.
    pub alg: String,
    /// The signing key's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Always [`LINK_TYP`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// Critical extensions: none are understood, so any is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crit: Option<serde_json::Value>,
}

/// One link split into its parts, signature not yet checked.
#[derive(Debug)]
pub struct RawLink<'a> {
    /// The whole compact link.
    pub compact: &'a str,
    /// `b64(header).b64(payload)`: the signed bytes.
    pub signing_input: &'a str,
    /// The decoded header.
    pub header: Header,
    /// The header's algorithm, parsed (only `ES256` and `EdDSA` pass).
    pub alg: Algorithm,
    /// The decoded payload bytes.
    pub payload: Vec<u8>,
    /// The decoded signature bytes.
    pub signature: Vec<u8>,
}

fn malformed(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::TokenMalformed, msg)
}

/// Splits and decodes one compact link. Checks the header (`alg`, `typ`, no `crit`) but not
/// the signature.
pub fn parse_link(compact: &str, index: usize) -> Result<RawLink<'_>> {
    parse_link_typed(compact, index, LINK_TYP)
}

/// Like [`parse_link`] for a JWS of another `typ` (approval receipts, proofs).
pub fn parse_link_typed<'a>(compact: &'a str, index: usize, typ: &str) -> Result<RawLink<'a>> {
    let mut parts = compact.splitn(4, '.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(malformed(format!("link {index} is not a jws compact serialisation (three dot-separated parts)")));
    };
    let signing_input =
        compact.get(..h.len() + 1 + p.len()).ok_or_else(|| malformed(format!("link {index} is not valid")))?;
    let header_bytes = B64.decode(h).map_err(|_| malformed(format!("link {index} header is not base64url")))?;
    // Strict first: the derived readers below refuse a repeated field they know, but not one
    // they ignore or one inside a free value, which another verifier might read differently.
    crate::json::check(&header_bytes).map_err(|e| malformed(format!("link {index} header: {e}")))?;
    let header: Header = serde_json::from_slice(&header_bytes)
        .map_err(|e| malformed(format!("link {index} header is not a json object with `alg`: {e}")))?;
    let alg =
        Algorithm::parse(&header.alg).map_err(|e| Error::new(e.code(), format!("link {index}: {}", e.message())))?;
    if header.crit.is_some() {
        return Err(malformed(format!("link {index} header has `crit`, which is not supported")));
    }
    if header.typ.as_deref() != Some(typ) {
        return Err(malformed(format!("link {index} header `typ` must be `{typ}`")));
    }
    let payload = B64.decode(p).map_err(|_| malformed(format!("link {index} payload is not base64url")))?;
    crate::json::check(&payload).map_err(|e| malformed(format!("link {index} payload: {e}")))?;
    let signature = B64.decode(s).map_err(|_| malformed(format!("link {index} signature is not base64url")))?;
    Ok(RawLink { compact, signing_input, header, alg, payload, signature })
}

/// Signs `payload` under a header `{alg, kid, typ}` and returns the compact link.
pub fn sign_link<T: Serialize>(payload: &T, key: &PrivateKey) -> Result<String> {
    let header = Header {
        alg: key.alg().as_str().to_owned(),
        kid: Some(key.kid().to_owned()),
        typ: Some(LINK_TYP.to_owned()),
        crit: None,
    };
    let header = serde_json::to_vec(&header).map_err(|e| Error::new(ErrorCode::InternalError, e.to_string()))?;
    let payload = serde_json::to_vec(payload).map_err(|e| Error::new(ErrorCode::InternalError, e.to_string()))?;
    Ok(sign_raw(&header, &payload, key))
}

/// Signs arbitrary header and payload bytes (for tools and tests that must build unusual links).
pub fn sign_raw(header: &[u8], payload: &[u8], key: &PrivateKey) -> String {
    let mut out = B64.encode(header);
    out.push('.');
    out.push_str(&B64.encode(payload));
    let sig = key.sign(out.as_bytes());
    out.push('.');
    out.push_str(&B64.encode(sig));
    out
}

/// `prf` of a link: base64url SHA-256 of its compact form.
pub fn link_digest(compact: &str) -> String {
    B64.encode(Sha256::digest(compact.as_bytes()))
}
