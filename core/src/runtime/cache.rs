//! Verified chains, cached until they expire. Only what cannot change is cached: revocation
//! and agent status are checked on every use.
//!
//! The key is the SHA-256 of the token, not the token: a cached entry costs 32 bytes of key
//! instead of the whole chain of links, and the cache holds no bearer secret. Finding a
//! different token with the same digest is as hard as breaking SHA-256.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use sha2::{Digest, Sha256};

use crate::token::VerifiedChain;

/// The most chains kept.
pub(crate) const MAX_CACHED_CHAINS: usize = 16_384;

/// A token's cache key: its SHA-256.
pub(super) type Key = [u8; 32];

#[derive(Default)]
pub(super) struct ChainCache(RwLock<HashMap<Key, Arc<VerifiedChain>>>);

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
        let map = self.0.read().ok()?;
        map.get(key).cloned()
    }

    pub(crate) fn insert(&self, key: Key, chain: Arc<VerifiedChain>, now: i64) {
        let Ok(mut map) = self.0.write() else { return };
        if map.len() >= MAX_CACHED_CHAINS {
            map.retain(|_, c| c.expires_at + crate::token::LEEWAY_SECONDS > now);
            if map.len() >= MAX_CACHED_CHAINS {
                map.clear();
            }
        }
        map.insert(key, chain);
    }

    pub(crate) fn clear(&self) {
        if let Ok(mut map) = self.0.write() {
            map.clear();
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.0.read().map(|m| m.len()).unwrap_or(0)
    }
}
