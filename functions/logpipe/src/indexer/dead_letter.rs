//! Dead letters: what could not be indexed, with its raw bytes and why.

use serde::Serialize;

use crate::document::KafkaCoordinates;

/// Where in the pipeline a record was given up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The event's record could not be decoded.
    Decode,
    /// The line is not an access log.
    Parse,
    /// Elasticsearch refused the document.
    Index,
}

/// The dead-letter document. The raw bytes are kept losslessly: as text when
/// they are UTF-8, else base64.
#[derive(Debug, Serialize)]
pub struct DeadLetter<'a> {
    pub reason: &'a str,
    pub stage: Stage,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_base64: Option<String>,
    pub failed_at: String,
    pub kafka: &'a KafkaCoordinates<'a>,
}

impl<'a> DeadLetter<'a> {
    pub fn of_bytes(
        bytes: &'a [u8],
        reason: &'a str,
        stage: Stage,
        kafka: &'a KafkaCoordinates<'a>,
    ) -> Self {
        use base64::Engine;
        let (raw, raw_base64) = match std::str::from_utf8(bytes) {
            Ok(text) => (Some(text), None),
            Err(_) => (
                None,
                Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
            ),
        };
        DeadLetter {
            reason,
            stage,
            raw,
            raw_base64,
            failed_at: now(),
            kafka,
        }
    }

    pub fn of_text(
        raw: Option<&'a str>,
        reason: &'a str,
        stage: Stage,
        kafka: &'a KafkaCoordinates<'a>,
    ) -> Self {
        DeadLetter {
            reason,
            stage,
            raw,
            raw_base64: None,
            failed_at: now(),
            kafka,
        }
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_bytes_are_lossless() {
        let kafka = KafkaCoordinates {
            topic: "t".into(),
            partition: 1,
            offset: 2,
        };
        let v = serde_json::to_value(DeadLetter::of_bytes(
            b"\xff\x00ok",
            "bad",
            Stage::Parse,
            &kafka,
        ))
        .unwrap();
        assert_eq!(v["raw_base64"], "/wBvaw==");
        assert!(v.get("raw").is_none());
        assert_eq!(v["stage"], "parse");
        assert_eq!(v["kafka"]["offset"], 2);
        let v = serde_json::to_value(DeadLetter::of_bytes(b"text", "bad", Stage::Parse, &kafka))
            .unwrap();
        assert_eq!(v["raw"], "text");
        assert!(v["failed_at"].as_str().unwrap().ends_with('Z'));
    }
}
