//! The indexer: Kafka records into Elasticsearch, each one indexed once,
//! dead-lettered with its reason, or reported back as failed (DESIGN.md §3).

mod dead_letter;
mod event;
mod response;
mod scan;
mod spare;

use std::ops::Range;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Serialize;

pub use dead_letter::{DeadLetter, Stage};
pub use event::{
    DecodedEvent, EventError, EventSource, IncomingRecord, Invocation, Undecodable, decode_event,
    decode_event_json, decode_event_json_general, decode_invocation,
};
pub use response::{BatchItemFailure, KafkaBatchResponse, KafkaItemIdentifier};

use crate::config::ElasticsearchSettings;
use crate::document::{CreateLine, PartitionDocuments, is_plain_line};
use crate::elastic::opensearch::{document_ids_refused, refuses_document_ids};
use crate::elastic::{
    Backoff, ItemOutcome, RequestOutcome, SearchClient, classify_item, classify_request, send_bulk,
};
use crate::metrics::print_emf;
use crate::parse::LogFormat;

/// Kept back from the deadline to answer in time.
const DEADLINE_MARGIN: Duration = Duration::from_millis(500);

/// Which index an action writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Documents,
    DeadLetters,
}

/// One `create` to send: a record's document or its dead letter.
#[derive(Debug, Clone)]
pub struct Action {
    /// Position of the record in the batch.
    pub record: usize,
    pub target: Target,
    /// Where in the batch's [`Lines`] the action's two lines of a `_bulk`
    /// body are: `{"create":{…}}` and the document, each ending in `\n`.
    buffer: usize,
    span: Range<usize>,
}

impl Action {
    /// Whether this action's lines come right after `previous`'s in the same buffer.
    fn follows(&self, previous: &Action) -> bool {
        self.buffer == previous.buffer && self.span.start == previous.span.end
    }
}

/// The buffers a batch's actions are written into: one that all first
/// actions share, so that a request of consecutive actions is a slice of
/// it, sent without a copy; then one for each dead letter written later.
/// Actions name their buffer by position rather than each holding a share
/// of it: 10,000 shares cost 10,000 atomic counts up and down.
#[derive(Debug, Default)]
pub struct Lines(Vec<Bytes>);

impl Lines {
    /// An action's lines of a `_bulk` body.
    pub fn of(&self, action: &Action) -> &[u8] {
        &self.0[action.buffer][action.span.clone()]
    }

    /// The `_bulk` body of `actions`: a slice of their buffer when they
    /// were written one after the other (a first attempt), else their lines
    /// copied together (retries, dead letters of rejected documents).
    pub fn body(&self, actions: &[Action]) -> Bytes {
        if let (Some(first), Some(last)) = (actions.first(), actions.last())
            && actions.windows(2).all(|pair| pair[1].follows(&pair[0]))
        {
            return self.0[first.buffer].slice(first.span.start..last.span.end);
        }
        let mut body = Vec::with_capacity(request_bytes(actions));
        for action in actions {
            body.extend_from_slice(self.of(action));
        }
        body.into()
    }

    /// Keeps `buffer`; answers its position.
    fn add(&mut self, buffer: Bytes) -> usize {
        self.0.push(buffer);
        self.0.len() - 1
    }
}

/// The first actions of a batch and the lines they name.
#[derive(Debug)]
pub struct Prepared {
    pub lines: Lines,
    pub actions: Vec<Action>,
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
    /// A server that cannot take our documents at all (a Serverless
    /// collection of the wrong type): the batch fails as a whole, loudly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configuration_error: Option<String>,
    #[serde(skip)]
    pub response: KafkaBatchResponse,
}

pub struct Indexer {
    client: SearchClient,
    settings: ElasticsearchSettings,
    log_format: LogFormat,
}

impl Indexer {
    pub fn new(
        client: SearchClient,
        settings: ElasticsearchSettings,
        log_format: LogFormat,
    ) -> Self {
        Indexer {
            client,
            settings,
            log_format,
        }
    }

    pub fn client(&self) -> &SearchClient {
        &self.client
    }

    pub fn settings(&self) -> &ElasticsearchSettings {
        &self.settings
    }

    pub fn log_format(&self) -> &LogFormat {
        &self.log_format
    }

    /// Indexes `records` by `deadline`. Every record ends indexed,
    /// dead-lettered or listed in the answer's `batchItemFailures`.
    pub async fn index(&self, records: &[IncomingRecord], deadline: Instant) -> BatchReport {
        let started = Instant::now();
        let mut fates = vec![Fate::Pending; records.len()];
        let Prepared {
            mut lines,
            actions: mut pending,
        } = prepare(records, self.indices(), &self.log_format);
        let mut backoff = Backoff::default();
        let mut requests = 0;
        let mut max_bytes = self.settings.max_bulk_bytes;

        while !pending.is_empty() {
            let mut next = Vec::new();
            let mut must_wait = false;
            for chunk in chunks(pending, max_bytes, self.settings.max_bulk_actions) {
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
                let body = lines.body(&chunk);
                requests += 1;
                match send_bulk(&self.client, body, chunk.len(), timeout).await {
                    Ok(items) => {
                        if let Some(refused) = items.iter().find(|item| {
                            refuses_document_ids(
                                item.status,
                                item.error_type.as_deref(),
                                item.reason.as_deref(),
                            )
                        }) {
                            let error =
                                document_ids_refused(refused.reason.as_deref().unwrap_or(""));
                            for fate in fates.iter_mut().filter(|f| **f != Fate::Indexed) {
                                *fate = Fate::Failed(error.clone());
                            }
                            let mut report = report(records, fates, requests, started);
                            report.configuration_error = Some(error);
                            return report;
                        }
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
                                            self.indices(),
                                            &mut lines,
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
                            max_bytes = max_bytes.min(request_bytes(&chunk) / 2);
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
}

fn request_bytes(actions: &[Action]) -> usize {
    actions.iter().map(|a| a.span.len()).sum()
}

/// The first action of every record, into `(documents, dead letters)`
/// indices: its document, or its dead letter when it cannot be decoded or
/// parsed. Pure CPU: this is what the benchmark times. All of them are
/// written into one buffer the actions share, sized up front from the
/// lines: 10,000 buffers of their own, copied into a body, and the body
/// copied again by the client, cost more than writing the documents.
pub fn prepare(
    records: &[IncomingRecord],
    indices: (&str, &str),
    log_format: &LogFormat,
) -> Prepared {
    // Strings copied unchecked from a plain line must have been quoted in it.
    let quoted = log_format.quotes_its_strings();
    let dead_letters = CreateLine::new(indices.1);
    let frame = DOCUMENT_FRAME + CreateLine::new(indices.0).frame_len();
    let estimate: usize = records
        .iter()
        .map(|r| {
            let line = r.value.as_ref().map_or(256, Vec::len);
            line + frame + 2 * r.topic.len()
        })
        .sum();
    let mut buffer = spare::ACTION_BUFFERS.take(estimate);
    let mut actions = Vec::with_capacity(records.len());
    let mut partition: Option<(&str, i32, PartitionDocuments)> = None;
    for record in records {
        let start = buffer.len();
        let documents = match &partition {
            // Records come grouped by partition: a topic shared by pointer
            // is the usual match.
            Some((topic, number, documents))
                if *number == record.partition
                    && (std::ptr::eq(*topic, &*record.topic) || **topic == *record.topic) =>
            {
                documents
            }
            _ => {
                let documents = PartitionDocuments::new(indices.0, &record.topic, record.partition);
                &partition
                    .insert((&record.topic, record.partition, documents))
                    .2
            }
        };
        actions.push(Action {
            record: actions.len(),
            target: write_first_action(
                &mut buffer,
                record,
                documents,
                &dead_letters,
                (log_format, quoted),
            ),
            buffer: 0,
            span: start..buffer.len(),
        });
    }
    let mut lines = Lines::default();
    lines.add(spare::ACTION_BUFFERS.share(buffer));
    Prepared { lines, actions }
}

/// What a document and its action line add to the line they are made of
/// (field names, quotes, Kafka coordinates, the `create` frame), with room
/// to spare; escapes or a dead letter may still grow the buffer.
const DOCUMENT_FRAME: usize = 192;

/// Writes a record's first action, its document or else its dead letter;
/// answers which index it goes to.
fn write_first_action(
    out: &mut Vec<u8>,
    record: &IncomingRecord,
    documents: &PartitionDocuments,
    dead_letters: &CreateLine,
    (log_format, quoted): (&LogFormat, bool),
) -> Target {
    let (stage, reason) = match &record.value {
        Err(undecodable) => (Stage::Decode, undecodable.reason.clone()),
        Ok(bytes) => match log_format.parse_bytes(bytes) {
            Ok(parsed) if record.unknown_offset.is_none() => {
                let plain = quoted && is_plain_line(bytes);
                documents.write(out, &parsed, record.offset, plain);
                return Target::Documents;
            }
            // Only a malformed record lacks its offset, and it has no value.
            Ok(_) => (Stage::Decode, "record has no offset".to_owned()),
            Err(e) => (Stage::Parse, e.to_string()),
        },
    };
    write_dead_letter(out, record, stage, &reason, dead_letters);
    Target::DeadLetters
}

/// The record's dead letter, as an action of its own, its lines kept in `lines`.
fn dead_letter(
    records: &[IncomingRecord],
    i: usize,
    stage: Stage,
    reason: &str,
    indices: (&str, &str),
    lines: &mut Lines,
) -> Action {
    let mut ndjson = Vec::with_capacity(1024);
    let create = CreateLine::new(indices.1);
    write_dead_letter(&mut ndjson, &records[i], stage, reason, &create);
    Action {
        record: i,
        target: Target::DeadLetters,
        span: 0..ndjson.len(),
        buffer: lines.add(ndjson.into()),
    }
}

fn write_dead_letter(
    out: &mut Vec<u8>,
    record: &IncomingRecord,
    stage: Stage,
    reason: &str,
    create: &CreateLine,
) {
    let coordinates = record.coordinates();
    let letter = match &record.value {
        Ok(bytes) => DeadLetter::of_bytes(bytes, reason, stage, &coordinates),
        Err(undecodable) => {
            DeadLetter::of_text(undecodable.raw.as_deref(), reason, stage, &coordinates)
        }
    };
    create.write(out, |out| record.write_id_json(out));
    // A dead letter is a plain struct of strings and numbers: it serializes.
    let _ = serde_json::to_writer(&mut *out, &letter);
    out.push(b'\n');
}

/// Splits actions into requests of at most `max_bytes` and `max_actions`.
/// An action larger than the byte limit goes alone rather than never.
fn chunks(actions: Vec<Action>, max_bytes: usize, max_actions: usize) -> Vec<Vec<Action>> {
    let mut chunks = Vec::new();
    let mut chunk = Vec::new();
    let mut bytes = 0;
    for action in actions {
        let size = action.span.len();
        if !chunk.is_empty() && (bytes + size > max_bytes || chunk.len() >= max_actions) {
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
        configuration_error: None,
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

/// Logs a batch's counts as a JSON line (a warning when records failed: their
/// reasons are what an operator needs) and as CloudWatch metrics.
pub fn log_report(report: &BatchReport) {
    macro_rules! batch_line {
        ($level:expr) => {
            tracing::event!(
                $level,
                records = report.records,
                indexed = report.indexed,
                dead_lettered = report.dead_lettered,
                failed = report.failed,
                requests = report.requests,
                elapsed_ms = report.elapsed_ms,
                failure_reasons = ?report.failure_reasons,
                configuration_error = report.configuration_error.as_deref(),
                "indexed batch"
            )
        };
    }
    if report.failed > 0 {
        batch_line!(tracing::Level::WARN);
    } else {
        batch_line!(tracing::Level::INFO);
    }
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
    fn a_body_of_consecutive_actions_is_a_slice_of_their_buffer() {
        let records = records(30);
        let Prepared {
            mut lines,
            mut actions,
        } = prepare(&records, ("logs", "logs-deadletter"), &LogFormat::Auto);
        let one_by_one = |lines: &Lines, actions: &[Action]| {
            actions
                .iter()
                .flat_map(|a| lines.of(a).to_vec())
                .collect::<Vec<u8>>()
        };
        let body = lines.body(&actions[3..20]);
        assert_eq!(&body[..], &one_by_one(&lines, &actions[3..20])[..]);
        assert_eq!(body.as_ptr(), lines.of(&actions[3]).as_ptr(), "not copied");
        // A retry's actions, or a dead letter among them, are copied together.
        let indices = ("logs", "logs-deadletter");
        let letter = dead_letter(&records, 7, Stage::Index, "rejected", indices, &mut lines);
        assert!(
            lines
                .of(&letter)
                .starts_with(b"{\"create\":{\"_index\":\"logs-deadletter\"")
        );
        actions.push(letter);
        for chunk in [
            vec![actions[1].clone(), actions[5].clone()],
            actions[25..].to_vec(),
        ] {
            let body = lines.body(&chunk);
            assert_eq!(&body[..], &one_by_one(&lines, &chunk)[..]);
            assert_ne!(body.as_ptr(), lines.of(&chunk[0]).as_ptr());
        }
        assert!(lines.body(&[]).is_empty());
    }

    #[test]
    fn each_action_names_its_own_record() {
        let line = format_line(
            &Generator::new(GeneratorConfig::default()).record(),
            LineFormat::Original,
        );
        let (a, b): (Arc<str>, Arc<str>) = ("topic-a".into(), "topic \"b\"".into());
        // Partitions change, come back, and a topic equal to an earlier one
        // arrives in an allocation of its own.
        let coordinates = [
            (&a, 0),
            (&a, 0),
            (&a, 1),
            (&b, 1),
            (&a, 0),
            (&"topic-a".into(), 0),
            (&b, 0),
        ];
        let records: Vec<IncomingRecord> = coordinates
            .iter()
            .enumerate()
            .map(|(offset, (topic, partition))| {
                let value = Ok(line.clone().into_bytes());
                IncomingRecord::new(Arc::clone(topic), *partition, offset as i64 * 7, value)
            })
            .collect();
        let prepared = prepare(&records, ("logs", "dl"), &LogFormat::Auto);
        for (record, action) in records.iter().zip(&prepared.actions) {
            let lines: Vec<serde_json::Value> = prepared
                .lines
                .of(action)
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| serde_json::from_slice(l).expect("JSON"))
                .collect();
            assert_eq!(lines[0]["create"]["_id"], record.id());
            assert_eq!(lines[0]["create"]["_index"], "logs");
            let kafka = serde_json::to_value(record.coordinates()).expect("JSON");
            assert_eq!(lines[1]["kafka"], kafka);
        }
    }

    #[test]
    fn requests_stay_within_the_byte_and_action_limits() {
        let records = records(2_000);
        for (max_bytes, max_actions) in [(65_536, 5_000), (4_096, 5_000), (1 << 20, 70)] {
            let settings = settings(max_bytes, max_actions);
            let indices = (&*settings.index, &*settings.deadletter_index);
            let prepared = prepare(&records, indices, &LogFormat::Auto);
            let body_bytes = |chunk: &[Action]| prepared.lines.body(chunk).len();
            let chunks = chunks(prepared.actions.clone(), max_bytes, max_actions);
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
