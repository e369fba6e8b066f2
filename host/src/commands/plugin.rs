//! `avatar plugin check` (which world a component implements, and whether it loads under the
//! limits `serve` would give it) and `avatar plugin list` (each tenant's plugins).

use std::path::Path;

use anyhow::{Context, Result, bail};

use avatar_host::config::{Config, Limits};
use avatar_host::plugin::{CallLimits, Runtime, RuntimeOptions};

/// Checks the component at `file` under the limits of the configuration at `config` (the
/// top-level `limits`, as `serve` gives a tenant without overrides), or the default limits
/// when there is no such file.
pub fn check(file: &Path, config: &Path) -> Result<()> {
    let wasm = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let (limits, source) = if config.exists() {
        let config: Config = super::load(config)?;
        (CallLimits::from(&config.limits), "the configured limits")
    } else {
        (CallLimits::from(&Limits::default()), "the default limits")
    };
    let runtime = Runtime::new(&RuntimeOptions::for_limits(&limits))?;
    match runtime.check(&wasm, &limits) {
        Ok(world) => {
            println!(
                "{}: implements {world}; instantiates under {source} \
                 (deadline {} ms, memory {} MiB, output {} MiB)",
                file.display(),
                limits.deadline.as_millis(),
                limits.memory_bytes >> 20,
                limits.max_output_bytes >> 20,
            );
            Ok(())
        }
        Err(e) => bail!("{}: {e}", file.display()),
    }
}

pub fn list(path: &Path) -> Result<()> {
    let config = super::load(path)?;
    let runtime = avatar_host::plugin_runtime(&config)?;
    let tenants = avatar_host::tenant::Tenants::from_config(&config, &runtime)?;
    for tenant in tenants.iter() {
        let default = if std::sync::Arc::ptr_eq(tenant, tenants.default_tenant()) {
            " (default)"
        } else {
            ""
        };
        println!("tenant {}{default}", tenant.id);
        for (role, name, digest) in tenant.plugins() {
            println!("  {role:<10} {name:<24} sha256:{digest}");
        }
    }
    Ok(())
}
