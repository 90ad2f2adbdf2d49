//! [`Verifier`]: the one owner of what verification keeps between calls — the loaded view of
//! the store, the verified chains, the decoded `cnf` points and the names and scopes cached
//! chains share — and the two ways a credential is checked: [`Verifier::verify`] (a token)
//! and [`Verifier::revalidate`] (a credential verified earlier). The runtime orchestrates;
//! it holds no cache of its own here.
//!
//! What invalidates what (CONTRIBUTING's cache table): the view is reloaded when the store's
//! revision changes; a change of the authority's keys forgets every verified chain (a cached
//! chain still meets the state rules on every use, see [`Loaded::check_chain`]); decoded
//! points and interned values never go stale.

use std::sync::Arc;

use crate::error::Result;
use crate::keys::KeyMemo;
use crate::store::Store;
use crate::token::{check_times, verify_chain_reusing, Interner, Reuse, VerifiedChain};

use super::cache::ChainCache;
use super::state::{Loaded, StateCache};

/// The store view and the caches of verification, with verify and revalidate.
pub(super) struct Verifier {
    store: Arc<dyn Store>,
    state: StateCache,
    chains: ChainCache,
    key_memo: KeyMemo,
    interner: Interner,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("chains", &self.chains)
            .field("key_memo", &self.key_memo)
            .field("interner", &self.interner)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier over `store`, with its current view loaded.
    pub(crate) fn new(store: Arc<dyn Store>) -> Result<Self> {
        let state = StateCache::load(store.as_ref())?;
        Ok(Self {
            store,
            state,
            chains: ChainCache::default(),
            key_memo: KeyMemo::default(),
            interner: Interner::default(),
        })
    }

    /// The current view of the store (reloaded when its revision changed); when the
    /// authority's keys changed, every verified chain is forgotten.
    pub(crate) fn loaded(&self) -> Result<Arc<Loaded>> {
        let (loaded, keys_changed) = self.state.current(self.store.as_ref())?;
        if keys_changed {
            self.chains.clear();
        }
        Ok(loaded)
    }

    /// Verifies `token` at `now` against `loaded`: signatures and chain rules (cached by the
    /// token's digest), then times and the state rules (every time).
    pub(crate) fn verify(&self, loaded: &Loaded, token: &str, now: i64) -> Result<Arc<VerifiedChain>> {
        let token = token.trim();
        let key = ChainCache::key(token);
        let chain = match self.chains.get(&key) {
            Some(chain) => chain,
            None => {
                let reuse = Reuse { memo: &self.key_memo, interner: &self.interner };
                let chain = Arc::new(verify_chain_reusing(token, loaded, Some(reuse))?);
                self.chains.insert(key, Arc::clone(&chain));
                chain
            }
        };
        self.revalidate(loaded, &chain, now)?;
        Ok(chain)
    }

    /// Re-checks a verified chain at `now` against `loaded`: times, revocation, agent status
    /// and keys, and that the authority still has the key of link 0.
    pub(crate) fn revalidate(&self, loaded: &Loaded, chain: &VerifiedChain, now: i64) -> Result<()> {
        check_times(chain, now)?;
        loaded.check_chain(chain)
    }

    /// Forgets every verified chain, and the names and scope sets chains shared (the decoded
    /// points stay).
    pub(crate) fn clear(&self) {
        self.chains.clear();
        self.interner.clear();
    }

    /// How many verified chains are cached.
    pub(crate) fn cached_chains(&self) -> usize {
        self.chains.len()
    }
}
