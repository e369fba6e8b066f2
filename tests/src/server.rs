//! The real `avatar` server under test: the handle a test holds ([`TestServer`]), its
//! directory ([`ServerDir`]), and what it stored. Built with [`TestServer::builder`]
//! (`builder`), run as a child process (`process`), and spoken to over HTTP (`client`) or a
//! raw socket (`raw`, for what a polite client cannot send: lying `Content-Length`s and bodies
//! that never end), with tokens signed by `tokens`. `AVATAR_E2E_BACKEND` chooses its backends
//! when the test names none (`backends`).
//!
//! Every name the tests use is reachable from here.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;
use tempfile::TempDir;

pub use crate::builder::{Builder, Delivery};
pub use crate::client::Reply;
pub use crate::images::{png, solid_png};
pub use crate::process::avatar_binary;
pub use crate::raw::{Multipart, chunked};
pub use crate::tokens::{sign, unix_now};

use crate::backends::{self, S3Listing};
use crate::process::Process;

/// The tenant every test server has.
pub const TENANT: &str = "default";
/// The admin token every test server is configured with: it opens `/_status` and
/// `/metrics` on the public listener too.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// A test server's directory: `config.json`, the embedded backends' `data/`, and the note of
/// the backends generated for it (`backends.json`). Dropping it removes the directory and the
/// PostgreSQL database made for it.
pub struct ServerDir {
    dir: TempDir,
}

impl ServerDir {
    pub(crate) fn new() -> Self {
        Self {
            dir: tempfile::Builder::new()
                .prefix("avatar-e2e-")
                .tempdir()
                .expect("a temporary directory"),
        }
    }

    /// A directory in memory (`/dev/shm`, where there is one): for a test that times
    /// requests and must not see the disk's fsync stalls, which come and go with whatever
    /// else the machine writes.
    pub fn in_memory() -> Self {
        let shm = Path::new("/dev/shm");
        if !shm.is_dir() {
            return Self::new();
        }
        Self {
            dir: tempfile::Builder::new()
                .prefix("avatar-e2e-")
                .tempdir_in(shm)
                .expect("a temporary directory in /dev/shm"),
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for ServerDir {
    fn drop(&mut self) {
        backends::release(self.path());
    }
}

/// A running `avatar serve`; dropping it kills the process (and removes the directory).
pub struct TestServer {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base_url: String,
    /// The admin listener's `http://127.0.0.1:PORT`, when it has one.
    pub admin_url: Option<String>,
    /// The configured `storage` section.
    pub(crate) storage: Value,
    /// A client of the S3 store, for [`TestServer::image_files`]; made on first use.
    pub(crate) s3: OnceLock<S3Listing>,
    pub(crate) dir: ServerDir,
    pub(crate) config_path: PathBuf,
    pub(crate) secret: String,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) process: Option<Process>,
    /// What the last stopped process wrote to stderr.
    pub(crate) stopped_stderr: String,
    pub(crate) agent: ureq::Agent,
}

impl TestServer {
    /// A server with the defaults: proxy delivery, the default sizes, `default_avatar` "404".
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Starts a server with the defaults.
    pub fn start() -> Self {
        Self::builder().start()
    }

    /// Stops the server and hands over its directory (with its backends), for a server with
    /// another configuration.
    pub fn into_dir(mut self) -> ServerDir {
        if self.process.is_some() {
            self.stop();
        }
        std::mem::replace(&mut self.dir, ServerDir::new())
    }

    /// The directory holding `config.json` and, with the embedded backends, `data/`.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The blob store's root: a filesystem store's directory. For an S3 store, the directory
    /// [`TestServer::image_files`] maps object keys under (nothing is stored there), so that
    /// tests compare paths relative to it alike for every store.
    pub fn images_dir(&self) -> PathBuf {
        match (self.storage["type"].as_str(), self.storage["path"].as_str()) {
            (Some("filesystem"), Some(path)) => self.root().join(path),
            _ => self.root().join("data/images"),
        }
    }

    /// The configuration file.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The configured store's `type`: `filesystem` or `s3`.
    pub fn storage_kind(&self) -> &str {
        self.storage["type"].as_str().unwrap_or("filesystem")
    }

    /// Every stored object, sorted: the regular files under a filesystem store's root, or
    /// the objects under an S3 store's prefix, each as `images_dir()` joined with its key.
    pub fn image_files(&self) -> Vec<PathBuf> {
        if self.storage_kind() == "s3" {
            let listing = self.s3.get_or_init(|| S3Listing::connect(&self.storage));
            let mut found: Vec<PathBuf> = listing
                .keys()
                .into_iter()
                .map(|key| self.images_dir().join(key))
                .collect();
            found.sort();
            return found;
        }
        let mut found = Vec::new();
        let mut pending = vec![self.images_dir()];
        while let Some(dir) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                match entry.file_type() {
                    Ok(t) if t.is_dir() => pending.push(path),
                    Ok(_) => found.push(path),
                    Err(_) => {}
                }
            }
        }
        found.sort();
        found
    }

    /// `127.0.0.1:PORT`, for raw sockets.
    pub fn address(&self) -> &str {
        self.base_url
            .strip_prefix("http://")
            .expect("an http base URL")
    }

    /// An absolute URL for `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// `GET path` on the admin listener (`/_status`, `/metrics`).
    pub fn admin_get(&self, path: &str) -> Reply {
        let base = self
            .admin_url
            .as_deref()
            .expect("this server has an admin listener");
        let builder = ureq::http::Request::builder()
            .method("GET")
            .uri(format!("{base}{path}"));
        self.exchange("GET", path, builder, None)
    }

    /// The admin surface's `/_status`, as JSON.
    pub fn status(&self) -> serde_json::Value {
        let reply = self.admin_get("/_status");
        assert_eq!(reply.status, 200, "/_status: {}", reply.text());
        reply.json()
    }

    /// Rewrites the running server's `config.json` through `edit`, replacing the file in one
    /// rename as deployment tools do (a watcher never sees half a file).
    pub fn edit_config(&self, edit: impl FnOnce(&mut Value)) {
        let text = std::fs::read(&self.config_path).expect("reading config.json");
        let mut config: Value = serde_json::from_slice(&text).expect("config.json is JSON");
        edit(&mut config);
        let temp = self.config_path.with_extension("json.tmp");
        std::fs::write(&temp, serde_json::to_vec_pretty(&config).expect("JSON"))
            .expect("writing the new config.json");
        std::fs::rename(&temp, &self.config_path).expect("replacing config.json");
    }
}
