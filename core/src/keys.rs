//! Signing keys (ES256, EdDSA), their public JWKs and RFC 7638 thumbprints.
//!
//! [`PrivateKey`] is a sealed type: no `Clone`, no `Serialize`, a redacting `Debug`, and the
//! key material is zeroized on drop (the underlying `p256`/`ed25519-dalek` keys zeroize
//! themselves; every intermediate buffer here is wrapped in [`Zeroizing`]).

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, ErrorCode, Result};

/// A JWS signature algorithm this project accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Algorithm {
    /// ECDSA with P-256 and SHA-256 (the default).
    #[serde(rename = "ES256")]
    Es256,
    /// Ed25519.
    #[serde(rename = "EdDSA")]
    EdDsa,
}

impl Algorithm {
    /// The JOSE name (`ES256` or `EdDSA`).
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::EdDsa => "EdDSA",
        }
    }

    /// Parses a JOSE algorithm name; anything but `ES256` and `EdDSA` is refused.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "ES256" => Ok(Algorithm::Es256),
            "EdDSA" => Ok(Algorithm::EdDsa),
            other => Err(Error::new(
                ErrorCode::AlgorithmNotAllowed,
                format!("algorithm `{}` is not allowed; use `ES256` or `EdDSA`", crate::principal::preview(other)),
            )),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Algorithm {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Algorithm::parse(s)
    }
}

/// A public JSON Web Key (RFC 7517) for P-256 (`kty: EC`) or Ed25519 (`kty: OKP`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// `EC` or `OKP`.
    pub kty: String,
    /// `P-256` or `Ed25519`.
    pub crv: String,
    /// The x coordinate (EC) or the public key (OKP), base64url.
    pub x: String,
    /// The y coordinate (EC only), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// Key id: the RFC 7638 thumbprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// `ES256` or `EdDSA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// `sig`.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Private material: present only to be refused in a public key.
    #[serde(default, skip_serializing)]
    pub d: Option<serde_json::Value>,
}

impl Jwk {
    /// The RFC 7638 thumbprint (base64url SHA-256 of the required members in lexicographic order).
    pub fn thumbprint(&self) -> String {
        let canonical = match &self.y {
            Some(y) => format!(
                r#"{{"crv":{},"kty":{},"x":{},"y":{}}}"#,
                json_str(&self.crv),
                json_str(&self.kty),
                json_str(&self.x),
                json_str(y)
            ),
            None => {
                format!(r#"{{"crv":{},"kty":{},"x":{}}}"#, json_str(&self.crv), json_str(&self.kty), json_str(&self.x))
            }
        };
        B64.encode(Sha256::digest(canonical.as_bytes()))
    }
}

fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

#[derive(Clone)]
enum PublicInner {
    Es256(p256::ecdsa::VerifyingKey),
    EdDsa(ed25519_dalek::VerifyingKey),
}

/// A verifying key with its algorithm and key id. Cheap to clone: the decoded point and the
/// id are shared (a verified chain keeps one per link; the same agent keys recur).
#[derive(Clone)]
pub struct PublicKey {
    kid: Arc<str>,
    inner: Arc<PublicInner>,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey").field("alg", &self.alg()).field("kid", &self.kid).finish()
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        match (&*self.inner, &*other.inner) {
            (PublicInner::Es256(a), PublicInner::Es256(b)) => a == b,
            (PublicInner::EdDsa(a), PublicInner::EdDsa(b)) => a == b,
            _ => false,
        }
    }
}

fn key_err(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::KeyInvalid, msg)
}

fn b64_fixed<const N: usize>(field: &str, s: &str) -> Result<[u8; N]> {
    let bytes = Zeroizing::new(B64.decode(s).map_err(|_| key_err(format!("jwk member `{field}` is not base64url")))?);
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| key_err(format!("jwk member `{field}` must be {N} bytes")))
}

impl PublicKey {
    /// The algorithm this key verifies.
    pub fn alg(&self) -> Algorithm {
        match *self.inner {
            PublicInner::Es256(_) => Algorithm::Es256,
            PublicInner::EdDsa(_) => Algorithm::EdDsa,
        }
    }

    /// The key id (RFC 7638 thumbprint).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key id, shared with this key (no copy).
    pub fn kid_shared(&self) -> Arc<str> {
        Arc::clone(&self.kid)
    }

    /// The public JWK, with `kid`, `alg` and `use: sig`.
    pub fn to_jwk(&self) -> Jwk {
        let (kty, crv, x, y) = match &*self.inner {
            PublicInner::Es256(vk) => {
                let point = vk.to_encoded_point(false);
                let x = point.x().map(|x| B64.encode(x)).unwrap_or_default();
                let y = point.y().map(|y| B64.encode(y));
                ("EC", "P-256", x, y)
            }
            PublicInner::EdDsa(vk) => ("OKP", "Ed25519", B64.encode(vk.as_bytes()), None),
        };
        Jwk {
            kty: kty.to_owned(),
            crv: crv.to_owned(),
            x,
            y,
            kid: Some(self.kid.to_string()),
            alg: Some(self.alg().as_str().to_owned()),
            use_: Some("sig".to_owned()),
            d: None,
        }
    }

    /// Parses a public JWK. The `kid` is always recomputed as the thumbprint; a `kid` in the
    /// input that differs from it, an `alg` that does not fit the curve, or private material is
    /// refused.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self> {
        Self::from_jwk_in(jwk, None)
    }

    /// [`PublicKey::from_jwk`], with the decoded point looked up in (and added to) `memo`.
    /// Every check on the JWK's members still runs; only the point decoding is reused.
    pub fn from_jwk_in(jwk: &Jwk, memo: Option<&KeyMemo>) -> Result<Self> {
        if jwk.d.is_some() {
            return Err(key_err("jwk carries private material `d`; give the public key only"));
        }
        let (inner, kid) = match memo {
            Some(memo) => memo.decode(jwk)?,
            None => (Arc::new(decode_point(jwk)?), Arc::from(jwk.thumbprint())),
        };
        let key = Self { kid, inner };
        if let Some(alg) = &jwk.alg {
            if alg != key.alg().as_str() {
                return Err(Error::new(
                    ErrorCode::AlgorithmNotAllowed,
                    format!("jwk `alg` `{}` does not fit its curve", crate::principal::preview(alg)),
                ));
            }
        }
        if let Some(kid) = &jwk.kid {
            if **kid != *key.kid {
                return Err(key_err(format!("jwk `kid` `{}` is not its thumbprint", crate::principal::preview(kid))));
            }
        }
        Ok(key)
    }

    /// Verifies `signature` over `message` as a JWS signature of algorithm `alg`.
    pub fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> Result<()> {
        if alg != self.alg() {
            return Err(Error::new(
                ErrorCode::AlgorithmNotAllowed,
                format!("algorithm `{alg}` does not fit the {} key `{}`", self.alg(), self.kid),
            ));
        }
        let ok = match &*self.inner {
            // Only the low-S form (s <= n/2): `normalize_s` answers `Some` for a high S, which
            // is the same signature's malleable twin (n - s), made without any key.
            PublicInner::Es256(vk) => p256::ecdsa::Signature::from_slice(signature)
                .map(|sig| sig.normalize_s().is_none() && vk.verify(message, &sig).is_ok())
                .unwrap_or(false),
            PublicInner::EdDsa(vk) => <[u8; 64]>::try_from(signature)
                .map(|bytes| vk.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&bytes)).is_ok())
                .unwrap_or(false),
        };
        if ok {
            Ok(())
        } else {
            Err(Error::new(ErrorCode::SignatureInvalid, format!("signature does not verify with key `{}`", self.kid)))
        }
    }
}

enum PrivateInner {
    Es256(p256::ecdsa::SigningKey),
    EdDsa(ed25519_dalek::SigningKey),
}

/// A private signing key. Sealed: not `Clone`, not serialisable except through
/// [`PrivateKey::to_secret_json`] for the key file, redacted in `Debug`, zeroized on drop.
pub struct PrivateKey {
    public: PublicKey,
    inner: PrivateInner,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("alg", &self.public.alg())
            .field("kid", &self.public.kid)
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretFile {
    alg: Algorithm,
    kid: String,
    d: String,
}

impl PrivateKey {
    /// Generates a fresh key from the operating system's random source.
    pub fn generate(alg: Algorithm) -> Result<Self> {
        for _ in 0..8 {
            let mut seed = Zeroizing::new([0u8; 32]);
            getrandom::getrandom(seed.as_mut_slice())
                .map_err(|e| Error::new(ErrorCode::InternalError, format!("no randomness available: {e}")))?;
            if let Ok(key) = Self::from_seed(alg, &seed) {
                return Ok(key);
            }
        }
        Err(Error::new(ErrorCode::InternalError, "could not generate a key"))
    }

    /// The key whose secret is these 32 bytes (the P-256 scalar, or the Ed25519 seed): for
    /// importing a key held elsewhere and for fixtures. Error `key_invalid` if the bytes are
    /// not a valid P-256 scalar.
    pub fn from_bytes(alg: Algorithm, secret: &[u8; 32]) -> Result<Self> {
        Self::from_seed(alg, secret)
    }

    fn from_seed(alg: Algorithm, seed: &[u8; 32]) -> Result<Self> {
        let inner = match alg {
            Algorithm::Es256 => PrivateInner::Es256(
                p256::ecdsa::SigningKey::from_bytes(&Zeroizing::new(p256::FieldBytes::from(*seed)))
                    .map_err(|_| key_err("private scalar is out of range for P-256"))?,
            ),
            Algorithm::EdDsa => PrivateInner::EdDsa(ed25519_dalek::SigningKey::from_bytes(seed)),
        };
        let public_inner = match &inner {
            PrivateInner::Es256(sk) => PublicInner::Es256(*sk.verifying_key()),
            PrivateInner::EdDsa(sk) => PublicInner::EdDsa(sk.verifying_key()),
        };
        let mut public = PublicKey { kid: Arc::from(""), inner: Arc::new(public_inner) };
        public.kid = Arc::from(public.to_jwk().thumbprint());
        Ok(Self { public, inner })
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The algorithm.
    pub fn alg(&self) -> Algorithm {
        self.public.alg()
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.public.kid
    }

    /// Signs `message`, returning the JWS signature bytes (r‖s for ES256).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match &self.inner {
            PrivateInner::Es256(sk) => {
                let sig: p256::ecdsa::Signature = sk.sign(message);
                // Low-S form, so that our own signatures are not malleable.
                sig.normalize_s().unwrap_or(sig).to_bytes().to_vec()
            }
            PrivateInner::EdDsa(sk) => sk.sign(message).to_bytes().to_vec(),
        }
    }

    /// The key file form: `{"alg","kid","d"}` with `d` base64url, in a zeroizing buffer.
    pub fn to_secret_json(&self) -> Result<Zeroizing<String>> {
        let d = match &self.inner {
            PrivateInner::Es256(sk) => {
                let bytes: Zeroizing<[u8; 32]> = Zeroizing::new(sk.to_bytes().into());
                Zeroizing::new(B64.encode(bytes.as_slice()))
            }
            PrivateInner::EdDsa(sk) => {
                let bytes = Zeroizing::new(sk.to_bytes());
                Zeroizing::new(B64.encode(bytes.as_slice()))
            }
        };
        let file = SecretFile { alg: self.alg(), kid: self.kid().to_owned(), d: d.to_string() };
        let out = serde_json::to_string(&file)
            .map_err(|e| Error::new(ErrorCode::InternalError, format!("cannot encode key: {e}")));
        let SecretFile { d: mut copy, .. } = file;
        zeroize::Zeroize::zeroize(&mut copy);
        out.map(Zeroizing::new)
    }

    /// Reads the key file form written by [`PrivateKey::to_secret_json`]; checks that the
    /// stored `kid` matches the key.
    pub fn from_secret_json(text: &str) -> Result<Self> {
        let file: SecretFile =
            serde_json::from_str(text).map_err(|_| key_err("key file is not a runtime-identity private key"))?;
        let SecretFile { alg, kid, d } = file;
        let d = Zeroizing::new(d);
        let seed = Zeroizing::new(b64_fixed::<32>("d", &d)?);
        let key = Self::from_seed(alg, &seed)?;
        if key.kid() != kid {
            return Err(key_err(format!("key file names `{kid}` but holds `{}`", key.kid())));
        }
        Ok(key)
    }
}

/// The point of a public JWK (the costly part of parsing: decompression or curve checks).
fn decode_point(jwk: &Jwk) -> Result<PublicInner> {
    let inner = match (jwk.kty.as_str(), jwk.crv.as_str()) {
        ("EC", "P-256") => {
            let x = b64_fixed::<32>("x", &jwk.x)?;
            let y_str = jwk.y.as_deref().ok_or_else(|| key_err("jwk member `y` is missing"))?;
            let y = b64_fixed::<32>("y", y_str)?;
            let point = p256::EncodedPoint::from_affine_coordinates(&x.into(), &y.into(), false);
            let vk = p256::ecdsa::VerifyingKey::from_encoded_point(&point)
                .map_err(|_| key_err("jwk is not a point on P-256"))?;
            PublicInner::Es256(vk)
        }
        ("OKP", "Ed25519") => {
            if jwk.y.is_some() {
                return Err(key_err("an Ed25519 jwk has no member `y`"));
            }
            let x = b64_fixed::<32>("x", &jwk.x)?;
            let vk = ed25519_dalek::VerifyingKey::from_bytes(&x)
                .map_err(|_| key_err("jwk is not a valid Ed25519 public key"))?;
            PublicInner::EdDsa(vk)
        }
        (kty, crv) => {
            return Err(key_err(format!(
                "unsupported key type `{}`/`{}`; expected EC P-256 or OKP Ed25519",
                crate::principal::preview(kty),
                crate::principal::preview(crv)
            )))
        }
    };
    Ok(inner)
}

/// Decoded public-key points and their thumbprints by their exact key material (`kty`, `crv`,
/// `x`, `y` — all a thumbprint covers): decoding an Ed25519 point costs about as much as
/// checking a signature, and the same agent keys arrive in `cnf` claims again and again. A
/// point never changes, so entries are never stale (nothing invalidates them); the memo is a
/// [`crate::bounded::SharedMap`] of [`MAX_MEMO_KEYS`] (the oldest goes when it is full; a
/// poisoned lock is an empty memo). The runtime's verifier owns one.
pub struct KeyMemo(crate::bounded::SharedMap<String, Decoded>);

/// A decoded point and its thumbprint, shared by every key made from it.
type Decoded = (Arc<PublicInner>, Arc<str>);

/// The most points a [`KeyMemo`] keeps.
pub(crate) const MAX_MEMO_KEYS: usize = 8192;

impl Default for KeyMemo {
    fn default() -> Self {
        Self(crate::bounded::SharedMap::new(MAX_MEMO_KEYS))
    }
}

impl KeyMemo {
    fn decode(&self, jwk: &Jwk) -> Result<Decoded> {
        // `y` absent and `y` empty are different keys: `{:?}` of the option tells them apart.
        let material = format!("{}|{}|{}|{:?}", jwk.kty, jwk.crv, jwk.x, jwk.y);
        if let Some(hit) = self.0.get(&material) {
            return Ok(hit);
        }
        let decoded: Decoded = (Arc::new(decode_point(jwk)?), Arc::from(jwk.thumbprint()));
        self.0.insert(material, decoded.clone());
        Ok(decoded)
    }
}

impl fmt::Debug for KeyMemo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyMemo").field("len", &self.0.len()).finish()
    }
}

/// A JSON Web Key Set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_memoized_point_still_gets_every_member_check() {
        let memo = KeyMemo::default();
        for alg in [Algorithm::Es256, Algorithm::EdDsa] {
            let jwk = PrivateKey::generate(alg).unwrap().public_key().to_jwk();
            let fresh = PublicKey::from_jwk(&jwk).unwrap();
            let first = PublicKey::from_jwk_in(&jwk, Some(&memo)).unwrap();
            let again = PublicKey::from_jwk_in(&jwk, Some(&memo)).unwrap();
            assert_eq!((first.kid(), again.kid()), (fresh.kid(), fresh.kid()));
            let mut wrong_kid = jwk.clone();
            wrong_kid.kid = Some("not-the-thumbprint".into());
            assert_eq!(
                PublicKey::from_jwk_in(&wrong_kid, Some(&memo)).err().map(|e| e.code()),
                Some(ErrorCode::KeyInvalid)
            );
            let mut wrong_alg = jwk.clone();
            wrong_alg.alg = Some(if alg == Algorithm::Es256 { "EdDSA" } else { "ES256" }.into());
            assert_eq!(
                PublicKey::from_jwk_in(&wrong_alg, Some(&memo)).err().map(|e| e.code()),
                Some(ErrorCode::AlgorithmNotAllowed)
            );
        }
        // An Ed25519 key with an empty `y` is refused whether or not its point is memoized.
        let ed = PrivateKey::generate(Algorithm::EdDsa).unwrap().public_key().to_jwk();
        let mut with_y = ed.clone();
        with_y.y = Some(String::new());
        let cold = PublicKey::from_jwk(&with_y).is_ok();
        PublicKey::from_jwk_in(&ed, Some(&memo)).unwrap();
        assert_eq!(PublicKey::from_jwk_in(&with_y, Some(&memo)).is_ok(), cold, "the memo changes the answer");
        let mut bad = PrivateKey::generate(Algorithm::EdDsa).unwrap().public_key().to_jwk();
        bad.x = "AAAA".into();
        assert!(PublicKey::from_jwk_in(&bad, Some(&memo)).is_err(), "a bad point is not memoized as good");
    }

    #[test]
    fn sign_verify_and_jwk_round_trip_for_both_algorithms() {
        for alg in [Algorithm::Es256, Algorithm::EdDsa] {
            let key = PrivateKey::generate(alg).unwrap();
            let sig = key.sign(b"hello");
            key.public_key().verify(alg, b"hello", &sig).unwrap();
            let err = key.public_key().verify(alg, b"hellO", &sig).unwrap_err();
            assert_eq!(err.code(), ErrorCode::SignatureInvalid);
            let jwk = key.public_key().to_jwk();
            let back = PublicKey::from_jwk(&jwk).unwrap();
            assert_eq!(&back, key.public_key());
            assert_eq!(back.kid(), key.kid());
            let file = key.to_secret_json().unwrap();
            let again = PrivateKey::from_secret_json(&file).unwrap();
            assert_eq!(again.kid(), key.kid());
            assert!(!format!("{key:?}").contains(&*file));
        }
    }

    #[test]
    fn wrong_alg_and_bad_jwks_are_refused() {
        let es = PrivateKey::generate(Algorithm::Es256).unwrap();
        let sig = es.sign(b"m");
        let e = es.public_key().verify(Algorithm::EdDsa, b"m", &sig).unwrap_err();
        assert_eq!(e.code(), ErrorCode::AlgorithmNotAllowed);
        assert_eq!(Algorithm::parse("HS256").unwrap_err().code(), ErrorCode::AlgorithmNotAllowed);
        assert_eq!(Algorithm::parse("none").unwrap_err().code(), ErrorCode::AlgorithmNotAllowed);
        let mut jwk = es.public_key().to_jwk();
        jwk.kid = Some("other".into());
        assert_eq!(PublicKey::from_jwk(&jwk).unwrap_err().code(), ErrorCode::KeyInvalid);
        let mut jwk = es.public_key().to_jwk();
        jwk.alg = Some("EdDSA".into());
        assert_eq!(PublicKey::from_jwk(&jwk).unwrap_err().code(), ErrorCode::AlgorithmNotAllowed);
        let mut jwk = es.public_key().to_jwk();
        jwk.x = B64.encode([1u8; 32]);
        assert_eq!(PublicKey::from_jwk(&jwk).unwrap_err().code(), ErrorCode::KeyInvalid);
        let mut jwk = es.public_key().to_jwk();
        jwk.d = Some(serde_json::json!("secret"));
        assert_eq!(PublicKey::from_jwk(&jwk).unwrap_err().code(), ErrorCode::KeyInvalid);
        assert_eq!(PrivateKey::from_secret_json("{}").unwrap_err().code(), ErrorCode::KeyInvalid);
    }
}
