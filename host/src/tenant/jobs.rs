//! A tenant's plugin jobs (upload pipelines, generated pictures): refused at once while its
//! breaker is open, at most `max` at a time, each on a blocking thread so a plugin that runs
//! to its deadline never stalls the async workers. A job that waits for its turn longer than
//! the tenant's plugin deadline gives up. [`Jobs::admission`] tells a request, before it
//! reads its body, whether its job would be refused anyway.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;

use super::Tenant;
use super::breaker::{Breaker, Outcome};
use super::pipeline::PipelineError;

/// The bound on a tenant's concurrent jobs, and its breaker.
pub struct Jobs {
    slots: Arc<Semaphore>,
    max: u32,
    /// How long a job waits for a slot.
    wait: Duration,
    /// Jobs waiting for a slot now.
    waiting: AtomicU32,
    breaker: Breaker,
}

/// Why a job did not produce its result.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The tenant's plugins failed too often in a row; its jobs are refused for a while.
    #[error("the tenant's plugin jobs are suspended for {retry_after:?} after repeated failures")]
    Suspended { retry_after: Duration },
    /// Every slot stayed busy for longer than the tenant's plugin deadline.
    #[error("the tenant is busy: {jobs} plugin jobs running and more waiting")]
    Busy { jobs: u32 },
    #[error(transparent)]
    Failed(#[from] PipelineError),
    #[error("a plugin job's thread failed: {0}")]
    Join(String),
}

impl Jobs {
    /// At most `max` jobs at once, each waiting at most `wait` for its turn.
    pub fn new(max: u32, wait: Duration) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(max as usize)),
            max,
            wait,
            waiting: AtomicU32::new(0),
            breaker: Breaker::default(),
        }
    }

    /// How many jobs may run at once.
    pub fn max(&self) -> u32 {
        self.max
    }

    /// Whether a new job would be taken now: not while the breaker is open, nor while every
    /// slot is taken and as many jobs again wait for one (a new job would most likely wait
    /// out its deadline).
    pub fn admission(&self) -> Result<(), JobError> {
        self.breaker
            .peek()
            .map_err(|retry_after| JobError::Suspended { retry_after })?;
        if self.slots.available_permits() == 0 && self.waiting.load(Ordering::Relaxed) >= self.max {
            return Err(JobError::Busy { jobs: self.max });
        }
        Ok(())
    }
}

/// Runs `work` as one of `tenant`'s jobs. Its outcome feeds the tenant's breaker: a
/// server-side failure counts against the tenant, a refusal of the client's input does not.
pub async fn run<R: Send + 'static>(
    tenant: &Arc<Tenant>,
    work: impl FnOnce(&Tenant) -> Result<R, PipelineError> + Send + 'static,
) -> Result<R, JobError> {
    let jobs = &tenant.jobs;
    let trial = jobs
        .breaker
        .check()
        .map_err(|retry_after| JobError::Suspended { retry_after })?;
    let mut trial = Trial {
        breaker: &jobs.breaker,
        pending: trial,
    };
    let waiting = Gauged::new(&tenant.id, true);
    jobs.waiting.fetch_add(1, Ordering::Relaxed);
    let done_waiting = Decrement(&jobs.waiting);
    let permit = tokio::time::timeout(jobs.wait, jobs.slots.clone().acquire_owned())
        .await
        .map_err(|_| JobError::Busy { jobs: jobs.max })?
        .map_err(|e| JobError::Join(e.to_string()))?;
    drop((waiting, done_waiting));
    let handle = tenant.clone();
    // The job's plugin calls are spans of the request that waits for it.
    let span = tracing::Span::current();
    let result = tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        let _permit = permit;
        let _running = Gauged::new(&handle.id, false);
        work(&handle)
    })
    .await
    .map_err(|e| JobError::Join(e.to_string()))?;
    trial.pending = false;
    let opened = jobs.breaker.record(match &result {
        Err(e) if e.is_server_fault() => Outcome::Failed,
        _ => Outcome::Answered,
    });
    if opened {
        crate::metrics::suspended(&tenant.id);
    }
    Ok(result?)
}

/// The breaker's trial job, until it reports: abandoned if it never runs (no slot in time,
/// or its request went away), so the next job becomes the trial.
struct Trial<'b> {
    breaker: &'b Breaker,
    pending: bool,
}

impl Drop for Trial<'_> {
    fn drop(&mut self) {
        if self.pending {
            self.breaker.abandon();
        }
    }
}

/// Takes one from its counter when dropped (also when the future holding it is).
struct Decrement<'c>(&'c AtomicU32);

impl Drop for Decrement<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One job counted in the waiting or running gauge while it lives (also when its future is
/// dropped, as when the client goes away).
struct Gauged<'t> {
    tenant: &'t str,
    waiting: bool,
}

impl<'t> Gauged<'t> {
    fn new(tenant: &'t str, waiting: bool) -> Self {
        crate::metrics::jobs(tenant, waiting, 1.0);
        Self { tenant, waiting }
    }
}

impl Drop for Gauged<'_> {
    fn drop(&mut self) {
        crate::metrics::jobs(self.tenant, self.waiting, -1.0);
    }
}

/// The default bound on a tenant's concurrent plugin jobs: every core for a lone tenant, half
/// of them (at least one) when tenants share the host, so one cannot starve the others.
pub fn default_max_jobs(tenants: usize) -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let jobs = if tenants > 1 {
        cores.div_ceil(2)
    } else {
        cores
    };
    u32::try_from(jobs.max(1)).unwrap_or(1)
}
