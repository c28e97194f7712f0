//! Lambda's Kafka events (MSK `aws:kafka` and `SelfManagedKafka`) into
//! records. A record that cannot be decoded is kept, with the reason, so
//! that it is dead-lettered rather than lost.

use std::borrow::Cow;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use thiserror::Error;

use crate::document::{KafkaCoordinates, write_json_str};

/// One record of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingRecord {
    /// Shared by the records of a partition: one allocation per group, not
    /// per record.
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
    /// The event's key for the record's partition, `<topic>-<partition>`,
    /// which `batchItemFailures` must repeat.
    pub batch_key: Arc<str>,
    /// Set for a malformed record whose offset could not be read: its
    /// position in its group then stands in for the offset in its id.
    pub unknown_offset: Option<usize>,
    /// The value's bytes, or why there are none.
    pub value: Result<Vec<u8>, Undecodable>,
}

impl IncomingRecord {
    /// A record read from Kafka directly (drain mode).
    pub fn new(
        topic: Arc<str>,
        partition: i32,
        offset: i64,
        value: Result<Vec<u8>, Undecodable>,
    ) -> Self {
        let batch_key = format!("{topic}-{partition}").into();
        IncomingRecord {
            topic,
            partition,
            offset,
            batch_key,
            unknown_offset: None,
            value,
        }
    }

    /// The document id in both indices: `{topic}-{partition}-{offset}`
    /// (DESIGN.md §3), or `{batch key}-unknown-offset-{position}` for a
    /// malformed record whose offset could not be read.
    pub fn id(&self) -> String {
        match self.unknown_offset {
            None => self.coordinates().document_id(),
            Some(position) => format!("{}-unknown-offset-{position}", self.batch_key),
        }
    }

    /// The [`id`](Self::id) as a JSON string, appended.
    pub fn write_id_json(&self, out: &mut Vec<u8>) {
        match self.unknown_offset {
            None => self.coordinates().write_id_json(out),
            Some(_) => write_json_str(out, &self.id()),
        }
    }

    /// Where the record came from, as documents and dead letters carry it.
    pub fn coordinates(&self) -> KafkaCoordinates<'_> {
        KafkaCoordinates {
            topic: Cow::Borrowed(&self.topic),
            partition: self.partition,
            offset: self.offset,
        }
    }
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

#[derive(Debug, PartialEq, Eq)]
pub struct DecodedEvent {
    pub source: EventSource,
    pub records: Vec<IncomingRecord>,
}

/// What we read of a record. Lambda's record also carries `key`,
/// `timestamp`, `timestampType` and `headers`, which the indexer does not
/// use; skipping them, and borrowing the base64 value from the event's text,
/// makes decoding ~4x cheaper than `aws_lambda_events`' owned `KafkaRecord`
/// (870 ns a record here, most of the indexer's CPU budget). The tests feed
/// events serialized from `aws_lambda_events` types to keep the shapes equal.
#[derive(Deserialize)]
pub(super) struct WireRecord<'a> {
    #[serde(borrow, default)]
    pub topic: Option<Cow<'a, str>>,
    pub partition: i64,
    pub offset: i64,
    #[serde(borrow, default)]
    pub value: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "eventSource", borrow)]
    event_source: Option<Cow<'a, str>>,
    #[serde(borrow)]
    records: Option<&'a RawValue>,
    #[serde(borrow)]
    drain: Option<&'a RawValue>,
    #[serde(borrow)]
    redrive: Option<&'a RawValue>,
    replay: Option<&'a RawValue>,
}

/// The records of an event read by [`super::scan`], when it could.
fn well_formed(text: &str) -> Option<Result<DecodedEvent, EventError>> {
    let (source, records) = super::scan::well_formed(text)?;
    Some(event_source(Some(source)).map(|source| DecodedEvent { source, records }))
}

fn records(groups: Vec<(Cow<'_, str>, Vec<WireRecord<'_>>)>) -> Vec<IncomingRecord> {
    let mut records = Vec::with_capacity(groups.iter().map(|(_, g)| g.len()).sum());
    for (key, group) in groups {
        let key = GroupKey::new(&key);
        records.extend(group.into_iter().map(|record| from_wire(&key, record)));
    }
    records
}

/// What the indexer Lambda is asked to do.
#[derive(Debug)]
pub enum Invocation<'a> {
    /// Index the records of an event-source mapping's event.
    Event(DecodedEvent),
    /// Poll the topic itself: `{"drain": {...}}`, the `drain` object given
    /// back for [`crate::drain::DrainRequest`] to read.
    Drain(&'a RawValue),
    /// Process dead letters again: `{"redrive": {...}}`, the object given
    /// back for [`crate::recovery::redrive::RedriveRequest`] to read.
    Redrive(&'a RawValue),
    /// Index the records kept at an on-failure destination: `{"replay":
    /// {...}}`, for [`crate::recovery::ReplayRequest`] to read.
    Replay(&'a RawValue),
}

/// Reads an invocation payload: a Kafka event, or a drain, redrive or replay
/// request.
pub fn decode_invocation(payload: &str) -> Result<Invocation<'_>, EventError> {
    if let Some(event) = well_formed(payload) {
        return event.map(Invocation::Event);
    }
    check_nesting(payload)?;
    let envelope = read_envelope(payload)?;
    // Redrive and replay are requests of their own: anything else beside
    // one (an event's records, a drain, the other request) is a mistake the
    // caller must hear about rather than half of it being done.
    if let Some((request, name)) = envelope
        .redrive
        .map(|r| (Invocation::Redrive(r), "redrive"))
        .or_else(|| envelope.replay.map(|r| (Invocation::Replay(r), "replay")))
    {
        let others = [
            envelope.event_source.is_some() || envelope.records.is_some(),
            envelope.drain.is_some(),
            envelope.redrive.is_some() && envelope.replay.is_some(),
        ];
        if others.iter().any(|&other| other) {
            return Err(EventError(format!(
                "a {name} request with something else (an event's records, a drain, redrive or replay request): send one at a time"
            )));
        }
        return Ok(request);
    }
    match envelope.drain {
        Some(drain) if envelope.event_source.is_none() && envelope.records.is_none() => {
            Ok(Invocation::Drain(drain))
        }
        Some(_) => Err(EventError(
            "both a drain request and an event's records: send one or the other".into(),
        )),
        None => decode_envelope(envelope).map(Invocation::Event),
    }
}

/// Decodes an event given as JSON text, as the Lambda runtime hands it over.
pub fn decode_event_json(event: &str) -> Result<DecodedEvent, EventError> {
    well_formed(event).unwrap_or_else(|| decode_event_json_general(event))
}

/// [`decode_event_json`] without the fast reader: what it falls back on,
/// public for the fuzz target and tests that hold the two to each other.
#[doc(hidden)]
pub fn decode_event_json_general(event: &str) -> Result<DecodedEvent, EventError> {
    check_nesting(event)?;
    decode_envelope(read_envelope(event)?)
}

/// Kafka events nest six levels deep; this leaves room for anything else
/// a payload may carry, as serde_json's own limit does.
pub(super) const MAX_NESTING: usize = 128;

/// Refuses JSON nested deeper than [`MAX_NESTING`] before serde_json sees
/// it, with an error that says so and where: serde_json takes deep nesting
/// inside a raw value and would blame a record for it instead. One SIMD
/// pass finds the quotes; only the short stretches between strings are read
/// byte by byte (base64 values are most of an event's bytes). The usual
/// event never comes here: [`super::scan`] counts depth as it reads.
fn check_nesting(payload: &str) -> Result<(), EventError> {
    let json = payload.as_bytes();
    let mut depth = 0;
    let mut outside_from = 0;
    let mut in_string = false;
    for quote in memchr::memchr_iter(b'"', json) {
        if !in_string {
            depth = nest(json, outside_from..quote, depth)?;
            in_string = true;
        } else if !escaped(json, quote) {
            in_string = false;
            outside_from = quote + 1;
        }
    }
    if !in_string {
        nest(json, outside_from..json.len(), depth)?;
    }
    Ok(())
}

/// The nesting depth after the brackets of `json[stretch]`, which holds no string.
fn nest(
    json: &[u8],
    stretch: std::ops::Range<usize>,
    mut depth: usize,
) -> Result<usize, EventError> {
    let start = stretch.start;
    for (i, &byte) in json[stretch].iter().enumerate() {
        match byte {
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(EventError(format!(
                        "unreadable JSON (recursion limit exceeded: nested deeper than \
                         {MAX_NESTING} levels at byte {})",
                        start + i
                    )));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(depth)
}

/// Whether the quote at `json[quote]` is escaped: an odd run of backslashes before it.
fn escaped(json: &[u8], quote: usize) -> bool {
    json[..quote]
        .iter()
        .rev()
        .take_while(|&&b| b == b'\\')
        .count()
        % 2
        == 1
}

/// The event's top level, or what is wrong with it. serde reads a struct
/// from an array too, which would blame an array's first element for not
/// being a field name: say instead that the payload is not an object.
fn read_envelope(payload: &str) -> Result<Envelope<'_>, EventError> {
    match payload.trim_start().bytes().next() {
        None => return Err(EventError("the payload is empty".into())),
        Some(b'{') => {}
        Some(_) => {
            let what = match serde_json::from_str::<Value>(payload) {
                Ok(Value::Array(_)) => "an array",
                Ok(Value::String(_)) => "a string",
                Ok(Value::Number(_)) => "a number",
                Ok(Value::Bool(_)) => "a boolean",
                Ok(Value::Null) => "null",
                Ok(Value::Object(_)) | Err(_) => "not JSON",
            };
            return Err(EventError(format!(
                "the payload is not a JSON object ({what})"
            )));
        }
    }
    with_path(payload).map_err(|e| EventError(format!("unreadable JSON ({e})")))
}

/// Deserializes `json`; the error names the field it is about, as in
/// `` field `offset`: invalid type: string "27", expected i64 ``.
fn with_path<'de, T: Deserialize<'de>>(json: &'de str) -> Result<T, String> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        match e.path().to_string().as_str() {
            "." => e.inner().to_string(),
            path => format!("field `{path}`: {}", e.inner()),
        }
    })?;
    // What serde_json::from_str checks too: nothing but whitespace after the value.
    deserializer.end().map_err(|e| e.to_string())?;
    Ok(value)
}

fn decode_envelope(envelope: Envelope<'_>) -> Result<DecodedEvent, EventError> {
    let source = event_source(envelope.event_source.as_deref())?;
    let Some(groups) = envelope.records.filter(|r| r.get() != "null") else {
        return Ok(DecodedEvent {
            source,
            records: Vec::new(),
        });
    };
    // One pass when the records are well-formed; else they are read one by
    // one, so that a malformed one alone becomes a dead letter.
    let records = match serde_json::from_str::<Groups<'_, WireRecord<'_>>>(groups.get()) {
        Ok(Groups(groups)) => records(groups),
        Err(_) => {
            let Groups(groups) = serde_json::from_str::<Groups<'_, &RawValue>>(groups.get())
                .map_err(|_| EventError("`records` is not an object of arrays".into()))?;
            let mut records = Vec::new();
            for (key, group) in groups {
                let key = GroupKey::new(&key);
                for (position, raw) in group.into_iter().enumerate() {
                    records.push(match with_path::<WireRecord<'_>>(raw.get()) {
                        Ok(record) => from_wire(&key, record),
                        Err(e) => malformed(&key, position, raw, &e),
                    });
                }
            }
            records
        }
    };
    Ok(DecodedEvent { source, records })
}

/// The `records` object, in the event's order, duplicate keys kept: a map
/// would silently drop a repeated key's records.
struct Groups<'a, R>(Vec<(Cow<'a, str>, Vec<R>)>);

impl<'de: 'a, 'a, R: Deserialize<'de>> Deserialize<'de> for Groups<'a, R> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<'a, R>(std::marker::PhantomData<(&'a (), R)>);
        impl<'de: 'a, 'a, R: Deserialize<'de>> serde::de::Visitor<'de> for Visitor<'a, R> {
            type Value = Groups<'a, R>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of record arrays")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Self::Value, M::Error> {
                let mut groups = Vec::new();
                while let Some((key, records)) = map.next_entry::<Cow<'de, str>, Vec<R>>()? {
                    groups.push((key, records));
                }
                Ok(Groups(groups))
            }
        }
        deserializer.deserialize_map(Visitor(std::marker::PhantomData))
    }
}

/// Decodes an event already parsed into a `Value`.
pub fn decode_event(event: &Value) -> Result<DecodedEvent, EventError> {
    decode_event_json(&event.to_string())
}

fn event_source(source: Option<&str>) -> Result<EventSource, EventError> {
    match source {
        Some("aws:kafka") => Ok(EventSource::Msk),
        Some("SelfManagedKafka") => Ok(EventSource::SelfManagedKafka),
        Some(other) => Err(EventError(format!("eventSource is {other:?}"))),
        None => Err(EventError("no eventSource".into())),
    }
}

/// An event's key for a group of records, `<topic>-<partition>`, read once
/// for the group.
pub(super) struct GroupKey {
    batch_key: Arc<str>,
    topic: Arc<str>,
    partition: Option<i32>,
}

impl GroupKey {
    /// `billion_website_logs-2` is topic `billion_website_logs`, partition 2.
    pub(super) fn new(key: &str) -> Self {
        let (topic, partition) = match key.rsplit_once('-') {
            Some((topic, partition)) => match partition.parse() {
                Ok(p) => (topic, Some(p)),
                Err(_) => (key, None),
            },
            None => (key, None),
        };
        GroupKey {
            batch_key: key.into(),
            topic: topic.into(),
            partition,
        }
    }

    /// The record's own topic when it names one, else the key's.
    fn topic(&self, named: Option<&str>) -> Arc<str> {
        match named.filter(|t| !t.is_empty()) {
            Some(topic) if topic != &*self.topic => topic.into(),
            _ => self.topic.clone(),
        }
    }
}

pub(super) fn from_wire(key: &GroupKey, record: WireRecord<'_>) -> IncomingRecord {
    let partition = i32::try_from(record.partition).unwrap_or(key.partition.unwrap_or(-1));
    let value = match record.value {
        None => Err(Undecodable {
            reason: "record has no value (a tombstone or a null value)".into(),
            raw: None,
        }),
        Some(encoded) => decode_base64(&encoded).map_err(|reason| Undecodable {
            reason,
            raw: Some(encoded.into_owned()),
        }),
    };
    IncomingRecord {
        topic: key.topic(record.topic.as_deref()),
        partition,
        offset: record.offset,
        batch_key: key.batch_key.clone(),
        unknown_offset: None,
        value,
    }
}

/// SIMD decoding for the common case; the `base64` crate says what is wrong
/// with a bad value (which byte, where).
fn decode_base64(encoded: &str) -> Result<Vec<u8>, String> {
    base64_simd::STANDARD
        .decode_to_vec(encoded.as_bytes())
        .map_err(|_| {
            use base64::Engine;
            match base64::engine::general_purpose::STANDARD.decode(encoded) {
                Err(e) => format!("value is not base64: {e}"),
                Ok(_) => "value is not base64".to_owned(),
            }
        })
}

/// A record we cannot read: kept with whatever identifies it, so that its
/// dead letter can be found.
fn malformed(key: &GroupKey, position: usize, raw: &RawValue, error: &str) -> IncomingRecord {
    let record: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
    let partition = record
        .get("partition")
        .and_then(Value::as_i64)
        .and_then(|p| i32::try_from(p).ok())
        .or(key.partition)
        .unwrap_or(-1);
    let offset = record.get("offset").and_then(Value::as_i64);
    let batch_key = &key.batch_key;
    IncomingRecord {
        topic: key.topic(record.get("topic").and_then(Value::as_str)),
        partition,
        offset: offset.unwrap_or(-1),
        batch_key: batch_key.clone(),
        unknown_offset: offset.is_none().then_some(position),
        value: Err(Undecodable {
            reason: format!("malformed record {position} of {batch_key:?}: {error}"),
            raw: Some(raw.get().to_owned()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn b64(s: &[u8]) -> String {
        base64_simd::STANDARD.encode_to_string(s)
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
            assert_eq!(r.id(), "logs-0-6");
            assert_eq!(&*r.batch_key, "logs-0");
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
                {"topic": "logs", "partition": "zero", "offset": 10, "value": b64(b"z")},
            ]}
        });
        let records = decode_event(&event).unwrap().records;
        assert_eq!(records.len(), 6, "nothing dropped");
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
        assert_eq!(&*records[2].topic, "logs", "topic from the batch key");
        assert_eq!(records[2].id(), "logs-0-7");
        // Headers are not ours to need: their absence loses nothing.
        assert_eq!(records[3].value.as_deref(), Ok(&b"y"[..]));
        let malformed = records[5].value.as_ref().unwrap_err();
        assert!(
            malformed.reason.contains("malformed record 5"),
            "{}",
            malformed.reason
        );
        assert!(malformed.raw.as_deref().unwrap().contains("\"zero\""));
        assert_eq!(records[5].id(), "logs-3-10", "partition from the batch key");
        assert_eq!(records[4].id(), "logs-3-unknown-offset-4");
        assert_eq!(records[4].partition, 3);
        // The reason names the field that is wrong.
        assert!(
            malformed.reason.contains("field `partition`"),
            "{}",
            malformed.reason
        );
    }

    /// Events serialized from `aws_lambda_events`' own types decode the same.
    #[test]
    fn events_shaped_by_aws_lambda_events() {
        use aws_lambda_events::event::kafka::KafkaEvent;
        let event = json!({
            "eventSource": "SelfManagedKafka", "bootstrapServers": "b:9092",
            "records": {"logs-1": [record(3, Some(&b64(b"line")))]}
        });
        let typed: KafkaEvent = serde_json::from_value(event).unwrap();
        let text = serde_json::to_string(&typed).unwrap();
        let decoded = decode_event_json(&text).unwrap();
        assert_eq!(decoded.source, EventSource::SelfManagedKafka);
        assert_eq!(decoded.records[0].id(), "logs-0-3");
        assert_eq!(decoded.records[0].value.as_deref(), Ok(&b"line"[..]));
    }

    #[test]
    fn a_repeated_batch_key_keeps_both_groups() {
        let text = format!(
            r#"{{"eventSource":"aws:kafka","records":{{"logs-0":[{}],"logs-0":[{}]}}}}"#,
            record(1, Some(&b64(b"a"))),
            record(2, Some(&b64(b"b")))
        );
        assert_eq!(decode_event_json(&text).unwrap().records.len(), 2);
    }

    #[test]
    fn deep_nesting_and_trailing_characters_are_refused() {
        let deep = format!(
            r#"{{"eventSource":"aws:kafka","records":{{"t-0":{}{}}}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let e = decode_event_json(&deep).unwrap_err().to_string();
        assert!(
            e.contains("recursion limit") && e.contains("at byte 170"),
            "{e}"
        );
        let trailing = r#"{"eventSource":"aws:kafka","records":{}} {}"#;
        let e = decode_invocation(trailing).unwrap_err().to_string();
        assert!(e.contains("trailing characters"), "{e}");
        // Brackets and escaped quotes inside strings are not nesting.
        let value = format!(r#"\"{}\""#, "[".repeat(500));
        let event = format!(
            r#"{{"eventSource":"aws:kafka","records":{{"t-0":[{{"topic":"t","partition":0,"offset":1,"value":"{value}"}}]}}}}"#
        );
        assert_eq!(decode_event_json(&event).unwrap().records.len(), 1);
        // An escaped backslash ends a string; an escaped quote does not.
        let deep = "[".repeat(MAX_NESTING);
        assert!(check_nesting(&format!(r#"["a\\", {deep}"#)).is_err());
        assert!(check_nesting(&format!(r#"["a\" {deep}"]"#)).is_ok());
    }

    #[test]
    fn a_payload_that_is_not_an_object_is_named_as_such() {
        for (payload, what) in [
            ("", "the payload is empty"),
            (" \n", "the payload is empty"),
            ("[1, 2]", "not a JSON object (an array)"),
            ("\"aws:kafka\"", "not a JSON object (a string)"),
            ("null", "not a JSON object (null)"),
            ("7", "not a JSON object (a number)"),
            ("<xml/>", "not a JSON object (not JSON)"),
            (r#"{"eventSource": 7}"#, "field `eventSource`: invalid type"),
        ] {
            let e = decode_invocation(payload).unwrap_err().to_string();
            assert!(e.contains(what), "{payload:?}: {e}");
            let e = decode_event_json(payload).unwrap_err().to_string();
            assert!(e.contains(what), "{payload:?}: {e}");
        }
    }

    #[test]
    fn a_redrive_request_is_handed_over_alone() {
        let payload = r#"{"redrive": {"stage": "parse"}}"#;
        match decode_invocation(payload).unwrap() {
            Invocation::Redrive(request) => assert_eq!(request.get(), r#"{"stage": "parse"}"#),
            other => panic!("{other:?}"),
        }
        for mixed in [
            r#"{"redrive": {}, "drain": {}}"#,
            r#"{"redrive": {}, "eventSource": "aws:kafka", "records": {}}"#,
        ] {
            let e = decode_invocation(mixed).unwrap_err().to_string();
            assert!(e.contains("send one at a time"), "{mixed}: {e}");
        }
    }

    #[test]
    fn a_replay_request_is_handed_over_alone() {
        let payload = r#"{"replay": {"source": "s3://b/p"}}"#;
        match decode_invocation(payload).unwrap() {
            Invocation::Replay(request) => assert_eq!(request.get(), r#"{"source": "s3://b/p"}"#),
            other => panic!("{other:?}"),
        }
        for mixed in [
            r#"{"replay": {}, "drain": {}}"#,
            r#"{"replay": {}, "eventSource": "aws:kafka", "records": {}}"#,
            r#"{"eventSource": "aws:kafka", "records": {}, "replay": {}}"#,
            r#"{"replay": {}, "redrive": {}}"#,
        ] {
            let e = decode_invocation(mixed).unwrap_err().to_string();
            assert!(e.contains("send one at a time"), "{mixed}: {e}");
        }
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
