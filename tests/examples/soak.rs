//! The soak, long: `tests/src/soak.rs` against the release `avatar` binary on loopback for
//! a number of seconds (the first argument, else `AVATAR_SOAK_SECS`, else 60), on the
//! backends `AVATAR_E2E_BACKEND` names, printing the summary. Exits non-zero when an answer
//! was unexpected or resident memory after the warm-up grew by 10 % or more.
//!
//! `scripts/soak.sh [SECONDS]` runs it on the embedded backends, then on PostgreSQL + Garage.

use std::process::ExitCode;
use std::time::Duration;

use avatar_tests::soak::{self, Options};

const MAX_GROWTH_PERCENT: f64 = 10.0;

fn main() -> ExitCode {
    let duration = match std::env::args().nth(1) {
        Some(seconds) => Duration::from_secs(
            seconds
                .parse()
                .unwrap_or_else(|_| panic!("{seconds:?} is not a number of seconds")),
        ),
        None => soak::seconds_from_env("AVATAR_SOAK_SECS", 60),
    };
    let options = Options::new(duration);
    let server = soak::builder(&options).start();
    let report = soak::run(&server, &options);
    print!("{}", report.summary());
    let mut ok = true;
    if report.unexpected() > 0 {
        println!("FAIL: {} unexpected answers", report.unexpected());
        println!("{}", server.stderr_tail());
        ok = false;
    }
    if report.growth_percent() >= MAX_GROWTH_PERCENT {
        println!(
            "FAIL: resident memory grew by {:.1} % after the warm-up",
            report.growth_percent()
        );
        ok = false;
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
