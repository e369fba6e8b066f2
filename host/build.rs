//! Builds the first-party plugin components for `wasm32-wasip2` and embeds them in the host,
//! so that the `avatar` binary ships its plugins and a fresh clone needs no separate step.
//! It writes `$OUT_DIR/builtin.rs`, the table `plugin::builtin` serves them from: each
//! plugin's name, bytes and SHA-256, digested here so that start-up need not read the 8 MB of
//! embedded components only to recognise their compiled forms in the cache.
//!
//! Cargo holds the lock on the outer target directory while build scripts run, so the inner
//! build uses a target directory of its own (`<target>/guest-build`), shared by every host
//! profile so the guests are compiled once. The outer build's rustflags are removed from the
//! inner call: an inherited (even empty) `CARGO_ENCODED_RUSTFLAGS` would override the
//! `[target.wasm32-wasip2] rustflags` in `.cargo/config.toml`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// The first-party guests: (package, which is also the name configuration uses, and the file
/// stem of the built component).
const GUESTS: &[(&str, &str)] = &[
    ("auth-jwt", "auth_jwt"),
    ("auth-apikey", "auth_apikey"),
    ("transform-image", "transform_image"),
    ("filter-grayscale", "filter_grayscale"),
    ("filter-circle", "filter_circle"),
    ("generate-identicon", "generate_identicon"),
    ("generate-silhouette", "generate_silhouette"),
    ("generate-monsterid", "generate_monsterid"),
    ("generate-wavatar", "generate_wavatar"),
    ("generate-retro", "generate_retro"),
    ("generate-robohash", "generate_robohash"),
    ("generate-initials", "generate_initials"),
    ("generate-color", "generate_color"),
];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest_dir
        .parent()
        .expect("host/ lives in the workspace")
        .to_path_buf();
    for watched in ["wit", "components", "Cargo.lock", ".cargo/config.toml"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=AVATAR_GUEST_TARGET_DIR");

    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets it"));
    let target_dir = env::var_os("AVATAR_GUEST_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| outer_target_dir(&out_dir).join("guest-build"));

    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "--target", "wasm32-wasip2", "--profile", "guest"])
        .arg("--target-dir")
        .arg(&target_dir);
    for (package, _) in GUESTS {
        cmd.args(["-p", package]);
    }
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .expect("failed to run cargo for the guest components");
    assert!(
        status.success(),
        "building the guest components failed (is the wasm32-wasip2 target installed? \
         `rustup target add wasm32-wasip2`)"
    );

    let built = target_dir.join("wasm32-wasip2").join("guest");
    let mut table = String::from(
        "/// The embedded plugins, in the order `build.rs` lists them.\n\
         const EMBEDDED: &[Embedded] = &[\n",
    );
    for (package, stem) in GUESTS {
        let from = built.join(format!("{stem}.wasm"));
        let wasm = std::fs::read(&from)
            .unwrap_or_else(|e| panic!("reading {} failed: {e}", from.display()));
        let file = format!("{stem}.wasm");
        std::fs::write(out_dir.join(&file), &wasm)
            .unwrap_or_else(|e| panic!("writing {file} into OUT_DIR failed: {e}"));
        let digest = hex::encode(Sha256::digest(&wasm));
        table.push_str(&format!(
            "    Embedded {{\n        name: {package:?},\n        \
             wasm: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{file}\")),\n        \
             sha256: {digest:?},\n    }},\n"
        ));
    }
    table.push_str("];\n");
    std::fs::write(out_dir.join("builtin.rs"), table).expect("writing builtin.rs into OUT_DIR");
}

/// `OUT_DIR` is `<target>/[<triple>/]<profile>/build/<pkg>-<hash>/out`; the guest build goes
/// beside the profile directories.
fn outer_target_dir(out_dir: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .nth(4)
        .expect("OUT_DIR is deep enough")
        .to_path_buf()
}
