//! Elasticsearch documents and `_bulk` request bodies.

use std::borrow::Cow;

use serde::Serialize;

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

    /// Appends a `create` of a document already serialized as JSON.
    pub fn push_create_json(&mut self, index: &str, id: &str, document_json: &[u8]) {
        let action = CreateAction {
            create: ActionTarget { index, id },
        };
        // Two `&str`s into a Vec: serialization cannot fail.
        let _ = serde_json::to_writer(&mut self.ndjson, &action);
        self.ndjson.push(b'\n');
        self.ndjson.extend_from_slice(document_json);
        self.ndjson.push(b'\n');
        self.actions += 1;
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
}
