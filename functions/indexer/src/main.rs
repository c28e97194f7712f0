//! Indexer Lambda: Kafka event-source batches into Elasticsearch.
//!
//! Cold start reads the configuration (and the secret), builds the
//! Elasticsearch client and installs the index templates; each invocation
//! indexes one event and answers the records to redeliver.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use logpipe::config::{ElasticsearchSettings, Settings};
use logpipe::deadline::deadline_from_epoch_ms;
use logpipe::elastic;
use logpipe::indexer::{self, Indexer, KafkaBatchResponse, decode_event_json};
use serde_json::value::RawValue;

#[tokio::main]
async fn main() -> Result<(), Error> {
    logpipe::telemetry::init_json_logs();
    let settings = Settings::load().await?;
    let elasticsearch = ElasticsearchSettings::from_settings(&settings)?;
    let client = elastic::connect(&elasticsearch)?;
    elastic::install_templates(&client, &elasticsearch).await?;
    let indexer = Arc::new(Indexer::new(client, elasticsearch));
    tracing::info!(index = %indexer.settings().index, "indexer ready");
    lambda_runtime::run(service_fn(|event| handle(indexer.clone(), event))).await
}

async fn handle(
    indexer: Arc<Indexer>,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<KafkaBatchResponse, Error> {
    // Raw text: the records are decoded straight from it (see `decode_event_json`).
    let decoded = decode_event_json(event.payload.get())?;
    let deadline = deadline_from_epoch_ms(event.context.deadline);
    let report = indexer.index(&decoded.records, deadline).await;
    indexer::log_report(&report);
    Ok(report.response)
}
