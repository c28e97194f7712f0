//! Producer Lambda: publishes synthetic access logs to Kafka.
//!
//! Cold start reads the configuration (and the secret) and builds the Kafka
//! producer once; each invocation publishes what its payload asks for.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use logpipe::config::{KafkaSettings, Settings};
use logpipe::deadline::deadline_from_epoch_ms;
use logpipe::kafka::{LogProducer, ProduceReport};
use logpipe::produce::{self, ProduceRequest};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    logpipe::telemetry::init_json_logs();
    let settings = Settings::load().await?;
    let kafka = KafkaSettings::from_settings(&settings)?;
    let producer = Arc::new(LogProducer::new(&kafka)?);
    tracing::info!(topic = producer.topic(), "producer ready");
    lambda_runtime::run(service_fn(|event| handle(producer.clone(), event))).await
}

async fn handle(
    producer: Arc<LogProducer>,
    event: LambdaEvent<Value>,
) -> Result<ProduceReport, Error> {
    let request = ProduceRequest::from_json(&event.payload)?;
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
    .context("the producing task stopped")?;
    match &outcome {
        Ok(report) => produce::log_report(report),
        Err(undelivered) => {
            produce::log_report(&undelivered.0);
            tracing::error!("{undelivered}");
        }
    }
    Ok(outcome?)
}
