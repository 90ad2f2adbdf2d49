//! The seal of a delegation token (docs/ARCHITECTURE.md § Tokens, Biscuit's construction).
//!
//! Every link's `rid.nxt` is the public half of a fresh Ed25519 key pair made when the link is
//! minted; the token ends with one more `~`-separated part, the base64url private seed of the
//! last link's pair. A verifier requires the seal to match the last link's `nxt`, and
//! attenuating replaces the seal with the new link's. So the holder of a child token cannot
//! strip its last link and act with the parent's wider grant: it lacks the parent's seal.
//!
//! The seal is a secret like the token it ends: [`Seal`] has no `Clone` or `Serialize`, a
//! redacting `Debug`, zeroizes on drop, and no error message ever shows it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::error::{Error, ErrorCode, Result};
use crate::keys::Jwk;

/// Length of an encoded seal: 32 bytes in unpadded base64url.
pub const SEAL_CHARS: usize = 43;

/// The private seed of a link's `nxt` key pair.
pub struct Seal(Zeroizing<[u8; 32]>);

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::SealInvalid, msg)
}

impl Seal {
    /// A seal from 32 seed bytes (from [`crate::ids::IdSource::seal_seed`]).
    pub(crate) fn from_seed(seed: Zeroizing<[u8; 32]>) -> Self {
        Self(seed)
    }

    /// Decodes the last part of a token. Never echoes the text.
    pub fn parse(text: &str) -> Result<Self> {
        if text.len() != SEAL_CHARS {
            return Err(invalid(format!(
                "the token's last part must be its seal ({SEAL_CHARS} base64url characters after the last `~`)"
            )));
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        match B64.decode_slice(text.as_bytes(), seed.as_mut_slice()) {
            Ok(32) => Ok(Self(seed)),
            _ => Err(invalid("the token's seal is not 32 bytes of base64url")),
        }
    }

    /// The public key of this seal's pair, as a link's `nxt`.
    pub fn public_jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".to_owned(),
            crv: "Ed25519".to_owned(),
            x: B64.encode(self.public_bytes()),
            y: None,
            kid: None,
            alg: None,
            use_: None,
            d: None,
        }
    }

    fn public_bytes(&self) -> [u8; 32] {
        ed25519_dalek::SigningKey::from_bytes(&self.0).verifying_key().to_bytes()
    }

    /// The seal as the token's last part.
    pub fn encode(&self) -> Zeroizing<String> {
        Zeroizing::new(B64.encode(self.0.as_slice()))
    }

    /// Whether this is the private half of `nxt` (one scalar multiplication).
    pub fn check(&self, nxt: &Jwk) -> Result<()> {
        let expected = nxt_bytes(nxt)?;
        if bool::from(self.public_bytes().ct_eq(&expected)) {
            Ok(())
        } else {
            Err(invalid("the token's seal does not match its last link's `nxt` key"))
        }
    }
}

impl std::fmt::Debug for Seal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seal(<redacted>)")
    }
}

/// The 32 public-key bytes of an `nxt` JWK, which must be a bare Ed25519 public key.
pub fn nxt_bytes(nxt: &Jwk) -> Result<[u8; 32]> {
    if nxt.kty != "OKP" || nxt.crv != "Ed25519" || nxt.y.is_some() || nxt.d.is_some() {
        return Err(Error::new(ErrorCode::TokenMalformed, "`rid.nxt` must be an Ed25519 public jwk"));
    }
    let mut out = [0u8; 32];
    match B64.decode_slice(nxt.x.as_bytes(), &mut out) {
        Ok(32) if nxt.x.len() == SEAL_CHARS => Ok(out),
        _ => Err(Error::new(ErrorCode::TokenMalformed, "`rid.nxt` member `x` must be 32 bytes of base64url")),
    }
}

/// Splits a token into its links and its seal (the part after the last `~`, which is not a
/// JWS). A token without a seal is refused with `seal_invalid`.
pub fn split(token: &str) -> Result<(&str, &str)> {
    match token.rsplit_once('~') {
        Some((links, seal)) if !seal.contains('.') => Ok((links, seal)),
        _ => Err(invalid("the token has no seal: it must end with `~` and the seal of its last link")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn seal(n: u8) -> Seal {
        Seal::from_seed(Zeroizing::new([n; 32]))
    }

    #[test]
    fn a_seal_matches_only_its_own_nxt_and_round_trips() {
        let (a, b) = (seal(1), seal(2));
        a.check(&a.public_jwk()).unwrap();
        assert_eq!(a.check(&b.public_jwk()).unwrap_err().code(), ErrorCode::SealInvalid);
        let text = a.encode();
        assert_eq!(text.len(), SEAL_CHARS);
        Seal::parse(&text).unwrap().check(&a.public_jwk()).unwrap();
        assert_eq!(format!("{a:?}"), "Seal(<redacted>)");
    }

    #[test]
    fn malformed_seals_and_nxt_keys_are_refused_without_echo() {
        for bad in ["", "abc", &"!".repeat(SEAL_CHARS), &"A".repeat(SEAL_CHARS + 1)] {
            let e = Seal::parse(bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::SealInvalid);
            assert!(bad.len() < 4 || !e.message().contains(bad));
        }
        let mut nxt = seal(1).public_jwk();
        nxt.crv = "P-256".into();
        assert_eq!(seal(1).check(&nxt).unwrap_err().code(), ErrorCode::TokenMalformed);
        let mut nxt = seal(1).public_jwk();
        nxt.x.push('A');
        assert_eq!(seal(1).check(&nxt).unwrap_err().code(), ErrorCode::TokenMalformed);
    }

    #[test]
    fn split_needs_a_last_part_that_is_not_a_link() {
        assert_eq!(split("a.b.c~s").unwrap(), ("a.b.c", "s"));
        assert_eq!(split("a.b.c~d.e.f~s").unwrap(), ("a.b.c~d.e.f", "s"));
        for bad in ["a.b.c", "a.b.c~d.e.f", "s"] {
            assert_eq!(split(bad).unwrap_err().code(), ErrorCode::SealInvalid);
        }
    }
}
