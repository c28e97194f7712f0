//! The event-source mapping stand-in's on-failure destination: where
//! `logpipe esm --on-failure` writes the records it gave up on, as Lambda
//! writes them (see [`logpipe::recovery::failure_record`]).

use std::time::Duration;

use chrono::Utc;
use rdkafka::producer::{FutureProducer, FutureRecord};
use thiserror::Error;

use logpipe::config::KafkaSettings;
use logpipe::kafka::{KafkaContext, client_config};
use logpipe::kafka_event::{EventOrigin, EventRecord};
use logpipe::recovery::failure_record::{Attempts, kafka_messages, s3_objects};
use logpipe::recovery::location::Location;
use logpipe::recovery::s3::{S3Error, S3Store};

use super::{EsmOptions, GivenUp, KeepFailed};

/// How long a failure record may wait for the broker's acknowledgement.
const PRODUCE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Error)]
pub enum OnFailureError {
    #[error(transparent)]
    S3(#[from] S3Error),
    #[error("Kafka on-failure topic `{topic}`: {reason}")]
    Kafka { topic: String, reason: String },
}

pub enum OnFailure {
    S3 {
        store: S3Store,
        bucket: String,
        prefix: String,
    },
    Kafka {
        producer: FutureProducer<KafkaContext>,
        topic: String,
    },
}

impl OnFailure {
    /// A Kafka destination is on the source topic's cluster (`kafka`), as Lambda requires.
    pub async fn connect(
        location: &Location,
        kafka: &KafkaSettings,
    ) -> Result<OnFailure, OnFailureError> {
        Ok(match location {
            Location::S3 { bucket, prefix } => OnFailure::S3 {
                store: S3Store::from_env().await,
                bucket: bucket.clone(),
                prefix: prefix.clone(),
            },
            Location::Kafka { topic } => {
                let mut config = client_config(kafka);
                config.set("enable.idempotence", "true").set(
                    "message.timeout.ms",
                    PRODUCE_TIMEOUT.as_millis().to_string(),
                );
                let producer = config
                    .create_with_context(KafkaContext::new(kafka))
                    .map_err(|e| OnFailureError::Kafka {
                        topic: topic.clone(),
                        reason: e.to_string(),
                    })?;
                OnFailure::Kafka {
                    producer,
                    topic: topic.clone(),
                }
            }
        })
    }

    /// Writes the failure records of `records`; returns how many objects or
    /// messages. Only once this returns Ok may the mapping commit past them.
    pub async fn keep(
        &self,
        records: &[&EventRecord],
        origin: &EventOrigin,
        attempts: &Attempts,
        mapping_id: &str,
    ) -> Result<usize, OnFailureError> {
        match self {
            OnFailure::S3 {
                store,
                bucket,
                prefix,
            } => {
                let objects = s3_objects(records, origin, attempts, prefix, mapping_id);
                for object in &objects {
                    store.put(bucket, &object.key, object.body.clone()).await?;
                }
                Ok(objects.len())
            }
            OnFailure::Kafka { producer, topic } => {
                let messages = kafka_messages(records, origin, attempts);
                let failed = |reason: String| OnFailureError::Kafka {
                    topic: topic.clone(),
                    reason,
                };
                // All queued at once, then every acknowledgement awaited.
                let mut deliveries = Vec::with_capacity(messages.len());
                for message in &messages {
                    let mut record = FutureRecord::to(topic).payload(&message.body);
                    if let Some(key) = &message.key {
                        record = record.key(key);
                    }
                    let delivery = producer
                        .send_result(record)
                        .map_err(|(e, _)| failed(e.to_string()))?;
                    deliveries.push(delivery);
                }
                for delivery in deliveries {
                    match delivery.await {
                        Ok(Ok(_)) => {}
                        Ok(Err((e, _))) => return Err(failed(e.to_string())),
                        Err(_canceled) => return Err(failed("the producer went away".into())),
                    }
                }
                Ok(messages.len())
            }
        }
    }
}

impl KeepFailed for Option<OnFailure> {
    async fn keep(
        &self,
        given_up: &GivenUp<'_, '_>,
        options: &EsmOptions,
    ) -> Option<Result<usize, String>> {
        let destination = self.as_ref()?;
        let attempts = Attempts {
            function_arn: options.function_arn.clone(),
            invocations: given_up.invocations,
            function_error: given_up.function_error,
            at: Utc::now(),
        };
        let kept = destination
            .keep(
                given_up.records,
                &options.origin,
                &attempts,
                &options.mapping_id,
            )
            .await
            .map_err(|e| e.to_string());
        match &kept {
            Ok(written) => tracing::warn!(
                records = given_up.records.len(),
                written,
                "records still failed after the retries: written to the on-failure destination"
            ),
            Err(error) => tracing::error!(%error, "could not write to the on-failure destination"),
        }
        Some(kept)
    }
}
