//! Lambda's Kafka events as the event-source mapping builds them: records
//! grouped by `<topic>-<partition>` in the order they were read, keys and
//! values in base64, header values as arrays of signed bytes, at most
//! 10,000 records or 6 MB of JSON an event. The on-failure records that
//! replay reads carry them (`recovery::failure_record`); the CLI's local
//! mapping (`logpipe esm`) sends them.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rdkafka::message::{BorrowedMessage, Headers, Message, Timestamp};
use serde::Serialize;

use crate::indexer::EventSource;

/// Records an event-source mapping puts in one invocation at most.
pub const MAX_EVENT_RECORDS: usize = 10_000;
/// Lambda's synchronous invocation payload limit (6 MB).
pub const MAX_EVENT_BYTES: usize = 6 * 1024 * 1024;

/// One consumed record, kept as the JSON text the event will carry: made
/// once, it gives each record's exact share of the 6 MB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
    json: String,
}

/// What a record holds, in Lambda's field order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireRecord<'a> {
    topic: &'a str,
    partition: i32,
    offset: i64,
    timestamp: i64,
    timestamp_type: &'static str,
    // Lambda leaves out a key (or value) the record does not have.
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    headers: Vec<BTreeMap<&'a str, Vec<i8>>>,
}

/// A record's fields, from Kafka or from a test.
#[derive(Debug, Clone)]
pub struct RecordParts<'a> {
    pub partition: i32,
    pub offset: i64,
    /// Milliseconds since the epoch and how the broker stamped it.
    pub timestamp: Timestamp,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: Vec<(&'a str, Option<&'a [u8]>)>,
}

impl Default for RecordParts<'_> {
    fn default() -> Self {
        RecordParts {
            partition: 0,
            offset: 0,
            timestamp: Timestamp::NotAvailable,
            key: None,
            value: None,
            headers: Vec::new(),
        }
    }
}

impl EventRecord {
    pub fn new(topic: Arc<str>, parts: &RecordParts<'_>) -> Self {
        let (timestamp, timestamp_type) = match parts.timestamp {
            Timestamp::CreateTime(ms) => (ms, "CREATE_TIME"),
            Timestamp::LogAppendTime(ms) => (ms, "LOG_APPEND_TIME"),
            Timestamp::NotAvailable => (-1, "NO_TIMESTAMP_TYPE"),
        };
        let wire = WireRecord {
            topic: &topic,
            partition: parts.partition,
            offset: parts.offset,
            timestamp,
            timestamp_type,
            key: parts.key.map(|k| STANDARD.encode(k)),
            value: parts.value.map(|v| STANDARD.encode(v)),
            // Java's bytes: what Lambda's Java poller hands over.
            headers: parts
                .headers
                .iter()
                .map(|(name, value)| {
                    let bytes = value.unwrap_or_default().iter().map(|&b| b as i8).collect();
                    BTreeMap::from([(*name, bytes)])
                })
                .collect(),
        };
        let json = serde_json::to_string(&wire).expect("a record serializes to JSON");
        EventRecord {
            topic: topic.clone(),
            partition: parts.partition,
            offset: parts.offset,
            json,
        }
    }

    /// A record as the consumer read it.
    pub fn from_message(topic: &Arc<str>, message: &BorrowedMessage<'_>) -> Self {
        let headers = message
            .headers()
            .map(|h| h.iter().map(|h| (h.key, h.value)).collect())
            .unwrap_or_default();
        EventRecord::new(
            topic.clone(),
            &RecordParts {
                partition: message.partition(),
                offset: message.offset(),
                timestamp: message.timestamp(),
                key: message.key(),
                value: message.payload(),
                headers,
            },
        )
    }

    /// `<topic>-<partition>`: the event's group key, which `batchItemFailures` repeats.
    pub fn batch_key(&self) -> String {
        format!("{}-{}", self.topic, self.partition)
    }

    pub fn json(&self) -> &str {
        &self.json
    }
}

/// Where the events say they come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventOrigin {
    pub source: EventSource,
    /// `eventSourceArn` of an MSK event (self-managed events have none).
    pub source_arn: String,
    pub bootstrap_servers: String,
}

impl EventOrigin {
    fn header(&self) -> String {
        let mut header = String::from("{");
        let field = |header: &mut String, name: &str, value: &str| {
            header.push_str(&serde_json::to_string(name).expect("a string"));
            header.push(':');
            header.push_str(&serde_json::to_string(value).expect("a string"));
            header.push(',');
        };
        match self.source {
            EventSource::Msk => {
                field(&mut header, "eventSource", "aws:kafka");
                field(&mut header, "eventSourceArn", &self.source_arn);
            }
            EventSource::SelfManagedKafka => field(&mut header, "eventSource", "SelfManagedKafka"),
        }
        field(&mut header, "bootstrapServers", &self.bootstrap_servers);
        header.push_str("\"records\":{");
        header
    }
}

/// One event's records, grouped by partition in first-seen order.
#[derive(Debug, Clone)]
pub struct Event<'r> {
    groups: Vec<(String, Vec<&'r EventRecord>)>,
    records: usize,
    bytes: usize,
}

impl<'r> Event<'r> {
    fn new(origin_header: usize) -> Self {
        Event {
            groups: Vec::new(),
            records: 0,
            // The header and the closing `}}`.
            bytes: origin_header + 2,
        }
    }

    /// The event's size with `record` added.
    fn size_with(&self, record: &EventRecord) -> usize {
        let key = record.batch_key();
        let group_exists = self.groups.iter().any(|(k, _)| *k == key);
        self.bytes
            + record.json.len()
            + if group_exists {
                1 // `,` before it
            } else {
                // `,"<key>":[` ... `]`
                usize::from(!self.groups.is_empty()) + key.len() + 5
            }
    }

    fn push(&mut self, record: &'r EventRecord) {
        self.bytes = self.size_with(record);
        self.records += 1;
        let key = record.batch_key();
        match self.groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, group)) => group.push(record),
            None => self.groups.push((key, vec![record])),
        }
    }

    pub fn len(&self) -> usize {
        self.records
    }

    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// The size of [`Self::to_json`], in bytes.
    pub fn size(&self) -> usize {
        self.bytes
    }

    pub fn records(&self) -> impl Iterator<Item = &'r EventRecord> + '_ {
        self.groups
            .iter()
            .flat_map(|(_, group)| group.iter().copied())
    }

    /// The event's JSON text, as Lambda hands it to the function.
    pub fn to_json(&self, origin: &EventOrigin) -> String {
        let mut json = origin.header();
        json.reserve(self.bytes.saturating_sub(json.len()));
        for (n, (key, group)) in self.groups.iter().enumerate() {
            if n > 0 {
                json.push(',');
            }
            json.push('"');
            json.push_str(key);
            json.push_str("\":[");
            for (i, record) in group.iter().enumerate() {
                if i > 0 {
                    json.push(',');
                }
                json.push_str(&record.json);
            }
            json.push(']');
        }
        json.push_str("}}");
        json
    }
}

/// Splits `records` (in the order they were read) into events of at most
/// `max_records` records and `max_bytes` of JSON. A record too large for
/// any event goes alone, for the invocation to refuse it loudly.
pub fn events<'r>(
    records: impl IntoIterator<Item = &'r EventRecord>,
    origin: &EventOrigin,
    max_records: usize,
    max_bytes: usize,
) -> Vec<Event<'r>> {
    let header = origin.header().len();
    let mut events = Vec::new();
    let mut event = Event::new(header);
    for record in records {
        if !event.is_empty() && (event.len() >= max_records || event.size_with(record) > max_bytes)
        {
            events.push(std::mem::replace(&mut event, Event::new(header)));
        }
        event.push(record);
    }
    if !event.is_empty() {
        events.push(event);
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indexer::decode_event_json;
    use aws_lambda_events::event::kafka::KafkaEvent;

    fn origin(source: EventSource) -> EventOrigin {
        EventOrigin {
            source,
            source_arn: "arn:aws:kafka:us-east-1:123456789012:cluster/local/1".into(),
            bootstrap_servers: "127.0.0.1:9092".into(),
        }
    }

    fn record(partition: i32, offset: i64, value: &[u8]) -> EventRecord {
        EventRecord::new(
            "logs".into(),
            &RecordParts {
                partition,
                offset,
                timestamp: Timestamp::CreateTime(1_545_084_650_987),
                key: Some(b"1.2.3.4"),
                value: Some(value),
                headers: vec![("h", Some(&[104, 0xff, 0x80]))],
            },
        )
    }

    #[test]
    fn wire_shape_of_an_msk_event() {
        let records = [record(0, 15, b"Hi")];
        let events = events(&records, &origin(EventSource::Msk), 10, 1 << 20);
        let json = events[0].to_json(&origin(EventSource::Msk));
        assert_eq!(
            json,
            r#"{"eventSource":"aws:kafka","eventSourceArn":"arn:aws:kafka:us-east-1:123456789012:cluster/local/1","bootstrapServers":"127.0.0.1:9092","records":{"logs-0":[{"topic":"logs","partition":0,"offset":15,"timestamp":1545084650987,"timestampType":"CREATE_TIME","key":"MS4yLjMuNA==","value":"SGk=","headers":[{"h":[104,-1,-128]}]}]}}"#
        );
        assert_eq!(events[0].size(), json.len());
    }

    #[test]
    fn self_managed_events_have_no_arn_and_leave_out_missing_keys_and_values() {
        let bare = EventRecord::new(
            "logs".into(),
            &RecordParts {
                partition: 2,
                offset: 7,
                timestamp: Timestamp::LogAppendTime(5),
                ..RecordParts::default()
            },
        );
        let records = [bare];
        let origin = origin(EventSource::SelfManagedKafka);
        let json = events(&records, &origin, 10, 1 << 20)[0].to_json(&origin);
        assert_eq!(
            json,
            r#"{"eventSource":"SelfManagedKafka","bootstrapServers":"127.0.0.1:9092","records":{"logs-2":[{"topic":"logs","partition":2,"offset":7,"timestamp":5,"timestampType":"LOG_APPEND_TIME","headers":[]}]}}"#
        );
    }

    #[test]
    fn events_read_back_as_lambda_events_and_as_the_indexer_reads_them() {
        let records = [
            record(0, 1, b"a"),
            record(1, 9, b"b"),
            record(0, 2, b"\xff not utf-8"),
        ];
        for source in [EventSource::Msk, EventSource::SelfManagedKafka] {
            let origin = origin(source);
            let json = events(&records, &origin, 10, 1 << 20)[0].to_json(&origin);
            let event: KafkaEvent = serde_json::from_str(&json).unwrap();
            assert_eq!(event.records["logs-0"].len(), 2);
            assert_eq!(event.records["logs-1"][0].offset, 9);
            assert_eq!(
                event.records["logs-0"][0].key.as_deref(),
                Some("MS4yLjMuNA==")
            );
            let header = &event.records["logs-0"][0].headers[0]["h"];
            assert_eq!(header, &vec![104, -1, -128]);

            let decoded = decode_event_json(&json).unwrap();
            assert_eq!(decoded.source, source);
            let got: Vec<_> = decoded
                .records
                .iter()
                .map(|r| (r.partition, r.offset, r.value.clone().unwrap()))
                .collect();
            // Grouped by partition, in first-seen order.
            assert_eq!(
                got,
                [
                    (0, 1, b"a".to_vec()),
                    (0, 2, b"\xff not utf-8".to_vec()),
                    (1, 9, b"b".to_vec())
                ]
            );
        }
    }

    #[test]
    fn splits_by_count_and_by_bytes_without_exceeding_either() {
        let records: Vec<_> = (0..25)
            .map(|n| record(n % 3, n as i64, &[b'x'; 1000]))
            .collect();
        let origin = origin(EventSource::Msk);

        let by_count = events(&records, &origin, 10, MAX_EVENT_BYTES);
        let sizes: Vec<_> = by_count.iter().map(Event::len).collect();
        assert_eq!(sizes, [10, 10, 5]);

        let limit = 5_000;
        let by_bytes = events(&records, &origin, 10_000, limit);
        assert!(by_bytes.len() > 5);
        for event in &by_bytes {
            let json = event.to_json(&origin);
            assert_eq!(json.len(), event.size());
            assert!(json.len() <= limit, "{} > {limit}", json.len());
            serde_json::from_str::<KafkaEvent>(&json).unwrap();
        }
        // Every record once, in order within its partition.
        let mut seen: Vec<_> = by_bytes
            .iter()
            .flat_map(|e| e.records().map(|r| r.offset))
            .collect();
        seen.sort();
        assert_eq!(seen, (0..25).collect::<Vec<_>>());
        // The next record would not have fitted.
        for pair in by_bytes.windows(2) {
            let first_of_next = pair[1].records().next().unwrap();
            assert!(pair[0].size_with(first_of_next) > limit);
        }
    }

    #[test]
    fn a_record_too_large_for_any_event_goes_alone() {
        let records = [
            record(0, 0, b"a"),
            record(0, 1, &[b'x'; 500]),
            record(0, 2, b"b"),
        ];
        let sizes: Vec<_> = events(&records, &origin(EventSource::Msk), 10, 400)
            .iter()
            .map(Event::len)
            .collect();
        assert_eq!(sizes, [1, 1, 1]);
    }
}
