//! Helpers for the end-to-end tests: building the test-fixture components, paths, test
//! images (`images`), and the real `avatar` server (`server`, which names everything the
//! tests use of the harness split across the private modules below).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};

mod backends;
mod builder;
mod client;
pub mod images;
mod process;
mod raw;
pub mod server;
pub mod soak;
mod tokens;

// What the end-to-end tests use of the server harness, at the crate's root as well as under
// `server::`, where the tests written so far name it.
pub use server::{
    Builder, Delivery, Multipart, Reply, ServerDir, TENANT, TestServer, avatar_binary, chunked,
    png, sign, solid_png, unix_now,
};

/// Where the running test's build lives: for files a test run leaves behind (screenshots).
pub use process::target_dir;

/// The workspace root. Read at run time (`cargo test` sets `CARGO_MANIFEST_DIR`), because
/// cargo reuses this crate's build across checkouts that share a target directory, and the
/// path compiled in would then name another checkout.
pub fn workspace_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
        manifest_dir
            .parent()
            .expect("tests/ lives in the workspace")
            .to_path_buf()
    })
}

/// A file under `tests/fixtures/`.
pub fn fixture(relative: &str) -> PathBuf {
    workspace_root().join("tests/fixtures").join(relative)
}

/// The bytes of the hostile fixture component, built once per test process.
pub fn hostile_component() -> &'static [u8] {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| {
        let path = build_guest("fixture-hostile").expect("building the hostile fixture");
        std::fs::read(&path).expect("reading the hostile fixture")
    })
}

/// Builds guest package `package` for `wasm32-wasip2` with the `guest` profile, in the same
/// target directory `host/build.rs` uses for the first-party guests, and returns the path of
/// its `.wasm`. Cargo does not hold its build lock while tests run, so this cannot deadlock.
pub fn build_guest(package: &str) -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(workspace_root())
        .args(["build", "--target", "wasm32-wasip2", "--profile", "guest"])
        .args(["--message-format", "json-render-diagnostics", "-p", package])
        .arg("--target-dir")
        .arg(guest_target_dir())
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .output()
        .context("running cargo")?;
    if !output.status.success() {
        bail!(
            "cargo build of {package} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let files = message["filenames"].as_array().into_iter().flatten();
        for file in files.filter_map(|f| f.as_str()) {
            if file.ends_with(".wasm") && message["target"]["name"] == package.replace('-', "_") {
                return Ok(PathBuf::from(file));
            }
        }
    }
    bail!("cargo built {package} but reported no .wasm file")
}

fn guest_target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("AVATAR_GUEST_TARGET_DIR") {
        return dir.into();
    }
    process::target_dir().join("guest-build")
}
