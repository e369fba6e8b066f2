//! What a soak did and saw ([`Report`]): requests and answers per kind, the server's
//! resident memory and cache fill over time, the growth after the warm-up, and the summary
//! for people.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Kind;

/// The answers to one kind of request.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Statuses (with the error code of JSON errors) and how often each came.
    pub statuses: BTreeMap<String, u64>,
    /// Milliseconds per request, in the order sent.
    pub latencies_ms: Vec<f64>,
    pub unexpected: u64,
}

impl Tally {
    pub(super) fn merge(&mut self, other: Tally) {
        for (status, n) in other.statuses {
            *self.statuses.entry(status).or_default() += n;
        }
        self.latencies_ms.extend(other.latencies_ms);
        self.unexpected += other.unexpected;
    }

    fn percentile(&self, p: usize) -> f64 {
        let mut sorted = self.latencies_ms.clone();
        sorted.sort_by(f64::total_cmp);
        let index = (sorted.len() * p).div_ceil(100).saturating_sub(1);
        sorted.get(index).copied().unwrap_or(0.0)
    }
}

/// One reading of the server's resident memory, and of its image cache's fill (from
/// `/_status`), which accounts for much of the memory a warm server holds.
#[derive(Debug, Clone, Copy)]
pub struct RssSample {
    /// Since the soak began.
    pub at: Duration,
    pub kib: u64,
    /// Bytes and entries in the image cache, and catalog rows in the record cache.
    pub cache: Option<CacheFill>,
}

/// How full the server's in-memory caches are, from `/_status`.
#[derive(Debug, Clone, Copy)]
pub struct CacheFill {
    pub image_bytes: u64,
    pub images: u64,
    pub records: u64,
}

/// What a soak did and saw.
#[derive(Debug, Clone)]
pub struct Report {
    /// The backends, in words.
    pub backend: String,
    pub threads: usize,
    pub elapsed: Duration,
    pub warmup: Duration,
    pub kinds: BTreeMap<Kind, Tally>,
    /// The first unexpected answers, described.
    pub examples: Vec<String>,
    pub rss: Vec<RssSample>,
}

impl Report {
    /// Requests sent.
    pub fn requests(&self) -> u64 {
        self.kinds
            .values()
            .map(|t| t.latencies_ms.len() as u64)
            .sum()
    }

    /// Answers that were not what the request should get.
    pub fn unexpected(&self) -> u64 {
        self.kinds.values().map(|t| t.unexpected).sum()
    }

    pub fn requests_per_second(&self) -> f64 {
        self.requests() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Resident memory before the first request, in KiB.
    pub fn rss_start(&self) -> u64 {
        self.rss.first().map_or(0, |s| s.kib)
    }

    /// Resident memory at the end of the warm-up (the first sample at or after it), in KiB.
    pub fn rss_after_warmup(&self) -> u64 {
        self.rss
            .iter()
            .find(|s| s.at >= self.warmup)
            .or(self.rss.last())
            .map_or(0, |s| s.kib)
    }

    pub fn rss_peak(&self) -> u64 {
        self.rss.iter().map(|s| s.kib).max().unwrap_or(0)
    }

    /// Resident memory at the end of the run, in KiB.
    pub fn rss_end(&self) -> u64 {
        self.rss.last().map_or(0, |s| s.kib)
    }

    /// The mean resident memory over the run's last quarter, in KiB.
    pub fn rss_last_quarter(&self) -> u64 {
        let from = self.elapsed * 3 / 4;
        let last: Vec<u64> = self
            .rss
            .iter()
            .filter(|s| s.at >= from && s.at >= self.warmup)
            .map(|s| s.kib)
            .collect();
        if last.is_empty() {
            return self.rss_end();
        }
        last.iter().sum::<u64>() / last.len() as u64
    }

    /// Growth after the warm-up, in percent: the last quarter's mean over the memory at the
    /// warm-up's end. A leak shows in it; one busy moment at the end does not.
    pub fn growth_percent(&self) -> f64 {
        percent(self.rss_last_quarter(), self.rss_after_warmup())
    }

    /// Growth from the warm-up's end to the last sample, in percent.
    pub fn final_growth_percent(&self) -> f64 {
        percent(self.rss_end(), self.rss_after_warmup())
    }

    /// The report for people: requests per kind, statuses, latencies, memory.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "soak on {}: {} client threads, {:.1} s, {} requests, {:.1} req/s, {} unexpected\n",
            self.backend,
            self.threads,
            self.elapsed.as_secs_f64(),
            self.requests(),
            self.requests_per_second(),
            self.unexpected(),
        );
        for (kind, tally) in &self.kinds {
            let statuses: Vec<String> = tally
                .statuses
                .iter()
                .map(|(status, n)| format!("{status} x{n}"))
                .collect();
            out.push_str(&format!(
                "  {:<18} {:>6}  p50 {:>7.1} ms  p99 {:>7.1} ms  {}\n",
                kind.name(),
                tally.latencies_ms.len(),
                tally.percentile(50),
                tally.percentile(99),
                statuses.join(", "),
            ));
        }
        let mib = |kib: u64| kib as f64 / 1024.0;
        out.push_str(&format!(
            "  RSS: start {:.1} MiB, after warm-up ({:.0} s) {:.1} MiB, peak {:.1} MiB, \
             last quarter {:.1} MiB, end {:.1} MiB; growth {:+.1} % (to the end {:+.1} %), \
             {} samples\n",
            mib(self.rss_start()),
            self.warmup.as_secs_f64(),
            mib(self.rss_after_warmup()),
            mib(self.rss_peak()),
            mib(self.rss_last_quarter()),
            mib(self.rss_end()),
            self.growth_percent(),
            self.final_growth_percent(),
            self.rss.len(),
        ));
        let cache = |sample: Option<&RssSample>| {
            sample.and_then(|s| s.cache).map_or("?".to_owned(), |c| {
                format!(
                    "{:.1} MiB in {} images, {} records",
                    c.image_bytes as f64 / (1 << 20) as f64,
                    c.images,
                    c.records
                )
            })
        };
        let after_warmup = self.rss.iter().find(|s| s.at >= self.warmup);
        out.push_str(&format!(
            "  caches: after warm-up {}; end {}\n",
            cache(after_warmup),
            cache(self.rss.last()),
        ));
        // About ten points of the memory over time.
        let step = self.rss.len().div_ceil(10).max(1);
        let trace: Vec<String> = self
            .rss
            .iter()
            .enumerate()
            .filter(|(i, _)| i % step == 0 || *i == self.rss.len() - 1)
            .map(|(_, s)| format!("{:.0}s {:.1}", s.at.as_secs_f64(), mib(s.kib)))
            .collect();
        out.push_str(&format!("  RSS over time (MiB): {}\n", trace.join(", ")));
        for example in &self.examples {
            out.push_str(&format!("  unexpected: {example}\n"));
        }
        out
    }
}

fn percent(now: u64, before: u64) -> f64 {
    if before == 0 {
        return 0.0;
    }
    (now as f64 - before as f64) * 100.0 / before as f64
}
