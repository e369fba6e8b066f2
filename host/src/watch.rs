//! Tells when any of a changing set of files changes: inotify (through `notify`) on the
//! files' directories answers within milliseconds, and a poll of every file's fingerprint
//! remains as the fallback for filesystems that send no events (network and FUSE mounts) and
//! for directories that cannot be watched.
//!
//! Directories are watched rather than the files themselves because editors and deploy tools
//! replace a file by renaming a new one over it: a watch on the old file would follow the old
//! inode away, while the directory reports the rename. Events only wake the watcher; what
//! counts as a change is a different fingerprint (length, modification time, inode), so
//! reading the files, or events for their neighbours, never trigger anything.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{Event, EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How long the files must be quiet after an event before they are compared: a writer that
/// truncates and then writes in place sends several events in a row, and reading after the
/// first would find half a file.
const SETTLE: Duration = Duration::from_millis(10);
/// The longest an event waits for quiet, so a file written without pause still gets read.
const MAX_SETTLE: Duration = Duration::from_millis(250);
/// Events queued between two looks; more are dropped, which loses nothing, since the files
/// are compared after the queued ones are read.
const QUEUE: usize = 256;

/// What identifies a file's content cheaply: length, modification time, inode. `None` when
/// the file cannot be read.
type Fingerprint = Option<(u64, SystemTime, u64)>;

fn fingerprint(path: &Path) -> Fingerprint {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some((meta.len(), meta.modified().ok()?, inode))
}

struct File {
    /// As given, and as reported back.
    path: PathBuf,
    /// Absolute, to match the paths events carry.
    absolute: PathBuf,
    seen: Fingerprint,
}

/// inotify on the directories of the watched files.
struct Events {
    watcher: notify::RecommendedWatcher,
    queue: mpsc::Receiver<notify::Result<Event>>,
    /// Every directory holding a watched file, and whether it is being watched now (one that
    /// is missing or was removed is tried again at every poll).
    dirs: BTreeMap<PathBuf, bool>,
}

/// Watches a set of files; see the module comment.
pub struct FileWatcher {
    files: Vec<File>,
    events: Option<Events>,
    poll: tokio::time::Interval,
}

impl FileWatcher {
    /// Watches `files`, taking their current state as seen; polls them every
    /// `poll_interval` (which must not be zero) in case no event comes.
    pub fn new(files: Vec<PathBuf>, poll_interval: Duration) -> Self {
        let mut poll = tokio::time::interval_at(Instant::now() + poll_interval, poll_interval);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let (send, queue) = mpsc::channel(QUEUE);
        let events = notify::recommended_watcher(move |event| {
            // A full queue already guarantees a look at the files.
            let _ = send.try_send(event);
        })
        .map(|watcher| Events {
            watcher,
            queue,
            dirs: BTreeMap::new(),
        })
        .inspect_err(|error| {
            tracing::warn!(
                %error,
                poll_ms = poll_interval.as_millis() as u64,
                "file events are unavailable; watching by polling alone"
            );
        })
        .ok();
        let mut watcher = Self {
            files: Vec::new(),
            events,
            poll,
        };
        watcher.set_files(files);
        watcher
    }

    /// Whether file events are in use (otherwise only polling is).
    pub fn uses_events(&self) -> bool {
        self.events
            .as_ref()
            .is_some_and(|e| e.dirs.values().any(|w| *w))
    }

    /// Watches `files` from now on. A file watched before keeps the state seen then, so a
    /// change made since is still reported; a new one is taken as it is now.
    pub fn set_files(&mut self, files: Vec<PathBuf>) {
        let mut old = std::mem::take(&mut self.files);
        self.files = files
            .into_iter()
            .map(|path| match old.iter().position(|f| f.path == path) {
                Some(i) => old.swap_remove(i),
                None => File {
                    absolute: std::path::absolute(&path).unwrap_or_else(|_| path.clone()),
                    seen: fingerprint(&path),
                    path,
                },
            })
            .collect();
        let Some(events) = &mut self.events else {
            return;
        };
        let wanted: BTreeMap<PathBuf, bool> = self
            .files
            .iter()
            .filter_map(|f| f.absolute.parent())
            .map(|dir| {
                (
                    dir.to_owned(),
                    events.dirs.get(dir).copied().unwrap_or(false),
                )
            })
            .collect();
        for (dir, watching) in &events.dirs {
            if *watching && !wanted.contains_key(dir) {
                let _ = events.watcher.unwatch(dir);
            }
        }
        events.dirs = wanted;
        events.watch_missing(true);
    }

    /// Waits until a watched file differs from when it was last seen, and returns every file
    /// that does (as given), now taken as seen.
    pub async fn changed(&mut self) -> Vec<PathBuf> {
        loop {
            // `None`: the poll's turn; `Some(None)`: the event queue closed.
            let woken = match &mut self.events {
                Some(events) => tokio::select! {
                    _ = self.poll.tick() => None,
                    event = events.queue.recv() => Some(event),
                },
                None => {
                    self.poll.tick().await;
                    None
                }
            };
            match woken {
                None => {
                    if let Some(events) = &mut self.events {
                        events.watch_missing(false);
                    }
                }
                Some(None) => {
                    tracing::warn!("file events stopped; watching by polling alone");
                    self.events = None;
                    continue;
                }
                Some(Some(event)) => {
                    let events = self.events.as_mut().expect("the event came from them");
                    if !events.note(&event, &self.files) {
                        continue;
                    }
                    events.settle(&self.files).await;
                }
            }
            let changed = self.compare();
            if !changed.is_empty() {
                return changed;
            }
        }
    }

    /// The files whose fingerprint changed, now taken as seen.
    fn compare(&mut self) -> Vec<PathBuf> {
        let mut changed = Vec::new();
        for file in &mut self.files {
            let now = fingerprint(&file.path);
            if now != file.seen {
                file.seen = now;
                changed.push(file.path.clone());
            }
        }
        changed
    }
}

impl Events {
    /// Starts watching the directories not watched yet; `report` logs those that cannot be.
    fn watch_missing(&mut self, report: bool) {
        for (dir, watching) in self.dirs.iter_mut().filter(|(_, w)| !**w) {
            match self.watcher.watch(dir, RecursiveMode::NonRecursive) {
                Ok(()) => *watching = true,
                Err(error) if report => tracing::warn!(
                    dir = %dir.display(),
                    %error,
                    "cannot watch this directory for changes; polling it instead"
                ),
                Err(_) => {}
            }
        }
    }

    /// Takes note of one event (a watched directory that went away is to be watched again)
    /// and says whether it may concern a watched file.
    fn note(&mut self, event: &notify::Result<Event>, files: &[File]) -> bool {
        let Ok(event) = event else {
            // An error (such as a full kernel queue) may hide a change.
            return true;
        };
        if event.need_rescan() {
            return true;
        }
        if matches!(
            event.kind,
            EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_))
        ) {
            for path in &event.paths {
                if let Some(watching) = self.dirs.get_mut(path)
                    && *watching
                {
                    let _ = self.watcher.unwatch(path);
                    *watching = false;
                }
            }
        }
        match event.kind {
            // Opening and reading change nothing; the reload itself reads the files.
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
            EventKind::Access(_) => return false,
            _ => {}
        }
        event.paths.iter().any(|path| {
            files.iter().any(|f| f.absolute == *path)
                // A symbolic link swapped in the directory (as Kubernetes updates a mounted
                // ConfigMap) may now lead a watched file elsewhere.
                || path.symlink_metadata().is_ok_and(|m| m.is_symlink())
        })
    }

    /// Waits until no event concerning a watched file has come for [`SETTLE`], or at most
    /// [`MAX_SETTLE`].
    async fn settle(&mut self, files: &[File]) {
        let deadline = Instant::now() + MAX_SETTLE;
        let mut quiet_at = Instant::now() + SETTLE;
        loop {
            match tokio::time::timeout_at(quiet_at.min(deadline), self.queue.recv()).await {
                Err(_quiet) => return,
                // The caller notices a closed queue at its next wait.
                Ok(None) => return,
                Ok(Some(event)) => {
                    if self.note(&event, files) {
                        quiet_at = Instant::now() + SETTLE;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Long enough that a test passing within it was told by an event, not by the poll.
    const NO_POLL: Duration = Duration::from_secs(3600);
    const PATIENCE: Duration = Duration::from_secs(10);

    fn replace_by_rename(path: &Path, text: &str) {
        let temp = path.with_extension("tmp");
        std::fs::write(&temp, text).unwrap();
        std::fs::rename(&temp, path).unwrap();
    }

    async fn next_change(watcher: &mut FileWatcher) -> Vec<PathBuf> {
        tokio::time::timeout(PATIENCE, watcher.changed())
            .await
            .expect("a change is told")
    }

    #[tokio::test]
    async fn a_file_replaced_by_rename_or_written_in_place_is_told_without_polling() {
        let dir = tempfile::tempdir().unwrap();
        let (config, other) = (dir.path().join("config.json"), dir.path().join("a.wasm"));
        std::fs::write(&config, "{}").unwrap();
        std::fs::write(&other, "wasm").unwrap();
        let mut watcher = FileWatcher::new(vec![config.clone(), other.clone()], NO_POLL);
        assert!(watcher.uses_events());

        let started = std::time::Instant::now();
        replace_by_rename(&config, r#"{"a": 1}"#);
        assert_eq!(next_change(&mut watcher).await, vec![config.clone()]);
        assert!(started.elapsed() < Duration::from_secs(2));

        std::fs::write(&other, "other wasm").unwrap();
        assert_eq!(next_change(&mut watcher).await, vec![other.clone()]);

        std::fs::remove_file(&other).unwrap();
        assert_eq!(next_change(&mut watcher).await, vec![other.clone()]);
        std::fs::write(&other, "back").unwrap();
        assert_eq!(next_change(&mut watcher).await, vec![other]);
    }

    #[tokio::test]
    async fn reading_the_files_or_changing_their_neighbours_tells_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.json");
        std::fs::write(&config, "{}").unwrap();
        let mut watcher = FileWatcher::new(vec![config.clone()], NO_POLL);
        for i in 0..20 {
            std::fs::read(&config).unwrap();
            std::fs::write(dir.path().join(format!("neighbour-{i}")), "x").unwrap();
        }
        let quiet = tokio::time::timeout(Duration::from_millis(300), watcher.changed()).await;
        assert!(quiet.is_err(), "told of a change: {quiet:?}");
    }

    #[tokio::test]
    async fn a_change_before_the_set_is_replaced_is_still_told() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, "1").unwrap();
        let mut watcher = FileWatcher::new(vec![a.clone()], NO_POLL);
        replace_by_rename(&a, "22");
        // As after a reload: the set is replaced before the next wait.
        watcher.set_files(vec![a.clone(), b]);
        assert_eq!(next_change(&mut watcher).await, vec![a]);
    }

    #[tokio::test]
    async fn a_file_in_a_directory_made_later_is_found_by_the_poll_and_then_watched() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sub/config.json");
        let mut watcher = FileWatcher::new(vec![file.clone()], Duration::from_millis(50));
        assert!(!watcher.uses_events());
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(&file, "{}").unwrap();
        assert_eq!(next_change(&mut watcher).await, vec![file]);
        assert!(watcher.uses_events());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_swapped_symbolic_link_is_told_as_a_change_of_the_file_behind_it() {
        use std::os::unix::fs::symlink;
        // The layout of a Kubernetes ConfigMap volume: `config.json -> ..data/config.json`,
        // `..data -> <version>`, and an update renames a new `..data` link over the old one.
        let dir = tempfile::tempdir().unwrap();
        for (version, text) in [("v1", "{}"), ("v2", r#"{"a": 1}"#)] {
            std::fs::create_dir(dir.path().join(version)).unwrap();
            std::fs::write(dir.path().join(version).join("config.json"), text).unwrap();
        }
        symlink("v1", dir.path().join("..data")).unwrap();
        let config = dir.path().join("config.json");
        symlink("..data/config.json", &config).unwrap();
        let mut watcher = FileWatcher::new(vec![config.clone()], NO_POLL);
        symlink("v2", dir.path().join("..data_tmp")).unwrap();
        std::fs::rename(dir.path().join("..data_tmp"), dir.path().join("..data")).unwrap();
        assert_eq!(next_change(&mut watcher).await, vec![config]);
    }
}
