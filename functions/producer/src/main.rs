//! Producer Lambda: publishes synthetic access logs to Kafka.
//!
//! Cold start reads the configuration (and the secret) and builds the Kafka
//! producer once; each invocation publishes what its payload asks for.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use logpipe::config::{KafkaSettings, Settings};
use logpipe::deadline::deadline_from_epoch_ms;
use logpipe::kafka::{LogProducer, ProduceReport};
use logpipe::produce::{self, ProduceRequest};
use serde_json::Value;

/// mimalloc keeps freed memory for reuse: with the system allocator, large
/// per-invocation buffers are mapped and faulted in afresh every time, which
/// doubled the indexer's CPU per event (README, benchmarks).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    logpipe::telemetry::init_json_logs();
    let settings = Settings::load().await?;
    let kafka = KafkaSettings::from_settings(&settings)?;
    let producer = Arc::new(LogProducer::new(&kafka)?);
    producer.warm_up(Duration::from_secs(1));
    tracing::info!(topic = producer.topic(), "producer ready");
    lambda_runtime::run(service_fn(|event| handle(producer.clone(), event))).await
}

/// The error MWAA's task sees: `errorType` says which kind of failure it was.
fn failure(error_type: &str, error: impl std::fmt::Display) -> Diagnostic {
    Diagnostic {
        error_type: error_type.into(),
        error_message: error.to_string(),
    }
}

async fn handle(
    producer: Arc<LogProducer>,
    event: LambdaEvent<Value>,
) -> Result<ProduceReport, Diagnostic> {
    let request =
        ProduceRequest::from_json(&event.payload).map_err(|e| failure("InvalidPayload", e))?;
    let deadline = deadline_from_epoch_ms(event.context.deadline);
    tracing::info!(
        count = request.count(),
        remaining_ms = deadline
            .saturating_duration_since(Instant::now())
            .as_millis() as u64,
        "producing"
    );
    // librdkafka calls block: keep them off the runtime's threads.
    let outcome = tokio::task::spawn_blocking(move || {
        let config = request.generator_config();
        produce::run(&producer, config, request.count(), deadline, &mut |_| {})
    })
    .await
    .map_err(|e| failure("ProducerStopped", e))?;
    match &outcome {
        Ok(report) => produce::log_report(report),
        Err(undelivered) => {
            produce::log_report(&undelivered.0);
            tracing::error!("{undelivered}");
        }
    }
    outcome.map_err(|e| failure("Undelivered", e))
}

/// The handler in-process against the local stack's broker (`make stack-test`
/// runs these with the stack's environment).
#[cfg(test)]
mod tests {
    use std::time::{SystemTime, UNIX_EPOCH};

    use lambda_runtime::Context;
    use serde_json::json;

    use super::*;

    fn event(payload: Value) -> LambdaEvent<Value> {
        let mut context = Context::default();
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        context.deadline = now_ms + 60_000;
        LambdaEvent::new(payload, context)
    }

    async fn producer() -> Arc<LogProducer> {
        let settings = Settings::load().await.expect("stack settings");
        let kafka = KafkaSettings::from_settings(&settings).expect("kafka settings");
        Arc::new(LogProducer::new(&kafka).expect("producer"))
    }

    #[tokio::test]
    #[ignore = "needs the local stack (make stack-test)"]
    async fn publishes_the_requested_lines() {
        let producer = producer().await;
        let report = handle(producer, event(json!({"count": 2_000, "seed": 3})))
            .await
            .expect("every line delivered");
        assert_eq!(
            (report.requested, report.produced, report.failed),
            (2_000, 2_000, 0)
        );
        assert_eq!(report.seed, 3);
        assert_eq!(report.partitions.values().sum::<u64>(), 2_000);
        // Keyed by client address: the load spreads over every partition.
        assert!(report.partitions.len() > 1, "{:?}", report.partitions);
    }

    #[tokio::test]
    #[ignore = "needs the local stack (make stack-test)"]
    async fn a_bad_payload_is_an_error_naming_the_field() {
        let producer = producer().await;
        let error = handle(producer, event(json!({"count": 10, "sede": 3})))
            .await
            .expect_err("unknown field");
        assert_eq!(error.error_type, "InvalidPayload");
        assert!(
            error.error_message.contains("unknown field `sede`"),
            "{}",
            error.error_message
        );
    }
}
