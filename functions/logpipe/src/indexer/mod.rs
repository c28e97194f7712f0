//! The indexer: Kafka records into Elasticsearch, each one indexed once,
//! dead-lettered with its reason, or reported back as failed (DESIGN.md §3).

mod dead_letter;
mod event;
mod response;

use std::time::{Duration, Instant};

use elasticsearch::Elasticsearch;
use serde::Serialize;

pub use dead_letter::{DeadLetter, Stage};
pub use event::{
    DecodedEvent, EventError, EventSource, IncomingRecord, Invocation, Undecodable, decode_event,
    decode_event_json, decode_invocation,
};
pub use response::{BatchItemFailure, KafkaBatchResponse, KafkaItemIdentifier};

use crate::config::ElasticsearchSettings;
use crate::document::{BulkBody, Document};
use crate::elastic::{
    Backoff, ItemOutcome, RequestOutcome, classify_item, classify_request, send_bulk,
};
use crate::metrics::print_emf;
use crate::parse::parse_bytes;

/// Kept back from the deadline to answer in time.
const DEADLINE_MARGIN: Duration = Duration::from_millis(500);

/// Which index an action writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Documents,
    DeadLetters,
}

impl Target {
    /// Which of `(documents, dead letters)` this target writes to.
    pub fn index_of<'a>(self, (documents, dead_letters): (&'a str, &'a str)) -> &'a str {
        match self {
            Target::Documents => documents,
            Target::DeadLetters => dead_letters,
        }
    }
}

/// One `create` to send: a record's document or its dead letter.
#[derive(Debug, Clone)]
pub struct Action {
    /// Position of the record in the batch.
    pub record: usize,
    pub target: Target,
    pub json: Vec<u8>,
}

/// What became of each record.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fate {
    Pending,
    Indexed,
    DeadLettered,
    Failed(String),
}

/// The outcome of a batch, logged and answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchReport {
    pub records: usize,
    pub indexed: usize,
    pub dead_lettered: usize,
    pub failed: usize,
    /// `_bulk` requests sent, retries included.
    pub requests: usize,
    pub elapsed_ms: u64,
    /// Distinct reasons of the failed records, with counts.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub failure_reasons: std::collections::BTreeMap<String, usize>,
    #[serde(skip)]
    pub response: KafkaBatchResponse,
}

pub struct Indexer {
    client: Elasticsearch,
    settings: ElasticsearchSettings,
}

impl Indexer {
    pub fn new(client: Elasticsearch, settings: ElasticsearchSettings) -> Self {
        Indexer { client, settings }
    }

    pub fn settings(&self) -> &ElasticsearchSettings {
        &self.settings
    }

    /// Indexes `records` by `deadline`. Every record ends indexed,
    /// dead-lettered or listed in the answer's `batchItemFailures`.
    pub async fn index(&self, records: &[IncomingRecord], deadline: Instant) -> BatchReport {
        let started = Instant::now();
        let mut fates = vec![Fate::Pending; records.len()];
        let mut pending = prepare(records);
        let mut backoff = Backoff::default();
        let mut requests = 0;
        let mut max_bytes = self.settings.max_bulk_bytes;

        while !pending.is_empty() {
            let mut next = Vec::new();
            let mut must_wait = false;
            for chunk in chunks(records, pending, max_bytes, &self.settings) {
                let Some(timeout) = self.time_left(deadline) else {
                    for action in &chunk {
                        // A retried record keeps its last failure as the reason.
                        if fates[action.record] == Fate::Pending {
                            fates[action.record] =
                                Fate::Failed("out of time before Elasticsearch took it".into());
                        }
                    }
                    continue;
                };
                let body = self.body(records, &chunk);
                requests += 1;
                match send_bulk(&self.client, body, chunk.len(), timeout).await {
                    Ok(items) => {
                        for (action, item) in chunk.into_iter().zip(items) {
                            let outcome = classify_item(
                                item.status,
                                item.error_type.as_deref(),
                                item.reason.as_deref(),
                            );
                            match outcome {
                                ItemOutcome::Done => {
                                    fates[action.record] = match action.target {
                                        Target::Documents => Fate::Indexed,
                                        Target::DeadLetters => Fate::DeadLettered,
                                    };
                                }
                                ItemOutcome::Retry(reason) => {
                                    fates[action.record] = Fate::Failed(reason);
                                    must_wait = true;
                                    next.push(action);
                                }
                                ItemOutcome::Reject(reason) => match action.target {
                                    Target::Documents => {
                                        let reason = format!("rejected by Elasticsearch: {reason}");
                                        fates[action.record] = Fate::Failed(format!(
                                            "{reason}; its dead letter was not written"
                                        ));
                                        next.push(dead_letter(
                                            records,
                                            action.record,
                                            Stage::Index,
                                            &reason,
                                        ));
                                    }
                                    Target::DeadLetters => {
                                        fates[action.record] =
                                            Fate::Failed(format!("dead letter rejected: {reason}"));
                                    }
                                },
                            }
                        }
                    }
                    Err(error) => match classify_request(error.status, &error.detail) {
                        RequestOutcome::Retry(reason) => {
                            for action in &chunk {
                                fates[action.record] = Fate::Failed(reason.clone());
                            }
                            must_wait = true;
                            next.extend(chunk);
                        }
                        RequestOutcome::Split(reason) if chunk.len() > 1 => {
                            for action in &chunk {
                                fates[action.record] = Fate::Failed(reason.clone());
                            }
                            // Smaller requests from now on, sent without a
                            // wait; a lone record too large for the server fails.
                            max_bytes = max_bytes.min(self.request_bytes(records, &chunk) / 2);
                            next.extend(chunk);
                        }
                        RequestOutcome::Split(reason) | RequestOutcome::Fail(reason) => {
                            fail_all(&chunk, &mut fates, &reason)
                        }
                    },
                }
            }
            if must_wait && !next.is_empty() {
                let wait = backoff.next_wait();
                if Instant::now() + wait + DEADLINE_MARGIN >= deadline {
                    // The reason of each of these is already its last failure.
                    break;
                }
                tokio::time::sleep(wait).await;
            }
            pending = next;
        }

        report(records, fates, requests, started)
    }

    /// How long the next request may take, if there is time for one.
    fn time_left(&self, deadline: Instant) -> Option<Duration> {
        let left = deadline.checked_duration_since(Instant::now() + DEADLINE_MARGIN)?;
        (left >= Duration::from_millis(50)).then(|| left.min(self.settings.request_timeout))
    }

    fn indices(&self) -> (&str, &str) {
        (&self.settings.index, &self.settings.deadletter_index)
    }

    fn request_bytes(&self, records: &[IncomingRecord], chunk: &[Action]) -> usize {
        let indices = self.indices();
        chunk.iter().map(|a| create_len(records, a, indices)).sum()
    }

    fn body(&self, records: &[IncomingRecord], chunk: &[Action]) -> Vec<u8> {
        bulk_body(records, chunk, self.indices()).into_bytes()
    }
}

/// The `_bulk` body of `actions`, into `(documents, dead letters)` indices.
pub fn bulk_body(
    records: &[IncomingRecord],
    actions: &[Action],
    indices: (&str, &str),
) -> BulkBody {
    let bytes = actions
        .iter()
        .map(|a| create_len(records, a, indices))
        .sum();
    let mut body = BulkBody::with_capacity(bytes);
    for action in actions {
        let index = action.target.index_of(indices);
        body.push_create_json(index, &records[action.record].id, &action.json);
    }
    body
}

/// The bytes `action` takes in a `_bulk` body.
fn create_len(records: &[IncomingRecord], action: &Action, indices: (&str, &str)) -> usize {
    let index = action.target.index_of(indices);
    BulkBody::create_len(index, &records[action.record].id, action.json.len())
}

/// The first action of every record: its document, or its dead letter when
/// it cannot be decoded or parsed. Pure CPU: this is what the benchmark times.
pub fn prepare(records: &[IncomingRecord]) -> Vec<Action> {
    records
        .iter()
        .enumerate()
        .map(|(i, record)| match &record.value {
            Err(undecodable) => {
                let coordinates = record.coordinates();
                let letter = DeadLetter::of_text(
                    undecodable.raw.as_deref(),
                    &undecodable.reason,
                    Stage::Decode,
                    &coordinates,
                );
                action(i, Target::DeadLetters, &letter)
            }
            Ok(bytes) => match parse_bytes(bytes) {
                Ok(parsed) => {
                    // Sized for a typical document, so that it is written without regrowing.
                    let mut json = Vec::with_capacity(512);
                    Document {
                        record: &parsed,
                        kafka: Some(&record.coordinates()),
                    }
                    .write_json(&mut json);
                    Action {
                        record: i,
                        target: Target::Documents,
                        json,
                    }
                }
                Err(e) => dead_letter(records, i, Stage::Parse, &e.to_string()),
            },
        })
        .collect()
}

fn dead_letter(records: &[IncomingRecord], i: usize, stage: Stage, reason: &str) -> Action {
    let record = &records[i];
    let coordinates = record.coordinates();
    let letter = match &record.value {
        Ok(bytes) => DeadLetter::of_bytes(bytes, reason, stage, &coordinates),
        Err(undecodable) => {
            DeadLetter::of_text(undecodable.raw.as_deref(), reason, stage, &coordinates)
        }
    };
    action(i, Target::DeadLetters, &letter)
}

fn action(record: usize, target: Target, document: &impl Serialize) -> Action {
    let mut json = Vec::with_capacity(512);
    // Our documents are plain structs of strings and numbers: they serialize.
    let _ = serde_json::to_writer(&mut json, document);
    Action {
        record,
        target,
        json,
    }
}

/// Splits actions into requests of at most `max_bytes` and the configured
/// number of actions. An action larger than the byte limit goes alone rather
/// than never.
fn chunks(
    records: &[IncomingRecord],
    actions: Vec<Action>,
    max_bytes: usize,
    settings: &ElasticsearchSettings,
) -> Vec<Vec<Action>> {
    let indices = (&*settings.index, &*settings.deadletter_index);
    let mut chunks = Vec::new();
    let mut chunk = Vec::new();
    let mut bytes = 0;
    for action in actions {
        let size = create_len(records, &action, indices);
        if !chunk.is_empty()
            && (bytes + size > max_bytes || chunk.len() >= settings.max_bulk_actions)
        {
            chunks.push(std::mem::take(&mut chunk));
            bytes = 0;
        }
        bytes += size;
        chunk.push(action);
    }
    if !chunk.is_empty() {
        chunks.push(chunk);
    }
    chunks
}

fn fail_all(chunk: &[Action], fates: &mut [Fate], reason: &str) {
    for action in chunk {
        fates[action.record] = Fate::Failed(reason.to_owned());
    }
}

fn report(
    records: &[IncomingRecord],
    fates: Vec<Fate>,
    requests: usize,
    started: Instant,
) -> BatchReport {
    let mut report = BatchReport {
        records: records.len(),
        indexed: 0,
        dead_lettered: 0,
        failed: 0,
        requests,
        elapsed_ms: started.elapsed().as_millis() as u64,
        failure_reasons: Default::default(),
        response: KafkaBatchResponse::default(),
    };
    for (record, fate) in records.iter().zip(fates) {
        let reason = match fate {
            Fate::Indexed => {
                report.indexed += 1;
                continue;
            }
            Fate::DeadLettered => {
                report.dead_lettered += 1;
                continue;
            }
            Fate::Failed(reason) => reason,
            Fate::Pending => "never sent".to_owned(),
        };
        report.failed += 1;
        *report.failure_reasons.entry(reason).or_default() += 1;
        report.response.batch_item_failures.push(BatchItemFailure {
            item_identifier: KafkaItemIdentifier {
                partition: record.batch_key.to_string(),
                offset: record.offset,
            },
        });
    }
    report
}

/// Logs a batch's counts as a JSON line and as CloudWatch metrics.
pub fn log_report(report: &BatchReport) {
    tracing::info!(
        records = report.records,
        indexed = report.indexed,
        dead_lettered = report.dead_lettered,
        failed = report.failed,
        requests = report.requests,
        elapsed_ms = report.elapsed_ms,
        failure_reasons = ?report.failure_reasons,
        "indexed batch"
    );
    print_emf(
        &[("Function", "indexer")],
        &[
            ("Records", report.records as f64, "Count"),
            ("Indexed", report.indexed as f64, "Count"),
            ("DeadLettered", report.dead_lettered as f64, "Count"),
            ("Failed", report.failed as f64, "Count"),
            ("BulkRequests", report.requests as f64, "Count"),
            ("ElapsedMs", report.elapsed_ms as f64, "Milliseconds"),
        ],
    );
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::config::ElasticsearchAuth;
    use crate::{Generator, GeneratorConfig, LineFormat, format_line};

    fn settings(max_bulk_bytes: usize, max_bulk_actions: usize) -> ElasticsearchSettings {
        ElasticsearchSettings {
            url: "http://127.0.0.1:9200".into(),
            auth: ElasticsearchAuth::None,
            index: "i".repeat(200),
            deadletter_index: "d".repeat(200),
            gzip: false,
            max_bulk_bytes,
            max_bulk_actions,
            request_timeout: Duration::from_secs(1),
            tls: Default::default(),
        }
    }

    /// Good lines and bad, on a topic as long as Kafka allows.
    fn records(n: usize) -> Vec<IncomingRecord> {
        let topic: Arc<str> = "t".repeat(249).into();
        Generator::new(GeneratorConfig::default())
            .take(n)
            .enumerate()
            .map(|(i, record)| {
                let line = match i % 10 {
                    0 => "not an access log".to_owned(),
                    _ => format_line(&record, LineFormat::Original),
                };
                IncomingRecord::new(topic.clone(), 0, i as i64, Ok(line.into_bytes()))
            })
            .collect()
    }

    #[test]
    fn requests_stay_within_the_byte_and_action_limits() {
        let records = records(2_000);
        for (max_bytes, max_actions) in [(65_536, 5_000), (4_096, 5_000), (1 << 20, 70)] {
            let settings = settings(max_bytes, max_actions);
            let indices = (&*settings.index, &*settings.deadletter_index);
            let body_bytes = |chunk: &[Action]| bulk_body(&records, chunk, indices).byte_len();
            let chunks = chunks(&records, prepare(&records), max_bytes, &settings);
            assert_eq!(chunks.iter().map(Vec::len).sum::<usize>(), 2_000);
            for chunk in &chunks {
                assert!(chunk.len() <= max_actions);
                let bytes = body_bytes(chunk);
                assert!(bytes <= max_bytes, "{bytes} bytes > {max_bytes}");
            }
            assert!(chunks.len() > 1);
        }
    }
}
