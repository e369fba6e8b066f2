//! The soak, short: mixed reads, conditional reads, uploads, replaces, deletes, unknown
//! hashes, bad tokens and bad images at two tenants for `AVATAR_SOAK_SECS` seconds (default
//! 10), on the backends `AVATAR_E2E_BACKEND` names (`scripts/test.sh` runs it on both). Every
//! answer is the one the request should get, and resident memory after the warm-up grows by
//! under 10 %. `scripts/soak.sh` runs the long form (`tests/examples/soak.rs`).

use avatar_tests::soak::{self, Options};

/// The most resident memory may grow after the warm-up, in percent.
const MAX_GROWTH_PERCENT: f64 = 10.0;

#[test]
fn a_soak_of_mixed_traffic_answers_as_expected_and_holds_its_memory() {
    let options = Options::new(soak::seconds_from_env("AVATAR_SOAK_SECS", 10));
    let server = soak::builder(&options).start();
    let report = soak::run(&server, &options);
    println!("{}", report.summary());
    assert_eq!(
        report.unexpected(),
        0,
        "unexpected answers:\n{}\n{}",
        report.summary(),
        server.stderr_tail()
    );
    assert!(
        report.requests() > 0,
        "no request was sent:\n{}",
        report.summary()
    );
    assert!(
        report.growth_percent() < MAX_GROWTH_PERCENT,
        "resident memory grew by {:.1} % after the warm-up:\n{}",
        report.growth_percent(),
        report.summary()
    );
    // The server is still healthy after it.
    assert_eq!(server.get("/healthz").status, 200);
}
