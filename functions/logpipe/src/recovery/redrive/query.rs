//! Which dead letters a redrive takes, and the pages it reads them in: an
//! Elasticsearch query and `search_after` over a sort that is unique per
//! letter, so that no page repeats or skips one however deep the paging
//! goes (`from`/`size` stops at 10,000) and whatever the redrive deletes
//! behind it.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::RedriveRequestError;
use crate::indexer::Stage;

/// Which dead letters to take; every part optional.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// `parse` or `index`; both when unset.
    pub stage: Option<Stage>,
    /// A phrase the reason must contain (a `match_phrase` on the text field).
    pub reason: Option<String>,
    /// Dead-lettered at or after this time.
    pub since: Option<DateTime<Utc>>,
}

/// What the redrive reads of a letter.
const SOURCE: [&str; 5] = ["raw", "raw_base64", "stage", "kafka", "redrive_count"];

impl Query {
    /// Reads the request's fields; errors name the field.
    pub fn new(
        stage: Option<&str>,
        reason: Option<&str>,
        since: Option<&str>,
    ) -> Result<Self, RedriveRequestError> {
        Ok(Query {
            stage: stage.map(parse_stage).transpose()?,
            reason: match reason {
                Some(r) if r.trim().is_empty() => return Err(RedriveRequestError::EmptyReason),
                r => r.map(str::to_owned),
            },
            since: since.map(parse_since).transpose()?,
        })
    }

    /// The `_search` body of the page of at most `size` letters after the
    /// letter whose sort values are `after` (the first page when `None`).
    pub fn search_body(&self, size: usize, after: Option<&Value>) -> Value {
        let mut filter = Vec::new();
        match self.stage {
            Some(stage) => filter.push(json!({"term": {"stage": stage}})),
            None => filter.push(json!({"terms": {"stage": [Stage::Parse, Stage::Index]}})),
        }
        if let Some(reason) = &self.reason {
            filter.push(json!({"match_phrase": {"reason": reason}}));
        }
        if let Some(since) = self.since {
            let since = since.to_rfc3339_opts(SecondsFormat::Millis, true);
            filter.push(json!({"range": {"failed_at": {"gte": since}}}));
        }
        // A letter's Kafka coordinates make its `_id` (`{topic}-{partition}-{offset}`),
        // so they order letters uniquely (decode letters, whose offset may be
        // unknown, are never taken). Sorting on `_id` itself needs fielddata
        // that Elasticsearch 8 turns off by default.
        let mut body = json!({
            "size": size,
            "query": {"bool": {"filter": filter}},
            "sort": [{"kafka.topic": "asc"}, {"kafka.partition": "asc"}, {"kafka.offset": "asc"}],
            "_source": SOURCE,
            "track_total_hits": false,
        });
        if let Some(after) = after {
            body["search_after"] = after.clone();
        }
        body
    }
}

/// A stage whose letters hold a record's value. A `decode` letter holds
/// what the event carried instead (a value that is not base64, none at
/// all, a malformed record), which no setting turns into a line.
fn parse_stage(stage: &str) -> Result<Stage, RedriveRequestError> {
    match stage.trim() {
        "parse" => Ok(Stage::Parse),
        "index" => Ok(Stage::Index),
        "decode" => Err(RedriveRequestError::DecodeStage),
        _ => Err(RedriveRequestError::UnknownStage(stage.to_owned())),
    }
}

/// RFC 3339 with an offset (`2026-01-01T00:00:00Z`), or a date alone, its midnight UTC.
fn parse_since(since: &str) -> Result<DateTime<Utc>, RedriveRequestError> {
    let trimmed = since.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(trimmed) {
        return Ok(time.with_timezone(&Utc));
    }
    match chrono::NaiveDate::parse_from_str(trimmed, "%Y-%m-%d") {
        Ok(date) => Ok(date.and_time(chrono::NaiveTime::MIN).and_utc()),
        Err(_) => Err(RedriveRequestError::Since {
            found: since.to_owned(),
            reason: DateTime::parse_from_rfc3339(trimmed)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_of_the_query_is_a_filter() {
        let query = Query::new(
            Some("parse"),
            Some("matches no format"),
            Some("2026-01-01T01:00:00+01:00"),
        )
        .unwrap();
        let body = query.search_body(500, None);
        assert_eq!(body["size"], 500);
        assert_eq!(
            body["query"]["bool"]["filter"],
            json!([
                {"term": {"stage": "parse"}},
                {"match_phrase": {"reason": "matches no format"}},
                {"range": {"failed_at": {"gte": "2026-01-01T00:00:00.000Z"}}},
            ])
        );
        assert!(body.get("search_after").is_none(), "the first page");
        assert!(body.get("from").is_none(), "never from/size paging");
        let sort =
            json!([{"kafka.topic": "asc"}, {"kafka.partition": "asc"}, {"kafka.offset": "asc"}]);
        assert_eq!(body["sort"], sort);
    }

    #[test]
    fn a_page_starts_after_the_last_letter_of_the_one_before() {
        let after = json!(["logs", 2, 77]);
        let body = Query::new(None, None, None)
            .unwrap()
            .search_body(10, Some(&after));
        assert_eq!(body["search_after"], after);
        // No stage given: the stages a redrive can do anything for.
        assert_eq!(
            body["query"]["bool"]["filter"],
            json!([{"terms": {"stage": ["parse", "index"]}}])
        );
    }

    #[test]
    fn since_takes_a_time_or_a_date() {
        let day = |s| Query::new(None, None, Some(s)).unwrap().since.unwrap();
        assert_eq!(day("2026-03-04").to_rfc3339(), "2026-03-04T00:00:00+00:00");
        assert_eq!(
            day("2026-03-04T05:06:07.5-02:00").to_rfc3339(),
            "2026-03-04T07:06:07.500+00:00"
        );
    }

    #[test]
    fn bad_queries_are_named() {
        for (stage, reason, since, expected) in [
            (
                Some("parsing"),
                None,
                None,
                "field `redrive.stage`: \"parsing\" is not a stage",
            ),
            (
                Some("decode"),
                None,
                None,
                "decode dead letters cannot be redriven",
            ),
            (None, Some("  "), None, "field `redrive.reason`: empty"),
            (
                None,
                None,
                Some("yesterday"),
                "field `redrive.since`: \"yesterday\" is not a time",
            ),
            (None, None, Some("2026-13-01"), "expected RFC 3339"),
        ] {
            let e = Query::new(stage, reason, since).unwrap_err().to_string();
            assert!(e.starts_with("invalid redrive request: "), "{e}");
            assert!(e.contains(expected), "{e}");
        }
    }
}
