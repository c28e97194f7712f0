//! Publishing generated access logs: one idempotent, compressed, batching
//! producer per process, and a run that waits for every delivery report once.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, PurgeConfig};
use serde::Serialize;
use thiserror::Error;

use super::{KafkaContext, client_config};
use crate::config::KafkaSettings;
use crate::format::LineWriter;
use crate::generate::Generator;

/// How often the producing loop serves delivery reports and progress.
const POLL_EVERY: u64 = 4096;
/// Kept back from the deadline to answer in time.
const DEADLINE_MARGIN: Duration = Duration::from_millis(500);

#[derive(Debug, Error)]
#[error("could not create the Kafka producer: {0}")]
pub struct ProducerSetupError(#[from] KafkaError);

/// The outcome of one run, as the Lambda answers it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProduceReport {
    pub topic: String,
    pub requested: u64,
    /// Acknowledged by the brokers.
    pub produced: u64,
    /// Not acknowledged: failed, timed out, or never sent for lack of time.
    pub failed: u64,
    /// Acknowledged records per partition.
    pub partitions: BTreeMap<i32, u64>,
    pub elapsed_ms: u64,
    pub lines_per_second: f64,
    /// The generator seed, to reproduce the lines.
    pub seed: u64,
    /// Distinct delivery errors with their counts.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, u64>,
}

impl ProduceReport {
    pub fn is_complete(&self) -> bool {
        self.failed == 0 && self.produced == self.requested
    }
}

pub struct LogProducer {
    producer: BaseProducer<KafkaContext>,
    topic: String,
}

impl LogProducer {
    /// Builds the producer; connections are made lazily by librdkafka.
    pub fn new(settings: &KafkaSettings) -> Result<Self, ProducerSetupError> {
        let mut config = client_config(settings);
        config
            .set("enable.idempotence", "true")
            .set("compression.type", settings.compression.as_str())
            .set("linger.ms", settings.linger_ms.to_string())
            .set(
                "message.timeout.ms",
                settings.message_timeout_ms.to_string(),
            )
            .set("batch.size", (1 << 20).to_string())
            .set("queue.buffering.max.messages", "1000000")
            .set("queue.buffering.max.kbytes", (1 << 20).to_string())
            // Every partition leader is written to anyway: connect to all
            // brokers at once, so the producer id can be had sooner.
            .set("enable.sparse.connections", "false");
        let producer = config.create_with_context(KafkaContext::new(settings))?;
        Ok(LogProducer {
            producer,
            topic: settings.topic.clone(),
        })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Connects to the brokers now rather than at the first record, so that
    /// the first invocation need not wait for the idempotent producer's id
    /// (best effort: what fails here fails again, and is reported, when
    /// records are sent). librdkafka asks for the id when a metadata answer
    /// arrives while a broker it learned of is up, else every 500 ms: the
    /// first answer makes it connect to the brokers, the second, once they
    /// are up, gets the id at once.
    pub fn warm_up(&self, timeout: Duration) {
        let client = self.producer.client();
        for _ in 0..2 {
            if let Err(error) = client.fetch_metadata(Some(&self.topic), timeout) {
                tracing::warn!(topic = %self.topic, %error, "no metadata from the brokers yet");
                return;
            }
        }
    }

    /// Serves delivery reports until none is outstanding (true) or until
    /// `deadline` (false). rdkafka's `flush` polls in steps of 100 ms, which
    /// a small run would spend waiting for a report that came long before.
    fn wait_for_deliveries(&self, deadline: Instant) -> bool {
        loop {
            if self.producer.in_flight_count() == 0 {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            self.producer
                .poll((deadline - now).min(Duration::from_millis(5)));
        }
    }

    /// Generates `count` lines in the generator's format and publishes them,
    /// keyed by client address so
    /// that load spreads over partitions and each client's requests stay in
    /// order. Returns once every record is acknowledged or failed, or at
    /// `deadline`, when whatever is still queued is purged and counted failed.
    /// `progress` is called now and then with the number of records sent.
    pub fn produce(
        &self,
        generator: &mut Generator,
        count: u64,
        deadline: Instant,
        progress: &mut dyn FnMut(u64),
    ) -> ProduceReport {
        let started = Instant::now();
        // Reports of an earlier, interrupted run are not this run's.
        self.producer.context().take_deliveries();
        let mut writer = LineWriter::new(generator.format());
        let mut line = Vec::with_capacity(256);
        let mut sent = 0;
        let mut stopped: Option<String> = None;

        'lines: while sent < count {
            line.clear();
            let client = writer.write(&generator.record(), &mut line);
            let mut record = BaseRecord::to(&self.topic)
                .payload(&line[..])
                .key(&line[client]);
            loop {
                match self.producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        if Instant::now() + DEADLINE_MARGIN >= deadline {
                            stopped = Some("not sent: out of time with the queue full".into());
                            break 'lines;
                        }
                        record = back;
                        self.producer.poll(Duration::from_millis(10));
                    }
                    Err((error, _)) => {
                        stopped = Some(format!("not sent: {error}"));
                        break 'lines;
                    }
                }
            }
            sent += 1;
            if sent % POLL_EVERY == 0 {
                self.producer.poll(Duration::ZERO);
                progress(sent);
            }
        }
        progress(sent);

        if !self.wait_for_deliveries(deadline - DEADLINE_MARGIN) {
            // Out of time: fail what is left now, so that no report arrives
            // later and no record is counted neither way.
            self.producer
                .purge(PurgeConfig::default().queue().inflight());
            self.wait_for_deliveries(Instant::now() + Duration::from_secs(1));
        }

        let deliveries = self.producer.context().take_deliveries();
        let produced: u64 = deliveries.delivered.values().sum();
        let mut errors = deliveries.errors;
        if let Some(reason) = stopped {
            errors.insert(reason, count - sent);
        }
        let elapsed = started.elapsed();
        ProduceReport {
            topic: self.topic.clone(),
            requested: count,
            produced,
            failed: count - produced.min(count),
            partitions: deliveries.delivered,
            elapsed_ms: elapsed.as_millis() as u64,
            lines_per_second: produced as f64 / elapsed.as_secs_f64().max(1e-9),
            seed: generator.seed(),
            errors,
        }
    }
}
