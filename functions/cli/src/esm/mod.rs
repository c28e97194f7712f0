//! A local stand-in for Lambda's Kafka event-source mapping: it polls the
//! topic as a member of a consumer group, builds the events Lambda builds
//! (MSK `aws:kafka` or `SelfManagedKafka`), invokes the function through the
//! Invoke API, sends again the records the function lists in
//! `batchItemFailures` (a bounded number of times), and commits a
//! partition's offset only past records the function has taken.
//!
//! Records that keep failing go, as with Lambda, to the on-failure
//! destination when there is one (`KeepFailed`, written as Lambda writes
//! them: [`on_failure`], [`logpipe::recovery`]), and the mapping moves on past them. Without
//! one, or when writing there fails, the stand-in stops at them and commits
//! up to the first of them, so that nothing is lost and the next run starts
//! there.

mod invoke;
mod on_failure;

pub use invoke::{Invoke, LambdaInvoker};
pub use on_failure::OnFailure;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use thiserror::Error;

use logpipe::indexer::{BatchItemFailure, KafkaItemIdentifier};
use logpipe::kafka::{ConsumerError, IdleWatch, LogConsumer};
use logpipe::kafka_event::{
    Event, EventOrigin, EventRecord, MAX_EVENT_BYTES, MAX_EVENT_RECORDS, events,
};

/// How long one poll waits for a first record.
const POLL_WAIT: Duration = Duration::from_millis(250);

#[derive(Debug, Clone)]
pub struct EsmOptions {
    pub origin: EventOrigin,
    /// Stop after this many records.
    pub max_records: u64,
    /// Stop polling after this long.
    pub max_time: Duration,
    /// Caught up: stop when nothing arrived for this long once the group
    /// has assigned partitions.
    pub idle: Duration,
    /// Records and bytes per event (Lambda: at most 10,000 and 6 MB).
    pub batch_records: usize,
    pub batch_bytes: usize,
    /// Times an event, or the records it listed as failed, are sent again.
    pub retries: u32,
    /// The first retry's delay; it doubles each time.
    pub retry_delay: Duration,
    /// The mapping's id (`<ESM-UUID>` in the on-failure object keys).
    pub mapping_id: String,
    /// The function's ARN, as the on-failure records name it.
    pub function_arn: String,
}

impl EsmOptions {
    pub fn new(origin: EventOrigin) -> Self {
        EsmOptions {
            origin,
            max_records: u64::MAX,
            max_time: Duration::from_secs(3600),
            idle: Duration::from_secs(3),
            batch_records: MAX_EVENT_RECORDS,
            batch_bytes: MAX_EVENT_BYTES,
            retries: 3,
            retry_delay: Duration::from_millis(200),
            mapping_id: "logpipe-esm".into(),
            function_arn: "arn:aws:lambda:us-east-1:000000000000:function:indexer".into(),
        }
    }
}

/// Why a run ended: as a drain ends (no record left, a limit, failures).
pub use logpipe::drain::Stopped;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EsmReport {
    /// Records read from the topic and handed to the function.
    pub records: u64,
    /// Records the function took (answered as not failed).
    pub delivered: u64,
    /// Records still failing after the retries and not kept at an
    /// on-failure destination (see `unplaced`).
    pub failed: u64,
    /// Records still failing after the retries, written to the on-failure
    /// destination and committed past.
    pub on_failure: u64,
    pub events: u64,
    pub invocations: u64,
    /// Records sent again because the function listed them.
    pub redelivered: u64,
    /// Next offset to read, per partition, as committed by this run.
    pub committed: BTreeMap<i32, i64>,
    pub stopped: Stopped,
    pub elapsed_ms: u64,
    /// From the first record read to the last commit: the time spent moving
    /// records, without joining the group or waiting for more.
    pub active_ms: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unplaced: Vec<KafkaItemIdentifier>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Error)]
pub enum EsmError {
    #[error(transparent)]
    Kafka(#[from] ConsumerError),
}

/// Records the mapping gave up on after the retries.
#[derive(Debug)]
pub struct GivenUp<'a, 'r> {
    pub records: &'a [&'r EventRecord],
    /// Invocations the records had (the first one and the retries).
    pub invocations: u64,
    /// The last invocation failed as a whole rather than listing them.
    pub function_error: bool,
}

/// Lambda's on-failure destination.
pub trait KeepFailed {
    /// Writes what Lambda writes for `given_up`: how many objects or
    /// messages, or why not; `None` when there is no destination.
    fn keep(
        &self,
        given_up: &GivenUp<'_, '_>,
        options: &EsmOptions,
    ) -> impl Future<Output = Option<Result<usize, String>>>;
}

/// What to commit after an event, and whether to stop: past every record
/// when all were taken or the ones left were kept at the destination (`kept`:
/// `None` without one), else up to the first record left, and stop.
pub fn after_retries(
    records: &[&EventRecord],
    unplaced: &[&EventRecord],
    kept: Option<&Result<usize, String>>,
) -> (BTreeMap<i32, i64>, bool) {
    if unplaced.is_empty() || matches!(kept, Some(Ok(_))) {
        (next_offsets(records.iter().copied(), &[]), false)
    } else {
        (next_offsets(records.iter().copied(), unplaced), true)
    }
}

/// The function's answer names records that are not in the event, or is
/// not a partial-batch response: Lambda then counts the whole batch failed.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("the function's answer is not a valid Kafka partial-batch response: {0}")]
pub struct ResponseError(String);

/// The records of `event` that the function's `answer` lists in
/// `batchItemFailures`. Any answer without that field (`null`, `{}`, other
/// JSON) means every record was taken.
pub fn failed_records<'r>(
    answer: &str,
    event: &Event<'r>,
) -> Result<Vec<&'r EventRecord>, ResponseError> {
    let answer = answer.trim();
    if answer.is_empty() {
        return Ok(Vec::new());
    }
    let value: serde_json::Value = serde_json::from_str(answer)
        .map_err(|e| ResponseError(format!("unreadable JSON ({e}): {answer:.200}")))?;
    let Some(listed) = value.get("batchItemFailures").filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let listed: Vec<BatchItemFailure> = serde_json::from_value(listed.clone())
        .map_err(|e| ResponseError(format!("`batchItemFailures`: {e}")))?;
    let listed: HashSet<(String, i64)> = listed
        .into_iter()
        .map(|f| (f.item_identifier.partition, f.item_identifier.offset))
        .collect();
    let failed: Vec<&EventRecord> = event
        .records()
        .filter(|r| listed.contains(&(r.batch_key(), r.offset)))
        .collect();
    if failed.len() != listed.len() {
        let known: HashSet<_> = event.records().map(|r| (r.batch_key(), r.offset)).collect();
        let unknown: Vec<_> = listed.difference(&known).collect();
        return Err(ResponseError(format!(
            "it lists records that are not in the event: {unknown:?}"
        )));
    }
    Ok(failed)
}

/// What became of one event.
#[derive(Debug)]
pub struct Delivery<'r> {
    pub invocations: u64,
    pub redelivered: u64,
    /// Records the function still listed after the retries, or, when it
    /// kept failing as a whole, every record of the event.
    pub unplaced: Vec<&'r EventRecord>,
    pub error: Option<String>,
}

/// Invokes the function with `event`, then again with the records it lists
/// as failed, up to `retries` times, waiting longer each time.
pub async fn deliver<'r>(
    invoker: &impl Invoke,
    event: Event<'r>,
    options: &EsmOptions,
) -> Delivery<'r> {
    let mut delivery = Delivery {
        invocations: 0,
        redelivered: 0,
        unplaced: Vec::new(),
        error: None,
    };
    let mut pending = event;
    let mut delay = options.retry_delay;
    for attempt in 0..=options.retries {
        if attempt > 0 {
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
        delivery.invocations += 1;
        let answer = invoker.invoke(pending.to_json(&options.origin)).await;
        let failed = match answer {
            Ok(answer) => failed_records(&answer, &pending).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match failed {
            Ok(failed) if failed.is_empty() => {
                delivery.unplaced.clear();
                delivery.error = None;
                return delivery;
            }
            Ok(failed) => {
                tracing::warn!(
                    records = failed.len(),
                    attempt,
                    "the function listed records as failed; sending them again"
                );
                delivery.unplaced = failed.clone();
                delivery.error = None;
                if attempt < options.retries {
                    delivery.redelivered += failed.len() as u64;
                }
                pending = events(failed, &options.origin, usize::MAX, usize::MAX)
                    .pop()
                    .expect("failed records make one event");
            }
            Err(error) => {
                // The whole event again, as Lambda retries a failed invocation.
                tracing::warn!(%error, attempt, "invocation failed");
                delivery.unplaced = pending.records().collect();
                delivery.error = Some(error);
            }
        }
    }
    delivery
}

/// Per partition, the offset to commit after an event: past its last record,
/// or at the first record that was not placed, so that it is read again.
pub fn next_offsets<'r>(
    records: impl IntoIterator<Item = &'r EventRecord>,
    unplaced: &[&EventRecord],
) -> BTreeMap<i32, i64> {
    let unplaced: HashSet<(i32, i64)> = unplaced.iter().map(|r| (r.partition, r.offset)).collect();
    let mut next = BTreeMap::new();
    let mut blocked = HashSet::new();
    for record in records {
        if blocked.contains(&record.partition) {
            continue;
        }
        if unplaced.contains(&(record.partition, record.offset)) {
            blocked.insert(record.partition);
            next.insert(record.partition, record.offset);
        } else {
            next.insert(record.partition, record.offset + 1);
        }
    }
    next
}

/// Polls `consumer`, invokes the function with events of what it reads and
/// commits what the function took, until `options`' limits, caught up, or
/// records that keep failing. `progress` sees the report after each event.
pub async fn run(
    consumer: &LogConsumer,
    invoker: &impl Invoke,
    options: &EsmOptions,
    on_failure: &impl KeepFailed,
    progress: &mut dyn FnMut(&EsmReport),
) -> Result<EsmReport, EsmError> {
    let started = Instant::now();
    let stop_polling = started + options.max_time;
    let topic: Arc<str> = consumer.topic().into();
    let mut report = EsmReport {
        records: 0,
        delivered: 0,
        failed: 0,
        on_failure: 0,
        events: 0,
        invocations: 0,
        redelivered: 0,
        committed: BTreeMap::new(),
        stopped: Stopped::CaughtUp,
        elapsed_ms: 0,
        active_ms: 0,
        unplaced: Vec::new(),
        error: None,
    };
    let mut first_record: Option<Instant> = None;
    let mut idle = IdleWatch::new(options.idle);
    report.stopped = 'poll: loop {
        let now = Instant::now();
        if report.records >= options.max_records {
            break Stopped::MaxRecords;
        }
        if now >= stop_polling {
            break Stopped::Time;
        }
        let room = (options.max_records - report.records).min(options.batch_records as u64);
        let records = consumer
            .next_batch_with(
                room as usize,
                options.batch_bytes,
                POLL_WAIT.min(stop_polling - now),
                |message| EventRecord::from_message(&topic, message),
            )
            .await?;
        if records.is_empty() {
            if idle.caught_up(consumer, Instant::now()) {
                break Stopped::CaughtUp;
            }
            continue;
        }
        idle.reset();
        let first_record = *first_record.get_or_insert(now);

        for event in events(
            &records,
            &options.origin,
            options.batch_records,
            options.batch_bytes,
        ) {
            let in_event: Vec<&EventRecord> = event.records().collect();
            let delivery = deliver(invoker, event, options).await;
            report.records += in_event.len() as u64;
            report.events += 1;
            report.invocations += delivery.invocations;
            report.redelivered += delivery.redelivered;
            report.delivered += (in_event.len() - delivery.unplaced.len()) as u64;
            let kept = if delivery.unplaced.is_empty() {
                None
            } else {
                let given_up = GivenUp {
                    records: &delivery.unplaced,
                    invocations: u64::from(options.retries) + 1,
                    function_error: delivery.error.is_some(),
                };
                on_failure.keep(&given_up, options).await
            };
            let (next, stop) = after_retries(&in_event, &delivery.unplaced, kept.as_ref());
            if stop {
                report.failed += delivery.unplaced.len() as u64;
            } else {
                report.on_failure += delivery.unplaced.len() as u64;
            }
            consumer.commit(&next)?;
            report.committed.extend(next);
            report.active_ms = first_record.elapsed().as_millis() as u64;
            progress(&report);
            if stop {
                report.unplaced = delivery
                    .unplaced
                    .iter()
                    .map(|r| KafkaItemIdentifier {
                        partition: r.batch_key(),
                        offset: r.offset,
                    })
                    .collect();
                report.error = match kept {
                    Some(Err(e)) => Some(format!("on-failure destination: {e}")),
                    _ => delivery.error,
                };
                break 'poll Stopped::Failures;
            }
        }
    };
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::invoke::InvokeError;
    use super::*;
    use logpipe::indexer::{EventSource, decode_event_json};
    use logpipe::kafka_event::RecordParts;
    use rdkafka::message::Timestamp;
    use std::sync::Mutex;

    fn options() -> EsmOptions {
        let mut options = EsmOptions::new(EventOrigin {
            source: EventSource::SelfManagedKafka,
            source_arn: String::new(),
            bootstrap_servers: "127.0.0.1:9092".into(),
        });
        options.retries = 2;
        options.retry_delay = Duration::from_millis(1);
        options
    }

    fn record(partition: i32, offset: i64) -> EventRecord {
        EventRecord::new(
            "logs".into(),
            &RecordParts {
                partition,
                offset,
                timestamp: Timestamp::CreateTime(1),
                value: Some(b"line"),
                ..RecordParts::default()
            },
        )
    }

    fn failures(listed: &[(&str, i64)]) -> String {
        let items: Vec<String> = listed
            .iter()
            .map(|(p, o)| format!(r#"{{"itemIdentifier":{{"partition":"{p}","offset":{o}}}}}"#))
            .collect();
        format!(r#"{{"batchItemFailures":[{}]}}"#, items.join(","))
    }

    /// Answers from a script, in order, and keeps the events it was sent.
    struct Scripted {
        answers: Mutex<Vec<Result<String, InvokeError>>>,
        sent: Mutex<Vec<Vec<(i32, i64)>>>,
    }

    impl Scripted {
        fn new(answers: Vec<Result<String, InvokeError>>) -> Self {
            Scripted {
                answers: Mutex::new(answers.into_iter().rev().collect()),
                sent: Mutex::new(Vec::new()),
            }
        }
    }

    impl Invoke for Scripted {
        async fn invoke(&self, payload: String) -> Result<String, InvokeError> {
            let event = decode_event_json(&payload).expect("a Kafka event");
            let coordinates = event.records.iter().map(|r| (r.partition, r.offset));
            self.sent.lock().unwrap().push(coordinates.collect());
            self.answers.lock().unwrap().pop().expect("an answer left")
        }
    }

    fn function_error() -> InvokeError {
        InvokeError::Function {
            status: 500,
            body: "boom".into(),
        }
    }

    #[test]
    fn reads_partial_batch_answers() {
        let records = [record(0, 1), record(1, 2)];
        let event = events(&records, &options().origin, 10, 1 << 20)
            .pop()
            .unwrap();
        for ok in [
            "",
            "null",
            "{}",
            r#"{"batchItemFailures":[]}"#,
            r#"{"batchItemFailures":null}"#,
            r#"{"records":3}"#,
        ] {
            assert!(failed_records(ok, &event).unwrap().is_empty(), "{ok}");
        }
        let failed = failed_records(&failures(&[("logs-1", 2)]), &event).unwrap();
        assert_eq!(failed, [&records[1]]);
        for bad in [
            failures(&[("logs-1", 3)]),
            failures(&[("logs-0", 2)]),
            r#"{"batchItemFailures":[{"offset":1}]}"#.into(),
            "not json".into(),
        ] {
            let e = failed_records(&bad, &event).unwrap_err().to_string();
            assert!(
                e.contains("not a valid Kafka partial-batch response"),
                "{bad}: {e}"
            );
        }
    }

    #[tokio::test]
    async fn sends_again_only_the_listed_records_until_taken() {
        let records = [record(0, 1), record(0, 2), record(1, 5)];
        let event = events(&records, &options().origin, 10, 1 << 20)
            .pop()
            .unwrap();
        let invoker = Scripted::new(vec![
            Ok(failures(&[("logs-0", 2), ("logs-1", 5)])),
            Ok(failures(&[("logs-1", 5)])),
            Ok(r#"{"batchItemFailures":[]}"#.into()),
        ]);
        let delivery = deliver(&invoker, event, &options()).await;
        assert!(delivery.unplaced.is_empty());
        assert_eq!((delivery.invocations, delivery.redelivered), (3, 3));
        assert_eq!(
            *invoker.sent.lock().unwrap(),
            [
                vec![(0, 1), (0, 2), (1, 5)],
                vec![(0, 2), (1, 5)],
                vec![(1, 5)]
            ]
        );
    }

    #[tokio::test]
    async fn gives_up_after_the_retries_and_reports_what_is_left() {
        let records = [record(0, 1), record(0, 2), record(0, 3)];
        let event = events(&records, &options().origin, 10, 1 << 20)
            .pop()
            .unwrap();
        let invoker = Scripted::new((0..3).map(|_| Ok(failures(&[("logs-0", 2)]))).collect());
        let delivery = deliver(&invoker, event, &options()).await;
        assert_eq!(delivery.unplaced, [&records[1]]);
        assert_eq!(delivery.invocations, 3);
        // Commit up to the record left, none past it.
        let next = next_offsets(&records, &delivery.unplaced);
        assert_eq!(next, BTreeMap::from([(0, 2)]));
    }

    #[tokio::test]
    async fn a_failing_invocation_is_retried_whole_then_reported() {
        let records = [record(0, 1), record(1, 2)];
        let event = events(&records, &options().origin, 10, 1 << 20)
            .pop()
            .unwrap();
        let invoker = Scripted::new(vec![Err(function_error()), Ok("null".into())]);
        let delivery = deliver(&invoker, event.clone(), &options()).await;
        assert!(delivery.unplaced.is_empty() && delivery.error.is_none());
        assert_eq!(invoker.sent.lock().unwrap().len(), 2);

        let invoker = Scripted::new((0..3).map(|_| Err(function_error())).collect());
        let delivery = deliver(&invoker, event, &options()).await;
        assert_eq!(delivery.unplaced.len(), 2);
        assert!(delivery.error.unwrap().contains("HTTP 500"));
        let next = next_offsets(&records, &delivery.unplaced);
        assert_eq!(next, BTreeMap::from([(0, 1), (1, 2)]));
    }

    #[test]
    fn moves_on_past_records_kept_at_the_destination_only() {
        let records = [record(0, 1), record(0, 2), record(1, 7)];
        let all: Vec<&EventRecord> = records.iter().collect();
        let left = [&records[1]];
        let past_all = BTreeMap::from([(0, 3), (1, 8)]);
        let up_to_left = BTreeMap::from([(0, 2), (1, 8)]);
        assert_eq!(after_retries(&all, &[], None), (past_all.clone(), false));
        assert_eq!(after_retries(&all, &left, Some(&Ok(1))), (past_all, false));
        assert_eq!(after_retries(&all, &left, None), (up_to_left.clone(), true));
        let refused = Err("AccessDenied".to_string());
        assert_eq!(
            after_retries(&all, &left, Some(&refused)),
            (up_to_left, true)
        );
    }

    #[test]
    fn commits_past_everything_taken() {
        let records = [record(0, 5), record(1, 9), record(0, 6)];
        assert_eq!(
            next_offsets(&records, &[]),
            BTreeMap::from([(0, 7), (1, 10)])
        );
    }
}
