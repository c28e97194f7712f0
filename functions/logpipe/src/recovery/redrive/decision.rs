//! What becomes of one dead letter, decided without Elasticsearch: its
//! line processed again, then the answers to its `create` and to the
//! dead-letter index's `delete` or `update` read.

use serde::Deserialize;

use crate::document::{CreateLine, Document, KafkaCoordinates, write_json_str};
use crate::elastic::{ItemOutcome, classify_item};
use crate::indexer::Stage;
use crate::parse::LogFormat;

/// A dead letter as a search hit holds it.
#[derive(Debug, Clone, Deserialize)]
pub struct Letter {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(rename = "_source")]
    pub source: LetterSource,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LetterSource {
    #[serde(default)]
    pub raw: Option<String>,
    #[serde(default)]
    pub raw_base64: Option<String>,
    pub kafka: LetterKafka,
    #[serde(default)]
    pub redrive_count: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LetterKafka {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// What processing a letter's record again gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// It parses now: its `create` action and document for the main
    /// index, under the letter's own `_id`.
    Index(Vec<u8>),
    /// It fails again.
    StillFails { stage: Stage, reason: String },
    /// The letter itself cannot be processed (no raw bytes, bad base64):
    /// left as it is.
    Unusable(String),
}

/// Processes the letter's raw bytes as the indexer processes a record's
/// value, with today's `log_format`; the document is written exactly as
/// the indexer writes it (`create`, the same fields, `kafka.*`).
pub fn decide(letter: &Letter, documents: &CreateLine, log_format: &LogFormat) -> Decision {
    let bytes = match raw_bytes(&letter.source) {
        Ok(bytes) => bytes,
        Err(reason) => return Decision::Unusable(reason),
    };
    match log_format.parse_bytes(&bytes) {
        Ok(record) => {
            let kafka = &letter.source.kafka;
            let coordinates = KafkaCoordinates {
                topic: kafka.topic.as_str().into(),
                partition: kafka.partition,
                offset: kafka.offset,
            };
            let mut lines = Vec::with_capacity(bytes.len() * 2 + 256);
            documents.write(&mut lines, |out| write_json_str(out, &letter.id));
            Document {
                record: &record,
                kafka: Some(&coordinates),
            }
            .write_json(&mut lines);
            lines.push(b'\n');
            Decision::Index(lines)
        }
        Err(e) => Decision::StillFails {
            stage: Stage::Parse,
            reason: e.to_string(),
        },
    }
}

/// The record's value, lossless: the text, or the base64 of bytes that were not UTF-8.
fn raw_bytes(source: &LetterSource) -> Result<Vec<u8>, String> {
    use base64::Engine;
    match (&source.raw, &source.raw_base64) {
        (Some(text), _) => Ok(text.as_bytes().to_vec()),
        (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| format!("the dead letter's raw_base64 is not base64: {e}")),
        (None, None) => Err("the dead letter holds no raw bytes (raw, raw_base64)".into()),
    }
}

/// Next step for a letter whose document Elasticsearch answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterCreate {
    /// Created, or there already (`409`: an earlier redrive created it and
    /// stopped before the delete): the letter goes.
    DeleteLetter,
    /// Refused (a mapping): it stays a dead letter, of the index stage now.
    StillFails { stage: Stage, reason: String },
    /// Not settled now (overload, no answer): the letter is left as it was.
    Unsettled(String),
}

pub fn after_create(outcome: ItemOutcome) -> AfterCreate {
    match outcome {
        ItemOutcome::Done => AfterCreate::DeleteLetter,
        ItemOutcome::Reject(reason) => AfterCreate::StillFails {
            stage: Stage::Index,
            // As the indexer words it.
            reason: format!("rejected by Elasticsearch: {reason}"),
        },
        ItemOutcome::Retry(reason) => AfterCreate::Unsettled(reason),
    }
}

/// What a bulk item changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    /// Deleting a moved letter.
    Delete,
    /// Updating a letter that still fails.
    Update,
}

/// The retry policy's answer for an item, but a letter already gone
/// (`404` on its `delete` or `update`: another redrive took it) is done.
pub fn classify(
    operation: Operation,
    status: u16,
    error_type: Option<&str>,
    reason: Option<&str>,
) -> ItemOutcome {
    match operation {
        Operation::Delete | Operation::Update if status == 404 => ItemOutcome::Done,
        _ => classify_item(status, error_type, reason),
    }
}

/// `{"delete":…}` of a letter.
pub fn delete_lines(deadletter_index: &str, id: &str) -> Vec<u8> {
    let mut lines = b"{\"delete\":{\"_index\":".to_vec();
    write_json_str(&mut lines, deadletter_index);
    lines.extend_from_slice(b",\"_id\":");
    write_json_str(&mut lines, id);
    lines.extend_from_slice(b"}}\n");
    lines
}

/// `{"update":…}` of a letter that still fails: its new reason and stage,
/// one more redrive counted, when.
pub fn update_lines(
    deadletter_index: &str,
    letter: &Letter,
    stage: Stage,
    reason: &str,
    now: &str,
) -> Vec<u8> {
    let mut lines = b"{\"update\":{\"_index\":".to_vec();
    write_json_str(&mut lines, deadletter_index);
    lines.extend_from_slice(b",\"_id\":");
    write_json_str(&mut lines, &letter.id);
    lines.extend_from_slice(b"}}\n");
    let doc = serde_json::json!({"doc": {
        "reason": reason,
        "stage": stage,
        "redrive_count": letter.source.redrive_count.saturating_add(1),
        "redriven_at": now,
    }});
    // A JSON value serializes.
    let _ = serde_json::to_writer(&mut lines, &doc);
    lines.push(b'\n');
    lines
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    const LINE: &str =
        r#"192.0.2.7 [21/Jan/2026:22:23:40 +0000] "GET /a HTTP/1.1" 200 12 rt=0.004"#;
    const FORMAT: &str =
        r#"$remote_addr [$time_local] "$request" $status $body_bytes_sent rt=$request_time"#;

    fn letter(source: Value) -> Letter {
        serde_json::from_value(json!({"_id": "logs-1-42", "_source": source})).unwrap()
    }

    fn raw(text: &str) -> Letter {
        letter(
            json!({"raw": text, "stage": "parse", "kafka": {"topic": "logs", "partition": 1, "offset": 42}}),
        )
    }

    fn ndjson(lines: &[u8]) -> Vec<Value> {
        lines
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect()
    }

    #[test]
    fn a_line_the_format_now_reads_becomes_its_document_under_its_own_id() {
        let format: LogFormat = FORMAT.parse().unwrap();
        let Decision::Index(lines) = decide(&raw(LINE), &CreateLine::new("logs"), &format) else {
            panic!("not indexed");
        };
        let lines = ndjson(&lines);
        assert_eq!(
            lines[0],
            json!({"create": {"_index": "logs", "_id": "logs-1-42"}})
        );
        assert_eq!(lines[1]["ip"], "192.0.2.7");
        assert_eq!(lines[1]["request_time"], 0.004);
        assert_eq!(
            lines[1]["kafka"],
            json!({"topic": "logs", "partition": 1, "offset": 42})
        );
        // The document is the one the indexer writes for the line.
        let parsed = format.parse_line(LINE).unwrap();
        let kafka = KafkaCoordinates {
            topic: "logs".into(),
            partition: 1,
            offset: 42,
        };
        let expected = serde_json::to_value(Document {
            record: &parsed,
            kafka: Some(&kafka),
        })
        .unwrap();
        assert_eq!(lines[1], expected);
    }

    #[test]
    fn a_line_still_unknown_stays_with_todays_reason() {
        match decide(&raw(LINE), &CreateLine::new("logs"), &LogFormat::Auto) {
            Decision::StillFails {
                stage: Stage::Parse,
                reason,
            } => {
                assert!(reason.contains("original"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bytes_that_were_not_utf8_come_back_from_base64() {
        use base64::Engine;
        let mut bytes = LINE.as_bytes().to_vec();
        bytes.extend_from_slice(b" \xff");
        let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let encoded = letter_without_raw(json!(encoded));
        // Read as bytes, the same as the indexer would read the record.
        let format: LogFormat = FORMAT.parse().unwrap();
        let expected = match format.parse_bytes(&bytes) {
            Ok(_) => "index",
            Err(_) => "fails",
        };
        let got = match decide(&encoded, &CreateLine::new("logs"), &format) {
            Decision::Index(_) => "index",
            Decision::StillFails { .. } => "fails",
            Decision::Unusable(r) => panic!("{r}"),
        };
        assert_eq!(got, expected);
        let broken = letter_without_raw(json!("%%%"));
        assert!(
            matches!(decide(&broken, &CreateLine::new("l"), &format), Decision::Unusable(r) if r.contains("not base64"))
        );
        let empty = letter(json!({"kafka": {"topic": "t", "partition": 0, "offset": 1}}));
        assert!(
            matches!(decide(&empty, &CreateLine::new("l"), &format), Decision::Unusable(r) if r.contains("no raw bytes"))
        );
    }

    fn letter_without_raw(raw_base64: Value) -> Letter {
        letter(
            json!({"raw_base64": raw_base64, "kafka": {"topic": "t", "partition": 0, "offset": 1}}),
        )
    }

    #[test]
    fn a_conflict_on_create_means_an_earlier_run_created_it() {
        let conflict = classify(
            Operation::Create,
            409,
            Some("version_conflict_engine_exception"),
            None,
        );
        assert_eq!(after_create(conflict), AfterCreate::DeleteLetter);
        assert_eq!(
            after_create(classify(Operation::Create, 201, None, None)),
            AfterCreate::DeleteLetter
        );
        let refused = classify(
            Operation::Create,
            400,
            Some("document_parsing_exception"),
            Some("bad ip"),
        );
        assert_eq!(
            after_create(refused),
            AfterCreate::StillFails {
                stage: Stage::Index,
                reason: "rejected by Elasticsearch: 400 document_parsing_exception: bad ip".into()
            }
        );
        assert!(matches!(
            after_create(classify(Operation::Create, 429, None, None)),
            AfterCreate::Unsettled(_)
        ));
    }

    #[test]
    fn a_letter_already_gone_is_done_but_a_missing_index_target_is_not() {
        assert_eq!(
            classify(Operation::Delete, 404, None, None),
            ItemOutcome::Done
        );
        assert_eq!(
            classify(
                Operation::Update,
                404,
                Some("document_missing_exception"),
                None
            ),
            ItemOutcome::Done
        );
        assert!(matches!(
            classify(Operation::Create, 404, None, None),
            ItemOutcome::Reject(_)
        ));
        assert!(matches!(
            classify(Operation::Delete, 503, None, None),
            ItemOutcome::Retry(_)
        ));
    }

    #[test]
    fn an_update_counts_one_more_redrive() {
        let mut letter = raw(LINE);
        letter.source.redrive_count = 2;
        let lines = ndjson(&update_lines(
            "dl",
            &letter,
            Stage::Parse,
            "still \"bad\"",
            "2026-12-06T00:00:00.000Z",
        ));
        assert_eq!(
            lines[0],
            json!({"update": {"_index": "dl", "_id": "logs-1-42"}})
        );
        assert_eq!(
            lines[1],
            json!({"doc": {"reason": "still \"bad\"", "stage": "parse", "redrive_count": 3, "redriven_at": "2026-12-06T00:00:00.000Z"}})
        );
        assert_eq!(
            ndjson(&delete_lines("dl", "a\"b")),
            [json!({"delete": {"_index": "dl", "_id": "a\"b"}})]
        );
    }
}
