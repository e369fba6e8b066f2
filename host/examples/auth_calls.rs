//! A loop of auth-jwt calls, each in a fresh pooled instance as the service makes them, for
//! profilers to watch: `perf` (with `AVATAR_PERFMAP=1` it names the plugin's functions),
//! `perf stat` for syscalls and page faults per call, `valgrind --tool=callgrind`.
//!
//! `auth_calls [CALLS]` (default 20,000) prints the mean time per call. The benchmark of record
//! is `cargo bench -p avatar-host --bench plugins` (`auth/*`); this is its call
//! (`benches/plugins/auth_call.rs`), alone.

use std::time::Instant;

use avatar_host::plugin::{CallLimits, Runtime, RuntimeOptions};

#[path = "../benches/plugins/auth_call.rs"]
mod auth_call;

fn main() -> anyhow::Result<()> {
    let calls: u32 = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 20_000,
    };
    let runtime = Runtime::new(&RuntimeOptions::default())?;
    let plugin = auth_call::load(&runtime);
    let settings = auth_call::settings();
    let request = auth_call::request();
    let limits = CallLimits::default();
    plugin.authenticate(&settings, &limits, &request)?;
    let started = Instant::now();
    for _ in 0..calls {
        std::hint::black_box(plugin.authenticate(&settings, &limits, &request)?);
    }
    let each = started.elapsed() / calls;
    println!(
        "{calls} auth-jwt calls: {:.2} us each",
        each.as_secs_f64() * 1e6
    );
    Ok(())
}
