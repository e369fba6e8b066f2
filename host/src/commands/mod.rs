//! The subcommands of `avatar`, one file each, and what they share: loading the
//! configuration and starting an async runtime.

pub mod gc;
pub mod migrate;
pub mod plugin;
pub mod serve;
pub mod token;

use std::path::Path;

use anyhow::{Context, Result};

use avatar_host::config::Config;

/// The configuration at `path`, with the process's `AVATAR__…` variables applied.
fn load(path: &Path) -> Result<Config> {
    Ok(Config::load(path, std::env::vars())?)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}
