//! Replay: the records an event-source mapping gave up on, read back from
//! its on-failure destination and indexed through the same path as an
//! event's, each under its original `_id` (`{topic}-{partition}-{offset}` of
//! the source record, which the failure record's payload carries). A failure
//! record is marked done only once every record in it is indexed or
//! dead-lettered: an S3 object is moved under `<prefix>replayed/`, a Kafka
//! message is committed in replay's own consumer group. Documents are
//! created under fixed ids, so a record replayed twice (a crash between the
//! indexing and the marking) is not indexed twice.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::failure_record::{RecordError, original_records};
use super::location::{Location, LocationError};
use super::s3::{S3Error, S3Store};
use crate::config::KafkaSettings;
use crate::indexer::{BatchReport, IncomingRecord, Indexer};
use crate::kafka::{ConsumerError, IdleWatch, LogConsumer};
use crate::metrics::print_emf;

/// Replay's consumer group on a Kafka destination, unless the request names one.
pub const DEFAULT_GROUP: &str = "logpipe_replay";
/// Where replayed S3 objects go, under the source's prefix.
pub const REPLAYED: &str = "replayed/";
/// Failure records (messages) read per batch from a Kafka destination.
const KAFKA_BATCH: usize = 1_000;
const KAFKA_BATCH_BYTES: usize = 6 << 20;
const POLL_WAIT: Duration = Duration::from_millis(250);

/// `{"replay": {"source": "s3://bucket/prefix", "max_records": 50000, "max_seconds": 60}}`;
/// only `source` is required.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// `s3://bucket/prefix` or `kafka://topic`.
    pub source: String,
    /// Stop after this many records (default 100,000); an S3 object or a
    /// polled batch of messages is replayed whole, so a run may go past it
    /// by up to one of them.
    #[serde(default = "default_max_records")]
    pub max_records: u64,
    /// Stop after this many seconds (default 60), bounded by the
    /// invocation's deadline too.
    #[serde(default = "default_max_seconds")]
    pub max_seconds: f64,
    /// Kafka source: caught up when no message came for this long once
    /// partitions are assigned (default 2).
    #[serde(default = "default_idle_seconds")]
    pub idle_seconds: f64,
    /// Kafka source: the consumer group whose commits mark messages done.
    #[serde(default)]
    pub group: Option<String>,
}

fn default_max_records() -> u64 {
    100_000
}
fn default_max_seconds() -> f64 {
    60.0
}
fn default_idle_seconds() -> f64 {
    2.0
}

#[derive(Debug, Error, PartialEq)]
pub enum ReplayRequestError {
    #[error("invalid replay request: {0}")]
    Invalid(String),
    #[error("invalid replay request: field `replay.source`: {0}")]
    Source(#[from] LocationError),
}

impl ReplayRequest {
    pub fn new(source: &str) -> Self {
        ReplayRequest {
            source: source.to_owned(),
            max_records: default_max_records(),
            max_seconds: default_max_seconds(),
            idle_seconds: default_idle_seconds(),
            group: None,
        }
    }

    /// Reads the object under `replay`; errors name the field.
    pub fn from_json(json: &str) -> Result<Self, ReplayRequestError> {
        let request: Self = crate::request::read_object(
            json,
            "replay",
            r#"{"source": "s3://bucket/prefix", "max_records": 50000}"#,
        )
        .map_err(ReplayRequestError::Invalid)?;
        request.validate()
    }

    /// Checks the source and the limits; errors name the field.
    pub fn validate(self) -> Result<Self, ReplayRequestError> {
        self.location()?;
        for (name, value) in [
            ("max_seconds", self.max_seconds),
            ("idle_seconds", self.idle_seconds),
        ] {
            if !(value > 0.0 && value <= 900.0) {
                return Err(ReplayRequestError::Invalid(format!(
                    "field `replay.{name}`: must be a number of seconds above 0 and at most 900"
                )));
            }
        }
        if self.group.as_deref() == Some("") {
            return Err(ReplayRequestError::Invalid(
                "field `replay.group`: must not be empty".into(),
            ));
        }
        Ok(self)
    }

    pub fn location(&self) -> Result<Location, LocationError> {
        Location::parse(&self.source)
    }
}

/// Why a replay ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stopped {
    MaxRecords,
    Time,
    /// Nothing left to replay (S3: no object outside `replayed/`; Kafka:
    /// caught up).
    Done,
    /// A failure record had records that were neither indexed nor
    /// dead-lettered: it stays, and the replay stopped there.
    Failures,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplayReport {
    pub source: String,
    /// Failure records read (S3 objects or Kafka messages).
    pub failure_records: u64,
    /// Of them, marked done (moved under `replayed/` or committed).
    pub done: u64,
    /// Original records they carried.
    pub records: u64,
    pub indexed: u64,
    pub dead_lettered: u64,
    pub failed: u64,
    /// Failure records that could not be read as one (left in place).
    pub unreadable: u64,
    pub stopped: Stopped,
    pub elapsed_ms: u64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub failure_reasons: BTreeMap<String, usize>,
}

impl ReplayReport {
    fn new(source: &Location) -> Self {
        ReplayReport {
            source: source.to_string(),
            failure_records: 0,
            done: 0,
            records: 0,
            indexed: 0,
            dead_lettered: 0,
            failed: 0,
            unreadable: 0,
            stopped: Stopped::Done,
            elapsed_ms: 0,
            failure_reasons: BTreeMap::new(),
        }
    }

    fn add(&mut self, batch: &BatchReport) {
        self.records += batch.records as u64;
        self.indexed += batch.indexed as u64;
        self.dead_lettered += batch.dead_lettered as u64;
        self.failed += batch.failed as u64;
        for (reason, count) in &batch.failure_reasons {
            *self.failure_reasons.entry(reason.clone()).or_default() += count;
        }
    }

    fn unreadable(&mut self, what: &str, error: &RecordError) {
        self.unreadable += 1;
        *self
            .failure_reasons
            .entry(format!("{what}: {error}"))
            .or_default() += 1;
    }

    /// Records remain at the source: not all were placed, some failure
    /// record could not be read, or a limit stopped the replay before the
    /// source was read to its end (as redrive counts a limit reached).
    pub fn is_incomplete(&self) -> bool {
        self.failed > 0 || self.unreadable > 0 || self.stopped != Stopped::Done
    }
}

#[derive(Debug, Error)]
pub enum ReplayError {
    #[error(transparent)]
    S3(#[from] S3Error),
    #[error(transparent)]
    Kafka(#[from] ConsumerError),
    #[error("replay from {0} reads the topic on the source cluster: set KAFKA_BOOTSTRAP_SERVER")]
    NoKafka(Location),
    #[error(transparent)]
    Source(#[from] LocationError),
}

impl ReplayError {
    /// The Lambda error type this error answers with.
    pub fn kind(&self) -> &'static str {
        match self {
            ReplayError::S3(_) => "S3",
            ReplayError::Kafka(_) => "Kafka",
            ReplayError::NoKafka(_) => "Configuration",
            ReplayError::Source(_) => "InvalidPayload",
        }
    }
}

/// A replay that left records at the source: the invocation fails (the
/// orchestrator retries), the next replay starts with them.
#[derive(Debug)]
pub struct Incomplete(pub ReplayReport);

impl std::fmt::Display for Incomplete {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let report = &self.0;
        // Only the causes there are, so that the message says what to do.
        let mut why = Vec::new();
        if report.failed > 0 {
            why.push(format!(
                "{} of {} records could not be indexed or dead-lettered",
                report.failed, report.records
            ));
        }
        if report.unreadable > 0 {
            why.push(format!(
                "{} failure records could not be read",
                report.unreadable
            ));
        }
        match report.stopped {
            Stopped::MaxRecords => why.push("max_records reached with more to read".into()),
            Stopped::Time => why.push("the time limit reached with more to read".into()),
            Stopped::Done | Stopped::Failures => {}
        }
        write!(f, "{}", why.join(" and "))?;
        if !report.failure_reasons.is_empty() {
            write!(f, " ({})", describe(&report.failure_reasons))?;
        }
        write!(
            f,
            "; {} of {} failure records replayed, the rest stay at {}",
            report.done, report.failure_records, report.source
        )
    }
}

impl std::error::Error for Incomplete {}

fn describe(reasons: &BTreeMap<String, usize>) -> String {
    let parts: Vec<String> = reasons.iter().map(|(r, n)| format!("{r} (×{n})")).collect();
    parts.join("; ")
}

/// Whether a failure record is done: every one of its records was indexed
/// or dead-lettered (`failed` says how many of them were not), and it could
/// be read at all.
pub fn is_done(readable: bool, failed: usize) -> bool {
    readable && failed == 0
}

/// Where replay's group may commit on each partition of the failure topic:
/// past the messages done, never past the first that is not, so that it and
/// everything after it are read again by the next replay. A partition stays
/// blocked for the rest of the replay once a message of it is not done (an
/// unreadable one, and replay goes on reading): a later batch must not
/// commit past it.
#[derive(Debug, Default)]
pub struct Commits {
    blocked: HashSet<i32>,
}

impl Commits {
    /// The offsets to commit after a batch of messages `(partition, offset,
    /// done)` in the order read.
    pub fn after_batch(&mut self, messages: &[(i32, i64, bool)]) -> BTreeMap<i32, i64> {
        let mut next = BTreeMap::new();
        for &(partition, offset, done) in messages {
            if self.blocked.contains(&partition) {
                continue;
            }
            if done {
                next.insert(partition, offset + 1);
            } else {
                self.blocked.insert(partition);
                next.insert(partition, offset);
            }
        }
        next
    }
}

/// Replays `request.source` into `indexer`'s indices until its limits,
/// `deadline`, nothing left, or a failure record that could not be placed.
/// `kafka` is the source cluster's settings (a Kafka source needs them).
pub async fn replay(
    indexer: &Indexer,
    kafka: Option<&KafkaSettings>,
    request: &ReplayRequest,
    deadline: Instant,
    progress: &mut dyn FnMut(&ReplayReport),
) -> Result<ReplayReport, ReplayError> {
    let started = Instant::now();
    let location = request.location()?;
    let stop = deadline.min(started + Duration::from_secs_f64(request.max_seconds));
    let mut report = ReplayReport::new(&location);
    report.stopped = match &location {
        Location::S3 { bucket, prefix } => {
            let store = S3Store::from_env().await;
            from_s3(
                &store,
                bucket,
                prefix,
                indexer,
                request,
                stop,
                deadline,
                &mut report,
                progress,
            )
            .await?
        }
        Location::Kafka { topic } => {
            let mut settings = kafka
                .ok_or_else(|| ReplayError::NoKafka(location.clone()))?
                .clone();
            settings.topic = topic.clone();
            settings.group_id = request
                .group
                .clone()
                .unwrap_or_else(|| DEFAULT_GROUP.into());
            // A consumer per replay: a frozen container must not hold partitions.
            let consumer = LogConsumer::new(&settings)?;
            from_kafka(
                &consumer,
                indexer,
                request,
                stop,
                deadline,
                &mut report,
                progress,
            )
            .await?
        }
    };
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
async fn from_s3(
    store: &S3Store,
    bucket: &str,
    prefix: &str,
    indexer: &Indexer,
    request: &ReplayRequest,
    stop: Instant,
    deadline: Instant,
    report: &mut ReplayReport,
    progress: &mut dyn FnMut(&ReplayReport),
) -> Result<Stopped, ReplayError> {
    let replayed = format!("{prefix}{REPLAYED}");
    // Enough keys for the record limit (an object holds at least one
    // record), and one more to tell whether any remain past it.
    let limit = usize::try_from(request.max_records)
        .unwrap_or(usize::MAX)
        .max(1);
    let keys = store
        .list(bucket, prefix, &replayed, limit.saturating_add(1))
        .await?;
    let more_than_listed = keys.len() > limit;
    for key in keys {
        if report.records >= request.max_records {
            return Ok(Stopped::MaxRecords);
        }
        if Instant::now() >= stop {
            return Ok(Stopped::Time);
        }
        let body = store.get(bucket, &key).await?;
        report.failure_records += 1;
        let records = match original_records(&body) {
            Ok(records) => records,
            Err(error) => {
                // Left in place, named in the report; the others go on.
                report.unreadable(&format!("s3://{bucket}/{key}"), &error);
                continue;
            }
        };
        let outcome = indexer.index(&records, deadline).await;
        report.add(&outcome);
        if !is_done(true, outcome.failed) {
            progress(report);
            return Ok(Stopped::Failures);
        }
        let done = format!("{replayed}{}", &key[prefix.len()..]);
        store.rename(bucket, &key, &done).await?;
        report.done += 1;
        progress(report);
    }
    // Every key listed was replayed; if the listing was cut at the limit,
    // more may remain.
    Ok(if more_than_listed {
        Stopped::MaxRecords
    } else {
        Stopped::Done
    })
}

/// One message of the failure topic: where it is and what it carried.
struct Message {
    partition: i32,
    offset: i64,
    records: Result<Vec<IncomingRecord>, RecordError>,
}

async fn from_kafka(
    consumer: &LogConsumer,
    indexer: &Indexer,
    request: &ReplayRequest,
    stop: Instant,
    deadline: Instant,
    report: &mut ReplayReport,
    progress: &mut dyn FnMut(&ReplayReport),
) -> Result<Stopped, ReplayError> {
    let mut idle = IdleWatch::new(Duration::from_secs_f64(request.idle_seconds));
    let mut commits = Commits::default();
    loop {
        let now = Instant::now();
        if report.records >= request.max_records {
            return Ok(Stopped::MaxRecords);
        }
        if now >= stop {
            return Ok(Stopped::Time);
        }
        let room = (request.max_records - report.records).min(KAFKA_BATCH as u64) as usize;
        let messages = consumer
            .next_batch_with(room, KAFKA_BATCH_BYTES, POLL_WAIT.min(stop - now), |m| {
                use rdkafka::message::Message as _;
                Message {
                    partition: m.partition(),
                    offset: m.offset(),
                    records: original_records(m.payload().unwrap_or_default()),
                }
            })
            .await?;
        if messages.is_empty() {
            if idle.caught_up(consumer, Instant::now()) {
                return Ok(Stopped::Done);
            }
            continue;
        }
        idle.reset();

        // All the messages' records in one batch, as an event would bring them.
        let mut records = Vec::new();
        let mut spans = Vec::with_capacity(messages.len());
        for message in &messages {
            report.failure_records += 1;
            match &message.records {
                Ok(these) => {
                    spans.push(Some(records.len()..records.len() + these.len()));
                    records.extend(these.iter().cloned());
                }
                Err(error) => {
                    let what = format!(
                        "{}-{} offset {}",
                        consumer.topic(),
                        message.partition,
                        message.offset
                    );
                    report.unreadable(&what, error);
                    spans.push(None);
                }
            }
        }
        let outcome = indexer.index(&records, deadline).await;
        report.add(&outcome);
        let failed = failed_positions(&records, &outcome);
        let marks: Vec<(i32, i64, bool)> = messages
            .iter()
            .zip(&spans)
            .map(|(message, span)| {
                let failed_in = span
                    .as_ref()
                    .map_or(0, |span| span.clone().filter(|i| failed[*i]).count());
                let done = is_done(span.is_some(), failed_in);
                (message.partition, message.offset, done)
            })
            .collect();
        report.done += marks.iter().filter(|(_, _, done)| *done).count() as u64;
        consumer.commit(&commits.after_batch(&marks))?;
        progress(report);
        if outcome.failed > 0 {
            return Ok(Stopped::Failures);
        }
    }
}

/// Which of `records` the outcome lists as not placed.
fn failed_positions(records: &[IncomingRecord], outcome: &BatchReport) -> Vec<bool> {
    let listed: HashSet<(&str, i64)> = outcome
        .response
        .batch_item_failures
        .iter()
        .map(|f| {
            (
                f.item_identifier.partition.as_str(),
                f.item_identifier.offset,
            )
        })
        .collect();
    records
        .iter()
        .map(|r| listed.contains(&(&*r.batch_key, r.offset)))
        .collect()
}

/// A JSON log line and CloudWatch metrics for a replay.
pub fn log_report(report: &ReplayReport) {
    tracing::info!(
        source = %report.source,
        failure_records = report.failure_records,
        done = report.done,
        records = report.records,
        indexed = report.indexed,
        dead_lettered = report.dead_lettered,
        failed = report.failed,
        unreadable = report.unreadable,
        stopped = ?report.stopped,
        elapsed_ms = report.elapsed_ms,
        "replayed failed records"
    );
    print_emf(
        &[("Function", "indexer-replay")],
        &[
            ("Records", report.records as f64, "Count"),
            ("Indexed", report.indexed as f64, "Count"),
            ("DeadLettered", report.dead_lettered as f64, "Count"),
            ("Failed", report.failed as f64, "Count"),
            ("ElapsedMs", report.elapsed_ms as f64, "Milliseconds"),
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_requests_and_names_bad_fields() {
        let r = ReplayRequest::from_json(r#"{"source": "s3://failed-batches/p"}"#).unwrap();
        assert_eq!(r, ReplayRequest::new("s3://failed-batches/p"));
        let r = ReplayRequest::from_json(
            r#"{"source": "kafka://failed", "max_records": 5, "max_seconds": 9, "group": "g"}"#,
        )
        .unwrap();
        assert_eq!((r.max_records, r.max_seconds), (5, 9.0));
        assert_eq!(r.group.as_deref(), Some("g"));
        for (json, message) in [
            ("{}", "missing field `source`"),
            (
                r#"{"source": "sqs://q"}"#,
                "field `replay.source`: invalid location `sqs://q`: unknown scheme",
            ),
            (r#"{"source": "s3://"}"#, "no bucket name"),
            (r#"{"source": 5}"#, "field `replay.source`: invalid type"),
            (
                r#"{"source": "kafka://t", "max_records": -1}"#,
                "field `replay.max_records`",
            ),
            (
                r#"{"source": "kafka://t", "max_seconds": 0}"#,
                "field `replay.max_seconds`: must be",
            ),
            (
                r#"{"source": "kafka://t", "group": ""}"#,
                "field `replay.group`: must not be empty",
            ),
            (
                r#"{"source": "kafka://t", "sorce": 1}"#,
                "unknown field `sorce`",
            ),
            ("[1]", "`replay` must be an object like"),
        ] {
            let e = ReplayRequest::from_json(json).unwrap_err().to_string();
            assert!(e.starts_with("invalid replay request: "), "{e}");
            assert!(e.contains(message), "{json}: {e}");
        }
    }

    #[test]
    fn a_failure_record_is_done_only_when_all_its_records_are_placed() {
        assert!(is_done(true, 0));
        assert!(!is_done(true, 1));
        assert!(!is_done(false, 0));
    }

    #[test]
    fn commits_up_to_the_first_message_not_done_in_each_partition() {
        let marks = [
            (0, 5, true),
            (1, 9, false),
            (0, 6, true),
            (1, 10, true),
            (2, 3, true),
            (0, 7, false),
            (0, 8, true),
        ];
        let mut commits = Commits::default();
        assert_eq!(
            commits.after_batch(&marks),
            BTreeMap::from([(0, 7), (1, 9), (2, 4)])
        );
        // A later batch moves on where everything was done, never past a
        // message left behind in an earlier one.
        assert_eq!(
            commits.after_batch(&[(0, 9, true), (1, 11, true), (2, 4, true), (3, 0, true)]),
            BTreeMap::from([(2, 5), (3, 1)])
        );
        assert_eq!(
            Commits::default().after_batch(&[(0, 1, true), (0, 2, true)]),
            BTreeMap::from([(0, 3)])
        );
    }

    #[test]
    fn incomplete_says_what_remains_where() {
        let mut report = ReplayReport::new(&Location::parse("s3://b12/p").unwrap());
        assert!(!report.is_incomplete());
        for (stopped, what) in [
            (
                Stopped::MaxRecords,
                "max_records reached with more to read; ",
            ),
            (Stopped::Time, "the time limit reached with more to read; "),
        ] {
            report.stopped = stopped;
            assert!(report.is_incomplete());
            let e = Incomplete(report.clone()).to_string();
            assert_eq!(
                e,
                format!("{what}0 of 0 failure records replayed, the rest stay at s3://b12/p/")
            );
        }
        report.stopped = Stopped::Failures;
        report.failure_records = 3;
        report.done = 1;
        report.records = 10;
        report.failed = 4;
        report
            .failure_reasons
            .insert("Elasticsearch unreachable".into(), 4);
        assert!(report.is_incomplete());
        let e = Incomplete(report).to_string();
        assert!(
            e == "4 of 10 records could not be indexed or dead-lettered (Elasticsearch unreachable (×4)); 1 of 3 failure records replayed, the rest stay at s3://b12/p/",
            "{e}"
        );
    }
}
