//! Verified chains, cached until they expire. Only what cannot change is cached: revocation
//! and agent status are checked on every use.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::token::{Token, VerifiedChain};

/// The most chains kept.
pub const MAX_CACHED_CHAINS: usize = 16_384;

/// The length of the token suffix used as the map key: the last link's signature ends the
/// token, so two different tokens rarely share it, and equal keys are confirmed by comparing
/// whole tokens.
const KEY_SUFFIX: usize = 43;

/// A cached chain with the token it was verified from (a secret: zeroized, never printed).
struct Entry {
    token: Token,
    chain: Arc<VerifiedChain>,
}

#[derive(Default)]
pub(super) struct ChainCache(RwLock<HashMap<Box<str>, Entry>>);

impl std::fmt::Debug for ChainCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainCache").field("len", &self.len()).finish()
    }
}

fn key_of(token: &str) -> &str {
    let start = token.len().saturating_sub(KEY_SUFFIX);
    token.get(start..).unwrap_or(token)
}

impl ChainCache {
    pub fn get(&self, token: &str) -> Option<Arc<VerifiedChain>> {
        let map = self.0.read().ok()?;
        let entry = map.get(key_of(token))?;
        (entry.token.expose() == token).then(|| Arc::clone(&entry.chain))
    }

    pub fn insert(&self, token: &str, chain: Arc<VerifiedChain>, now: i64) {
        let Ok(mut map) = self.0.write() else { return };
        if map.len() >= MAX_CACHED_CHAINS {
            map.retain(|_, e| e.chain.expires_at + crate::token::LEEWAY_SECONDS > now);
            if map.len() >= MAX_CACHED_CHAINS {
                map.clear();
            }
        }
        map.insert(key_of(token).into(), Entry { token: Token::new(token.to_owned()), chain });
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
