//! The real `avatar` binary for end-to-end tests: built once per test process, started on a
//! free loopback port with a temporary data directory and its own configuration, and spoken
//! to over HTTP (a blocking `ureq` agent, plus a raw socket for what a polite client cannot
//! send: lying `Content-Length`s and bodies that never end).
//!
//! `AVATAR_E2E_BACKEND` chooses the backends of servers whose test names none: unset (or
//! `embedded`), a directory and SQLite in the server's own directory; `postgres-garage`, the
//! services of `scripts/services.sh` (S3 under a prefix of the server's own, and a PostgreSQL
//! database made for it), so the same tests prove the production backends too.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use avatar_host::storage::{BlobStore, S3Store, StorageConfig};
use image::DynamicImage;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use tempfile::TempDir;
use ureq::http::{HeaderMap, HeaderName, HeaderValue, Method, Request};

use crate::workspace_root;

/// How long a server may take to print its "listening on" line.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one HTTP exchange may take before the test fails instead of hanging.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a raw exchange waits for the response: the server answers these in
/// milliseconds, or (when it waits for a body that never comes) not at all.
const RAW_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a stopped server may take to exit after `SIGTERM`.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The tenant every test server has.
pub const TENANT: &str = "default";

/// The `avatar` executable, built once per test process with the same profile and target
/// directory as the running test (cargo does not hold its build lock while tests run).
pub fn avatar_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| build_avatar().unwrap_or_else(|e| panic!("building avatar: {e:#}")))
        .clone()
}

fn build_avatar() -> anyhow::Result<PathBuf> {
    use anyhow::{Context, bail};
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace_root())
        .args(["build", "-p", "avatar-host", "--bin", "avatar"])
        .args(["--message-format", "json-render-diagnostics"])
        .arg("--target-dir")
        .arg(target_dir());
    match test_profile().as_str() {
        "debug" => {}
        "release" => {
            command.arg("--release");
        }
        other => {
            command.args(["--profile", other]);
        }
    }
    let output = command.output().context("running cargo")?;
    if !output.status.success() {
        bail!(
            "cargo build of avatar failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if message["reason"] == "compiler-artifact"
            && message["target"]["name"] == "avatar"
            && let Some(exe) = message["executable"].as_str()
        {
            return Ok(PathBuf::from(exe));
        }
    }
    bail!("cargo built avatar but reported no executable")
}

/// The target directory of the running test: its executable is
/// `<target>/<profile>/deps/<name>-<hash>`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.ancestors()
        .nth(3)
        .expect("the test executable lives in a target directory")
        .to_owned()
}

fn test_profile() -> String {
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.ancestors()
        .nth(2)
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .unwrap_or("debug")
        .to_owned()
}

/// Compiled plugins shared by every test server (the cache writes atomically and names files
/// by content), so each start loads them instead of compiling them again.
fn shared_plugin_cache() -> PathBuf {
    target_dir().join("avatar-e2e-plugin-cache")
}

/// A name part no other server shares, in this run or an earlier one on the same services:
/// process id, a counter, and the time.
fn unique_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A development secret no other server in this run shares.
fn unique_secret() -> String {
    format!("e2e-development-secret-{}", unique_id())
}

/// Which backends a server gets when its test names none; see the module comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    /// A directory and SQLite under the server's own directory.
    Embedded,
    /// S3 in Garage and PostgreSQL, from the environment `scripts/services.sh up` prints.
    PostgresGarage,
}

/// The backend `AVATAR_E2E_BACKEND` asks for.
fn e2e_backend() -> Backend {
    static CHOSEN: OnceLock<Backend> = OnceLock::new();
    *CHOSEN.get_or_init(|| match std::env::var("AVATAR_E2E_BACKEND").as_deref() {
        Err(_) | Ok("" | "embedded") => Backend::Embedded,
        Ok("postgres-garage") => Backend::PostgresGarage,
        Ok(other) => {
            panic!("AVATAR_E2E_BACKEND={other:?}: expected `embedded` or `postgres-garage`")
        }
    })
}

/// A service's address from the environment. A run that asked for the production backends
/// fails without them, under `CI=true` as anywhere: quietly testing the embedded backends
/// instead would pass for the wrong reason.
fn service_env(var: &str) -> String {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => value,
        _ => {
            let ci = if std::env::var("CI").is_ok_and(|v| v == "true") {
                " (CI=true: the PostgreSQL + Garage pass must run)"
            } else {
                ""
            };
            panic!(
                "AVATAR_E2E_BACKEND=postgres-garage but {var} is not set{ci}; \
                 run `eval \"$(scripts/services.sh up)\"` first"
            )
        }
    }
}

/// Runs one SQL statement through `$AVATAR_TEST_PGBIN/psql` on the service's own database.
fn psql(pgbin: &str, url: &str, sql: &str) -> Result<(), String> {
    let output = Command::new(Path::new(pgbin).join("psql"))
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running psql: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "psql {sql:?}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// `url` (`postgres://user@host:port/db?options`) naming `database` instead.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let (scheme, rest) = base
        .split_once("://")
        .unwrap_or_else(|| panic!("AVATAR_TEST_POSTGRES_URL is not a URL: {url}"));
    let authority = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{authority}/{database}{query}")
}

/// Backends on the services for one server: S3 under a prefix and a PostgreSQL database that
/// no other server shares (the tests reuse constant hashes, so servers sharing a catalog or a
/// key space would see each other's avatars). The database is made here and dropped with the
/// server's directory ([`ServerDir`]).
fn postgres_garage_backends() -> Value {
    let id = unique_id();
    let pgbin = service_env("AVATAR_TEST_PGBIN");
    let admin_url = service_env("AVATAR_TEST_POSTGRES_URL");
    let database = format!("avatar_e2e_{id}");
    psql(
        &pgbin,
        &admin_url,
        &format!("CREATE DATABASE \"{database}\""),
    )
    .unwrap_or_else(|e| panic!("creating the test database: {e}"));
    json!({
        "storage": {
            "type": "s3",
            "bucket": service_env("AVATAR_TEST_S3_BUCKET"),
            "region": service_env("AVATAR_TEST_S3_REGION"),
            "endpoint": service_env("AVATAR_TEST_S3_ENDPOINT"),
            "path_style": true,
            "prefix": format!("e2e/{id}/"),
            "access_key_id": service_env("AVATAR_TEST_S3_ACCESS_KEY_ID"),
            "secret_access_key": service_env("AVATAR_TEST_S3_SECRET_ACCESS_KEY"),
        },
        "catalog": {
            "type": "postgres",
            "url": with_database(&admin_url, &database),
            "pool_size": 4,
            // A fresh database is empty: the server must create its tables.
            "migrate_on_start": true,
        },
        "database": database,
    })
}

/// Where a server's generated backends are remembered, beside `config.json`, so a server
/// started again on the same directory (see [`TestServer::into_dir`]) finds the same data.
const BACKENDS_FILE: &str = "backends.json";

/// A test server's directory: `config.json`, the embedded backends' `data/`, and the note of
/// the backends generated for it (`backends.json`). Dropping it removes the directory and the
/// PostgreSQL database made for it. (The S3 objects stay: they are a few small files under a
/// prefix nobody reuses, and `scripts/services.sh down` removes all of Garage's data.)
pub struct ServerDir {
    dir: TempDir,
}

impl ServerDir {
    fn new() -> Self {
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

    /// The backends generated for this directory, if any.
    fn backends(&self) -> Option<Value> {
        let text = std::fs::read(self.path().join(BACKENDS_FILE)).ok()?;
        Some(serde_json::from_slice(&text).expect("backends.json is JSON"))
    }
}

impl Drop for ServerDir {
    fn drop(&mut self) {
        let Some(database) = self
            .backends()
            .and_then(|b| b["database"].as_str().map(str::to_owned))
        else {
            return;
        };
        if let (Ok(pgbin), Ok(url)) = (
            std::env::var("AVATAR_TEST_PGBIN"),
            std::env::var("AVATAR_TEST_POSTGRES_URL"),
        ) {
            // Best effort: a database left behind goes with `scripts/services.sh down`.
            let sql = format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)");
            if let Err(e) = psql(&pgbin, &url, &sql) {
                eprintln!("dropping the test database: {e}");
            }
        }
    }
}

/// Seconds since the epoch, as JWT claims count time.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// Signs `claims` with HS256 and `secret`.
pub fn sign(claims: &Value, secret: &str) -> String {
    let key = EncodingKey::from_secret(secret.as_bytes()).expect("an HMAC key");
    encode(&Header::new(Algorithm::HS256), claims, &key).expect("signing a token")
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
    /// Changes the configuration the builder makes before it is written (more tenants,
    /// filters, plugin settings); edits run in the order given.
    pub fn configure(mut self, edit: impl FnOnce(&mut Value) + Send + 'static) -> Self {
        self.edits.push(Box::new(edit));
        self
    }

    /// Other `storage` and `catalog` sections (the default: those `AVATAR_E2E_BACKEND` asks
    /// for, see the module comment).
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
    /// those a previous server on `dir` had made; or, when `AVATAR_E2E_BACKEND` says so, new
    /// ones on the services, remembered in `dir`.
    fn choose_backends(&self, dir: &ServerDir) -> Option<(Value, Value)> {
        if let Some(backends) = &self.backends {
            return Some(backends.clone());
        }
        if self.embedded {
            return None;
        }
        let generated = match dir.backends() {
            Some(remembered) => remembered,
            None if e2e_backend() == Backend::Embedded => return None,
            None => {
                let generated = postgres_garage_backends();
                std::fs::write(
                    dir.path().join(BACKENDS_FILE),
                    serde_json::to_vec_pretty(&generated).expect("JSON"),
                )
                .expect("writing backends.json");
                generated
            }
        };
        Some((generated["storage"].clone(), generated["catalog"].clone()))
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
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .timeout_global(Some(REQUEST_TIMEOUT))
                .build(),
        );
        let mut server = TestServer {
            base_url: String::new(),
            storage: config["storage"].clone(),
            s3: OnceLock::new(),
            dir,
            config_path,
            secret,
            env,
            process: None,
            agent,
        };
        server.spawn();
        server
    }
}

/// A running `avatar serve`; dropping it kills the process (and removes the directory).
pub struct TestServer {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base_url: String,
    /// The configured `storage` section.
    storage: Value,
    /// A client of the S3 store, for [`TestServer::image_files`]; made on first use.
    s3: OnceLock<S3Listing>,
    dir: ServerDir,
    config_path: PathBuf,
    secret: String,
    env: Vec<(String, String)>,
    process: Option<Process>,
    agent: ureq::Agent,
}

struct Process {
    child: Child,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_reader: Option<JoinHandle<()>>,
}

impl TestServer {
    /// A server with the defaults: proxy delivery, the default sizes, `default_avatar` "404".
    pub fn builder() -> Builder {
        Builder {
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

    /// Starts a server with the defaults.
    pub fn start() -> Self {
        Self::builder().start()
    }

    fn spawn(&mut self) {
        let mut command = Command::new(avatar_binary());
        command
            .arg("serve")
            .arg("--config")
            .arg(&self.config_path)
            .args(["--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "info,wasmtime=warn,cranelift=warn")
            .env("NO_COLOR", "1")
            .env_remove("AVATAR_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, _) in std::env::vars() {
            if key.starts_with("AVATAR__") {
                command.env_remove(key);
            }
        }
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        let mut child = command.spawn().expect("spawning avatar serve");

        let stderr = Arc::new(Mutex::new(Vec::new()));
        let stderr_reader = {
            let mut pipe = child.stderr.take().expect("piped stderr");
            let stderr = stderr.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    stderr
                        .lock()
                        .expect("stderr buffer")
                        .extend_from_slice(&buf[..n]);
                }
            })
        };
        let (line_tx, line_rx) = mpsc::channel();
        {
            let stdout = child.stdout.take().expect("piped stdout");
            std::thread::spawn(move || {
                let mut lines = BufReader::new(stdout).lines();
                for line in lines.by_ref() {
                    let Ok(line) = line else { break };
                    if let Some(url) = line.strip_prefix("avatar listening on ") {
                        let _ = line_tx.send(url.trim().to_owned());
                        break;
                    }
                }
                // Keep draining so the server never blocks on a full pipe.
                for _ in lines {}
            });
        }
        let mut process = Process {
            child,
            stderr,
            stderr_reader: Some(stderr_reader),
        };
        let url = match line_rx.recv_timeout(START_TIMEOUT) {
            Ok(url) => url,
            Err(e) => {
                let _ = process.child.kill();
                let status = process.child.wait();
                let stderr = process.stderr_text();
                panic!(
                    "avatar serve did not say it was listening ({e}; exit: {status:?}); stderr:\n{stderr}"
                );
            }
        };
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "unexpected listening line: {url}"
        );
        self.base_url = url;
        self.process = Some(process);
        self.wait_healthy();
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match self.agent.get(self.url("/healthz")).call() {
                Ok(response) if response.status() == 200 => return,
                other if Instant::now() > deadline => {
                    panic!(
                        "/healthz never answered 200: {other:?}\n{}",
                        self.stderr_tail()
                    )
                }
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// Everything the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.process
            .as_ref()
            .map(Process::stderr_text)
            .unwrap_or_default()
    }

    /// The last lines the server wrote to stderr, for failure messages.
    pub fn stderr_tail(&self) -> String {
        let text = self.stderr();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        format!("server stderr (last lines):\n{tail}")
    }

    /// Stops the server with `SIGTERM` (killing it after a deadline), keeping its directory,
    /// and returns how it exited.
    pub fn stop(&mut self) -> ExitStatus {
        let mut process = self.process.take().expect("the server is running");
        let pid = process.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        let status = loop {
            match process.child.try_wait().expect("waiting for avatar") {
                Some(status) => break status,
                None if Instant::now() > deadline => {
                    let _ = process.child.kill();
                    break process.child.wait().expect("waiting for avatar");
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        if let Some(reader) = process.stderr_reader.take() {
            let _ = reader.join();
        }
        status
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.process
            .as_ref()
            .expect("the server is running")
            .child
            .id()
    }

    /// Kills the server with `SIGKILL`, as a crash would, keeping its directory. Also reaps
    /// a server already killed from outside.
    pub fn kill(&mut self) {
        let mut process = self.process.take().expect("the server is running");
        let _ = process.child.kill();
        let _ = process.child.wait();
        if let Some(reader) = process.stderr_reader.take() {
            let _ = reader.join();
        }
    }

    /// Starts the server again after `kill` or `stop`.
    pub fn start_again(&mut self) {
        assert!(self.process.is_none(), "the server is still running");
        self.spawn();
    }

    /// Stops the server and starts it again on the same directory and configuration.
    pub fn restart(&mut self) -> ExitStatus {
        let status = self.stop();
        self.spawn();
        status
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

    /// An absolute URL for `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The tenant's JWT secret.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// A valid token for changing `hash`, valid for ten minutes.
    pub fn token(&self, hash: &str) -> String {
        self.token_for(TENANT, hash)
    }

    /// A valid token for changing `hash` at `tenant` (one configured with this server's
    /// secret), valid for ten minutes.
    pub fn token_for(&self, tenant: &str, hash: &str) -> String {
        let now = unix_now();
        self.sign(&json!({
            "sub": "e2e",
            "hash": hash,
            "tenant": tenant,
            "iat": now,
            "exp": now + 600,
        }))
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

    /// Signs `claims` with this server's secret.
    pub fn sign(&self, claims: &Value) -> String {
        sign(claims, &self.secret)
    }

    /// Sends one request; `body` `None` sends none. A body goes with `Expect: 100-continue`,
    /// as careful clients send it: a server that answers before reading the body (a bad
    /// hash, a bad token, a wrong method) then never has unread bytes in its socket, which
    /// would make the kernel reset the connection under the answer.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Reply {
        let mut builder = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("a method"))
            .uri(self.url(path));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        if body.is_some_and(|b| !b.is_empty()) {
            builder = builder.header("expect", "100-continue");
        }
        self.exchange(method, path, builder, body)
    }

    /// `GET` of an absolute URL, such as a redirect's `Location`: this server's `/_media/…`,
    /// or the store's own (a presigned S3 URL).
    pub fn get_url(&self, url: &str, headers: &[(&str, &str)]) -> Reply {
        let mut builder = Request::builder().method(Method::GET).uri(url);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        self.exchange("GET", url, builder, None)
    }

    /// Sends a built request and reads the whole answer; `method` and `path` name it in
    /// failures.
    fn exchange(
        &self,
        method: &str,
        path: &str,
        builder: ureq::http::request::Builder,
        body: Option<&[u8]>,
    ) -> Reply {
        let result = match body {
            Some(body) => self.agent.run(builder.body(body).expect("a request")),
            None => self.agent.run(builder.body(()).expect("a request")),
        };
        let mut response = result
            .unwrap_or_else(|e| panic!("{method} {path} failed: {e}\n{}", self.stderr_tail()));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .unwrap_or_else(|e| panic!("{method} {path}: reading the body: {e}"));
        Reply {
            status,
            headers,
            body,
        }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &[], None)
    }

    /// `GET path` with extra headers.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.request("GET", path, headers, None)
    }

    /// `HEAD path`.
    pub fn head(&self, path: &str) -> Reply {
        self.request("HEAD", path, &[], None)
    }

    /// `PUT /{hash}` with `bytes` as the body, `content_type`, and a valid bearer token.
    pub fn upload(&self, hash: &str, bytes: &[u8], content_type: &str) -> Reply {
        let auth = format!("Bearer {}", self.token(hash));
        self.request(
            "PUT",
            &format!("/{hash}"),
            &[("authorization", &auth), ("content-type", content_type)],
            Some(bytes),
        )
    }

    /// Uploads a PNG, asserts `201`, and returns the JSON answer.
    pub fn upload_png(&self, hash: &str, png: &[u8]) -> Value {
        let reply = self.upload(hash, png, "image/png");
        assert_eq!(reply.status, 201, "upload of {hash}: {}", reply.text());
        reply.json()
    }

    /// `DELETE /{hash}` with `token` as the bearer token, if any.
    pub fn delete(&self, hash: &str, token: Option<&str>) -> Reply {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| vec![("authorization", a)])
            .unwrap_or_default();
        self.request("DELETE", &format!("/{hash}"), &headers, None)
    }

    /// Sends `method path` over a raw socket with `headers` (plus `Host`), then `body` from
    /// another thread. With `finish` false the connection stays open after the body, like a
    /// client that has more to send. Fails the test when no response comes in time.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        finish: bool,
    ) -> Reply {
        self.try_raw(method, path, headers, body, finish)
            .unwrap_or_else(|e| panic!("{e}\n{}", self.stderr_tail()))
    }

    /// [`TestServer::raw`], saying why no response came instead of failing.
    pub fn try_raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        finish: bool,
    ) -> Result<Reply, String> {
        let address = self
            .base_url
            .strip_prefix("http://")
            .expect("an http base URL");
        let mut stream = TcpStream::connect(address).expect("connecting to the server");
        stream
            .set_read_timeout(Some(RAW_TIMEOUT))
            .expect("a read timeout");
        stream
            .set_write_timeout(Some(REQUEST_TIMEOUT))
            .expect("a write timeout");
        let mut head = format!("{method} {path} HTTP/1.1\r\n");
        // The caller's own `host` replaces the server's address.
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("host"))
        {
            head.push_str(&format!("host: {address}\r\n"));
        }
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream
            .write_all(head.as_bytes())
            .expect("writing the request head");
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let mut writer = stream.try_clone().expect("a second handle on the socket");
        std::thread::spawn(move || {
            // The server may refuse midway and close: a failed write is expected then.
            if writer.write_all(&body).is_ok() && !finish {
                let _ = done_rx.recv();
            }
        });
        // Linux keeps what arrived before a reset readable, so an answer sent before the
        // server closed on unread bytes is still read here.
        let reply = read_response(&mut stream).map_err(|e| {
            let e = match e.kind() {
                ErrorKind::WouldBlock | ErrorKind::TimedOut => {
                    format!("none within {RAW_TIMEOUT:?}")
                }
                _ => e.to_string(),
            };
            format!("{method} {path}: no response: {e}")
        });
        drop(done_tx);
        let _ = stream.shutdown(Shutdown::Both);
        reply
    }
}

/// The server's S3 store as the server sees it (`avatar_host`'s own client), driven by a
/// runtime of its own since the tests are blocking.
struct S3Listing {
    runtime: tokio::runtime::Runtime,
    store: S3Store,
}

impl S3Listing {
    /// A client for the `storage` section `{"type": "s3", …}` with keys in the configuration.
    fn connect(storage: &Value) -> Self {
        let config: StorageConfig =
            serde_json::from_value(storage.clone()).expect("an S3 storage section");
        let StorageConfig::S3(settings) = config else {
            panic!("not an S3 storage section: {storage}")
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let store = runtime
            .block_on(S3Store::connect(&settings))
            .unwrap_or_else(|e| panic!("connecting to the S3 store: {e}"));
        Self { runtime, store }
    }

    /// Every key under the store's prefix, relative to it.
    fn keys(&self) -> Vec<String> {
        let objects = self
            .runtime
            .block_on(self.store.list(""))
            .unwrap_or_else(|e| panic!("listing the S3 store: {e}"));
        objects.into_iter().map(|object| object.key).collect()
    }
}

impl Process {
    fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().expect("stderr buffer")).into_owned()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.child.kill();
            let _ = process.child.wait();
        }
    }
}

/// Reads one HTTP/1.1 response whose body has a `Content-Length` (or none).
fn read_response(stream: &mut TcpStream) -> std::io::Result<Reply> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("closed after {:?}", String::from_utf8_lossy(&buf)),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {status_line:?}")))?;
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':')
            && let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.trim().as_bytes()),
                HeaderValue::from_str(value.trim()),
            )
        {
            headers.append(name, value);
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(Reply {
        status,
        headers,
        body,
    })
}

/// `data` in HTTP/1.1 chunked encoding, with the final empty chunk when `last`.
pub fn chunked(data: &[u8], last: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 1000 + 16);
    for piece in data.chunks(16 << 10) {
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    if last {
        out.extend_from_slice(b"0\r\n\r\n");
    }
    out
}

/// A `multipart/form-data` body, built part by part.
pub struct Multipart {
    boundary: String,
    body: Vec<u8>,
}

impl Default for Multipart {
    fn default() -> Self {
        Self::new()
    }
}

impl Multipart {
    /// An empty form.
    pub fn new() -> Self {
        Self {
            boundary: "e2e-boundary-7d1f0c2a9b".to_owned(),
            body: Vec::new(),
        }
    }

    /// A file part.
    pub fn file(mut self, name: &str, filename: &str, content_type: &str, data: &[u8]) -> Self {
        self.body.extend_from_slice(
            format!(
                "--{}\r\ncontent-disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\ncontent-type: {content_type}\r\n\r\n",
                self.boundary
            )
            .as_bytes(),
        );
        self.body.extend_from_slice(data);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// A text part.
    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.body.extend_from_slice(
            format!(
                "--{}\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n",
                self.boundary
            )
            .as_bytes(),
        );
        self
    }

    /// The `Content-Type` header value.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// The body so far, without the closing delimiter (for a body that never ends).
    pub fn unfinished(&self) -> Vec<u8> {
        self.body.clone()
    }

    /// The content type and the complete body.
    pub fn finish(mut self) -> (String, Vec<u8>) {
        self.body
            .extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        (self.content_type(), self.body)
    }
}

/// An HTTP response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// The value of header `name`, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as text, for messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }

    /// The body as an image.
    pub fn image(&self) -> DynamicImage {
        image::load_from_memory(&self.body).unwrap_or_else(|e| {
            panic!(
                "body of {} bytes ({:?}) is not an image: {e}",
                self.body.len(),
                self.header("content-type")
            )
        })
    }

    /// Asserts an error answer: `status`, a JSON `{"error": {"code", "message"}}` body with
    /// `code` and a non-empty message.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.error_code().as_str()),
            (status, code),
            "expected {status} {code}; got body {}",
            self.text()
        );
        assert!(
            self.header("content-type")
                .is_some_and(|t| t.starts_with("application/json")),
            "error content type: {:?}",
            self.header("content-type")
        );
        let message = &self.json()["error"]["message"];
        assert!(
            message.as_str().is_some_and(|m| !m.is_empty()),
            "error without a message: {}",
            self.text()
        );
    }

    /// `error.code` of a JSON error body, or `<no code>`.
    pub fn error_code(&self) -> String {
        serde_json::from_slice::<Value>(&self.body)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "<no code>".to_owned())
    }
}

/// A PNG of `width` x `height` with the four coloured quadrants of [`crate::images::quadrants`].
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let image = DynamicImage::ImageRgb8(crate::images::quadrants(width, height));
    crate::images::encode(&image, image::ImageFormat::Png)
}

/// A PNG of `side` x `side` in one colour.
pub fn solid_png(side: u32, rgb: [u8; 3]) -> Vec<u8> {
    let image = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(side, side, image::Rgb(rgb)));
    crate::images::encode(&image, image::ImageFormat::Png)
}
