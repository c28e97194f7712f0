//! The drain mode's consumer: a member of the indexer's consumer group that
//! commits only offsets whose records were handled.

use std::collections::BTreeMap;
use std::sync::Arc;
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
            .set("session.timeout.ms", "10000");
        let consumer: StreamConsumer<KafkaContext> = config
            .create_with_context(KafkaContext::new(settings))
            .map_err(|e| ConsumerError::new(&settings.topic, "be created", e))?;
        consumer
            .subscribe(&[&settings.topic])
            .map_err(|e| ConsumerError::new(&settings.topic, "subscribe", e))?;
        Ok(LogConsumer {
            consumer,
            topic: settings.topic.as_str().into(),
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

    /// Whether this member has read all its partitions held a moment ago: on
    /// each, the next offset it reads has reached the high watermark. An empty
    /// poll alone does not say so: the first fetch after joining the group can
    /// take seconds on a slow broker or a busy machine. Asks the broker
    /// (blocking, up to `timeout` a request), so it is for idle moments only.
    pub fn caught_up(&self, timeout: Duration) -> Result<bool, ConsumerError> {
        let position = self
            .consumer
            .position()
            .map_err(|e| ConsumerError::new(&self.topic, "read its position", e))?;
        if position.count() == 0 {
            return Ok(false);
        }
        // Partitions not read from yet start where the group committed.
        let unread = position
            .elements()
            .iter()
            .any(|p| p.offset() == Offset::Invalid);
        let committed = if unread {
            let offsets = self
                .consumer
                .committed_offsets(position.clone(), timeout)
                .map_err(|e| ConsumerError::new(&self.topic, "read the committed offsets", e))?;
            Some(offsets)
        } else {
            None
        };
        for element in position.elements() {
            let partition = element.partition();
            let (low, high) = self
                .consumer
                .fetch_watermarks(&self.topic, partition, timeout)
                .map_err(|e| {
                    ConsumerError::new(
                        &self.topic,
                        format!("read partition {partition}'s watermarks"),
                        e,
                    )
                })?;
            let committed = committed
                .as_ref()
                .and_then(|offsets| offsets.find_partition(&self.topic, partition))
                .map_or(Offset::Invalid, |c| c.offset());
            if next_offset(element.offset(), committed, low) < high {
                return Ok(false);
            }
        }
        Ok(true)
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
        while batch.len() < max_records && bytes < max_bytes {
            let message = match tokio::time::timeout(wait, self.consumer.recv()).await {
                Err(_elapsed) => break,
                Ok(message) => {
                    message.map_err(|e| ConsumerError::new(&self.topic, "read a record", e))?
                }
            };
            bytes += message.payload_len();
            batch.push(convert(&message));
            // Later records only if they are already fetched.
            wait = Duration::from_millis(5);
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

/// The offset a member reads next from a partition: where it is, else where
/// the group committed, else the partition's start (`auto.offset.reset` is
/// `earliest`).
fn next_offset(position: Offset, committed: Offset, low: i64) -> i64 {
    match (position, committed) {
        (Offset::Offset(next), _) | (_, Offset::Offset(next)) => next,
        _ => low,
    }
}

/// When a consumer whose polls come back empty has caught up: nothing for
/// `idle` since it was given partitions, and then [`LogConsumer::caught_up`].
/// Not caught up (records wait that the fetch has not brought yet, or the
/// broker did not answer): another `idle` of polling before asking again.
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

    /// After an empty poll at `now`; the broker's answers are awaited up to
    /// `until` at most.
    pub fn caught_up(&mut self, consumer: &LogConsumer, now: Instant, until: Instant) -> bool {
        // Joining the group takes a while: idle time counts from the assignment.
        if !consumer.is_assigned() {
            return false;
        }
        let since = *self.since.get_or_insert(now);
        if now.duration_since(since) < self.idle {
            return false;
        }
        let timeout = CAUGHT_UP_TIMEOUT.min(until.saturating_duration_since(now));
        match consumer.caught_up(timeout) {
            Ok(true) => true,
            Ok(false) => {
                tracing::info!(
                    topic = consumer.topic(),
                    "idle, but records wait: polling on"
                );
                self.since = Some(now);
                false
            }
            Err(error) => {
                tracing::warn!(%error, "could not tell whether the consumer has caught up: polling on");
                self.since = Some(now);
                false
            }
        }
    }
}

/// The longest a caught-up check waits for each of the broker's answers.
const CAUGHT_UP_TIMEOUT: Duration = Duration::from_secs(5);

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

    #[test]
    fn the_next_offset_is_the_position_else_the_committed_offset_else_the_start() {
        assert_eq!(next_offset(Offset::Offset(7), Offset::Offset(3), 0), 7);
        assert_eq!(next_offset(Offset::Invalid, Offset::Offset(3), 0), 3);
        assert_eq!(next_offset(Offset::Invalid, Offset::Invalid, 5), 5);
        assert_eq!(next_offset(Offset::Invalid, Offset::Beginning, 5), 5);
    }
}
