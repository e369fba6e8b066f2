//! Rate limits on writes (uploads, deletes) and on renders (the plugin jobs a read starts):
//! for each, a token bucket per client address and one per tenant (governor's GCRA), sized
//! by the configuration's `rate_limits`. A refusal says which bucket is empty and how long
//! until it lets the next request through. Buckets of clients gone quiet are dropped by
//! [`RateLimits::forget_idle`], which the server calls every minute.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::{Rate, RateLimitsConfig};

/// How often idle buckets are dropped.
const FORGET_EVERY: Duration = Duration::from_secs(60);

/// What a request is about to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Write,
    Render,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Self::Write => "write",
            Self::Render => "render",
        }
    }
}

/// Which bucket refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Client,
    Tenant,
}

impl Bucket {
    pub fn name(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Tenant => "tenant",
        }
    }
}

/// A refusal: the bucket, and how long until it allows a request again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the {action:?} rate limit per {} is reached; retry in {retry_after:?}", bucket.name())]
pub struct Limited {
    pub action: Action,
    pub bucket: Bucket,
    pub retry_after: Duration,
}

/// Every bucket of the service.
pub struct RateLimits {
    writes: Buckets,
    renders: Buckets,
    clock: DefaultClock,
}

struct Buckets {
    per_client: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_tenant: Option<DefaultKeyedRateLimiter<String>>,
}

impl Buckets {
    fn new(per_client: Option<Rate>, per_tenant: Option<Rate>) -> Self {
        Self {
            per_client: per_client.map(|rate| RateLimiter::keyed(quota(rate))),
            per_tenant: per_tenant.map(|rate| RateLimiter::keyed(quota(rate))),
        }
    }
}

/// A validated rate as governor's quota: one request per `1 / per_second`, `burst` at once.
fn quota(rate: Rate) -> Quota {
    let period = Duration::from_secs_f64(1.0 / rate.per_second).max(Duration::from_nanos(1));
    let burst = NonZeroU32::new(rate.burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(period)
        .expect("the period is not zero")
        .allow_burst(burst)
}

impl RateLimits {
    pub fn new(config: &RateLimitsConfig) -> Self {
        Self {
            writes: Buckets::new(config.writes.per_client, config.writes.per_tenant),
            renders: Buckets::new(config.renders.per_client, config.renders.per_tenant),
            clock: DefaultClock::default(),
        }
    }

    /// Takes a token for `action` from `client`'s bucket (when the client is known) and then
    /// from `tenant`'s; refused by the first that is empty. A refusal is counted in the
    /// metrics.
    pub fn check(
        &self,
        action: Action,
        tenant: &String,
        client: Option<IpAddr>,
    ) -> Result<(), Limited> {
        let buckets = match action {
            Action::Write => &self.writes,
            Action::Render => &self.renders,
        };
        let refused = |bucket: Bucket, not_until: governor::NotUntil<_>| {
            crate::metrics::rate_limited(tenant, action.name(), bucket.name());
            Limited {
                action,
                bucket,
                retry_after: not_until.wait_time_from(self.clock.now()),
            }
        };
        if let (Some(limiter), Some(client)) = (&buckets.per_client, client) {
            limiter
                .check_key(&client_key(client))
                .map_err(|n| refused(Bucket::Client, n))?;
        }
        if let Some(limiter) = &buckets.per_tenant {
            limiter
                .check_key(tenant)
                .map_err(|n| refused(Bucket::Tenant, n))?;
        }
        Ok(())
    }

    /// Drops the buckets that have refilled completely (their clients went quiet), so a
    /// stream of new addresses does not grow memory without bound.
    pub fn forget_idle(&self) {
        for buckets in [&self.writes, &self.renders] {
            if let Some(limiter) = &buckets.per_client {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
            if let Some(limiter) = &buckets.per_tenant {
                limiter.retain_recent();
            }
        }
    }

    /// Client buckets held now (for tests).
    #[cfg(test)]
    fn clients(&self) -> usize {
        [&self.writes, &self.renders]
            .iter()
            .filter_map(|b| b.per_client.as_ref())
            .map(|l| l.len())
            .sum()
    }
}

/// Forgets idle buckets every minute, for as long as the runtime runs.
pub fn spawn_upkeep(limits: Arc<RateLimits>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(FORGET_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            limits.forget_idle();
        }
    });
}

/// The key of a client's bucket: an IPv4 address, or an IPv6 address's /64 (one site's
/// network, which hands its hosts any address in it); an IPv4 address mapped into IPv6 is
/// the IPv4 address.
pub fn client_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{RenderRates, WriteRates};

    fn limits(per_client: Option<Rate>, per_tenant: Option<Rate>) -> RateLimits {
        RateLimits::new(&RateLimitsConfig {
            trusted_proxies: Vec::new(),
            writes: WriteRates {
                per_client,
                per_tenant,
            },
            renders: RenderRates {
                per_client: None,
                per_tenant: None,
            },
        })
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    const SLOW: Rate = Rate {
        per_second: 0.1,
        burst: 3,
    };

    #[test]
    fn a_client_gets_its_burst_then_waits_for_the_refill() {
        let limits = limits(Some(SLOW), None);
        let tenant = "t".to_owned();
        for _ in 0..3 {
            limits
                .check(Action::Write, &tenant, Some(ip("192.0.2.1")))
                .unwrap();
        }
        let refused = limits
            .check(Action::Write, &tenant, Some(ip("192.0.2.1")))
            .unwrap_err();
        assert_eq!(refused.bucket, Bucket::Client);
        // One token per 10 s: the next is due in (almost) 10 s.
        assert!(refused.retry_after > Duration::from_secs(9), "{refused:?}");
        assert!(
            refused.retry_after <= Duration::from_secs(10),
            "{refused:?}"
        );
        // Another client, and the other action, have buckets of their own.
        limits
            .check(Action::Write, &tenant, Some(ip("192.0.2.2")))
            .unwrap();
        limits
            .check(Action::Render, &tenant, Some(ip("192.0.2.1")))
            .unwrap();
    }

    #[test]
    fn a_tenant_bucket_is_shared_by_its_clients() {
        let limits = limits(None, Some(SLOW));
        let (a, b) = ("a".to_owned(), "b".to_owned());
        for n in 1..=3 {
            limits
                .check(Action::Write, &a, Some(ip(&format!("192.0.2.{n}"))))
                .unwrap();
        }
        let refused = limits
            .check(Action::Write, &a, Some(ip("192.0.2.9")))
            .unwrap_err();
        assert_eq!(refused.bucket, Bucket::Tenant);
        limits
            .check(Action::Write, &b, Some(ip("192.0.2.9")))
            .unwrap();
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        assert_eq!(client_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(client_key(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(client_key(ip("192.0.2.7")), ip("192.0.2.7"));
        let limits = limits(Some(SLOW), None);
        let tenant = "t".to_owned();
        for n in 1..=3 {
            limits
                .check(Action::Write, &tenant, Some(ip(&format!("2001:db8::{n}"))))
                .unwrap();
        }
        assert!(
            limits
                .check(Action::Write, &tenant, Some(ip("2001:db8::ffff")))
                .is_err()
        );
    }

    #[test]
    fn an_unknown_client_meets_the_tenant_bucket_only() {
        let limits = limits(Some(SLOW), None);
        let tenant = "t".to_owned();
        for _ in 0..10 {
            limits.check(Action::Write, &tenant, None).unwrap();
        }
    }

    #[test]
    fn refilled_buckets_are_forgotten() {
        let fast = Rate {
            per_second: 1000.0,
            burst: 1,
        };
        let limits = limits(Some(fast), None);
        let tenant = "t".to_owned();
        for n in 0..50u8 {
            limits
                .check(Action::Write, &tenant, Some(IpAddr::from([10, 0, 0, n])))
                .unwrap();
        }
        assert_eq!(limits.clients(), 50);
        std::thread::sleep(Duration::from_millis(20));
        limits.forget_idle();
        assert_eq!(limits.clients(), 0);
    }
}
