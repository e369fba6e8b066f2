//! Presigned URLs kept for reuse. Signing a URL costs more than serving the redirect that
//! carries it, and object keys are versioned (immutable), so a URL signed for a key stays
//! right for as long as it is valid. One is handed out again only while at least half of its
//! lifetime is left, so a client always has that long to follow it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Presigned URLs by object key, bounded in count.
#[derive(Debug)]
pub(super) struct PresignedUrls {
    reuse_for: Duration,
    capacity: usize,
    urls: Mutex<HashMap<String, (String, Instant)>>,
}

impl PresignedUrls {
    /// URLs valid for `lifetime`, at most `capacity` of them kept.
    pub(super) fn new(lifetime: Duration, capacity: usize) -> Self {
        Self {
            reuse_for: lifetime / 2,
            capacity,
            urls: Mutex::new(HashMap::new()),
        }
    }

    /// The URL signed for `key`, if it was signed recently enough to hand out at `now`.
    pub(super) fn get(&self, key: &str, now: Instant) -> Option<String> {
        let urls = self.urls.lock().expect("presigned URLs lock");
        let (url, signed_at) = urls.get(key)?;
        (now.saturating_duration_since(*signed_at) < self.reuse_for).then(|| url.clone())
    }

    /// Keeps `url`, signed for `key` at `signed_at`. When full, URLs too old to hand out go
    /// first; if that is not enough, all of them.
    pub(super) fn put(&self, key: &str, url: String, signed_at: Instant) {
        if self.capacity == 0 {
            return;
        }
        let mut urls = self.urls.lock().expect("presigned URLs lock");
        if urls.len() >= self.capacity && !urls.contains_key(key) {
            urls.retain(|_, (_, at)| signed_at.saturating_duration_since(*at) < self.reuse_for);
            if urls.len() >= self.capacity {
                urls.clear();
            }
        }
        urls.insert(key.to_owned(), (url, signed_at));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_reused_for_half_its_lifetime() {
        let urls = PresignedUrls::new(Duration::from_secs(60), 10);
        let t0 = Instant::now();
        assert_eq!(urls.get("a", t0), None);
        urls.put("a", "https://s3/a?sig=1".into(), t0);
        assert_eq!(
            urls.get("a", t0 + Duration::from_secs(29)).as_deref(),
            Some("https://s3/a?sig=1")
        );
        assert_eq!(urls.get("a", t0 + Duration::from_secs(30)), None);
        assert_eq!(urls.get("b", t0), None);
    }

    #[test]
    fn a_full_cache_drops_stale_urls_first_then_everything() {
        let urls = PresignedUrls::new(Duration::from_secs(60), 2);
        let t0 = Instant::now();
        urls.put("old", "o".into(), t0);
        let t1 = t0 + Duration::from_secs(40);
        urls.put("fresh", "f".into(), t1);
        urls.put("new", "n".into(), t1);
        assert_eq!(urls.get("fresh", t1).as_deref(), Some("f"));
        assert_eq!(urls.get("new", t1).as_deref(), Some("n"));
        urls.put("third", "t".into(), t1);
        assert_eq!(urls.get("third", t1).as_deref(), Some("t"));
        assert_eq!(urls.get("fresh", t1), None, "all were fresh, so all went");
        assert_eq!(urls.urls.lock().unwrap().len(), 1);
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let urls = PresignedUrls::new(Duration::from_secs(60), 0);
        let t0 = Instant::now();
        urls.put("a", "u".into(), t0);
        assert_eq!(urls.get("a", t0), None);
    }
}
