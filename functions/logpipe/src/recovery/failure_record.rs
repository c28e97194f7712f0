//! The invocation record an event-source mapping writes to its on-failure
//! destination for a Kafka batch it gave up on, as AWS documents it
//! (Lambda developer guide, "Capturing discarded batches for Amazon MSK and
//! self-managed Apache Kafka event sources" and "Using a Kafka topic as an
//! on-failure destination"):
//!
//! - **S3**: one object per discarded batch, `KafkaBatchInfo.recordsInfo`
//!   keyed `<topic>-<partition>` with the first and last offsets and
//!   timestamps, and `payload`, the whole event as an escaped JSON string;
//!   condition `RetryAttemptsExhausted`.
//! - **Kafka**: one message per record, `KafkaBatchInfo.batchSize` 1 with
//!   `recordInfo` (offset, timestamp), and `payload`, an event of that one
//!   record as a JSON object; condition `RetriesExhausted`; the message key
//!   is the original record's key.
//!
//! Offsets are strings and timestamps ISO 8601 with milliseconds, as in the
//! documented examples. Object keys follow the layout AWS documents for
//! stream sources' S3 destinations, `aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/
//! YYYY-MM-DDTHH.MM.SS-<Random UUID>`, with `<topic>-<partition>` as the
//! shard (the Kafka page gives no layout; replay reads any key).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use thiserror::Error;

use crate::indexer::{IncomingRecord, decode_event_json};
use crate::kafka_event::{EventOrigin, EventRecord, events};

/// `requestContext.condition` of an S3 (and SQS, SNS) record.
pub const S3_CONDITION: &str = "RetryAttemptsExhausted";
/// `requestContext.condition` of a Kafka destination's message.
pub const KAFKA_CONDITION: &str = "RetriesExhausted";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestContext {
    pub request_id: String,
    pub function_arn: String,
    pub condition: String,
    pub approximate_invoke_count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseContext {
    pub status_code: u16,
    pub executed_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordsInfo {
    pub first_record_offset: String,
    pub last_record_offset: String,
    pub first_record_timestamp: String,
    pub last_record_timestamp: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordInfo {
    pub offset: String,
    pub timestamp: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaBatchInfo {
    pub batch_size: usize,
    /// MSK events only: a self-managed event has no ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_source_arn: Option<String>,
    pub bootstrap_servers: String,
    pub payload_size: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records_info: Option<BTreeMap<String, RecordsInfo>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_info: Option<RecordInfo>,
}

/// The whole document, in the documented field order.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureRecord {
    pub request_context: RequestContext,
    /// `null` when the batch was never invoked (MaximumPayloadSizeExceeded).
    pub response_context: Option<ResponseContext>,
    pub version: String,
    pub timestamp: String,
    #[serde(rename = "KafkaBatchInfo")]
    pub kafka_batch_info: KafkaBatchInfo,
    /// S3: the event as a JSON string; Kafka: the event as an object.
    pub payload: Option<Box<RawValue>>,
}

/// What the mapping knows of the last attempt, for the record's contexts.
#[derive(Debug, Clone)]
pub struct Attempts {
    pub function_arn: String,
    /// Invocations of the records, the first one included.
    pub invocations: u64,
    /// The last invocation failed as a whole (`X-Amz-Function-Error`) rather
    /// than listing the records in `batchItemFailures`.
    pub function_error: bool,
    pub at: DateTime<Utc>,
}

/// `2019-11-14T00:38:04.835Z`.
pub fn iso_millis(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// What a record's JSON holds that the failure record repeats.
#[derive(Deserialize)]
struct Stamp {
    timestamp: i64,
    #[serde(default)]
    key: Option<String>,
}

fn stamp(record: &EventRecord) -> Stamp {
    // The record's JSON was made by `EventRecord::new`: it always reads back.
    serde_json::from_str(record.json()).unwrap_or(Stamp {
        timestamp: -1,
        key: None,
    })
}

fn record_time(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(iso_millis)
        .unwrap_or_default()
}

/// A random version-4 UUID, as Lambda's request ids and object names are.
pub fn random_uuid() -> String {
    let bits: u128 = rand::random();
    // Version 4 (random), variant RFC 4122.
    let bits = (bits & !(0xf << 76)) | (0x4 << 76);
    let bits = (bits & !(0x3 << 62)) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

fn contexts(attempts: &Attempts, condition: &str) -> (RequestContext, ResponseContext) {
    (
        RequestContext {
            request_id: random_uuid(),
            function_arn: attempts.function_arn.clone(),
            condition: condition.into(),
            approximate_invoke_count: attempts.invocations,
        },
        // The Invoke API answers 200 for a function error too, with the
        // error in a header.
        ResponseContext {
            status_code: 200,
            executed_version: "$LATEST".into(),
            function_error: attempts.function_error.then(|| "Unhandled".into()),
        },
    )
}

fn raw(json: String) -> Box<RawValue> {
    RawValue::from_string(json).expect("serde_json wrote valid JSON")
}

/// One S3 object: its key under `prefix` and its JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct S3Object {
    pub key: String,
    pub body: String,
}

/// The S3 objects for `records` the mapping gave up on: one per
/// `<topic>-<partition>`, as the key layout has one shard per object.
pub fn s3_objects(
    records: &[&EventRecord],
    origin: &EventOrigin,
    attempts: &Attempts,
    prefix: &str,
    mapping_id: &str,
) -> Vec<S3Object> {
    let mut partitions: Vec<(String, Vec<&EventRecord>)> = Vec::new();
    for record in records {
        let key = record.batch_key();
        match partitions.iter_mut().find(|(k, _)| *k == key) {
            Some((_, group)) => group.push(record),
            None => partitions.push((key, vec![record])),
        }
    }
    partitions
        .into_iter()
        .map(|(shard, group)| {
            let event = events(group.iter().copied(), origin, usize::MAX, usize::MAX)
                .pop()
                .expect("records make one event")
                .to_json(origin);
            let (first, last) = (group[0], group[group.len() - 1]);
            let info = RecordsInfo {
                first_record_offset: first.offset.to_string(),
                last_record_offset: last.offset.to_string(),
                first_record_timestamp: record_time(stamp(first).timestamp),
                last_record_timestamp: record_time(stamp(last).timestamp),
            };
            let (request, response) = contexts(attempts, S3_CONDITION);
            let body = FailureRecord {
                request_context: request,
                response_context: Some(response),
                version: "1.0".into(),
                timestamp: iso_millis(attempts.at),
                kafka_batch_info: KafkaBatchInfo {
                    batch_size: group.len(),
                    event_source_arn: source_arn(origin),
                    bootstrap_servers: origin.bootstrap_servers.clone(),
                    payload_size: event.len(),
                    records_info: Some(BTreeMap::from([(shard.clone(), info)])),
                    record_info: None,
                },
                payload: Some(raw(serde_json::to_string(&event).expect("a string"))),
            };
            S3Object {
                key: format!(
                    "{prefix}aws/lambda/{mapping_id}/{shard}/{}/{}-{}",
                    attempts.at.format("%Y/%m/%d"),
                    attempts.at.format("%Y-%m-%dT%H.%M.%S"),
                    random_uuid()
                ),
                body: serde_json::to_string(&body).expect("a failure record serializes"),
            }
        })
        .collect()
}

/// One message for a Kafka destination: the original record's key and the JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct KafkaMessage {
    pub key: Option<Vec<u8>>,
    pub body: String,
}

/// The Kafka destination's messages for `records`: one each.
pub fn kafka_messages(
    records: &[&EventRecord],
    origin: &EventOrigin,
    attempts: &Attempts,
) -> Vec<KafkaMessage> {
    records
        .iter()
        .map(|record| {
            let event = events([*record], origin, usize::MAX, usize::MAX)
                .pop()
                .expect("a record makes an event")
                .to_json(origin);
            let stamp = stamp(record);
            let (request, response) = contexts(attempts, KAFKA_CONDITION);
            let body = FailureRecord {
                request_context: request,
                response_context: Some(response),
                version: "1.0".into(),
                timestamp: iso_millis(attempts.at),
                kafka_batch_info: KafkaBatchInfo {
                    batch_size: 1,
                    event_source_arn: source_arn(origin),
                    bootstrap_servers: origin.bootstrap_servers.clone(),
                    payload_size: event.len(),
                    records_info: None,
                    record_info: Some(RecordInfo {
                        offset: record.offset.to_string(),
                        timestamp: record_time(stamp.timestamp),
                    }),
                },
                payload: Some(raw(event)),
            };
            KafkaMessage {
                key: stamp.key.and_then(|k| STANDARD.decode(k).ok()),
                body: serde_json::to_string(&body).expect("a failure record serializes"),
            }
        })
        .collect()
}

fn source_arn(origin: &EventOrigin) -> Option<String> {
    (!origin.source_arn.is_empty() && origin.source == crate::indexer::EventSource::Msk)
        .then(|| origin.source_arn.clone())
}

/// A document that is not an on-failure invocation record with its records.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RecordError {
    #[error("not an on-failure invocation record: {0}")]
    Unreadable(String),
    #[error(
        "the invocation record has no `payload` (an SQS or SNS record holds only offsets: read them from the source topic)"
    )]
    NoPayload,
    #[error("its `payload` is not a Kafka event: {0}")]
    Payload(String),
}

/// The original records a failure record carries, under their own topic,
/// partition and offset (the `_id` they are indexed under).
pub fn original_records(body: &[u8]) -> Result<Vec<IncomingRecord>, RecordError> {
    let record: FailureRecord =
        serde_json::from_slice(body).map_err(|e| RecordError::Unreadable(e.to_string()))?;
    let payload = record.payload.ok_or(RecordError::NoPayload)?;
    let event = if payload.get().starts_with('"') {
        // S3: the event as an escaped JSON string.
        let text: String =
            serde_json::from_str(payload.get()).map_err(|e| RecordError::Payload(e.to_string()))?;
        decode_event_json(&text)
    } else {
        decode_event_json(payload.get())
    };
    event
        .map(|event| event.records)
        .map_err(|e| RecordError::Payload(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indexer::EventSource;
    use crate::kafka_event::RecordParts;
    use rdkafka::message::Timestamp;

    fn origin() -> EventOrigin {
        EventOrigin {
            source: EventSource::Msk,
            source_arn: "arn:aws:kafka:us-east-1:123456789012:cluster/c/1".into(),
            bootstrap_servers: "b-1:9098".into(),
        }
    }

    fn record(partition: i32, offset: i64, value: &[u8]) -> EventRecord {
        EventRecord::new(
            "logs".into(),
            &RecordParts {
                partition,
                offset,
                timestamp: Timestamp::CreateTime(1_573_691_884_835 + offset),
                key: Some(b"10.0.0.1"),
                value: Some(value),
                headers: vec![],
            },
        )
    }

    fn attempts(function_error: bool) -> Attempts {
        Attempts {
            function_arn: "arn:aws:lambda:us-east-1:123456789012:function:indexer".into(),
            invocations: 3,
            function_error,
            at: DateTime::parse_from_rfc3339("2019-11-14T00:38:06.021Z")
                .unwrap()
                .to_utc(),
        }
    }

    #[test]
    fn an_s3_object_per_partition_in_the_documented_shape() {
        let records = [record(0, 7, b"a"), record(1, 3, b"b"), record(0, 9, b"c")];
        let refs: Vec<&EventRecord> = records.iter().collect();
        let objects = s3_objects(&refs, &origin(), &attempts(true), "failed/", "map-1");
        assert_eq!(objects.len(), 2);
        let key = &objects[0].key;
        assert!(
            key.starts_with("failed/aws/lambda/map-1/logs-0/2019/11/14/2019-11-14T00.38.06-"),
            "{key}"
        );
        // ...-<a random UUID>: five groups of 8-4-4-4-12 hex digits.
        let uuid = &key["failed/aws/lambda/map-1/logs-0/2019/11/14/2019-11-14T00.38.06-".len()..];
        let groups: Vec<usize> = uuid.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{key}");
        assert!(
            uuid.chars().all(|c| c == '-' || c.is_ascii_hexdigit()),
            "{key}"
        );
        assert_ne!(objects[0].key, objects[1].key);
        // The documented field order, in the text itself (serde_json's
        // `Value` would sort the keys).
        let text = &objects[0].body;
        let at: Vec<Option<usize>> = [
            "requestContext",
            "responseContext",
            "version",
            "timestamp",
            "KafkaBatchInfo",
            "payload",
        ]
        .iter()
        .map(|field| text.find(&format!("\"{field}\":")))
        .collect();
        assert_eq!(at[0], Some(1), "{text}");
        assert!(at.iter().all(Option::is_some), "{text}");
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?} {text}");
        let body: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            body["requestContext"]["condition"],
            "RetryAttemptsExhausted"
        );
        assert_eq!(body["requestContext"]["approximateInvokeCount"], 3);
        assert_eq!(
            body["requestContext"]["functionArn"],
            "arn:aws:lambda:us-east-1:123456789012:function:indexer"
        );
        assert_eq!(
            body["responseContext"],
            serde_json::json!({"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"})
        );
        assert_eq!(body["version"], "1.0");
        assert_eq!(body["timestamp"], "2019-11-14T00:38:06.021Z");
        let info = &body["KafkaBatchInfo"];
        assert_eq!(info["batchSize"], 2);
        assert_eq!(info["eventSourceArn"], origin().source_arn);
        assert_eq!(info["bootstrapServers"], "b-1:9098");
        assert_eq!(
            info["recordsInfo"],
            serde_json::json!({"logs-0": {
                "firstRecordOffset": "7", "lastRecordOffset": "9",
                "firstRecordTimestamp": "2019-11-14T00:38:04.842Z",
                "lastRecordTimestamp": "2019-11-14T00:38:04.844Z"}})
        );
        // The whole event, as an escaped JSON string.
        let payload = body["payload"].as_str().unwrap();
        assert_eq!(info["payloadSize"], payload.len());
        let event: serde_json::Value = serde_json::from_str(payload).unwrap();
        assert_eq!(event["eventSource"], "aws:kafka");
        assert_eq!(event["records"]["logs-0"].as_array().unwrap().len(), 2);

        // Read back: the original records under their own coordinates.
        let back = original_records(objects[0].body.as_bytes()).unwrap();
        let ids: Vec<String> = back.iter().map(IncomingRecord::id).collect();
        assert_eq!(ids, ["logs-0-7", "logs-0-9"]);
        assert_eq!(back[1].value.as_deref().unwrap(), b"c");
        let other = original_records(objects[1].body.as_bytes()).unwrap();
        assert_eq!(other[0].id(), "logs-1-3");
    }

    #[test]
    fn a_kafka_message_per_record_keyed_as_the_original() {
        let records = [record(2, 100, b"x")];
        let refs: Vec<&EventRecord> = records.iter().collect();
        let mut self_managed = origin();
        self_managed.source = EventSource::SelfManagedKafka;
        let messages = kafka_messages(&refs, &self_managed, &attempts(false));
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].key.as_deref(), Some(&b"10.0.0.1"[..]));
        let body: serde_json::Value = serde_json::from_str(&messages[0].body).unwrap();
        assert_eq!(body["requestContext"]["condition"], "RetriesExhausted");
        assert_eq!(
            body["responseContext"],
            serde_json::json!({"statusCode": 200, "executedVersion": "$LATEST"})
        );
        let info = &body["KafkaBatchInfo"];
        assert_eq!(info["batchSize"], 1);
        assert!(info.get("eventSourceArn").is_none());
        assert_eq!(
            info["recordInfo"],
            serde_json::json!({"offset": "100", "timestamp": "2019-11-14T00:38:04.935Z"})
        );
        // The event of that record, as an object.
        assert_eq!(body["payload"]["eventSource"], "SelfManagedKafka");
        assert_eq!(body["payload"]["records"]["logs-2"][0]["offset"], 100);
        let back = original_records(messages[0].body.as_bytes()).unwrap();
        assert_eq!(back[0].id(), "logs-2-100");
    }

    #[test]
    fn documents_without_records_are_named() {
        let sqs = r#"{"requestContext":{"requestId":"r","functionArn":"f","condition":"RetryAttemptsExhausted","approximateInvokeCount":1},
            "responseContext":null,"version":"1.0","timestamp":"t",
            "KafkaBatchInfo":{"batchSize":1,"bootstrapServers":"b","payloadSize":1}}"#;
        assert_eq!(
            original_records(sqs.as_bytes()),
            Err(RecordError::NoPayload)
        );
        let e = original_records(b"{\"hello\": 1}").unwrap_err();
        assert!(matches!(e, RecordError::Unreadable(_)), "{e}");
        let bad_payload = sqs.replace(r#""payloadSize":1}"#, r#""payloadSize":1},"payload":"[1]""#);
        let e = original_records(bad_payload.as_bytes()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("its `payload` is not a Kafka event"),
            "{e}"
        );
    }

    #[test]
    fn uuids_are_version_4() {
        let id = random_uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        assert_ne!(id, random_uuid());
    }
}
