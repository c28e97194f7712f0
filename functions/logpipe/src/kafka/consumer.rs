//! The drain mode's consumer: a member of the indexer's consumer group that
//! commits only offsets whose records were handled.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};
use thiserror::Error;

use super::{KafkaContext, client_config};
use crate::config::KafkaSettings;
use crate::indexer::{IncomingRecord, Undecodable};

/// What the consumer could not do, on which topic, and librdkafka's reason.
#[derive(Debug, Error)]
#[error("Kafka consumer of topic `{topic}`: could not {action}: {error}")]
pub struct ConsumerError {
    topic: String,
    action: String,
    error: Box<KafkaError>,
}

impl ConsumerError {
    fn new(topic: &str, action: impl Into<String>, error: KafkaError) -> Self {
        ConsumerError {
            topic: topic.to_owned(),
            action: action.into(),
            error: Box::new(error),
        }
    }
}

pub struct LogConsumer {
    consumer: StreamConsumer<KafkaContext>,
    topic: Arc<str>,
    /// The partitions whose fetch has reached the end, as librdkafka reports
    /// it, with no record from them since.
    at_end: Mutex<PartitionEnds>,
}

impl LogConsumer {
    /// Joins `settings.group_id` and subscribes to the topic.
    pub fn new(settings: &KafkaSettings) -> Result<Self, ConsumerError> {
        let mut config = client_config(settings);
        config
            .set("group.id", &settings.group_id)
            .set("enable.auto.commit", "false")
            // A group without committed offsets starts at the beginning: the
            // original's `latest` skipped whatever arrived before its first run.
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "10000")
            // The fetcher says when it has reached a partition's end: the
            // only sure sign of having caught up (see `caught_up`).
            .set("enable.partition.eof", "true");
        let consumer: StreamConsumer<KafkaContext> = config
            .create_with_context(KafkaContext::new(settings))
            .map_err(|e| ConsumerError::new(&settings.topic, "be created", e))?;
        consumer
            .subscribe(&[&settings.topic])
            .map_err(|e| ConsumerError::new(&settings.topic, "subscribe", e))?;
        Ok(LogConsumer {
            consumer,
            topic: settings.topic.as_str().into(),
            at_end: Mutex::default(),
        })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Whether the group has given this member any partition yet (joining
    /// takes a while; until then an empty poll says nothing).
    fn is_assigned(&self) -> bool {
        self.consumer
            .assignment()
            .is_ok_and(|assignment| assignment.count() > 0)
    }

    /// Whether this member has read all the partitions it holds: the fetch of
    /// each has reached the partition's end (librdkafka's partition-EOF, sent
    /// when a fetch at the high watermark comes back empty) and brought no
    /// record since. An empty poll alone does not say so: the first fetch after
    /// joining the group can take seconds on a slow broker or a busy machine.
    /// Asks the broker nothing: the fetcher's own answers decide.
    pub fn caught_up(&self) -> bool {
        let Ok(assignment) = self.consumer.assignment() else {
            return false;
        };
        let held: Vec<i32> = assignment
            .elements_for_topic(&self.topic)
            .iter()
            .map(|p| p.partition())
            .collect();
        self.at_end.lock().is_ok_and(|at_end| at_end.cover(&held))
    }

    /// Waits up to `wait` for a first record, then takes whatever else is
    /// already there, up to `max_records` records or about `max_bytes`.
    pub async fn next_batch(
        &self,
        max_records: usize,
        max_bytes: usize,
        wait: Duration,
    ) -> Result<Vec<IncomingRecord>, ConsumerError> {
        let topic = self.topic.clone();
        self.next_batch_with(max_records, max_bytes, wait, |message| {
            incoming(&topic, message)
        })
        .await
    }

    /// [`Self::next_batch`], each message made into a `T` by `convert`
    /// (the event-source mapping stand-in keeps keys, headers and timestamps).
    pub async fn next_batch_with<T>(
        &self,
        max_records: usize,
        max_bytes: usize,
        wait: Duration,
        mut convert: impl FnMut(&BorrowedMessage<'_>) -> T,
    ) -> Result<Vec<T>, ConsumerError> {
        let mut batch = Vec::new();
        let mut bytes = 0;
        let mut wait = wait;
        // Noted here and applied once a batch: a lock per record would be
        // wasted, and a lock guard cannot be held across the awaits.
        let mut ends = EndEvents::default();
        while batch.len() < max_records && bytes < max_bytes {
            let message = match tokio::time::timeout(wait, self.consumer.recv()).await {
                Err(_elapsed) => break,
                Ok(Err(KafkaError::PartitionEOF(partition))) => {
                    ends.reached(partition);
                    continue;
                }
                Ok(message) => {
                    message.map_err(|e| ConsumerError::new(&self.topic, "read a record", e))?
                }
            };
            ends.read_from(message.partition());
            bytes += message.payload_len();
            batch.push(convert(&message));
            // Later records only if they are already fetched.
            wait = Duration::from_millis(5);
        }
        if let Ok(mut at_end) = self.at_end.lock() {
            at_end.apply(&ends);
        }
        Ok(batch)
    }

    /// Commits, per partition, the offset of the next record to read.
    pub fn commit(&self, next_offsets: &BTreeMap<i32, i64>) -> Result<(), ConsumerError> {
        if next_offsets.is_empty() {
            return Ok(());
        }
        let mut list = TopicPartitionList::new();
        for (&partition, &offset) in next_offsets {
            list.add_partition_offset(&self.topic, partition, Offset::Offset(offset))
                .map_err(|e| ConsumerError::new(&self.topic, "list offsets to commit", e))?;
        }
        self.consumer.commit(&list, CommitMode::Sync).map_err(|e| {
            let action = format!("commit offsets {next_offsets:?}");
            ConsumerError::new(&self.topic, action, e)
        })
    }
}

/// The partitions whose fetch has reached the end.
#[derive(Debug, Default)]
struct PartitionEnds(BTreeSet<i32>);

impl PartitionEnds {
    fn apply(&mut self, events: &EndEvents) {
        for &(partition, at_end) in &events.0 {
            if at_end {
                self.0.insert(partition);
            } else {
                self.0.remove(&partition);
            }
        }
    }

    /// Whether every one of `held` (at least one) is at its end.
    fn cover(&self, held: &[i32]) -> bool {
        !held.is_empty() && held.iter().all(|p| self.0.contains(p))
    }
}

/// What one batch's reads said of the partitions' ends, in the order said:
/// a partition's last word counts.
#[derive(Debug, Default)]
struct EndEvents(Vec<(i32, bool)>);

impl EndEvents {
    fn reached(&mut self, partition: i32) {
        self.0.push((partition, true));
    }

    fn read_from(&mut self, partition: i32) {
        // Consecutive records of a partition say nothing new.
        if self.0.last() != Some(&(partition, false)) {
            self.0.push((partition, false));
        }
    }
}

/// When a consumer whose polls come back empty has caught up: nothing for
/// `idle` since it was given partitions, and then [`LogConsumer::caught_up`].
/// Not caught up (a partition's fetch has not reached its end yet): another
/// `idle` of polling before asking again.
pub struct IdleWatch {
    idle: Duration,
    since: Option<Instant>,
}

impl IdleWatch {
    pub fn new(idle: Duration) -> Self {
        IdleWatch { idle, since: None }
    }

    /// A poll brought records.
    pub fn reset(&mut self) {
        self.since = None;
    }

    /// After an empty poll at `now`.
    pub fn caught_up(&mut self, consumer: &LogConsumer, now: Instant) -> bool {
        // Joining the group takes a while: idle time counts from the assignment.
        if !consumer.is_assigned() {
            return false;
        }
        let since = *self.since.get_or_insert(now);
        if now.duration_since(since) < self.idle {
            return false;
        }
        if consumer.caught_up() {
            return true;
        }
        tracing::info!(
            topic = consumer.topic(),
            "idle, but a partition's fetch has not reached its end: polling on"
        );
        self.since = Some(now);
        false
    }
}

fn incoming(topic: &Arc<str>, message: &BorrowedMessage<'_>) -> IncomingRecord {
    let value = message.payload().map(<[u8]>::to_vec).ok_or(Undecodable {
        reason: "the record has no value".into(),
        raw: None,
    });
    IncomingRecord::new(topic.clone(), message.partition(), message.offset(), value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ends(events: &[(i32, bool)]) -> PartitionEnds {
        let mut ends = PartitionEnds::default();
        ends.apply(&EndEvents(events.to_vec()));
        ends
    }

    #[test]
    fn a_partition_is_at_its_end_until_a_record_comes_from_it() {
        assert!(ends(&[(0, true), (1, true)]).cover(&[0, 1]));
        assert!(!ends(&[(0, true), (1, true), (1, false)]).cover(&[0, 1]));
        assert!(ends(&[(1, false), (1, true), (0, true)]).cover(&[0, 1]));
        // A partition never reported at its end, or none held at all.
        assert!(!ends(&[(0, true)]).cover(&[0, 1]));
        assert!(!ends(&[(0, true)]).cover(&[]));
    }

    #[test]
    fn a_batch_notes_a_run_of_records_once() {
        let mut events = EndEvents::default();
        events.reached(2);
        for partition in [0, 0, 0, 1, 1, 0] {
            events.read_from(partition);
        }
        assert_eq!(events.0, [(2, true), (0, false), (1, false), (0, false)]);
    }
}
