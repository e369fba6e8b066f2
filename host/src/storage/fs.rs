//! A blob store in a local directory: one file per key, written atomically (temp file in the
//! same directory, fsync, rename over the target, fsync of the directory).

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use tracing::Span;

use super::{BlobStore, ObjectMeta, StorageError, validate_key};

/// Marks files that are not objects (temp files, health probes): no key contains it, so
/// they can never be mistaken for, or collide with, an object.
const SCRATCH_MARK: char = '~';

/// How often `put` recreates its directory when a concurrent `delete` pruned it meanwhile.
const PUT_ATTEMPTS: u32 = 8;

/// Makes scratch names unique within this process (the pid makes them unique across).
static SCRATCH_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A [`BlobStore`] in a local directory; keys are relative paths under the root.
#[derive(Debug, Clone)]
pub struct FsStore {
    root: PathBuf,
}

impl FsStore {
    /// Opens the store at `root`, creating the directory (and its parents) if needed.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StorageError> {
        let root = root.into();
        fs::create_dir_all(&root)
            .and_then(|()| fs::canonicalize(&root))
            .map(|root| Self { root })
            .map_err(|e| StorageError::Unavailable {
                message: format!("cannot create storage root {}", root.display()),
                source: Some(Box::new(e)),
            })
    }

    /// The directory that holds the objects.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file that holds (or would hold) the object under `key`, for serving it directly.
    pub fn path_of(&self, key: &str) -> Result<PathBuf, StorageError> {
        validate_key(key)?;
        Ok(join(&self.root, key))
    }
}

/// `root` followed by the `/`-separated segments of `relative`.
fn join(root: &Path, relative: &str) -> PathBuf {
    let mut path = root.to_path_buf();
    path.extend(relative.split('/').filter(|s| !s.is_empty()));
    path
}

/// A name for a file next to `name` that is not an object.
fn scratch_name(name: &str) -> String {
    let n = SCRATCH_COUNTER.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    format!(".{name}{SCRATCH_MARK}{pid}{SCRATCH_MARK}{n}")
}

/// Maps an I/O error: a full or read-only disk makes the store unavailable, anything else is
/// a backend failure.
fn io_error(what: String, e: io::Error) -> StorageError {
    match e.kind() {
        ErrorKind::StorageFull | ErrorKind::ReadOnlyFilesystem | ErrorKind::QuotaExceeded => {
            StorageError::Unavailable {
                message: what,
                source: Some(Box::new(e)),
            }
        }
        _ => StorageError::io(what, e),
    }
}

/// Whether `e` means "no object there": a missing file, a path through a file, or a directory.
fn is_absent(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::NotFound | ErrorKind::NotADirectory | ErrorKind::IsADirectory
    )
}

/// Makes the directory entries in `dir` durable.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Directories cannot be opened as files here; the rename is as durable as the platform makes it.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Runs `f` on a blocking thread, inside the caller's span (the one `storage::traced` opened
/// for the operation).
async fn blocking<T, F>(f: F) -> Result<T, StorageError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StorageError> + Send + 'static,
{
    let span = Span::current();
    match tokio::task::spawn_blocking(move || span.in_scope(f)).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(StorageError::Backend {
            message: "storage task was cancelled".to_owned(),
            source: Some(Box::new(e)),
        }),
    }
}

/// Creates the directories of `dir` (relative, `/`-separated) under `root`, making each new
/// entry durable in its parent.
fn create_dirs(root: &Path, dir: &str) -> io::Result<()> {
    let mut path = root.to_path_buf();
    for segment in dir.split('/').filter(|s| !s.is_empty()) {
        path.push(segment);
        match fs::create_dir(&path) {
            Ok(()) => sync_dir(path.parent().unwrap_or(root))?,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes `bytes` to a scratch file next to `key`'s file, then renames it over the target.
fn put_file(root: &Path, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
    let (dir, name) = key.rsplit_once('/').unwrap_or(("", key));
    let dir_path = join(root, dir);
    let target = dir_path.join(name);
    let scratch = dir_path.join(scratch_name(name));

    let mut attempt = 1;
    let mut file = loop {
        let opened = create_dirs(root, dir).and_then(|()| {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&scratch)
        });
        match opened {
            Ok(file) => break file,
            // A concurrent delete pruned a directory we had just created: create it again.
            Err(e) if e.kind() == ErrorKind::NotFound && attempt < PUT_ATTEMPTS => attempt += 1,
            Err(e) => return Err(io_error(format!("cannot create {}", scratch.display()), e)),
        }
    };
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written.and_then(|()| fs::rename(&scratch, &target)) {
        let _ = fs::remove_file(&scratch);
        return Err(io_error(format!("cannot write {}", target.display()), e));
    }
    sync_dir(&dir_path).map_err(|e| io_error(format!("cannot sync {}", dir_path.display()), e))
}

/// Removes `key`'s file, then every directory above it that is now empty, up to the root.
fn delete_file(root: &Path, key: &str) -> Result<(), StorageError> {
    let path = join(root, key);
    match fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if is_absent(&e) => {}
        Err(e) => return Err(io_error(format!("cannot delete {}", path.display()), e)),
    }
    // Best effort: a directory that is not empty (or is being filled) stays.
    let mut dir = key;
    while let Some((parent, _)) = dir.rsplit_once('/') {
        match fs::remove_dir(join(root, parent)) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(_) => break,
        }
        dir = parent;
    }
    Ok(())
}

/// Checks a listing prefix: the characters of a key, and whole directory segments that could
/// not leave the root. A prefix need not be a key (`t/ab/`, `t/ab`, or empty for all).
fn validate_prefix(prefix: &str) -> Result<(), StorageError> {
    let chars_ok = prefix
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'));
    // What precedes the last `/` names directories: it must be a valid key itself.
    let dirs_ok = prefix
        .rsplit_once('/')
        .is_none_or(|(dirs, _)| validate_key(dirs).is_ok());
    if chars_ok && dirs_ok {
        Ok(())
    } else {
        Err(StorageError::InvalidKey(prefix.to_owned()))
    }
}

/// Every object under `root` whose key starts with `prefix`, sorted by key.
fn list_files(root: &Path, prefix: &str) -> Result<Vec<ObjectMeta>, StorageError> {
    // Start in the deepest directory the prefix names whole; filter the rest by key.
    let start = prefix.rsplit_once('/').map_or("", |(dir, _)| dir);
    let mut pending = vec![(join(root, start), start.to_owned())];
    let mut found = Vec::new();
    while let Some((dir, dir_key)) = pending.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            // Pruned by a concurrent delete, or never created.
            Err(e) if is_absent(&e) => continue,
            Err(e) => return Err(io_error(format!("cannot list {}", dir.display()), e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| io_error(format!("cannot list {}", dir.display()), e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue; // not a name this store makes
            };
            let key = if dir_key.is_empty() {
                name
            } else {
                format!("{dir_key}/{name}")
            };
            let file_type = match entry.file_type() {
                Ok(t) => t,
                Err(e) if is_absent(&e) => continue,
                Err(e) => return Err(io_error(format!("cannot list {}", dir.display()), e)),
            };
            if file_type.is_dir() {
                let as_dir = format!("{key}/");
                if as_dir.starts_with(prefix) || prefix.starts_with(&as_dir) {
                    pending.push((entry.path(), key));
                }
            } else if file_type.is_file() && key.starts_with(prefix) && validate_key(&key).is_ok() {
                match entry.metadata() {
                    Ok(meta) => found.push(ObjectMeta {
                        key,
                        bytes: meta.len(),
                    }),
                    Err(e) if is_absent(&e) => {}
                    Err(e) => return Err(io_error(format!("cannot stat {key}"), e)),
                }
            }
            // Symbolic links and other file types are not objects of this store.
        }
    }
    found.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(found)
}

/// Checks that the root is a directory in which files can be created and removed.
fn probe(root: &Path) -> Result<(), StorageError> {
    let unavailable = |message: String, e: io::Error| StorageError::Unavailable {
        message,
        source: Some(Box::new(e)),
    };
    let meta = fs::metadata(root)
        .map_err(|e| unavailable(format!("storage root {} is missing", root.display()), e))?;
    if !meta.is_dir() {
        return Err(StorageError::Unavailable {
            message: format!("storage root {} is not a directory", root.display()),
            source: None,
        });
    }
    let path = root.join(scratch_name("health"));
    File::create_new(&path)
        .and_then(|mut file| file.write_all(b"ok"))
        .and_then(|()| fs::remove_file(&path))
        .map_err(|e| {
            let _ = fs::remove_file(&path);
            unavailable(
                format!("storage root {} is not writable", root.display()),
                e,
            )
        })
}

#[async_trait]
impl BlobStore for FsStore {
    async fn put(&self, key: &str, bytes: Bytes, _content_type: &str) -> Result<(), StorageError> {
        validate_key(key)?;
        let (root, key) = (self.root.clone(), key.to_owned());
        blocking(move || put_file(&root, &key, &bytes)).await
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, StorageError> {
        let path = self.path_of(key)?;
        blocking(move || match fs::read(&path) {
            Ok(bytes) => Ok(Some(Bytes::from(bytes))),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(io_error(format!("cannot read {}", path.display()), e)),
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        validate_key(key)?;
        let (root, key) = (self.root.clone(), key.to_owned());
        blocking(move || delete_file(&root, &key)).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StorageError> {
        validate_prefix(prefix)?;
        let (root, prefix) = (self.root.clone(), prefix.to_owned());
        blocking(move || list_files(&root, &prefix)).await
    }

    async fn health(&self) -> Result<(), StorageError> {
        let root = self.root.clone();
        blocking(move || probe(&root)).await
    }

    fn kind(&self) -> &'static str {
        "filesystem"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::suite;

    fn open() -> (tempfile::TempDir, FsStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::open(dir.path().join("store")).unwrap();
        (dir, store)
    }

    /// Every file under `dir`, relative, with `/` separators.
    fn files(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(d) = pending.pop() {
            for entry in fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    let rel = path.strip_prefix(dir).unwrap();
                    out.push(rel.to_str().unwrap().replace('\\', "/"));
                }
            }
        }
        out.sort();
        out
    }

    #[tokio::test]
    async fn conforms() {
        let (_dir, store) = open();
        assert_eq!(store.kind(), "filesystem");
        suite::run(&store).await;
        assert_eq!(
            files(store.root()),
            Vec::<String>::new(),
            "the suite cleans up"
        );
    }

    #[tokio::test]
    async fn puts_leave_no_temp_files() {
        let (_dir, store) = open();
        let puts = (0..16).map(|i| {
            let key = format!("t/ab/cd/{}/v1/{}.png", "ab".repeat(20), i % 4);
            let store = &store;
            async move {
                store
                    .put(&key, Bytes::from(vec![i; 1000]), "image/png")
                    .await
            }
        });
        for result in futures_util::future::join_all(puts).await {
            result.unwrap();
        }
        let hash = "ab".repeat(20);
        let expected: Vec<String> = (0..4)
            .map(|i| format!("t/ab/cd/{hash}/v1/{i}.png"))
            .collect();
        assert_eq!(files(store.root()), expected);
    }

    #[tokio::test]
    async fn delete_prunes_empty_directories() {
        let (_dir, store) = open();
        let root = store.root().to_path_buf();
        store
            .put("a/b/c/d.png", Bytes::from_static(b"d"), "image/png")
            .await
            .unwrap();
        store
            .put("a/x.png", Bytes::from_static(b"x"), "image/png")
            .await
            .unwrap();

        store.delete("a/b/c/d.png").await.unwrap();
        assert!(!root.join("a/b").exists(), "empty directories are pruned");
        assert!(
            root.join("a/x.png").is_file(),
            "a directory with objects stays"
        );

        store.delete("a/x.png").await.unwrap();
        assert!(!root.join("a").exists());
        assert!(root.is_dir(), "the root itself stays");
        store.health().await.unwrap();
    }

    #[tokio::test]
    async fn keys_cannot_escape_the_root() {
        let (dir, store) = open();
        for key in [
            "../escape",
            "a/../../escape",
            "/etc/passwd",
            "./x",
            "a\\..\\..\\x",
        ] {
            assert!(
                matches!(store.path_of(key), Err(StorageError::InvalidKey(_))),
                "{key}"
            );
            assert!(
                matches!(
                    store.put(key, Bytes::from_static(b"x"), "image/png").await,
                    Err(StorageError::InvalidKey(_))
                ),
                "{key}"
            );
        }
        for prefix in ["../", "/", "a/../", "a//", "../x", "a b"] {
            assert!(
                matches!(store.list(prefix).await, Err(StorageError::InvalidKey(_))),
                "{prefix:?}"
            );
        }
        assert_eq!(
            files(dir.path()),
            Vec::<String>::new(),
            "nothing written anywhere"
        );
        let inside = store.path_of("t/ab/x.png").unwrap();
        assert!(inside.starts_with(store.root()));
    }

    #[tokio::test]
    async fn scratch_files_and_directories_are_not_objects() {
        let (_dir, store) = open();
        store
            .put("t/a/b.png", Bytes::from_static(b"b"), "image/png")
            .await
            .unwrap();
        fs::write(
            store.root().join("t/a").join(scratch_name("c.png")),
            b"partial",
        )
        .unwrap();

        let keys: Vec<String> = store
            .list("t/")
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.key)
            .collect();
        assert_eq!(keys, ["t/a/b.png"]);
        assert_eq!(store.get("t/a").await.unwrap(), None, "a directory");
        assert_eq!(
            store.get("t/a/b.png/c").await.unwrap(),
            None,
            "a path through a file"
        );
        store.delete("t/a").await.unwrap();
    }

    #[tokio::test]
    async fn health_fails_without_a_root() {
        let (_dir, store) = open();
        store.health().await.unwrap();
        fs::remove_dir(store.root()).unwrap();
        let err = store.health().await.unwrap_err();
        assert!(err.is_unavailable(), "{err}");
    }
}
