//! `avatar migrate`: apply pending catalog migrations and exit.

use std::path::Path;

use anyhow::{Context, Result};

pub fn run(path: &Path) -> Result<()> {
    let config = super::load(path)?;
    super::runtime()?.block_on(async {
        let catalog = avatar_host::catalog::open(&config.catalog).context("opening the catalog")?;
        let applied = catalog.migrate().await?;
        if applied.is_empty() {
            println!("the catalog is up to date");
        } else {
            for version in applied {
                println!("applied {version}");
            }
        }
        Ok(())
    })
}
