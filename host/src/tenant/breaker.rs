//! A circuit breaker per tenant: when the tenant's plugins fail on the server's side (trap,
//! deadline, memory cap, broken contract) several times in a row, its plugin jobs are refused
//! for a cool-down instead of being run, so a plugin that loops or hogs memory on every call
//! costs a few calls' worth of CPU, not a core. When a cool-down ends, one job (the trial) is
//! let through while the others are still refused; its failure reopens the breaker for
//! twice as long, its success closes it. Swapping the tenant's plugins (a reload) starts
//! afresh.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures in a row that open the breaker.
pub const TRIP_AFTER: u32 = 5;
/// The first cool-down; it doubles up to [`MAX_COOLDOWN`].
pub const FIRST_COOLDOWN: Duration = Duration::from_secs(1);
pub const MAX_COOLDOWN: Duration = Duration::from_secs(30);
/// A trial that has not reported by then (lost without [`Breaker::abandon`]) no longer holds
/// the others back.
const TRIAL_EXPIRES: Duration = MAX_COOLDOWN;
/// What a job refused during a trial is told to wait.
const DURING_TRIAL: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct Breaker {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    failures: u32,
    open_until: Option<Instant>,
    cooldown: Duration,
    /// When the trial job after a cool-down was let through, while it runs.
    trial_since: Option<Instant>,
}

/// How a job ended, as far as the breaker cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The plugin answered (with a result or a refusal of its input).
    Answered,
    /// The plugin failed on the server's side.
    Failed,
}

impl Default for Breaker {
    fn default() -> Self {
        Self {
            state: Mutex::new(State {
                failures: 0,
                open_until: None,
                cooldown: FIRST_COOLDOWN,
                trial_since: None,
            }),
        }
    }
}

impl Breaker {
    /// `Ok` when a job may run, `Ok(true)` if it is the one trial after a cool-down; else how
    /// long until the breaker lets one through again. A job let through must
    /// [`Breaker::record`] how it ended, or, if it never ran, [`Breaker::abandon`] its trial.
    pub fn check(&self) -> Result<bool, Duration> {
        self.check_at(Instant::now())
    }

    /// The trial job did not run after all (its request went away): the next job is the trial.
    pub fn abandon(&self) {
        self.state.lock().expect("breaker lock").trial_since = None;
    }

    /// Whether [`Breaker::check`] would let a job through now, without taking the trial.
    pub fn peek(&self) -> Result<(), Duration> {
        let state = self.state.lock().expect("breaker lock");
        Self::verdict(&state, Instant::now()).map(|_| ())
    }

    /// Records how a job ended; returns whether that opened the breaker.
    pub fn record(&self, outcome: Outcome) -> bool {
        self.record_at(outcome, Instant::now())
    }

    fn check_at(&self, now: Instant) -> Result<bool, Duration> {
        let mut state = self.state.lock().expect("breaker lock");
        let trial = Self::verdict(&state, now)?;
        if trial {
            state.trial_since = Some(now);
        }
        Ok(trial)
    }

    /// `Ok(true)` for the trial after a cool-down, `Ok(false)` while closed.
    fn verdict(state: &State, now: Instant) -> Result<bool, Duration> {
        match state.open_until {
            None => Ok(false),
            Some(until) if now < until => Err(until - now),
            Some(_) => match state.trial_since {
                Some(since) if now.duration_since(since) < TRIAL_EXPIRES => Err(DURING_TRIAL),
                _ => Ok(true),
            },
        }
    }

    fn record_at(&self, outcome: Outcome, now: Instant) -> bool {
        let mut state = self.state.lock().expect("breaker lock");
        state.trial_since = None;
        match outcome {
            Outcome::Answered => {
                state.failures = 0;
                state.open_until = None;
                state.cooldown = FIRST_COOLDOWN;
                false
            }
            Outcome::Failed => {
                state.failures = state.failures.saturating_add(1);
                if state.failures >= TRIP_AFTER {
                    let reopening = state.open_until.is_some();
                    if reopening {
                        state.cooldown = (state.cooldown * 2).min(MAX_COOLDOWN);
                    }
                    state.open_until = Some(now + state.cooldown);
                    tracing::warn!(
                        failures = state.failures,
                        cooldown_ms = state.cooldown.as_millis() as u64,
                        "plugin jobs keep failing; refusing this tenant's jobs for a while"
                    );
                    true
                } else {
                    false
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_failures_in_a_row_and_backs_off() {
        let b = Breaker::default();
        let t0 = Instant::now();
        for _ in 0..TRIP_AFTER - 1 {
            b.record_at(Outcome::Failed, t0);
            assert!(b.check_at(t0).is_ok());
        }
        b.record_at(Outcome::Failed, t0);
        assert_eq!(b.check_at(t0), Err(FIRST_COOLDOWN));
        let later = t0 + FIRST_COOLDOWN;
        assert_eq!(b.check_at(later), Ok(true), "cooled down: one more try");
        assert_eq!(b.check_at(later), Err(DURING_TRIAL), "one trial at a time");
        b.record_at(Outcome::Failed, later);
        assert_eq!(
            b.check_at(later),
            Err(FIRST_COOLDOWN * 2),
            "it failed again: longer"
        );
        let mut at = later;
        for _ in 0..10 {
            at += MAX_COOLDOWN;
            b.record_at(Outcome::Failed, at);
        }
        assert_eq!(b.check_at(at), Err(MAX_COOLDOWN), "bounded");
    }

    #[test]
    fn a_trial_that_never_reports_expires() {
        let b = Breaker::default();
        let t0 = Instant::now();
        for _ in 0..TRIP_AFTER {
            b.record_at(Outcome::Failed, t0);
        }
        let cooled = t0 + FIRST_COOLDOWN;
        assert_eq!(b.check_at(cooled), Ok(true));
        assert!(b.check_at(cooled + Duration::from_secs(1)).is_err());
        assert_eq!(
            b.check_at(cooled + TRIAL_EXPIRES),
            Ok(true),
            "another trial"
        );
        b.abandon();
        assert_eq!(
            b.check_at(cooled + TRIAL_EXPIRES),
            Ok(true),
            "abandoned: the next"
        );
    }

    #[test]
    fn a_success_resets_it() {
        let b = Breaker::default();
        let t0 = Instant::now();
        for _ in 0..TRIP_AFTER - 1 {
            b.record_at(Outcome::Failed, t0);
        }
        b.record_at(Outcome::Answered, t0);
        b.record_at(Outcome::Failed, t0);
        assert!(b.check_at(t0).is_ok(), "failures must be in a row");
        for _ in 0..TRIP_AFTER {
            b.record_at(Outcome::Failed, t0);
        }
        assert!(b.check_at(t0).is_err());
        let later = t0 + FIRST_COOLDOWN;
        b.record_at(Outcome::Answered, later);
        assert!(b.check_at(later).is_ok());
        for _ in 0..TRIP_AFTER {
            b.record_at(Outcome::Failed, later);
        }
        assert_eq!(
            b.check_at(later),
            Err(FIRST_COOLDOWN),
            "back to the first cool-down"
        );
    }
}
