//! Logs and traces: the log lines on stderr (`log.format`: text or one JSON object a line,
//! filtered by `RUST_LOG`), and, when an OTLP endpoint is configured, the tracing spans the
//! host makes exported as OpenTelemetry traces (`export.rs`), a request's span joined to its
//! caller's W3C trace (`context.rs`). With export off nothing here runs per request: the edge
//! asks [`exporting`], one relaxed load, before it touches trace context.

mod context;
mod export;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

pub use context::{join_callers_trace, note_answer, send_trace_context};
pub use export::Export;

use crate::config::{LogConfig, LogFormat, TracesConfig};

/// What is logged when `RUST_LOG` says nothing (or nothing that parses).
const DEFAULT_FILTER: &str = "info,wasmtime=warn,cranelift=warn";
/// How long stopping waits for the last spans to be sent.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether spans are being exported, so that requests carry trace context.
#[inline]
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// Why logging or trace export could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("{variable} is not an http:// or https:// URL")]
    Endpoint { variable: &'static str },
    #[error("cannot build the OTLP exporter")]
    Exporter(#[source] opentelemetry_otlp::ExporterBuildError),
    #[error("cannot load the system's TLS roots for the https OTLP endpoint")]
    Tls(#[source] std::io::Error),
    #[error("a logger is already installed")]
    Installed(#[source] tracing_subscriber::util::TryInitError),
}

/// Plain text logs, for the commands other than `serve`.
pub fn init_text() {
    let _ = tracing_subscriber::registry()
        .with(env_filter())
        .with(log_lines(LogFormat::Text))
        .try_init();
}

/// Logging and trace export as `log` and `traces` ask, until [`Telemetry::shutdown`];
/// export requests run on `runtime`.
pub fn init(
    log: &LogConfig,
    traces: &TracesConfig,
    runtime: &tokio::runtime::Handle,
) -> Result<Telemetry, TelemetryError> {
    let Some(export) = Export::resolve(traces, |name| std::env::var(name).ok())? else {
        // One global filter, as before export existed: the cheapest subscriber there is.
        tracing_subscriber::registry()
            .with(env_filter())
            .with(log_lines(log.format))
            .try_init()
            .map_err(TelemetryError::Installed)?;
        return Ok(Telemetry { provider: None });
    };
    let provider = export.provider(runtime)?;
    let spans = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer(env!("CARGO_PKG_NAME")))
        .with_filter(exported_spans());
    tracing_subscriber::registry()
        .with(log_lines(log.format).with_filter(env_filter()))
        .with(spans)
        .try_init()
        .map_err(TelemetryError::Installed)?;
    EXPORTING.store(true, Ordering::Relaxed);
    tracing::info!(
        endpoint = %without_credentials(&export.endpoint),
        service_name = %export.service_name,
        sample_ratio = export.sample_ratio,
        "exporting traces over OTLP/HTTP"
    );
    Ok(Telemetry {
        provider: Some(provider),
    })
}

/// The running trace export, to be shut down last.
#[must_use = "shut it down, or the last spans are lost"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans not yet exported and stops exporting, waiting at most a few seconds.
    /// Call it from outside the runtime the exporter uses, while that runtime still runs.
    pub fn shutdown(self) {
        let Some(provider) = self.provider else {
            return;
        };
        EXPORTING.store(false, Ordering::Relaxed);
        if let Err(error) = provider.shutdown_with_timeout(FLUSH_TIMEOUT) {
            tracing::warn!(%error, "the last spans may not have been exported");
        }
    }
}

fn env_filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| DEFAULT_FILTER.into())
}

/// The spans (and events inside them) that are exported, whatever `RUST_LOG` says: the
/// host's own, down to the `debug` level of the catalog's and the store's operations. Other
/// crates' spans, and the exporter's own logs, stay out of the traces.
fn exported_spans() -> Targets {
    Targets::new().with_target("avatar_host", tracing::Level::DEBUG)
}

/// The layer that writes log lines to stderr in `format`. In JSON an event's fields are at
/// the top level, its span's (the request id, method, path, tenant) under `span`.
fn log_lines<S>(format: LogFormat) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    match format {
        LogFormat::Text => layer.boxed(),
        LogFormat::Json => layer
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    }
}

/// `url` without a `user:password@`, for the log.
fn without_credentials(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_stay_out_of_the_log() {
        for (url, shown) in [
            (
                "http://user:pw@collector:4318/v1/traces",
                "http://collector:4318/v1/traces",
            ),
            ("https://collector/v1/traces", "https://collector/v1/traces"),
            ("http://a@b@c:1", "http://c:1"),
        ] {
            assert_eq!(without_credentials(url), shown);
        }
    }
}
