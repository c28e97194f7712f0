//! The producer Lambda's logic: read the payload, generate and publish,
//! answer counts, and fail loudly if anything was not delivered.

use std::time::Instant;

use chrono::NaiveDateTime;
use serde::{Deserialize, Deserializer};
use thiserror::Error;

use crate::format::LineFormat;
use crate::generate::{Generator, GeneratorConfig};
use crate::kafka::{LogProducer, ProduceReport};
use crate::metrics::print_emf;

/// Lines per invocation when the payload does not say: the original DAG's batch.
pub const DEFAULT_COUNT: u64 = 15_000;
/// A bound that keeps one invocation within Lambda's 15 minutes.
pub const MAX_COUNT: u64 = 50_000_000;

/// `{"count": 15000, "seed": 7}`; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProduceRequest {
    /// Lines to publish (default 15,000).
    pub count: Option<u64>,
    /// Generator seed (default: drawn, and returned in the answer).
    pub seed: Option<u64>,
    /// Every realism option of the generator (weights, endpoints, IPv6, clock).
    #[serde(default)]
    pub realistic: bool,
    /// Time of the first line, `2026-01-21T22:23:40` (default: now); with
    /// `seed`, it makes a run reproducible line for line.
    #[serde(default, deserialize_with = "start_time")]
    pub start: Option<NaiveDateTime>,
    /// Lines per second of simulated time (default: all lines share a timestamp).
    pub rate: Option<f64>,
    /// Share of IPv6 clients, 0 to 1.
    pub ipv6_share: Option<f64>,
    /// Line format: `original` (default), `combined`, `common`, `nginx-main`
    /// or `vhost-combined`; the server formats are stamped in UTC.
    #[serde(default)]
    pub format: LineFormat,
}

#[derive(Debug, Error, PartialEq)]
#[error("invalid payload: {0}")]
pub struct RequestError(String);

impl ProduceRequest {
    /// Reads a payload; `null` means all defaults. Errors name the field.
    pub fn from_json(payload: &serde_json::Value) -> Result<Self, RequestError> {
        match payload {
            serde_json::Value::Null => return Ok(Self::default()),
            serde_json::Value::Object(_) => {}
            other => {
                return Err(RequestError(format!(
                    "expected a JSON object like {{\"count\": 15000, \"seed\": 7}}, found {other}"
                )));
            }
        }
        let request: Self = serde_path_to_error::deserialize(payload).map_err(|e| {
            match e.path().to_string().as_str() {
                "." => RequestError(e.inner().to_string()),
                path => RequestError(format!("field `{path}`: {}", e.inner())),
            }
        })?;
        request.validate()?;
        Ok(request)
    }

    fn validate(&self) -> Result<(), RequestError> {
        if self.count.is_some_and(|c| c > MAX_COUNT) {
            return Err(RequestError(format!(
                "field `count`: at most {MAX_COUNT} lines per invocation"
            )));
        }
        if self.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
            return Err(RequestError(
                "field `rate`: must be a positive number of lines per second".into(),
            ));
        }
        if self.ipv6_share.is_some_and(|s| !(0.0..=1.0).contains(&s)) {
            return Err(RequestError(
                "field `ipv6_share`: must be between 0 and 1".into(),
            ));
        }
        Ok(())
    }

    pub fn count(&self) -> u64 {
        self.count.unwrap_or(DEFAULT_COUNT)
    }

    pub fn generator_config(&self) -> GeneratorConfig {
        let base = GeneratorConfig::preset(self.realistic);
        GeneratorConfig {
            seed: self.seed,
            start: self.start,
            rate: self.rate.or(base.rate),
            ipv6_share: self.ipv6_share.unwrap_or(base.ipv6_share),
            format: self.format,
            ..base
        }
    }
}

fn start_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDateTime>, D::Error> {
    let text = String::deserialize(d)?;
    NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S")
        .map(Some)
        .map_err(|_| {
            serde::de::Error::custom(format!(
                "{text:?} is not a date and time like \"2026-01-21T22:23:40\""
            ))
        })
}

/// A run that did not deliver every record: the invocation must fail, so
/// that the orchestrator sees it (the original reported success regardless).
#[derive(Debug, Error)]
#[error("{failed} of {requested} records were not delivered to topic `{topic}` ({produced} were): {errors}", failed = .0.failed, requested = .0.requested, topic = .0.topic, produced = .0.produced, errors = describe_errors(.0))]
pub struct Undelivered(pub Box<ProduceReport>);

fn describe_errors(report: &ProduceReport) -> String {
    if report.errors.is_empty() {
        return "no delivery report arrived".into();
    }
    let parts: Vec<String> = report
        .errors
        .iter()
        .map(|(e, n)| format!("{e} (×{n})"))
        .collect();
    parts.join("; ")
}

/// One run: publishes `count` lines of `generator` by `deadline` and answers
/// the report, or [`Undelivered`] when any record was not acknowledged.
pub fn run(
    producer: &LogProducer,
    generator: GeneratorConfig,
    count: u64,
    deadline: Instant,
    progress: &mut dyn FnMut(u64),
) -> Result<ProduceReport, Undelivered> {
    let mut generator = Generator::new(generator);
    let report = producer.produce(&mut generator, count, deadline, progress);
    if report.is_complete() {
        Ok(report)
    } else {
        Err(Undelivered(Box::new(report)))
    }
}

/// What a Lambda says about a run: a JSON log line and CloudWatch metrics.
pub fn log_report(report: &ProduceReport) {
    tracing::info!(
        topic = %report.topic,
        requested = report.requested,
        produced = report.produced,
        failed = report.failed,
        elapsed_ms = report.elapsed_ms,
        seed = report.seed,
        "produced access logs"
    );
    print_emf(
        &[("Function", "producer")],
        &[
            ("Produced", report.produced as f64, "Count"),
            ("Failed", report.failed as f64, "Count"),
            ("ElapsedMs", report.elapsed_ms as f64, "Milliseconds"),
        ],
    );
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn defaults() {
        for payload in [json!(null), json!({})] {
            let r = ProduceRequest::from_json(&payload).unwrap();
            assert_eq!(r.count(), 15_000);
            assert_eq!(r.generator_config(), GeneratorConfig::default());
        }
        let r =
            ProduceRequest::from_json(&json!({"count": 10, "seed": 7, "realistic": true})).unwrap();
        assert_eq!(r.count(), 10);
        let config = r.generator_config();
        assert_eq!(config.seed, Some(7));
        assert!(config.weighted && config.extended_endpoints);
        let r = ProduceRequest::from_json(&json!({"start": "2026-01-21T22:23:40"})).unwrap();
        assert_eq!(
            r.generator_config().start.map(|t| t.to_string()).as_deref(),
            Some("2026-01-21 22:23:40")
        );
    }

    #[test]
    fn format_reaches_the_generator() {
        for format in LineFormat::ALL {
            let r = ProduceRequest::from_json(&json!({"format": format.name()})).unwrap();
            assert_eq!(r.generator_config().format, format);
        }
    }

    #[test]
    fn bad_payloads_name_the_field() {
        let cases = [
            (
                json!({"count": "many"}),
                "field `count`: invalid type: string \"many\", expected u64",
            ),
            (
                json!({"count": -1}),
                "field `count`: invalid value: integer `-1`, expected u64",
            ),
            (json!({"cuont": 5}), "unknown field `cuont`"),
            (json!({"count": 100_000_000}), "field `count`: at most"),
            (json!({"rate": 0}), "field `rate`"),
            (json!({"ipv6_share": 2}), "field `ipv6_share`"),
            (
                json!({"start": "Jan 21 2026"}),
                "field `start`: \"Jan 21 2026\" is not a date and time like \"2026-01-21T22:23:40\"",
            ),
            (
                json!({"start": 5}),
                "field `start`: invalid type: integer `5`",
            ),
            (
                json!([1, 2]),
                "expected a JSON object like {\"count\": 15000, \"seed\": 7}, found [1,2]",
            ),
            (json!("15000"), "found \"15000\""),
            (
                json!({"format": "nginx_main"}),
                "field `format`: unknown variant `nginx_main`, expected one of `original`, `combined`, `common`, `nginx-main`, `vhost-combined`",
            ),
        ];
        for (payload, message) in cases {
            let e = ProduceRequest::from_json(&payload).unwrap_err().to_string();
            assert!(e.starts_with("invalid payload: "), "{e}");
            assert!(e.contains(message), "{payload}: {e}");
        }
    }
}
