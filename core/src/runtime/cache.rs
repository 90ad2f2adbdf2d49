//! Verified chains, cached until they expire. Only what cannot change is cached: revocation
//! and agent status are checked on every use.
//!
//! The key is the SHA-256 of the token, not the token: a cached entry costs 32 bytes of key
//! instead of the whole chain of links, and the cache holds no bearer secret. Finding a
//! different token with the same digest is as hard as breaking SHA-256.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::bounded::SharedMap;
use crate::token::VerifiedChain;

/// The most chains kept.
pub(crate) const MAX_CACHED_CHAINS: usize = 16_384;

/// A token's cache key: its SHA-256.
pub(super) type Key = [u8; 32];

/// The chains, in a [`SharedMap`] (a poisoned lock is an empty cache: the token is verified in
/// full again). When full, the oldest chain goes: most often the first to expire, and an
/// expired chain is never used anyway (times are checked on every use).
pub(super) struct ChainCache(SharedMap<Key, Arc<VerifiedChain>>);

impl Default for ChainCache {
    fn default() -> Self {
        Self(SharedMap::new(MAX_CACHED_CHAINS))
    }
}

impl std::fmt::Debug for ChainCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainCache").field("len", &self.len()).finish()
    }
}

impl ChainCache {
    /// The key of `token` (hashed once per use: a miss inserts under the same key).
    pub(crate) fn key(token: &str) -> Key {
        Sha256::digest(token.as_bytes()).into()
    }

    pub(crate) fn get(&self, key: &Key) -> Option<Arc<VerifiedChain>> {
        self.0.get(key)
    }

    pub(crate) fn insert(&self, key: Key, chain: Arc<VerifiedChain>) {
        self.0.insert(key, chain);
    }

    pub(crate) fn clear(&self) {
        self.0.clear();
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}
