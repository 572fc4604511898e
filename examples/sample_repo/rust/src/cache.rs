//! A least-recently-used map with a fixed number of slots.

use std::collections::HashMap;
use std::hash::Hash;

/// Keeps at most `capacity` entries; inserting into a full cache evicts the entry
/// that has gone unused the longest. Recency is tracked with a logical clock.
pub struct LruCache<K, V> {
    capacity: usize,
    clock: u64,
    entries: HashMap<K, (V, u64)>,
}

impl<K: Hash + Eq + Clone, V> LruCache<K, V> {
    /// An empty cache holding up to `capacity` items (at least one).
    pub fn new(capacity: usize) -> Self {
        LruCache {
            capacity: capacity.max(1),
            clock: 0,
            entries: HashMap::new(),
        }
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// Look a key up and, on a hit, mark it as the most recently used.
    pub fn get(&mut self, key: &K) -> Option<&V> {
        let now = self.tick();
        match self.entries.get_mut(key) {
            Some(entry) => {
                entry.1 = now;
                Some(&entry.0)
            }
            None => None,
        }
    }

    /// Store a value, pushing out the stalest entry first when there is no room.
    pub fn put(&mut self, key: K, value: V) {
        if !self.entries.contains_key(&key) && self.entries.len() >= self.capacity {
            self.evict_oldest();
        }
        let now = self.tick();
        self.entries.insert(key, (value, now));
    }

    /// Drop the entry with the smallest last-used stamp.
    fn evict_oldest(&mut self) {
        let oldest = self
            .entries
            .iter()
            .min_by_key(|(_, (_, stamp))| *stamp)
            .map(|(k, _)| k.clone());
        if let Some(key) = oldest {
            self.entries.remove(&key);
        }
    }

    /// Number of entries currently held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
