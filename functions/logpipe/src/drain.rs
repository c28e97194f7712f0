//! Drain mode: the indexer polls the topic itself, as the original consumer
//! DAG did, without its bugs: records go through the same indexing path as
//! an event's, and an offset is committed only once every record before it
//! is indexed or dead-lettered. A drain stops at its limits, when it has
//! caught up, or at the first batch with records it could not place, so
//! that the next drain starts again from the first of them.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::indexer::{BatchReport, IncomingRecord, Indexer};
use crate::kafka::{ConsumerError, IdleWatch, LogConsumer};
use crate::metrics::print_emf;

/// Records per batch and bytes per batch, as an event-source mapping delivers.
const BATCH_RECORDS: usize = 10_000;
const BATCH_BYTES: usize = 6 << 20;
/// How long one poll waits for a first record.
const POLL_WAIT: Duration = Duration::from_millis(250);

/// `{"drain": {"max_records": 50000, "max_seconds": 60}}`; every field is optional.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DrainRequest {
    /// Stop after this many records (default 100,000).
    pub max_records: u64,
    /// Stop polling after this many seconds (default 60); bounded by the
    /// invocation's own deadline too.
    pub max_seconds: f64,
    /// Caught up: stop when no record came for this many seconds once the
    /// group has assigned partitions (default 2).
    pub idle_seconds: f64,
}

impl Default for DrainRequest {
    fn default() -> Self {
        DrainRequest {
            max_records: 100_000,
            max_seconds: 60.0,
            idle_seconds: 2.0,
        }
    }
}

#[derive(Debug, Error, PartialEq)]
#[error("invalid drain request: {0}")]
pub struct DrainRequestError(String);

impl DrainRequest {
    /// Reads the object under `drain`; errors name the field.
    pub fn from_json(json: &str) -> Result<Self, DrainRequestError> {
        let request: Self = crate::request::read_object(
            json,
            "drain",
            r#"{"max_records": 50000, "max_seconds": 60}"#,
        )
        .map_err(DrainRequestError)?;
        request.validate()
    }

    /// Checks the limits; errors name the field.
    pub fn validate(self) -> Result<Self, DrainRequestError> {
        for (name, value) in [
            ("max_seconds", self.max_seconds),
            ("idle_seconds", self.idle_seconds),
        ] {
            if !(value > 0.0 && value <= 900.0) {
                return Err(DrainRequestError(format!(
                    "field `drain.{name}`: must be a number of seconds above 0 and at most 900"
                )));
            }
        }
        Ok(self)
    }
}

/// Why a drain ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stopped {
    /// `max_records` reached.
    MaxRecords,
    /// `max_seconds` or the invocation's deadline reached.
    Time,
    /// No record for `idle_seconds`, and the fetch of every partition has
    /// reached its end: the group has caught up.
    CaughtUp,
    /// A batch had records that were neither indexed nor dead-lettered
    /// (after the retries, where there are any: the local event-source
    /// mapping's).
    Failures,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DrainReport {
    pub records: u64,
    pub indexed: u64,
    pub dead_lettered: u64,
    pub failed: u64,
    pub batches: u64,
    /// Next offset to read, per partition, as committed by this drain.
    pub committed: BTreeMap<i32, i64>,
    pub stopped: Stopped,
    pub elapsed_ms: u64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub failure_reasons: BTreeMap<String, usize>,
}

impl DrainReport {
    fn new() -> Self {
        DrainReport {
            records: 0,
            indexed: 0,
            dead_lettered: 0,
            failed: 0,
            batches: 0,
            committed: BTreeMap::new(),
            stopped: Stopped::CaughtUp,
            elapsed_ms: 0,
            failure_reasons: BTreeMap::new(),
        }
    }

    fn add(&mut self, batch: &BatchReport) {
        self.records += batch.records as u64;
        self.indexed += batch.indexed as u64;
        self.dead_lettered += batch.dead_lettered as u64;
        self.failed += batch.failed as u64;
        self.batches += 1;
        for (reason, count) in &batch.failure_reasons {
            *self.failure_reasons.entry(reason.clone()).or_default() += count;
        }
    }
}

#[derive(Debug, Error)]
pub enum DrainError {
    #[error(transparent)]
    Kafka(#[from] ConsumerError),
}

/// Polls `consumer` and indexes what it reads until `request`'s limits or
/// `deadline`. `progress` sees the running report after each batch.
pub async fn drain(
    consumer: &LogConsumer,
    indexer: &Indexer,
    request: &DrainRequest,
    deadline: Instant,
    progress: &mut dyn FnMut(&DrainReport),
) -> Result<DrainReport, DrainError> {
    let started = Instant::now();
    let stop_polling = deadline.min(started + Duration::from_secs_f64(request.max_seconds));
    let mut idle = IdleWatch::new(Duration::from_secs_f64(request.idle_seconds));
    let mut report = DrainReport::new();

    report.stopped = loop {
        let now = Instant::now();
        if report.records >= request.max_records {
            break Stopped::MaxRecords;
        }
        if now >= stop_polling {
            break Stopped::Time;
        }
        let room = (request.max_records - report.records).min(BATCH_RECORDS as u64) as usize;
        let batch = consumer
            .next_batch(room, BATCH_BYTES, POLL_WAIT.min(stop_polling - now))
            .await?;
        if batch.is_empty() {
            if idle.caught_up(consumer, Instant::now()) {
                break Stopped::CaughtUp;
            }
            continue;
        }
        idle.reset();

        let outcome = indexer.index(&batch, deadline).await;
        report.add(&outcome);
        let next = next_offsets(&batch, &outcome);
        consumer.commit(&next)?;
        report.committed.extend(next);
        progress(&report);
        if outcome.failed > 0 {
            break Stopped::Failures;
        }
    };
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// A drain that left records it could not place: the invocation fails so
/// that the orchestrator retries; the next drain starts at the first of them.
#[derive(Debug, Error)]
#[error("{failed} of {records} records could not be indexed or dead-lettered ({reasons}); offsets committed up to {committed:?}, the next drain starts there", failed = .0.failed, records = .0.records, reasons = describe(&.0.failure_reasons), committed = .0.committed)]
pub struct Incomplete(pub DrainReport);

fn describe(reasons: &BTreeMap<String, usize>) -> String {
    let parts: Vec<String> = reasons.iter().map(|(r, n)| format!("{r} (×{n})")).collect();
    parts.join("; ")
}

/// A JSON log line and CloudWatch metrics for a drain.
pub fn log_report(report: &DrainReport) {
    tracing::info!(
        records = report.records,
        indexed = report.indexed,
        dead_lettered = report.dead_lettered,
        failed = report.failed,
        batches = report.batches,
        stopped = ?report.stopped,
        committed = ?report.committed,
        elapsed_ms = report.elapsed_ms,
        "drained topic"
    );
    print_emf(
        &[("Function", "indexer-drain")],
        &[
            ("Records", report.records as f64, "Count"),
            ("Indexed", report.indexed as f64, "Count"),
            ("DeadLettered", report.dead_lettered as f64, "Count"),
            ("Failed", report.failed as f64, "Count"),
            ("ElapsedMs", report.elapsed_ms as f64, "Milliseconds"),
        ],
    );
}

/// Per partition, the offset to commit after a batch: just past the last
/// record when all were placed, else the first record that was not, so that
/// it and everything after it is read again.
pub fn next_offsets(batch: &[IncomingRecord], outcome: &BatchReport) -> BTreeMap<i32, i64> {
    let failed: HashSet<(&str, i64)> = outcome
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
    let mut next: BTreeMap<i32, i64> = BTreeMap::new();
    let mut blocked: HashSet<i32> = HashSet::new();
    for record in batch {
        let partition = record.partition;
        if blocked.contains(&partition) {
            continue;
        }
        let offset = record.offset;
        if failed.contains(&(&*record.batch_key, offset)) {
            blocked.insert(partition);
            next.insert(partition, offset);
        } else {
            next.insert(partition, offset + 1);
        }
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indexer::{BatchItemFailure, KafkaBatchResponse, KafkaItemIdentifier};

    fn record(partition: i32, offset: i64) -> IncomingRecord {
        IncomingRecord::new("logs".into(), partition, offset, Ok(b"line".to_vec()))
    }

    fn outcome(failures: &[(i32, i64)]) -> BatchReport {
        BatchReport {
            records: 0,
            indexed: 0,
            dead_lettered: 0,
            failed: failures.len(),
            requests: 0,
            elapsed_ms: 0,
            failure_reasons: BTreeMap::new(),
            configuration_error: None,
            response: KafkaBatchResponse {
                batch_item_failures: failures
                    .iter()
                    .map(|&(p, o)| BatchItemFailure {
                        item_identifier: KafkaItemIdentifier {
                            partition: format!("logs-{p}"),
                            offset: o,
                        },
                    })
                    .collect(),
            },
        }
    }

    #[test]
    fn commits_past_the_last_record_when_all_were_placed() {
        let batch = [record(0, 5), record(1, 9), record(0, 6), record(0, 7)];
        let next = next_offsets(&batch, &outcome(&[]));
        assert_eq!(next, BTreeMap::from([(0, 8), (1, 10)]));
    }

    #[test]
    fn stops_each_partition_at_its_first_failure() {
        let batch = [
            record(0, 5),
            record(0, 6),
            record(1, 9),
            record(0, 7),
            record(1, 10),
            record(2, 3),
        ];
        // 0-6 failed (7 after it must be read again even though it was placed);
        // 1-9 failed first in its partition; 2 is untouched.
        let next = next_offsets(&batch, &outcome(&[(0, 6), (1, 9), (1, 10)]));
        assert_eq!(next, BTreeMap::from([(0, 6), (1, 9), (2, 4)]));
    }

    #[test]
    fn reads_requests_and_names_bad_fields() {
        assert_eq!(
            DrainRequest::from_json("{}").unwrap(),
            DrainRequest::default()
        );
        let r = DrainRequest::from_json(r#"{"max_records": 50000, "max_seconds": 60}"#).unwrap();
        assert_eq!((r.max_records, r.max_seconds), (50_000, 60.0));
        for (json, message) in [
            (
                r#"{"max_records": -1}"#,
                "field `drain.max_records`: invalid value: integer `-1`",
            ),
            (r#"{"max_secs": 5}"#, "unknown field `max_secs`"),
            (
                r#"{"max_seconds": 0}"#,
                "field `drain.max_seconds`: must be",
            ),
            (r#"{"idle_seconds": 1000}"#, "field `drain.idle_seconds`"),
            ("[1]", "`drain` must be an object like"),
        ] {
            let e = DrainRequest::from_json(json).unwrap_err().to_string();
            assert!(e.starts_with("invalid drain request: "), "{e}");
            assert!(e.contains(message), "{json}: {e}");
        }
    }
}
