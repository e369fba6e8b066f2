//! The `avatar serve` process of a test server: building the binary once per test process,
//! starting it and waiting until it is healthy, collecting its stderr, and stopping, killing
//! and restarting it.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::server::TestServer;
use crate::workspace_root;

/// How long a server may take to print its "listening on" line.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a stopped server may take to exit after `SIGTERM`.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The `avatar` executable, built once per test process with the same profile and target
/// directory as the running test (cargo does not hold its build lock while tests run).
pub fn avatar_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| build_avatar().unwrap_or_else(|e| panic!("building avatar: {e:#}")))
        .clone()
}

fn build_avatar() -> anyhow::Result<PathBuf> {
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
pub fn target_dir() -> PathBuf {
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

/// A running child process and what it wrote to stderr so far.
pub(crate) struct Process {
    child: Child,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_reader: Option<JoinHandle<()>>,
}

impl Process {
    fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().expect("stderr buffer")).into_owned()
    }
}

impl TestServer {
    /// Starts `avatar serve` on the server's configuration and waits until it listens and
    /// `/healthz` answers `200`.
    pub(crate) fn spawn(&mut self) {
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
                    // The admin listener's line comes first, when there is one.
                    if let Some(url) = line.strip_prefix("avatar admin listening on ") {
                        let _ = line_tx.send((true, url.trim().to_owned()));
                    }
                    if let Some(url) = line.strip_prefix("avatar listening on ") {
                        let _ = line_tx.send((false, url.trim().to_owned()));
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
        let mut admin_url = None;
        let url = match line_rx.recv_timeout(START_TIMEOUT) {
            Ok((true, admin)) => {
                admin_url = Some(admin);
                line_rx.recv_timeout(START_TIMEOUT).map(|(_, url)| url)
            }
            Ok((false, url)) => Ok(url),
            Err(e) => Err(e),
        };
        let url = match url {
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
        self.admin_url = admin_url;
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

    /// Everything the server wrote to stderr so far; once stopped, what it wrote until then.
    pub fn stderr(&self) -> String {
        self.process
            .as_ref()
            .map(Process::stderr_text)
            .unwrap_or_else(|| self.stopped_stderr.clone())
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
        self.stopped_stderr = process.stderr_text();
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
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.child.kill();
            let _ = process.child.wait();
        }
    }
}
