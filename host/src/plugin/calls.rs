//! The plugin calls running now, oldest first, so that under contention the oldest long
//! calls step back and the youngest (another tenant's upload that just started) run at full
//! speed.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Every running call by its start order, shared by every plugin and tenant.
#[derive(Debug)]
pub(crate) struct Calls {
    cores: usize,
    next: AtomicU64,
    running: Mutex<BTreeSet<u64>>,
}

impl Calls {
    /// Calls sharing `cores` cores.
    pub(crate) fn new(cores: usize) -> Self {
        Self {
            cores: cores.max(1),
            next: AtomicU64::new(0),
            running: Mutex::new(BTreeSet::new()),
        }
    }

    /// Counts a call as running for as long as the returned guard lives.
    pub(crate) fn enter(&self) -> Call<'_> {
        let order = self.next.fetch_add(1, Ordering::Relaxed);
        self.running.lock().expect("calls lock").insert(order);
        Call { calls: self, order }
    }
}

/// One running call.
pub(crate) struct Call<'a> {
    calls: &'a Calls,
    order: u64,
}

impl Call<'_> {
    /// This call's place in the start order.
    pub(crate) fn order(&self) -> u64 {
        self.order
    }
}

impl Calls {
    /// Whether the call `order` should step back: more calls run than there are cores, and
    /// at least as many younger calls as there are cores are running beside it.
    pub(crate) fn should_yield(&self, order: u64) -> bool {
        let running = self.running.lock().expect("calls lock");
        running.len() > self.cores && running.range(order + 1..).count() >= self.cores
    }
}

impl Drop for Call<'_> {
    fn drop(&mut self) {
        self.calls
            .running
            .lock()
            .expect("calls lock")
            .remove(&self.order);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_oldest_calls_beyond_the_cores_yield() {
        let calls = Calls::new(2);
        let first = calls.enter();
        let second = calls.enter();
        assert!(
            !calls.should_yield(first.order()) && !calls.should_yield(second.order()),
            "one core each"
        );
        let third = calls.enter();
        assert!(
            calls.should_yield(first.order()),
            "the oldest steps back for the newcomer"
        );
        assert!(!calls.should_yield(second.order()) && !calls.should_yield(third.order()));
        let fourth = calls.enter();
        assert!(calls.should_yield(first.order()) && calls.should_yield(second.order()));
        assert!(!calls.should_yield(third.order()) && !calls.should_yield(fourth.order()));
        drop(third);
        drop(fourth);
        assert!(
            !calls.should_yield(first.order()) && !calls.should_yield(second.order()),
            "no contention left"
        );
    }

    #[test]
    fn a_finished_call_leaves_the_count() {
        let calls = Calls::new(1);
        let old = calls.enter();
        {
            let _young = calls.enter();
            assert!(calls.should_yield(old.order()));
        }
        assert!(!calls.should_yield(old.order()));
        assert!(calls.running.lock().unwrap().len() == 1);
    }
}
