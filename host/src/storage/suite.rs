//! The conformance suite every [`BlobStore`] backend passes (garage's `test_suite(db)`
//! pattern). Each check works under a key prefix of its own, unique to the run, and removes
//! what it wrote, so the suite can share a bucket with other runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::future::join_all;

use super::{BlobStore, StorageError};

/// Runs every check against `store`.
pub(crate) async fn run(store: &dyn BlobStore) {
    let base = format!("suite-{:x}", run_id());
    round_trip(store, &format!("{base}/round-trip")).await;
    overwrite_replaces_whole(store, &format!("{base}/overwrite")).await;
    get_missing_is_none(store, &format!("{base}/missing")).await;
    open_streams_the_whole_object(store, &format!("{base}/open")).await;
    delete_then_get_is_none(store, &format!("{base}/delete")).await;
    delete_missing_is_ok(store, &format!("{base}/delete-missing")).await;
    list_by_prefix(store, &format!("{base}/list")).await;
    invalid_keys_are_refused(store).await;
    concurrent_puts_leave_one_whole_value(store, &format!("{base}/concurrent")).await;
    healthy(store).await;
}

/// Distinguishes this run's keys from those of other runs in a shared bucket.
fn run_id() -> u128 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    nanos ^ (u128::from(std::process::id()) << 96)
}

/// `len` bytes of every value, zero included, starting at `seed`.
fn binary(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i as u8).wrapping_add(seed))
        .collect::<Vec<u8>>()
        .into()
}

async fn put(store: &dyn BlobStore, key: &str, bytes: Bytes) {
    store
        .put(key, bytes, "application/octet-stream")
        .await
        .unwrap();
}

async fn round_trip(store: &dyn BlobStore, base: &str) {
    let key = format!("{base}/ab/cd/v1/256.png");
    let bytes = binary(70_000, 0);
    assert!(bytes.contains(&0));
    put(store, &key, bytes.clone()).await;
    assert_eq!(store.get(&key).await.unwrap(), Some(bytes));

    let empty = format!("{base}/empty");
    put(store, &empty, Bytes::new()).await;
    assert_eq!(store.get(&empty).await.unwrap(), Some(Bytes::new()));

    store.delete(&key).await.unwrap();
    store.delete(&empty).await.unwrap();
}

async fn open_streams_the_whole_object(store: &dyn BlobStore, base: &str) {
    use futures_util::StreamExt;
    // Larger than one network read, so a streaming backend hands it out in several chunks.
    let key = format!("{base}/ab/cd/v1/512.png");
    let bytes = binary(3 << 20, 7);
    put(store, &key, bytes.clone()).await;
    let reader = store.open(&key).await.unwrap().expect("the object");
    assert_eq!(
        reader.len,
        bytes.len() as u64,
        "the length is known up front"
    );
    let chunks: Vec<Bytes> = reader
        .body
        .map(|chunk| chunk.unwrap())
        .collect::<Vec<_>>()
        .await;
    assert_eq!(chunks.concat(), bytes.to_vec());
    assert!(
        store
            .open(&format!("{base}/nothing.png"))
            .await
            .unwrap()
            .is_none(),
        "a missing object opens as None"
    );
    store.delete(&key).await.unwrap();
}

async fn overwrite_replaces_whole(store: &dyn BlobStore, base: &str) {
    let key = format!("{base}/x.webp");
    put(store, &key, binary(50_000, 1)).await;
    let shorter = Bytes::from_static(b"\0short\0");
    put(store, &key, shorter.clone()).await;
    assert_eq!(
        store.get(&key).await.unwrap(),
        Some(shorter),
        "no tail of the old value"
    );
    store.delete(&key).await.unwrap();
}

async fn get_missing_is_none(store: &dyn BlobStore, base: &str) {
    assert_eq!(
        store.get(&format!("{base}/nothing.png")).await.unwrap(),
        None
    );
    assert_eq!(
        store.get(&format!("{base}/no/such/dir.png")).await.unwrap(),
        None
    );
}

async fn delete_then_get_is_none(store: &dyn BlobStore, base: &str) {
    let key = format!("{base}/gone.png");
    put(store, &key, binary(10, 2)).await;
    store.delete(&key).await.unwrap();
    assert_eq!(store.get(&key).await.unwrap(), None);
}

async fn delete_missing_is_ok(store: &dyn BlobStore, base: &str) {
    let key = format!("{base}/never.png");
    store.delete(&key).await.unwrap();
    store.delete(&key).await.unwrap();
    store
        .delete(&format!("{base}/no/such/dir.png"))
        .await
        .unwrap();
}

async fn list_by_prefix(store: &dyn BlobStore, base: &str) {
    let keys = [
        "t/ab/1.png",
        "t/ab/2.png",
        "t/ab/sub/3.png",
        "t/abc/4.png",
        "t/a/5.png",
        "u/ab/6.png",
    ];
    for (i, key) in keys.iter().enumerate() {
        put(store, &format!("{base}/{key}"), binary(i + 1, 0)).await;
    }
    let listed = |prefix: &'static str| async move {
        let mut got: Vec<(String, u64)> = store
            .list(&format!("{base}/{prefix}"))
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.key, m.bytes))
            .collect();
        got.sort();
        got
    };
    let expect = |indices: &[usize]| -> Vec<(String, u64)> {
        let mut v: Vec<_> = indices
            .iter()
            .map(|&i| (format!("{base}/{}", keys[i]), i as u64 + 1))
            .collect();
        v.sort();
        v
    };
    assert_eq!(listed("t/ab/").await, expect(&[0, 1, 2]), "not t/abc/");
    assert_eq!(
        listed("t/ab").await,
        expect(&[0, 1, 2, 3]),
        "a string prefix"
    );
    assert_eq!(listed("t/ab/sub/").await, expect(&[2]));
    assert_eq!(listed("t/a").await, expect(&[0, 1, 2, 3, 4]));
    assert_eq!(
        listed("").await,
        expect(&[0, 1, 2, 3, 4, 5]),
        "the whole check"
    );
    assert_eq!(listed("t/zz/").await, expect(&[]));
    assert_eq!(listed("t/ab/1.png").await, expect(&[0]), "a whole key");

    for key in keys {
        store.delete(&format!("{base}/{key}")).await.unwrap();
    }
    assert_eq!(listed("").await, expect(&[]), "all deleted");
}

async fn invalid_keys_are_refused(store: &dyn BlobStore) {
    let refused = |r: Result<_, StorageError>| matches!(r, Err(StorageError::InvalidKey(_)));
    for key in [
        "../x", "/abs", "a//b", "a/./b", "", "a\\b", "a b", "a/..", "a/",
    ] {
        let bytes = Bytes::from_static(b"x");
        assert!(
            refused(store.put(key, bytes, "image/png").await),
            "put {key:?}"
        );
        assert!(refused(store.get(key).await.map(drop)), "get {key:?}");
        assert!(refused(store.delete(key).await), "delete {key:?}");
    }
}

async fn concurrent_puts_leave_one_whole_value(store: &dyn BlobStore, base: &str) {
    const WRITERS: u8 = 8;
    const ROUNDS: usize = 3;
    let key = format!("{base}/same.png");
    // Different lengths and contents, so a part of one value or a mix of two is never whole.
    let values: Vec<Bytes> = (0..WRITERS)
        .map(|i| binary(100_000 + 7_919 * usize::from(i), i.wrapping_mul(31)))
        .collect();
    put(store, &key, values[0].clone()).await;
    let done = AtomicBool::new(false);

    let writers = async {
        let puts = values.iter().map(|value| async {
            for _ in 0..ROUNDS {
                put(store, &key, value.clone()).await;
            }
        });
        join_all(puts).await;
        done.store(true, Ordering::SeqCst);
    };
    let reader = async {
        let mut reads = 0;
        while !done.load(Ordering::SeqCst) {
            let seen = store
                .get(&key)
                .await
                .unwrap()
                .expect("the key always has a value");
            assert!(
                values.contains(&seen),
                "a read saw a partial value of {} bytes",
                seen.len()
            );
            reads += 1;
        }
        reads
    };
    let ((), reads) = tokio::join!(writers, reader);
    assert!(reads > 0);

    let last = store.get(&key).await.unwrap().unwrap();
    assert!(values.contains(&last), "one whole value remains");
    let listed = store.list(base).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].bytes, last.len() as u64);
    store.delete(&key).await.unwrap();
}

async fn healthy(store: &dyn BlobStore) {
    store.health().await.unwrap();
    assert!(!store.kind().is_empty());
}
