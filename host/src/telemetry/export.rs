//! Where traces go: the export settings the configuration and the standard `OTEL_*`
//! variables make together ([`Export::resolve`]), and the tracer provider that sends spans
//! in batches to an OTLP/HTTP receiver, its requests made by hyper on the server's runtime.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};

use super::TelemetryError;
use crate::config::{TracesConfig, defaults, is_http_url};

/// How long one export request may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// The path of the traces signal under an OTLP/HTTP base URL.
const TRACES_PATH: &str = "/v1/traces";

/// Trace export, as resolved from the configuration and the environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    /// The full URL spans are posted to (`…/v1/traces`).
    pub endpoint: String,
    /// `service.name`.
    pub service_name: String,
    /// The share of new traces that are sampled.
    pub sample_ratio: f64,
}

impl Export {
    /// The export `config` and the variables `env` looks up ask for, or `None` when traces
    /// are off. `OTEL_SDK_DISABLED=true` and `OTEL_TRACES_EXPORTER=none` turn export off
    /// whatever else says; otherwise `traces.otlp_endpoint` wins over
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as it is), which wins over
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` (a base URL, `/v1/traces` added); and
    /// `traces.service_name` over `OTEL_SERVICE_NAME` over `avatar`.
    pub fn resolve(
        config: &TracesConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, TelemetryError> {
        // Unset and empty are the same to the OpenTelemetry specification.
        let var = |name: &str| {
            env(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        if var("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return Ok(None);
        }
        if var("OTEL_TRACES_EXPORTER")
            .is_some_and(|v| v.split(',').any(|e| e.trim().eq_ignore_ascii_case("none")))
        {
            return Ok(None);
        }
        let endpoint = if let Some(endpoint) = &config.otlp_endpoint {
            traces_url(endpoint)
        } else if let Some(endpoint) = var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            checked("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint)?
        } else if let Some(base) = var("OTEL_EXPORTER_OTLP_ENDPOINT") {
            let base = checked("OTEL_EXPORTER_OTLP_ENDPOINT", base)?;
            format!("{}{TRACES_PATH}", base.trim_end_matches('/'))
        } else {
            return Ok(None);
        };
        let service_name = config
            .service_name
            .clone()
            .or_else(|| var("OTEL_SERVICE_NAME"))
            .unwrap_or_else(|| defaults::TRACE_SERVICE_NAME.to_owned());
        Ok(Some(Self {
            endpoint,
            service_name,
            sample_ratio: config.sample_ratio,
        }))
    }

    /// A tracer provider that exports to [`Export::endpoint`] in batches (the SDK's batch
    /// processor, tuned by the `OTEL_BSP_*` variables), its requests run on `runtime`.
    pub(super) fn provider(
        &self,
        runtime: &tokio::runtime::Handle,
    ) -> Result<SdkTracerProvider, TelemetryError> {
        let client = OnRuntime::new(&self.endpoint, runtime.clone())?;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(self.endpoint.clone())
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(TelemetryError::Exporter)?;
        let resource = Resource::builder()
            .with_service_name(self.service_name.clone())
            .with_attribute(opentelemetry::KeyValue::new(
                "service.version",
                env!("CARGO_PKG_VERSION"),
            ))
            .build();
        Ok(SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                self.sample_ratio,
            ))))
            .with_resource(resource)
            .build())
    }
}

/// `endpoint` (a base URL, or already the traces URL) as the traces URL.
fn traces_url(endpoint: &str) -> String {
    let endpoint = endpoint.trim_end_matches('/');
    if endpoint.ends_with(TRACES_PATH) {
        endpoint.to_owned()
    } else {
        format!("{endpoint}{TRACES_PATH}")
    }
}

/// `value` of variable `name`, if it is an http(s) URL.
fn checked(name: &'static str, value: String) -> Result<String, TelemetryError> {
    if is_http_url(&value) {
        Ok(value)
    } else {
        Err(TelemetryError::Endpoint { variable: name })
    }
}

/// The exporter's HTTP client: hyper's, which needs a Tokio runtime, called from the SDK's
/// batch thread, which has none; so each request runs as a task on the server's runtime.
#[derive(Debug, Clone)]
struct OnRuntime {
    client: Arc<dyn HttpClient>,
    runtime: tokio::runtime::Handle,
}

impl OnRuntime {
    /// A client for `endpoint`: plain HTTP, or TLS with the system's roots for `https`.
    fn new(endpoint: &str, runtime: tokio::runtime::Handle) -> Result<Self, TelemetryError> {
        use opentelemetry_http::hyper::HyperClient;
        let client: Arc<dyn HttpClient> = if endpoint.starts_with("https://") {
            let connector = hyper_rustls::HttpsConnectorBuilder::new()
                .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
                .map_err(TelemetryError::Tls)?
                .https_only()
                .enable_http1()
                .build();
            Arc::new(HyperClient::new(connector, EXPORT_TIMEOUT, None))
        } else {
            Arc::new(HyperClient::with_default_connector(EXPORT_TIMEOUT, None))
        };
        Ok(Self { client, runtime })
    }
}

#[async_trait::async_trait]
impl HttpClient for OnRuntime {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        self.runtime
            .spawn(async move { client.send_bytes(request).await })
            .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(config: &TracesConfig, env: &[(&str, &str)]) -> Option<Export> {
        Export::resolve(config, |name| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap()
    }

    fn configured(endpoint: Option<&str>, service_name: Option<&str>) -> TracesConfig {
        TracesConfig {
            otlp_endpoint: endpoint.map(str::to_owned),
            service_name: service_name.map(str::to_owned),
            ..TracesConfig::default()
        }
    }

    /// A configuration, the environment, and the endpoint and service name expected.
    type Case<'a> = (
        &'a TracesConfig,
        &'a [(&'a str, &'a str)],
        Option<(&'a str, &'a str)>,
    );

    #[test]
    fn which_endpoint_and_name_win() {
        let none = configured(None, None);
        let file = configured(Some("http://file:4318"), Some("from-file"));
        let cases: &[Case] = &[
            (&none, &[], None),
            (&none, &[("OTEL_EXPORTER_OTLP_ENDPOINT", "")], None),
            (
                &none,
                &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318/")],
                Some(("http://base:4318/v1/traces", "avatar")),
            ),
            (
                &none,
                &[
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318"),
                    ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4318/x"),
                    ("OTEL_SERVICE_NAME", "from-env"),
                ],
                Some(("http://traces:4318/x", "from-env")),
            ),
            (
                &file,
                &[
                    ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4318/x"),
                    ("OTEL_SERVICE_NAME", "from-env"),
                ],
                Some(("http://file:4318/v1/traces", "from-file")),
            ),
            (
                &configured(Some("https://file/v1/traces/"), None),
                &[],
                Some(("https://file/v1/traces", "avatar")),
            ),
            (&file, &[("OTEL_SDK_DISABLED", "TRUE")], None),
            (&file, &[("OTEL_TRACES_EXPORTER", "none")], None),
            (
                &file,
                &[
                    ("OTEL_SDK_DISABLED", "false"),
                    ("OTEL_TRACES_EXPORTER", "otlp"),
                ],
                Some(("http://file:4318/v1/traces", "from-file")),
            ),
        ];
        for (config, env, expected) in cases {
            let got = resolve(config, env);
            let got = got
                .as_ref()
                .map(|e| (e.endpoint.as_str(), e.service_name.as_str()));
            assert_eq!(got, *expected, "{env:?}");
        }
    }

    #[test]
    fn a_bad_endpoint_variable_stops_start_up() {
        let got = Export::resolve(&TracesConfig::default(), |name| {
            (name == "OTEL_EXPORTER_OTLP_ENDPOINT").then(|| "collector:4318".to_owned())
        });
        assert!(
            matches!(
                got,
                Err(TelemetryError::Endpoint {
                    variable: "OTEL_EXPORTER_OTLP_ENDPOINT"
                })
            ),
            "{got:?}"
        );
    }
}
