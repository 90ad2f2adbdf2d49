//! The authority's keys: JWKS export, rotation with overlap, removal of retired keys.

use std::sync::Arc;

use crate::error::{Error, ErrorCode, Result};
use crate::keys::{Algorithm, Jwks, PrivateKey};
use crate::store::AuthorityKeyRecord;

use super::Runtime;

impl Runtime {
    /// The authority's public keys (signing and retired-but-verifying) as a JWKS.
    pub fn jwks(&self) -> Result<Jwks> {
        Ok(self.loaded()?.jwks())
    }

    /// The authority's keys with their history.
    pub fn authority_keys(&self) -> Result<Vec<AuthorityKeyRecord>> {
        self.store.authority_keys()
    }

    /// Starts signing with a new key (of `alg`, or the runtime's). The previous key is retired:
    /// tokens it signed keep verifying until they expire or the key is removed.
    pub fn rotate_authority_key(&self, alg: Option<Algorithm>) -> Result<AuthorityKeyRecord> {
        self.install_authority_key(PrivateKey::generate(alg.unwrap_or(self.options.alg))?)
    }

    /// Starts signing with a key held elsewhere (the content of a key file, `{"alg","kid","d"}`),
    /// e.g. moved from a secrets manager. The previous key is retired as by a rotation.
    /// Error `key_invalid` for a malformed key or one that another principal already uses.
    pub fn import_authority_key(&self, secret_json: &str) -> Result<AuthorityKeyRecord> {
        let key = PrivateKey::from_secret_json(secret_json)?;
        self.refuse_known_key(key.public_key())?;
        self.install_authority_key(key)
    }

    fn install_authority_key(&self, key: PrivateKey) -> Result<AuthorityKeyRecord> {
        let kid = key.kid().to_owned();
        self.store.rotate_authority_key(key, self.now())?;
        self.authority_keys()?
            .into_iter()
            .find(|k| k.kid == kid)
            .ok_or_else(|| Error::new(ErrorCode::InternalError, "the new authority key is missing"))
    }

    /// Removes a retired authority key: tokens it signed stop verifying at once.
    pub fn remove_authority_key(&self, kid: &str) -> Result<()> {
        let keys = self.store.authority_keys()?;
        match keys.iter().find(|k| k.kid == kid) {
            None => Err(Error::new(ErrorCode::UnknownKey, format!("the authority has no key `{kid}`"))),
            Some(k) if k.retired_at.is_none() => Err(Error::new(
                ErrorCode::InvalidArgument,
                format!("key `{kid}` is the signing key; rotate before removing it"),
            )),
            Some(_) => {
                self.store.remove_authority_key(kid)?;
                Ok(())
            }
        }
    }

    /// The key that signs new grants.
    pub(super) fn signing_key(&self) -> Result<Arc<PrivateKey>> {
        let loaded = self.loaded()?;
        let kid = loaded
            .signing_kid
            .as_deref()
            .ok_or_else(|| Error::new(ErrorCode::KeyInvalid, "the authority has no signing key"))?;
        self.store.authority_private_key(kid)?.ok_or_else(|| {
            Error::new(ErrorCode::StoreCorrupt, format!("the private half of authority key `{kid}` is missing"))
        })
    }
}
