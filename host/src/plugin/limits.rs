//! The limits of one plugin call, made from the configuration's `limits` (after a tenant's
//! overrides) and nowhere else, so every caller (`serve`, `plugin check`, the tests) runs
//! plugins under the same limits for the same configuration.

use std::time::Duration;

use crate::config::Limits;

/// The limits of one plugin call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimits {
    /// Wall-clock time the call may take, instantiation included.
    pub deadline: Duration,
    /// The largest linear memory the instance may grow to.
    pub memory_bytes: usize,
    /// The most bytes of image data the call may return.
    pub max_output_bytes: usize,
}

impl Default for CallLimits {
    /// The limits of the default configuration.
    fn default() -> Self {
        Self::from(&Limits::default())
    }
}

impl From<&Limits> for CallLimits {
    fn from(limits: &Limits) -> Self {
        let mib = |n: u64| usize::try_from(n << 20).unwrap_or(usize::MAX);
        Self {
            deadline: Duration::from_millis(limits.plugin_deadline_ms),
            memory_bytes: mib(limits.plugin_memory_mib),
            max_output_bytes: mib(limits.plugin_output_mib),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_limit_comes_from_the_configuration() {
        let limits = CallLimits::from(&Limits::default());
        assert_eq!(limits.deadline, Duration::from_secs(10));
        assert_eq!(limits.memory_bytes, 256 << 20);
        assert_eq!(limits.max_output_bytes, 64 << 20);
    }
}
