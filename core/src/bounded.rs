//! [`BoundedMap`], the one bounded map under every cache of the core, and [`SharedMap`], the
//! same behind a lock with the one rule for a poisoned lock.
//!
//! The model is rustls's `limited_cache.rs`: a hash map with a fixed capacity whose oldest
//! entry (by first insertion) goes when a new key arrives at a full map. A cache built on it
//! decides what its entries stand for; this module only bounds them. Its users (each says
//! what invalidates its entries, next to its code):
//!
//! | cache | where | key |
//! |---|---|---|
//! | verified chains | `runtime/cache.rs` (owned by `runtime/verifier.rs`) | SHA-256 of the token |
//! | decoded `cnf` points | `keys.rs` ([`crate::keys::KeyMemo`]) | the key's material |
//! | Cedar entity stores | `policy/engine.rs` | view, agent, resource, action |
//! | Cedar outcomes | `policy/memo.rs` | every field of the request (by hash) |
//!
//! # A poisoned lock
//!
//! A thread that panicked while holding a cache's lock may have left the map half changed.
//! The rule, for every cache ([`read_or_miss`], [`write_or_reset`]): **a poisoned lock is an
//! empty cache.** A read answers nothing (a miss: the caller computes from the source, as if
//! the entry had never been cached), and the next write empties the map and clears the
//! poison, so the cache starts over instead of staying useless. A cache never answers from a
//! map a panicking writer may have left, and a poisoned lock never turns a check into an
//! error: a cache is only ever a shortcut to what the caller would compute anyway. The
//! interner's tables (`token/intern.rs`) follow the same rule through the same two helpers.
//! State that is not a cache fails closed instead: a poisoned store view or policy lock is an
//! `internal_error` (a deny), and the pending outcomes refuse.

use std::borrow::Borrow;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A map of at most `capacity` entries; inserting a new key into a full map first evicts the
/// oldest key (the one inserted first). Replacing a key's value does not make it younger.
#[derive(Debug)]
pub(crate) struct BoundedMap<K, V> {
    map: HashMap<K, V>,
    /// The keys, oldest first.
    order: VecDeque<K>,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V> BoundedMap<K, V> {
    /// An empty map holding at most `capacity` entries (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Self { map: HashMap::new(), order: VecDeque::new(), capacity: capacity.max(1) }
    }

    /// The value of `key`.
    pub(crate) fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get(key)
    }

    /// The value of `key`, to change in place.
    pub(crate) fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get_mut(key)
    }

    /// Sets `key` to `value`. A new key in a full map evicts the oldest entry first.
    pub(crate) fn insert(&mut self, key: K, value: V) {
        match self.map.entry(key) {
            Entry::Occupied(mut slot) => {
                slot.insert(value);
            }
            Entry::Vacant(slot) => {
                self.order.push_back(slot.key().clone());
                slot.insert(value);
                while self.order.len() > self.capacity {
                    if let Some(oldest) = self.order.pop_front() {
                        self.map.remove(&oldest);
                    }
                }
            }
        }
    }

    /// Removes `key`, returning its value.
    #[cfg_attr(not(test), expect(dead_code, reason = "part of the map's contract, held by its tests"))]
    pub(crate) fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let value = self.map.remove(key)?;
        if let Some(i) = self.order.iter().position(|k| k.borrow() == key) {
            self.order.remove(i);
        }
        Some(value)
    }

    /// How many entries it holds.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Removes every entry.
    pub(crate) fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
    }
}

/// Reads behind `lock`; `None` when it is poisoned (see the module documentation: a poisoned
/// cache is an empty one).
pub(crate) fn read_or_miss<T>(lock: &RwLock<T>) -> Option<RwLockReadGuard<'_, T>> {
    lock.read().ok()
}

/// Writes behind `lock`; a poisoned lock's value is first emptied with `reset` and the
/// poison cleared (see the module documentation).
pub(crate) fn write_or_reset<T>(lock: &RwLock<T>, reset: impl FnOnce(&mut T)) -> RwLockWriteGuard<'_, T> {
    match lock.write() {
        Ok(guard) => guard,
        Err(poisoned) => {
            let mut guard = poisoned.into_inner();
            reset(&mut guard);
            lock.clear_poison();
            guard
        }
    }
}

/// A [`BoundedMap`] shared between threads, under the rule for a poisoned lock.
#[derive(Debug)]
pub(crate) struct SharedMap<K, V>(RwLock<BoundedMap<K, V>>);

impl<K: Eq + Hash + Clone, V> SharedMap<K, V> {
    /// An empty shared map of at most `capacity` entries.
    pub(crate) fn new(capacity: usize) -> Self {
        Self(RwLock::new(BoundedMap::new(capacity)))
    }

    /// What `f` reads of the map; `None` when the lock is poisoned (a miss).
    pub(crate) fn read<R>(&self, f: impl FnOnce(&BoundedMap<K, V>) -> R) -> Option<R> {
        read_or_miss(&self.0).map(|guard| f(&guard))
    }

    /// A clone of the value of `key`.
    pub(crate) fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        self.read(|m| m.get(key).cloned()).flatten()
    }

    /// Changes the map with `f` (emptied first if the lock was poisoned).
    pub(crate) fn write<R>(&self, f: impl FnOnce(&mut BoundedMap<K, V>) -> R) -> R {
        f(&mut write_or_reset(&self.0, BoundedMap::clear))
    }

    /// Sets `key` to `value` (see [`BoundedMap::insert`]).
    pub(crate) fn insert(&self, key: K, value: V) {
        self.write(|m| m.insert(key, value));
    }

    /// Removes every entry.
    pub(crate) fn clear(&self) {
        self.write(BoundedMap::clear);
    }

    /// How many entries it holds (0 when poisoned).
    pub(crate) fn len(&self) -> usize {
        self.read(BoundedMap::len).unwrap_or(0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn get_insert_remove() {
        let mut m = BoundedMap::new(4);
        assert_eq!(m.get("a"), None);
        m.insert("a".to_owned(), 1);
        m.insert("b".to_owned(), 2);
        assert_eq!(m.get("a"), Some(&1));
        assert_eq!(m.len(), 2);
        m.insert("a".to_owned(), 3);
        assert_eq!((m.get("a"), m.len()), (Some(&3), 2), "replacing a value adds no entry");
        if let Some(v) = m.get_mut("b") {
            *v = 20;
        }
        assert_eq!(m.get("b"), Some(&20));
        assert_eq!(m.remove("a"), Some(3));
        assert_eq!(m.remove("a"), None);
        assert_eq!((m.get("a"), m.len(), m.order.len()), (None, 1, 1));
        m.clear();
        assert_eq!((m.len(), m.order.len()), (0, 0));
    }

    #[test]
    fn the_capacity_is_never_passed() {
        let mut m = BoundedMap::new(3);
        for i in 0..100 {
            m.insert(i, i);
            assert!(m.len() <= 3);
            assert_eq!(m.len(), m.order.len());
        }
        let mut zero = BoundedMap::new(0);
        zero.insert(1, 1);
        zero.insert(2, 2);
        assert_eq!((zero.len(), zero.get(&2)), (1, Some(&2)), "a capacity of 0 is one");
    }

    #[test]
    fn the_oldest_insertion_is_evicted_first() {
        let mut m = BoundedMap::new(3);
        m.insert("a", 1);
        m.insert("b", 2);
        m.insert("c", 3);
        // Neither a read nor a replaced value makes `a` younger.
        assert_eq!(m.get("a"), Some(&1));
        m.insert("a", 10);
        m.insert("d", 4);
        assert_eq!(m.get("a"), None, "the oldest went");
        assert_eq!((m.get("b"), m.get("c"), m.get("d")), (Some(&2), Some(&3), Some(&4)));
        // A removed key leaves the order too: the next eviction takes the next oldest.
        m.remove("c");
        m.insert("e", 5);
        assert_eq!(m.len(), 3);
        m.insert("f", 6);
        assert_eq!((m.get("b"), m.get("d"), m.get("e"), m.get("f")), (None, Some(&4), Some(&5), Some(&6)));
    }

    #[test]
    fn a_poisoned_shared_map_is_an_empty_one_and_recovers() {
        let shared = std::sync::Arc::new(SharedMap::new(2));
        shared.insert("a", 1);
        assert_eq!(shared.get("a"), Some(1));
        let s = std::sync::Arc::clone(&shared);
        let panicked = std::thread::spawn(move || s.write(|_| panic!("a writer panics"))).join();
        assert!(panicked.is_err());
        assert!(shared.0.is_poisoned());
        // A read is a miss, never what the panicking writer left.
        assert_eq!((shared.get("a"), shared.len()), (None, 0));
        // The next write starts over, with the same bound.
        shared.insert("b", 2);
        assert!(!shared.0.is_poisoned());
        assert_eq!((shared.get("a"), shared.get("b")), (None, Some(2)));
        shared.insert("c", 3);
        shared.insert("d", 4);
        assert_eq!(shared.len(), 2);
    }

    #[test]
    fn write_or_reset_resets_any_poisoned_value() {
        let lock = std::sync::Arc::new(RwLock::new(vec![1, 2, 3]));
        let l = std::sync::Arc::clone(&lock);
        let _ = std::thread::spawn(move || {
            let _guard = l.write().unwrap();
            panic!("poison it");
        })
        .join();
        assert!(read_or_miss(&lock).is_none());
        assert!(write_or_reset(&lock, |v| v.clear()).is_empty());
        assert_eq!(read_or_miss(&lock).map(|v| v.len()), Some(0));
    }
}
