//! A loop of auth-jwt calls, each in a fresh pooled instance as the service makes them, for
//! profilers to watch: `perf` (with `AVATAR_PERFMAP=1` it names the plugin's functions),
//! `perf stat` for syscalls and page faults per call, `valgrind --tool=callgrind`.
//!
//! `auth_calls [CALLS]` (default 20,000) prints the mean time per call. The benchmark of record
//! is `cargo bench -p avatar-host --bench plugins` (`auth/*`); this is its call, alone.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use avatar_host::plugin::{AuthRequest, CallLimits, Runtime, RuntimeOptions, builtin};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

const SECRET: &str = "benchmark secret, at least thirty-two bytes long";
const HASH: &str = "5d41402abc4b2a76b9719d911017c592aabbccdd";

fn main() -> anyhow::Result<()> {
    let calls: u32 = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 20_000,
    };
    let runtime = Runtime::new(&RuntimeOptions::default())?;
    let wasm = builtin("auth-jwt").ok_or_else(|| anyhow::anyhow!("auth-jwt is built in"))?;
    let plugin = runtime.load_auth("auth-jwt", wasm)?;
    let settings = Arc::new(BTreeMap::from([("secret".to_owned(), SECRET.to_owned())]));
    let claims = serde_json::json!({
        "sub": "alice", "hash": HASH, "tenant": "default", "exp": 4_000_000_000_u64,
    });
    let key = EncodingKey::from_secret(SECRET.as_bytes())?;
    let request = AuthRequest {
        method: "PUT".to_owned(),
        tenant: "default".to_owned(),
        hash: HASH.to_owned(),
        token: jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key)?,
        now: SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs(),
    };
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
