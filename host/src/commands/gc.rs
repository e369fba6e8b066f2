//! `avatar gc`: report stored files no record points to, and remove them with `--delete`.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};

pub fn run(path: &Path, delete: bool, min_age: u64) -> Result<()> {
    let config = super::load(path)?;
    let tenants: Vec<String> = config.tenants.iter().map(|t| t.storage_prefix()).collect();
    super::runtime()?.block_on(async {
        let catalog = avatar_host::catalog::open(&config.catalog).context("opening the catalog")?;
        let store = avatar_host::storage::open(&config.storage)
            .await
            .context("opening the store")?;
        let report = avatar_host::gc::collect(
            &catalog,
            &store,
            &tenants,
            Duration::from_secs(min_age),
            !delete,
        )
        .await?;
        for orphan in &report.orphans {
            let verb = if delete { "deleted" } else { "would delete" };
            println!("{verb} {} ({} bytes)", orphan.key, orphan.bytes);
        }
        println!(
            "{} referenced, {} orphaned, {} too young to judge, {} not ours; {} deleted{}",
            report.referenced,
            report.orphans.len(),
            report.young,
            report.foreign,
            report.deleted,
            if delete {
                ""
            } else {
                " (dry run: pass --delete to remove)"
            }
        );
        Ok(())
    })
}
