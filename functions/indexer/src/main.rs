//! Indexer Lambda: Kafka event-source batches into Elasticsearch.
//!
//! Cold start reads the configuration (and the secret), builds the
//! Elasticsearch client and installs the index templates; each invocation
//! indexes one event and answers the records to redeliver, or, asked with
//! `{"drain": {...}}`, polls the topic itself (DESIGN.md §3), or, asked
//! with `{"redrive": {...}}`, processes dead letters again, or, asked with
//! `{"replay": {...}}`, indexes what the on-failure destination kept.

use std::sync::Arc;

use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use logpipe::config::{self, ElasticsearchSettings, KafkaSettings, Settings};
use logpipe::deadline::deadline_from_epoch_ms;
use logpipe::drain::{self, DrainReport, DrainRequest};
use logpipe::elastic;
use logpipe::indexer::{self, Indexer, Invocation, KafkaBatchResponse, decode_invocation};
use logpipe::kafka::LogConsumer;
use logpipe::recovery::redrive::{self, RedriveReport, RedriveRequest};
use logpipe::recovery::{ReplayReport, ReplayRequest, replay};
use serde::Serialize;
use serde_json::value::RawValue;

/// mimalloc keeps freed memory for reuse: with the system allocator, large
/// per-invocation buffers are mapped and faulted in afresh every time, which
/// doubled the indexer's CPU per event (README, benchmarks).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Function {
    indexer: Indexer,
    /// Only drain mode reads Kafka; an event-driven indexer needs no Kafka
    /// settings, but settings that are there are checked at cold start.
    kafka: Option<KafkaSettings>,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    logpipe::telemetry::init_json_logs();
    let settings = Settings::load().await?;
    let elasticsearch = ElasticsearchSettings::from_settings(&settings)?;
    let log_format = config::log_format(&settings)?;
    let kafka = match settings.get("KAFKA_BOOTSTRAP_SERVER") {
        Some(_) => Some(KafkaSettings::from_settings(&settings)?),
        None => None,
    };
    let client = elastic::connect(&elasticsearch).await?;
    elastic::install_templates(&client, &elasticsearch).await?;
    let function = Arc::new(Function {
        indexer: Indexer::new(client, elasticsearch, log_format),
        kafka,
    });
    tracing::info!(
        index = %function.indexer.settings().index,
        log_format = %function.indexer.log_format(),
        "indexer ready"
    );
    lambda_runtime::run(service_fn(|event| handle(function.clone(), event))).await
}

#[derive(Serialize)]
#[serde(untagged)]
enum Answer {
    Batch(KafkaBatchResponse),
    Drain(DrainReport),
    Redrive(RedriveReport),
    Replay(ReplayReport),
}

fn failure(error_type: &str, error: impl std::fmt::Display) -> Diagnostic {
    Diagnostic {
        error_type: error_type.into(),
        error_message: error.to_string(),
    }
}

async fn handle(
    function: Arc<Function>,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<Answer, Diagnostic> {
    let deadline = deadline_from_epoch_ms(event.context.deadline);
    // Raw text: the records are decoded straight from it (see `decode_event_json`).
    match decode_invocation(event.payload.get()).map_err(|e| failure("InvalidEvent", e))? {
        Invocation::Event(decoded) => {
            let report = function.indexer.index(&decoded.records, deadline).await;
            indexer::log_report(&report);
            if let Some(error) = report.configuration_error {
                // The whole batch again, after the operator fixes it; no
                // record is dead-lettered for what is not its fault.
                return Err(failure("Configuration", error));
            }
            Ok(Answer::Batch(report.response))
        }
        Invocation::Drain(request) => {
            let request =
                DrainRequest::from_json(request.get()).map_err(|e| failure("InvalidPayload", e))?;
            let kafka = function.kafka.as_ref().ok_or_else(|| {
                failure(
                    "Configuration",
                    "drain mode reads the topic itself: set KAFKA_BOOTSTRAP_SERVER",
                )
            })?;
            // A consumer per drain: a frozen container must not hold partitions.
            let consumer = LogConsumer::new(kafka).map_err(|e| failure("Kafka", e))?;
            let report = drain::drain(
                &consumer,
                &function.indexer,
                &request,
                deadline,
                &mut |_| {},
            )
            .await
            .map_err(|e| failure("Kafka", e))?;
            drain::log_report(&report);
            if report.failed > 0 {
                return Err(failure("DrainIncomplete", drain::Incomplete(report)));
            }
            Ok(Answer::Drain(report))
        }
        Invocation::Redrive(request) => {
            let plan = RedriveRequest::from_json(request.get())
                .map_err(|e| failure("InvalidPayload", e))?;
            let report = redrive::redrive(&function.indexer, &plan, deadline, &mut |_| {})
                .await
                .map_err(|e| failure("Elasticsearch", e))?;
            redrive::log_report(&report);
            if report.incomplete() {
                return Err(failure("RedriveIncomplete", redrive::Incomplete(report)));
            }
            Ok(Answer::Redrive(report))
        }
        Invocation::Replay(request) => {
            let request = ReplayRequest::from_json(request.get())
                .map_err(|e| failure("InvalidPayload", e))?;
            // The S3 client or Kafka consumer is made here, not at cold start.
            let report = replay::replay(
                &function.indexer,
                function.kafka.as_ref(),
                &request,
                deadline,
                &mut |_| {},
            )
            .await
            .map_err(|e| failure(e.kind(), e))?;
            replay::log_report(&report);
            if report.is_incomplete() {
                return Err(failure("ReplayIncomplete", replay::Incomplete(report)));
            }
            Ok(Answer::Replay(report))
        }
    }
}
