//! Bounded in-memory caches in front of the catalog (records, including "no avatar") and the
//! blob store (variant bytes). Variant keys are versioned, so cached bytes never go stale;
//! records are invalidated on every write through this host.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use crate::catalog::AvatarRecord;

/// A map with first-in-first-out eviction once `capacity` (in units of `weight`) is reached.
struct Fifo<K, V> {
    map: HashMap<K, (V, usize)>,
    order: VecDeque<K>,
    used: usize,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V: Clone> Fifo<K, V> {
    fn new(capacity: usize) -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            used: 0,
            capacity,
        }
    }

    fn get(&self, key: &K) -> Option<V> {
        self.map.get(key).map(|(v, _)| v.clone())
    }

    fn insert(&mut self, key: K, value: V, weight: usize) {
        if weight > self.capacity {
            return;
        }
        self.remove(&key);
        while self.used + weight > self.capacity {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some((_, w)) = self.map.remove(&oldest) {
                self.used -= w;
            }
        }
        self.order.push_back(key.clone());
        self.map.insert(key, (value, weight));
        self.used += weight;
    }

    fn remove(&mut self, key: &K) {
        if let Some((_, w)) = self.map.remove(key) {
            self.used -= w;
            // The key stays in `order` until it reaches the front; harmless, and cheaper than a
            // linear search. `insert` skips keys no longer in `map`.
        }
        if self.order.len() > self.map.len() * 2 + 64 {
            let map = &self.map;
            self.order.retain(|k| map.contains_key(k));
        }
    }
}

type RecordKey = (String, String);

/// The service's caches.
pub struct Cache {
    records: Mutex<Fifo<RecordKey, Option<Arc<AvatarRecord>>>>,
    images: Mutex<Fifo<String, Bytes>>,
    /// Bumped by every invalidation: a reader that looked the catalog up before a write must
    /// not cache what it found after the write invalidated the key.
    generation: AtomicU64,
}

impl Cache {
    pub fn new(max_records: usize, max_image_bytes: usize) -> Self {
        Self {
            records: Mutex::new(Fifo::new(max_records)),
            images: Mutex::new(Fifo::new(max_image_bytes)),
            generation: AtomicU64::new(0),
        }
    }

    /// The generation to pass to [`Cache::put_record`] after a catalog look-up.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// `Some(record or none)` when cached.
    pub fn record(&self, tenant: &str, hash: &str) -> Option<Option<Arc<AvatarRecord>>> {
        let key = (tenant.to_owned(), hash.to_owned());
        self.records.lock().expect("cache lock").get(&key)
    }

    /// Caches a look-up made at `generation`, unless a write has invalidated since.
    pub fn put_record(
        &self,
        generation: u64,
        tenant: &str,
        hash: &str,
        record: Option<Arc<AvatarRecord>>,
    ) {
        let mut records = self.records.lock().expect("cache lock");
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        records.insert((tenant.to_owned(), hash.to_owned()), record, 1);
    }

    /// Forgets the record of `(tenant, hash)`.
    pub fn invalidate(&self, tenant: &str, hash: &str) {
        let mut records = self.records.lock().expect("cache lock");
        self.generation.fetch_add(1, Ordering::AcqRel);
        records.remove(&(tenant.to_owned(), hash.to_owned()));
    }

    /// Forgets every record (after changes elsewhere may have been missed).
    pub fn invalidate_all(&self) {
        let mut records = self.records.lock().expect("cache lock");
        self.generation.fetch_add(1, Ordering::AcqRel);
        let capacity = records.capacity;
        *records = Fifo::new(capacity);
    }

    /// Whether an image of `len` bytes would be kept (at most an eighth of the image cache, so
    /// one large object cannot flush the rest).
    pub fn admits_image(&self, len: u64) -> bool {
        let capacity = self.images.lock().expect("cache lock").capacity;
        len <= (capacity / 8) as u64
    }

    pub fn image(&self, key: &str) -> Option<Bytes> {
        self.images.lock().expect("cache lock").get(&key.to_owned())
    }

    pub fn put_image(&self, key: &str, bytes: Bytes) {
        let weight = bytes.len();
        self.images
            .lock()
            .expect("cache lock")
            .insert(key.to_owned(), bytes, weight);
    }

    pub fn forget_image(&self, key: &str) {
        self.images
            .lock()
            .expect("cache lock")
            .remove(&key.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_evicts_by_weight() {
        let mut f = Fifo::new(10);
        f.insert("a", 1, 4);
        f.insert("b", 2, 4);
        f.insert("c", 3, 4);
        assert_eq!(f.get(&"a"), None);
        assert_eq!(f.get(&"b"), Some(2));
        assert_eq!(f.get(&"c"), Some(3));
        f.insert("huge", 4, 11);
        assert_eq!(f.get(&"huge"), None);
        f.remove(&"b");
        f.insert("d", 5, 6);
        assert_eq!(f.get(&"c"), Some(3));
        assert_eq!(f.get(&"d"), Some(5));
        assert_eq!(f.used, 10);
    }

    #[test]
    fn a_stale_lookup_is_not_cached_after_an_invalidation() {
        let cache = Cache::new(10, 10);
        let generation = cache.generation();
        cache.invalidate("t", "h");
        cache.put_record(generation, "t", "h", None);
        assert_eq!(cache.record("t", "h"), None);
        let generation = cache.generation();
        cache.put_record(generation, "t", "h", None);
        assert_eq!(cache.record("t", "h"), Some(None));
    }
}
