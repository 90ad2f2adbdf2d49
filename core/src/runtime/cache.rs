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
pub const MAX_CACHED_CHAINS: usize = 16_384;

type Key = [u8; 32];

#[derive(Default)]
pub(super) struct ChainCache(RwLock<HashMap<Key, Arc<VerifiedChain>>>);

impl std::fmt::Debug for ChainCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainCache").field("len", &self.len()).finish()
    }
}

fn key_of(token: &str) -> Key {
    Sha256::digest(token.as_bytes()).into()
}

impl ChainCache {
    pub fn get(&self, token: &str) -> Option<Arc<VerifiedChain>> {
        let map = self.0.read().ok()?;
        map.get(&key_of(token)).cloned()
    }

    pub fn insert(&self, token: &str, chain: Arc<VerifiedChain>, now: i64) {
        let key = key_of(token);
        let Ok(mut map) = self.0.write() else { return };
        if map.len() >= MAX_CACHED_CHAINS {
            map.retain(|_, c| c.expires_at + crate::token::LEEWAY_SECONDS > now);
            if map.len() >= MAX_CACHED_CHAINS {
                map.clear();
            }
        }
        map.insert(key, chain);
    }

    pub fn clear(&self) {
        if let Ok(mut map) = self.0.write() {
            map.clear();
        }
    }

    pub fn len(&self) -> usize {
        self.0.read().map(|m| m.len()).unwrap_or(0)
    }
}
