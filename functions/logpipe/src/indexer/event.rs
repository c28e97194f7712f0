//! Lambda's Kafka events (MSK `aws:kafka` and `SelfManagedKafka`) into
//! records. A record that cannot be decoded is kept, with the reason, so
//! that it is dead-lettered rather than lost.

use aws_lambda_events::event::kafka::KafkaRecord;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;
use thiserror::Error;

use crate::document::KafkaCoordinates;

/// One record of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingRecord {
    pub coordinates: KafkaCoordinates<'static>,
    /// The event's key for the record's partition, `<topic>-<partition>`,
    /// which `batchItemFailures` must repeat.
    pub batch_key: String,
    /// The document id in both indices.
    pub id: String,
    /// The value's bytes, or why there are none.
    pub value: Result<Vec<u8>, Undecodable>,
}

/// A record whose value could not be had, with what the event held instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecodable {
    pub reason: String,
    pub raw: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventSource {
    Msk,
    SelfManagedKafka,
}

/// The event as a whole is not a Kafka event: nothing in it can be trusted
/// to name a record, so the invocation fails instead.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("not a Lambda Kafka event: {0}")]
pub struct EventError(String);

#[derive(Debug)]
pub struct DecodedEvent {
    pub source: EventSource,
    pub records: Vec<IncomingRecord>,
}

pub fn decode_event(event: &Value) -> Result<DecodedEvent, EventError> {
    let source = match event.get("eventSource").and_then(Value::as_str) {
        Some("aws:kafka") => EventSource::Msk,
        Some("SelfManagedKafka") => EventSource::SelfManagedKafka,
        Some(other) => return Err(EventError(format!("eventSource is {other:?}"))),
        None => return Err(EventError("no eventSource".into())),
    };
    let groups = match event.get("records") {
        Some(Value::Object(groups)) => groups,
        Some(Value::Null) | None => {
            return Ok(DecodedEvent {
                source,
                records: Vec::new(),
            });
        }
        Some(_) => return Err(EventError("`records` is not an object".into())),
    };
    let mut records = Vec::new();
    for (batch_key, group) in groups {
        let Value::Array(group) = group else {
            return Err(EventError(format!(
                "records[{batch_key:?}] is not an array"
            )));
        };
        for (position, record) in group.iter().enumerate() {
            records.push(decode_record(batch_key, position, record));
        }
    }
    Ok(DecodedEvent { source, records })
}

fn decode_record(batch_key: &str, position: usize, record: &Value) -> IncomingRecord {
    let (key_topic, key_partition) = split_batch_key(batch_key);
    match serde_json::from_value::<KafkaRecord>(record.clone()) {
        Ok(r) => {
            let topic = r.topic.filter(|t| !t.is_empty()).unwrap_or(key_topic);
            let partition = i32::try_from(r.partition).unwrap_or(key_partition.unwrap_or(-1));
            let coordinates = KafkaCoordinates {
                topic: topic.into(),
                partition,
                offset: r.offset,
            };
            let value = match r.value {
                None => Err(Undecodable {
                    reason: "record has no value (a tombstone or a null value)".into(),
                    raw: None,
                }),
                Some(encoded) => BASE64.decode(encoded.as_bytes()).map_err(|e| Undecodable {
                    reason: format!("value is not base64: {e}"),
                    raw: Some(encoded),
                }),
            };
            IncomingRecord {
                id: coordinates.document_id(),
                coordinates,
                batch_key: batch_key.to_owned(),
                value,
            }
        }
        Err(e) => {
            // Keep whatever identifies the record, so its dead letter can be found.
            let topic = record
                .get("topic")
                .and_then(Value::as_str)
                .map_or(key_topic, str::to_owned);
            let partition = record
                .get("partition")
                .and_then(Value::as_i64)
                .and_then(|p| i32::try_from(p).ok())
                .or(key_partition)
                .unwrap_or(-1);
            let offset = record.get("offset").and_then(Value::as_i64);
            let coordinates = KafkaCoordinates {
                topic: topic.into(),
                partition,
                offset: offset.unwrap_or(-1),
            };
            let id = match offset {
                Some(_) => coordinates.document_id(),
                None => format!("{batch_key}-unknown-offset-{position}"),
            };
            IncomingRecord {
                id,
                coordinates,
                batch_key: batch_key.to_owned(),
                value: Err(Undecodable {
                    reason: format!("malformed record {position} of {batch_key:?}: {e}"),
                    raw: Some(record.to_string()),
                }),
            }
        }
    }
}

/// `billion_website_logs-2` is topic `billion_website_logs`, partition 2.
fn split_batch_key(key: &str) -> (String, Option<i32>) {
    match key.rsplit_once('-') {
        Some((topic, partition)) => match partition.parse() {
            Ok(p) => (topic.to_owned(), Some(p)),
            Err(_) => (key.to_owned(), None),
        },
        None => (key.to_owned(), None),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn b64(s: &[u8]) -> String {
        BASE64.encode(s)
    }

    fn record(offset: i64, value: Option<&str>) -> Value {
        json!({
            "topic": "logs", "partition": 0, "offset": offset,
            "timestamp": 1_700_000_000_000i64, "timestampType": "CREATE_TIME",
            "key": b64(b"9.1.2.3"), "value": value,
            "headers": [{"h": [104, -61, -87]}]
        })
    }

    #[test]
    fn msk_and_self_managed_events() {
        for source in ["aws:kafka", "SelfManagedKafka"] {
            let event = json!({
                "eventSource": source,
                "bootstrapServers": "b-1:9092",
                "records": {"logs-0": [record(5, Some(&b64(b"line one"))), record(6, Some(&b64(b"line two")))]}
            });
            let decoded = decode_event(&event).unwrap();
            assert_eq!(decoded.records.len(), 2);
            let r = &decoded.records[1];
            assert_eq!(r.id, "logs-0-6");
            assert_eq!(r.batch_key, "logs-0");
            assert_eq!(r.value.as_deref(), Ok(&b"line two"[..]));
        }
    }

    #[test]
    fn bad_records_are_kept_with_their_reason() {
        let mut no_topic = record(7, Some(&b64(b"x")));
        no_topic["topic"] = Value::Null;
        let mut no_headers = record(9, Some(&b64(b"y")));
        no_headers.as_object_mut().unwrap().remove("headers");
        let event = json!({
            "eventSource": "aws:kafka",
            "records": {"logs-3": [
                record(1, None),
                record(2, Some("not base64!")),
                no_topic,
                no_headers,
                {"garbage": true},
            ]}
        });
        let records = decode_event(&event).unwrap().records;
        assert_eq!(records.len(), 5, "nothing dropped");
        assert!(
            records[0]
                .value
                .as_ref()
                .unwrap_err()
                .reason
                .contains("no value")
        );
        let bad = records[1].value.as_ref().unwrap_err();
        assert!(
            bad.reason.starts_with("value is not base64"),
            "{}",
            bad.reason
        );
        assert_eq!(bad.raw.as_deref(), Some("not base64!"));
        assert_eq!(
            records[2].coordinates.topic, "logs",
            "topic from the batch key"
        );
        assert_eq!(records[2].id, "logs-0-7");
        let malformed = records[3].value.as_ref().unwrap_err();
        assert!(malformed.reason.contains("headers"), "{}", malformed.reason);
        assert_eq!(records[3].id, "logs-0-9");
        assert_eq!(records[4].id, "logs-3-unknown-offset-4");
        assert_eq!(records[4].coordinates.partition, 3);
    }

    #[test]
    fn not_a_kafka_event() {
        assert!(decode_event(&json!({"Records": []})).is_err());
        assert!(decode_event(&json!({"eventSource": "aws:sqs"})).is_err());
        assert!(decode_event(&json!({"eventSource": "aws:kafka", "records": 5})).is_err());
        assert!(decode_event(&json!({"eventSource": "aws:kafka", "records": {"t-0": 1}})).is_err());
        assert_eq!(
            decode_event(&json!({"eventSource": "aws:kafka"}))
                .unwrap()
                .records
                .len(),
            0
        );
    }
}
