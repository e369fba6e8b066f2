//! Bounded in-memory caches in front of the catalog (records, including "no avatar") and the
//! blob store (variant bytes). Variant keys are versioned, so cached bytes never go stale;
//! records are invalidated on every write through this host.
//!
//! Both caches are `quick_cache` maps: sharded, so readers on different shards never meet and
//! readers of one shard share a read lock, and evicting with CLOCK-Pro (new entries start cold,
//! an entry read again while resident turns hot, recently evicted keys are remembered), so a
//! burst of one-off look-ups cannot flush the avatars that are read all the time. Images are
//! weighed in bytes.

use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use quick_cache::sync::Cache as Map;
use quick_cache::{Equivalent, OptionsBuilder, Weighter};

use crate::catalog::AvatarRecord;

type RecordKey = (String, String);
type CachedRecord = Option<Arc<AvatarRecord>>;

/// A borrowed `(tenant, hash)`: it hashes like the owned key (a derived `Hash` over fields in
/// order, as the tuple's), so a look-up allocates nothing.
#[derive(Hash)]
struct RecordRef<'a>(&'a str, &'a str);

impl Equivalent<RecordKey> for RecordRef<'_> {
    fn equivalent(&self, key: &RecordKey) -> bool {
        self.0 == key.0 && self.1 == key.1
    }
}

/// An image weighs its bytes and its key's; never 0, which `quick_cache` would never evict.
#[derive(Clone)]
struct ImageWeight;

impl Weighter<String, Bytes> for ImageWeight {
    fn weight(&self, key: &String, bytes: &Bytes) -> u64 {
        (key.len() + bytes.len()).max(1) as u64
    }
}

/// Shards of the image cache. `quick_cache` splits the capacity evenly between its shards and
/// refuses an entry heavier than most of one shard, so with four shards every image up to
/// the admission limit (an eighth of the whole) still fits in its shard twice over.
const IMAGE_SHARDS: usize = 4;

/// The size assumed for an average cached image, to size the shards' tables and the memory of
/// recently evicted keys; a rough guess is enough.
const TYPICAL_IMAGE_BYTES: usize = 16 << 10;

/// What the caches hold now, for `/_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheUsage {
    pub records: u64,
    pub max_records: u64,
    pub images: u64,
    /// Bytes of images and their keys held, at most `max_image_bytes`.
    pub image_bytes: u64,
    pub max_image_bytes: u64,
}

/// The service's caches.
pub struct Cache {
    /// `None` when disabled (capacity 0).
    records: Option<Map<RecordKey, CachedRecord>>,
    images: Option<Map<String, Bytes, ImageWeight>>,
    image_capacity: usize,
    /// Bumped by every invalidation: a reader that looked the catalog up before a write must
    /// not cache what it found after the write invalidated the key.
    generation: AtomicU64,
    /// Makes "check the generation, then insert" one step with respect to "bump the
    /// generation, then remove": inserts share it, invalidations take it alone. Reads of the
    /// cache never touch it.
    record_writes: RwLock<()>,
}

impl Cache {
    /// Caches of at most `max_records` records and `max_image_bytes` bytes of images; 0
    /// disables either.
    pub fn new(max_records: usize, max_image_bytes: usize) -> Self {
        let records = (max_records > 0).then(|| Map::new(max_records));
        let images = (max_image_bytes > 0).then(|| {
            let options = OptionsBuilder::new()
                .shards(IMAGE_SHARDS)
                .estimated_items_capacity((max_image_bytes / TYPICAL_IMAGE_BYTES).max(1))
                .weight_capacity(max_image_bytes as u64)
                .build()
                .expect("every required option is set");
            Map::with_options(options, ImageWeight, Default::default(), Default::default())
        });
        Self {
            records,
            images,
            image_capacity: max_image_bytes,
            generation: AtomicU64::new(0),
            record_writes: RwLock::new(()),
        }
    }

    /// How full each cache is.
    pub fn usage(&self) -> CacheUsage {
        let records = self.records.as_ref();
        let images = self.images.as_ref();
        CacheUsage {
            records: records.map_or(0, |m| m.len() as u64),
            max_records: records.map_or(0, Map::capacity),
            images: images.map_or(0, |m| m.len() as u64),
            image_bytes: images.map_or(0, Map::weight),
            max_image_bytes: self.image_capacity as u64,
        }
    }

    /// The generation to pass to [`Cache::put_record`] after a catalog look-up.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// `Some(record or none)` when cached.
    pub fn record(&self, tenant: &str, hash: &str) -> Option<Option<Arc<AvatarRecord>>> {
        let found = self.records.as_ref()?.get(&RecordRef(tenant, hash));
        crate::metrics::cache_lookup("records", found.is_some());
        found
    }

    /// Caches a look-up made at `generation`, unless a write has invalidated since.
    pub fn put_record(
        &self,
        generation: u64,
        tenant: &str,
        hash: &str,
        record: Option<Arc<AvatarRecord>>,
    ) {
        let Some(records) = &self.records else {
            return;
        };
        // A poisoned lock guards no data, so its poison means nothing here.
        let _shared = self.record_writes.read().unwrap_or_else(|e| e.into_inner());
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        records.insert((tenant.to_owned(), hash.to_owned()), record);
    }

    /// Forgets the record of `(tenant, hash)`.
    pub fn invalidate(&self, tenant: &str, hash: &str) {
        let _alone = self
            .record_writes
            .write()
            .unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Some(records) = &self.records {
            records.remove(&RecordRef(tenant, hash));
        }
    }

    /// Forgets every record (after changes elsewhere may have been missed).
    pub fn invalidate_all(&self) {
        let _alone = self
            .record_writes
            .write()
            .unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Some(records) = &self.records {
            records.clear();
        }
    }

    /// Whether an image of `len` bytes would be kept (at most an eighth of the image cache, so
    /// one large object cannot flush the rest).
    pub fn admits_image(&self, len: u64) -> bool {
        self.images.is_some() && len <= (self.image_capacity / 8) as u64
    }

    /// The cached bytes under `key`.
    pub fn image(&self, key: &str) -> Option<Bytes> {
        let found = self.images.as_ref()?.get(key);
        crate::metrics::cache_lookup("images", found.is_some());
        found
    }

    /// Keeps `bytes` under `key`, evicting colder images as needed.
    pub fn put_image(&self, key: &str, bytes: Bytes) {
        if let Some(images) = &self.images {
            images.insert(key.to_owned(), bytes);
        }
    }

    /// Forgets the image under `key`.
    pub fn forget_image(&self, key: &str) {
        if let Some(images) = &self.images {
            images.remove(key);
        }
    }

    /// Bytes the cached images weigh now, keys included.
    #[cfg(test)]
    fn image_weight(&self) -> u64 {
        self.images.as_ref().map_or(0, Map::weight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let generation = cache.generation();
        cache.invalidate_all();
        assert_eq!(cache.record("t", "h"), None);
        cache.put_record(generation, "t", "h", None);
        assert_eq!(cache.record("t", "h"), None);
    }

    #[test]
    fn a_record_is_found_by_both_parts_of_its_key() {
        let cache = Cache::new(10, 0);
        cache.put_record(cache.generation(), "t", "h", None);
        assert_eq!(cache.record("t", "h"), Some(None));
        assert_eq!(cache.record("th", ""), None);
        assert_eq!(cache.record("", "th"), None);
        assert_eq!(cache.record("h", "t"), None);
    }

    fn image(len: usize) -> Bytes {
        Bytes::from(vec![7; len])
    }

    #[test]
    fn images_are_evicted_by_weight_and_a_hot_one_survives_a_stream_of_new_ones() {
        // 64 KiB with one-byte keys: each 4 KiB image weighs 4097.
        let cache = Cache::new(0, 64 << 10);
        cache.put_image("h", image(4 << 10));
        for round in 0..200 {
            let key = format!("new-{round}");
            cache.put_image(&key, image(4 << 10));
            // One read per arrival keeps "h" hot; FIFO would have dropped it after 15.
            assert!(
                cache.image("h").is_some(),
                "the hot image left at round {round}"
            );
            assert!(cache.image_weight() <= 64 << 10);
        }
        let resident = (0..200)
            .filter(|r| cache.image(&format!("new-{r}")).is_some())
            .count();
        assert!(
            (5..16).contains(&resident),
            "about 15 images of 4 KiB fit, minus the hot one: {resident}"
        );
    }

    #[test]
    fn an_image_over_an_eighth_is_not_admitted_but_one_at_the_limit_is_kept() {
        let cache = Cache::new(0, 80_000);
        assert!(cache.admits_image(10_000));
        assert!(!cache.admits_image(10_001));
        cache.put_image("k", image(10_000));
        assert_eq!(cache.image("k").map(|b| b.len()), Some(10_000));
        cache.forget_image("k");
        assert_eq!(cache.image("k"), None);
        assert_eq!(cache.image_weight(), 0);
    }

    #[test]
    fn usage_counts_entries_and_bytes_and_stays_within_the_bound() {
        let cache = Cache::new(10, 64 << 10);
        assert_eq!(cache.usage().image_bytes, 0);
        cache.put_record(cache.generation(), "t", "h", None);
        cache.put_image("ab", Bytes::from(vec![0; 1000]));
        cache.put_image("cd", Bytes::from(vec![0; 2000]));
        let usage = cache.usage();
        assert_eq!((usage.records, usage.max_records), (1, 10));
        assert_eq!((usage.images, usage.image_bytes), (2, 3004));
        assert_eq!(usage.max_image_bytes, 64 << 10);
        for i in 0..100 {
            cache.put_image(&format!("{i:04}"), Bytes::from(vec![0; 4000]));
        }
        let full = cache.usage();
        assert!(full.image_bytes <= full.max_image_bytes, "{full:?}");
        assert!(full.image_bytes > full.max_image_bytes / 2, "{full:?}");
    }

    #[test]
    fn capacity_zero_disables() {
        let cache = Cache::new(0, 0);
        assert!(!cache.admits_image(0));
        cache.put_image("k", image(1));
        assert_eq!(cache.image("k"), None);
        cache.put_record(cache.generation(), "t", "h", None);
        assert_eq!(cache.record("t", "h"), None);
    }
}
