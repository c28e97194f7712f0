//! Elasticsearch documents and `_bulk` request bodies.

use std::borrow::Cow;

use serde::Serialize;

use crate::json_text::escape_or_quote;
use crate::record::AccessLog;

/// Where a record came from in Kafka; also what makes its document id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KafkaCoordinates<'a> {
    pub topic: Cow<'a, str>,
    pub partition: i32,
    pub offset: i64,
}

impl KafkaCoordinates<'_> {
    /// `{topic}-{partition}-{offset}`: the same record always gets the same
    /// id, so a redelivered record cannot be indexed twice (DESIGN.md §3).
    pub fn document_id(&self) -> String {
        let mut id = String::with_capacity(self.topic.len() + 24);
        id.push_str(&self.topic);
        id.push('-');
        id.push_str(itoa::Buffer::new().format(self.partition));
        id.push('-');
        id.push_str(itoa::Buffer::new().format(self.offset));
        id
    }

    /// The [`document_id`](Self::document_id) as a JSON string, appended
    /// without building it first: the indexer writes one per record.
    pub fn write_id_json(&self, out: &mut Vec<u8>) {
        if escape_or_quote(self.topic.as_bytes()).is_some() {
            return write_json_str(out, &self.document_id());
        }
        out.push(b'"');
        out.extend_from_slice(self.topic.as_bytes());
        out.push(b'-');
        out.extend_from_slice(itoa::Buffer::new().format(self.partition).as_bytes());
        out.push(b'-');
        out.extend_from_slice(itoa::Buffer::new().format(self.offset).as_bytes());
        out.push(b'"');
    }
}

/// A record as indexed: its fields, plus `kafka.*` when it came from Kafka.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document<'r, 'a> {
    pub record: &'r AccessLog<'a>,
    pub kafka: Option<&'r KafkaCoordinates<'a>>,
}

/// Written out rather than `#[serde(flatten)]`, which goes through a map
/// and costs the indexer a third of its CPU.
impl Serialize for Document<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let r = self.record;
        let mut s = serializer.serialize_struct("Document", 10)?;
        s.serialize_field("ip", &r.ip)?;
        s.serialize_field("timestamp", &r.timestamp)?;
        s.serialize_field("method", &r.method)?;
        s.serialize_field("endpoint", &r.endpoint)?;
        s.serialize_field("protocol", &r.protocol)?;
        s.serialize_field("status", &r.status)?;
        s.serialize_field("size", &r.size)?;
        s.serialize_field("referrer", &r.referrer)?;
        s.serialize_field("user_agent", &r.user_agent)?;
        match self.kafka {
            Some(kafka) => s.serialize_field("kafka", kafka)?,
            None => s.skip_field("kafka")?,
        }
        s.end()
    }
}

impl Document<'_, '_> {
    /// Appends the document's JSON, byte for byte what `serde_json` writes
    /// for it (a property test holds the two together), without going
    /// through `Serializer`: the indexer writes 10,000 of these per event
    /// and this is a third of its CPU.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        self.write_fields(out, write_json_str);
        out.push(b'}');
    }

    /// The document without its closing brace, its record's strings
    /// written by `string`.
    fn write_fields(&self, out: &mut Vec<u8>, string: fn(&mut Vec<u8>, &str)) {
        let r = self.record;
        out.extend_from_slice(b"{\"ip\":\"");
        match r.ip {
            std::net::IpAddr::V4(ip) => {
                let [a, b, c, d] = ip.octets();
                push_octet(out, a);
                for octet in [b, c, d] {
                    out.push(b'.');
                    push_octet(out, octet);
                }
            }
            std::net::IpAddr::V6(ip) => {
                use std::io::Write;
                let _ = write!(out, "{ip}");
            }
        }
        out.extend_from_slice(b"\",\"timestamp\":\"");
        r.timestamp.write_iso(out);
        out.extend_from_slice(b"\",\"method\":");
        string(out, &r.method);
        out.extend_from_slice(b",\"endpoint\":");
        string(out, &r.endpoint);
        out.extend_from_slice(b",\"protocol\":");
        string(out, &r.protocol);
        out.extend_from_slice(b",\"status\":");
        out.extend_from_slice(itoa::Buffer::new().format(r.status).as_bytes());
        out.extend_from_slice(b",\"size\":");
        out.extend_from_slice(itoa::Buffer::new().format(r.size).as_bytes());
        out.extend_from_slice(b",\"referrer\":");
        string(out, &r.referrer);
        out.extend_from_slice(b",\"user_agent\":");
        string(out, &r.user_agent);
        if let Some(kafka) = self.kafka {
            write_kafka_head(out, &kafka.topic, kafka.partition);
            out.extend_from_slice(itoa::Buffer::new().format(kafka.offset).as_bytes());
            out.push(b'}');
        }
    }
}

/// `,"kafka":{"topic":<topic>,"partition":<partition>,"offset":`
fn write_kafka_head(out: &mut Vec<u8>, topic: &str, partition: i32) {
    out.extend_from_slice(b",\"kafka\":{\"topic\":");
    write_json_str(out, topic);
    out.extend_from_slice(b",\"partition\":");
    out.extend_from_slice(itoa::Buffer::new().format(partition).as_bytes());
    out.extend_from_slice(b",\"offset\":");
}

/// The `_bulk` actions of the documents of one Kafka partition: what they
/// all repeat (index, topic, partition) is written once, so a record adds
/// only its fields and its offset. Byte for byte a [`CreateLine`] with the
/// record's [`KafkaCoordinates::write_id_json`] and its
/// [`Document::write_json`] (a property test holds them together).
#[derive(Debug, Clone)]
pub struct PartitionDocuments {
    /// `{"create":{"_index":<index>,"_id":"<topic>-<partition>-`
    id_head: Vec<u8>,
    /// `,"kafka":{"topic":<topic>,"partition":<partition>,"offset":`
    kafka_head: Vec<u8>,
}

impl PartitionDocuments {
    pub fn new(index: &str, topic: &str, partition: i32) -> Self {
        let mut id_head = CreateLine::new(index).head;
        // Digits and `-` need no escaping: the id's JSON string is the
        // prefix's without its closing quote, then the offset.
        write_json_str(&mut id_head, &format!("{topic}-{partition}-"));
        id_head.pop();
        let mut kafka_head = Vec::new();
        write_kafka_head(&mut kafka_head, topic, partition);
        PartitionDocuments {
            id_head,
            kafka_head,
        }
    }

    /// Appends the `create` line and the document of the record at
    /// `offset`. `plain_line`: the record was parsed from a line that holds
    /// no `\\` and no control character (see [`is_plain_line`]), so its
    /// strings, stretches of the line between quotes, hold nothing to
    /// escape and are copied without looking.
    pub fn write(&self, out: &mut Vec<u8>, record: &AccessLog<'_>, offset: i64, plain_line: bool) {
        let mut digits = itoa::Buffer::new();
        let offset = digits.format(offset).as_bytes();
        out.extend_from_slice(&self.id_head);
        out.extend_from_slice(offset);
        out.extend_from_slice(b"\"}}\n");
        let document = Document {
            record,
            kafka: None,
        };
        let string = if plain_line {
            write_plain_str
        } else {
            write_json_str
        };
        document.write_fields(out, string);
        out.extend_from_slice(&self.kafka_head);
        out.extend_from_slice(offset);
        out.extend_from_slice(b"}}\n");
    }
}

/// An IPv4 octet in decimal, digit by digit: a byte or three are cheaper
/// pushed than formatted and copied.
fn push_octet(out: &mut Vec<u8>, n: u8) {
    if n >= 100 {
        out.push(b'0' + n / 100);
    }
    if n >= 10 {
        out.push(b'0' + n / 10 % 10);
    }
    out.push(b'0' + n % 10);
}

/// A JSON string: copied when nothing in it needs escaping (the usual
/// case), else escaped by `serde_json`.
pub(crate) fn write_json_str(out: &mut Vec<u8>, text: &str) {
    if escape_or_quote(text.as_bytes()).is_none() {
        write_plain_str(out, text);
    } else {
        // Writing a `str` into a `Vec` cannot fail.
        let _ = serde_json::to_writer(&mut *out, text);
    }
}

/// Whether a line holds no `\\` and no control character: one pass over
/// the whole line (a fold without early exit, which the compiler makes a
/// SIMD loop) instead of one a field.
pub fn is_plain_line(line: &[u8]) -> bool {
    !line
        .iter()
        .fold(false, |found, &b| found | (b < 0x20) | (b == b'\\'))
}

fn write_plain_str(out: &mut Vec<u8>, text: &str) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
}

/// The `_bulk` action lines, `{"create":{"_index":…,"_id":…}}\n`, of one
/// index: all but the id written once.
#[derive(Debug, Clone)]
pub struct CreateLine {
    /// `{"create":{"_index":"<index>","_id":`
    head: Vec<u8>,
}

impl CreateLine {
    pub fn new(index: &str) -> Self {
        let mut head = b"{\"create\":{\"_index\":".to_vec();
        write_json_str(&mut head, index);
        head.extend_from_slice(b",\"_id\":");
        CreateLine { head }
    }

    /// Appends the line of the document whose id `write_id` appends as a
    /// JSON string.
    pub fn write(&self, out: &mut Vec<u8>, write_id: impl FnOnce(&mut Vec<u8>)) {
        out.extend_from_slice(&self.head);
        write_id(out);
        out.extend_from_slice(b"}}\n");
    }

    /// Its length without the id.
    pub fn frame_len(&self) -> usize {
        self.head.len() + 3
    }
}

/// An NDJSON `_bulk` body of `create` actions.
///
/// `create` (not `index`) so that a replayed record answers `409` instead of
/// overwriting: with deterministic ids that makes retries idempotent.
#[derive(Debug, Clone, Default)]
pub struct BulkBody {
    ndjson: Vec<u8>,
    actions: usize,
}

#[derive(Serialize)]
struct CreateAction<'a> {
    create: ActionTarget<'a>,
}

#[derive(Serialize)]
struct ActionTarget<'a> {
    #[serde(rename = "_index")]
    index: &'a str,
    #[serde(rename = "_id")]
    id: &'a str,
}

impl BulkBody {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `{"create":{"_index":…,"_id":…}}` and the document.
    pub fn push_create<T: Serialize>(
        &mut self,
        index: &str,
        id: &str,
        document: &T,
    ) -> Result<(), serde_json::Error> {
        let rollback = self.ndjson.len();
        let action = CreateAction {
            create: ActionTarget { index, id },
        };
        let written = serde_json::to_writer(&mut self.ndjson, &action).and_then(|()| {
            self.ndjson.push(b'\n');
            serde_json::to_writer(&mut self.ndjson, document)
        });
        if let Err(e) = written {
            // Leave no half action behind: the body stays valid NDJSON.
            self.ndjson.truncate(rollback);
            return Err(e);
        }
        self.ndjson.push(b'\n');
        self.actions += 1;
        Ok(())
    }

    /// Number of actions.
    pub fn len(&self) -> usize {
        self.actions
    }

    pub fn is_empty(&self) -> bool {
        self.actions == 0
    }

    /// Size of the body in bytes, for sizing requests.
    pub fn byte_len(&self) -> usize {
        self.ndjson.len()
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.ndjson
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.ndjson
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_line;

    const LINE: &str = r#"9.180.123.170 - - [Jan 21 2026, 22:23:40] "DELETE /contact HTTP/1.1" 404 13444 "https://example.com" "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)""#;

    #[test]
    fn document_fields_and_types() {
        let record = parse_line(LINE).unwrap();
        let kafka = KafkaCoordinates {
            topic: "billion_website_logs".into(),
            partition: 2,
            offset: 41,
        };
        let doc = Document {
            record: &record,
            kafka: Some(&kafka),
        };
        let json = serde_json::to_value(&doc).unwrap();
        let record_json = serde_json::to_value(&record).unwrap();
        for (field, value) in record_json.as_object().unwrap() {
            assert_eq!(
                &json[field], value,
                "the document carries the record's {field}"
            );
        }
        assert_eq!(
            json,
            serde_json::json!({
                "ip": "9.180.123.170",
                "timestamp": "2026-01-21T22:23:40",
                "method": "DELETE",
                "endpoint": "/contact",
                "protocol": "HTTP/1.1",
                "status": 404,
                "size": 13444,
                "referrer": "https://example.com",
                "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)",
                "kafka": {"topic": "billion_website_logs", "partition": 2, "offset": 41}
            })
        );
        assert_eq!(kafka.document_id(), "billion_website_logs-2-41");
        for topic in ["billion_website_logs", "odd\"topic\\\u{1}"] {
            let kafka = KafkaCoordinates {
                topic: topic.into(),
                ..kafka.clone()
            };
            let mut json = Vec::new();
            kafka.write_id_json(&mut json);
            assert_eq!(json, serde_json::to_vec(&kafka.document_id()).unwrap());
        }
    }

    #[test]
    fn bulk_body_is_ndjson_of_create_actions() {
        let record = parse_line(LINE).unwrap();
        let doc = Document {
            record: &record,
            kafka: None,
        };
        let mut body = BulkBody::new();
        body.push_create("logs", "t-0-1", &doc).unwrap();
        body.push_create("logs", "t-0-\"2\"", &doc).unwrap();
        assert_eq!(body.len(), 2);
        let text = std::str::from_utf8(body.as_bytes()).unwrap();
        assert!(text.ends_with('\n'));
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[0],
            serde_json::json!({"create": {"_index": "logs", "_id": "t-0-1"}})
        );
        assert_eq!(lines[2]["create"]["_id"], "t-0-\"2\"");
        assert_eq!(lines[1]["status"], 404);
        assert_eq!(body.byte_len(), text.len());
    }

    #[test]
    fn prewritten_documents_make_the_same_body() {
        let record = parse_line(LINE).unwrap();
        let doc = Document {
            record: &record,
            kafka: None,
        };
        let mut json = Vec::new();
        doc.write_json(&mut json);
        let (mut by_serde, mut prewritten) = (BulkBody::new(), Vec::new());
        for (index, id) in [("logs", "t-0-1"), ("lo\\gs", "t-0-\"2\"\n")] {
            by_serde.push_create(index, id, &doc).unwrap();
            CreateLine::new(index).write(&mut prewritten, |out| write_json_str(out, id));
            prewritten.extend_from_slice(&json);
            prewritten.push(b'\n');
        }
        assert_eq!(
            std::str::from_utf8(&prewritten).unwrap(),
            std::str::from_utf8(by_serde.as_bytes()).unwrap()
        );
        assert_eq!(by_serde.len(), 2);
    }
}
