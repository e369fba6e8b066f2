//! The options of a test server and the configuration file made from them: what
//! [`TestServer::builder`] returns, and [`Builder::start`], which writes the server's
//! directory and starts it.

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::server::{ADMIN_TOKEN, ServerDir, TENANT, TestServer};
use crate::{backends, client, process, workspace_root};

/// Compiled plugins shared by every test server (the cache writes atomically and names files
/// by content), so each start loads them instead of compiling them again.
fn shared_plugin_cache() -> PathBuf {
    process::target_dir().join("avatar-e2e-plugin-cache")
}

/// A development secret no other server in this run shares.
fn unique_secret() -> String {
    format!("e2e-development-secret-{}", backends::unique_id())
}

/// How `GET` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// `200` with the bytes.
    Proxy,
    /// `302` to the variant's immutable `/_media/` URL.
    Redirect,
}

/// Options of a test server; see [`TestServer::builder`].
pub struct Builder {
    delivery: Delivery,
    default_avatar: Value,
    sizes: Option<Value>,
    default_size: Option<String>,
    max_upload_bytes: Option<u64>,
    max_source_pixels: Option<u64>,
    cache_max_age: Option<u64>,
    cache: Option<(u64, u64)>,
    dir: Option<ServerDir>,
    env: Vec<(String, String)>,
    backends: Option<(Value, Value)>,
    embedded: bool,
    edits: Vec<ConfigEdit>,
}

/// A change to a test server's configuration, after the builder made it.
type ConfigEdit = Box<dyn FnOnce(&mut Value) + Send>;

impl Builder {
    /// The defaults: proxy delivery, the default sizes, `default_avatar` "404".
    pub(crate) fn new() -> Self {
        Self {
            delivery: Delivery::Proxy,
            default_avatar: json!("404"),
            sizes: None,
            default_size: None,
            max_upload_bytes: None,
            max_source_pixels: None,
            cache_max_age: None,
            cache: None,
            dir: None,
            env: Vec::new(),
            backends: None,
            embedded: false,
            edits: Vec::new(),
        }
    }

    /// Changes the configuration the builder makes before it is written (more tenants,
    /// filters, plugin settings); edits run in the order given.
    pub fn configure(mut self, edit: impl FnOnce(&mut Value) + Send + 'static) -> Self {
        self.edits.push(Box::new(edit));
        self
    }

    /// Other `storage` and `catalog` sections (the default: those `AVATAR_E2E_BACKEND` asks
    /// for, see the [`crate::server`] module comment).
    pub fn backends(mut self, storage: Value, catalog: Value) -> Self {
        self.backends = Some((storage, catalog));
        self
    }

    /// A directory and SQLite in the server's own directory, whatever `AVATAR_E2E_BACKEND`
    /// says: for a test about the embedded backends themselves (say why at the call).
    pub fn embedded(mut self) -> Self {
        self.embedded = true;
        self
    }

    /// `proxy` (the default) or `redirect`.
    pub fn delivery(mut self, delivery: Delivery) -> Self {
        self.delivery = delivery;
        self
    }

    /// The tenant's `default_avatar`: `"404"` (the default), `{"hash": …}` or `{"file": …}`;
    /// the file `default-avatar.png`, next to the configuration, is a copy of
    /// `assets/default-avatar.png`.
    pub fn default_avatar(mut self, policy: Value) -> Self {
        self.default_avatar = policy;
        self
    }

    /// The tenant's named sizes and default size.
    pub fn sizes(mut self, sizes: Value, default_size: &str) -> Self {
        self.sizes = Some(sizes);
        self.default_size = Some(default_size.to_owned());
        self
    }

    /// `limits.max_upload_bytes`.
    pub fn max_upload_bytes(mut self, bytes: u64) -> Self {
        self.max_upload_bytes = Some(bytes);
        self
    }

    /// `limits.max_source_pixels`.
    pub fn max_source_pixels(mut self, pixels: u64) -> Self {
        self.max_source_pixels = Some(pixels);
        self
    }

    /// The tenant's `cache_max_age`.
    pub fn cache_max_age(mut self, seconds: u64) -> Self {
        self.cache_max_age = Some(seconds);
        self
    }

    /// The in-memory cache: `max_records` and `max_image_mib` (0 and 0 turn it off).
    pub fn cache(mut self, max_records: u64, max_image_mib: u64) -> Self {
        self.cache = Some((max_records, max_image_mib));
        self
    }

    /// Reuses a directory a previous server left (see [`TestServer::into_dir`]): its data
    /// and its backends stay, its configuration is written anew.
    pub fn dir(mut self, dir: ServerDir) -> Self {
        self.dir = Some(dir);
        self
    }

    /// An environment variable for the server process.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// The configuration file's content, with `secret` and the `storage` and `catalog`
    /// sections of `backends` (the embedded ones when `None`).
    fn config(&self, secret: &str, backends: Option<&(Value, Value)>) -> Value {
        let mut tenant = json!({
            "id": TENANT,
            "auth": {
                "plugin": "auth-jwt",
                "config": {"algorithm": "HS256", "secret": secret, "leeway": 5}
            },
            "transform": {"plugin": "transform-image"},
            "default_avatar": self.default_avatar,
        });
        if let Some(sizes) = &self.sizes {
            tenant["sizes"] = sizes.clone();
        }
        if let Some(size) = &self.default_size {
            tenant["default_size"] = json!(size);
        }
        if let Some(age) = self.cache_max_age {
            tenant["cache_max_age"] = json!(age);
        }
        let mut limits = json!({});
        if let Some(bytes) = self.max_upload_bytes {
            limits["max_upload_bytes"] = json!(bytes);
        }
        if let Some(pixels) = self.max_source_pixels {
            limits["max_source_pixels"] = json!(pixels);
        }
        let mut config = json!({
            "listen": "127.0.0.1:0",
            "storage": {"type": "filesystem", "path": "data/images"},
            "catalog": {"type": "sqlite", "path": "data/avatar.db"},
            "delivery": match self.delivery {
                Delivery::Proxy => "proxy",
                Delivery::Redirect => "redirect",
            },
            "limits": limits,
            "plugins": {"cache_dir": shared_plugin_cache(), "max_instances": 16},
            // Port 0: tests run many servers at once.
            "admin": {"listen": "127.0.0.1:0", "token": ADMIN_TOKEN},
            // The suite writes hundreds of avatars a second from one address; the tests of
            // the rate limits set their own.
            "rate_limits": {
                "writes": {"per_client": null, "per_tenant": null},
                "renders": {"per_client": null, "per_tenant": null},
            },
            "tenants": [tenant],
        });
        if let Some((storage, catalog)) = backends {
            config["storage"] = storage.clone();
            config["catalog"] = catalog.clone();
        }
        if let Some((records, mib)) = self.cache {
            config["cache"] = json!({"max_records": records, "max_image_mib": mib});
        }
        config
    }

    /// The backends to configure in `dir`: the test's own; the embedded ones when asked for;
    /// or those [`backends::default_backends`] gives (made earlier for `dir`, or new ones when
    /// `AVATAR_E2E_BACKEND` says so).
    fn choose_backends(&self, dir: &ServerDir) -> Option<(Value, Value)> {
        if let Some(backends) = &self.backends {
            return Some(backends.clone());
        }
        if self.embedded {
            return None;
        }
        backends::default_backends(dir.path())
    }

    /// Writes the configuration into a fresh (or the reused) directory and starts the server.
    pub fn start(mut self) -> TestServer {
        let secret = unique_secret();
        let dir = self.dir.take().unwrap_or_else(ServerDir::new);
        let backends = self.choose_backends(&dir);
        let mut config = self.config(&secret, backends.as_ref());
        for edit in std::mem::take(&mut self.edits) {
            edit(&mut config);
        }
        let env = std::mem::take(&mut self.env);
        std::fs::copy(
            workspace_root().join("assets/default-avatar.png"),
            dir.path().join("default-avatar.png"),
        )
        .expect("copying the default avatar");
        let config_path = dir.path().join("config.json");
        std::fs::write(
            &config_path,
            serde_json::to_vec_pretty(&config).expect("JSON"),
        )
        .expect("writing config.json");
        let mut server = TestServer {
            base_url: String::new(),
            admin_url: None,
            stopped_stderr: String::new(),
            storage: config["storage"].clone(),
            s3: OnceLock::new(),
            dir,
            config_path,
            secret,
            env,
            process: None,
            agent: client::agent(),
        };
        server.spawn();
        server
    }
}
