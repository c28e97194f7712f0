//! Redrive: dead letters processed again with today's settings (log
//! format, template) after a fix, so that what can now be indexed leaves
//! the dead-letter index for the main one.
//!
//! Each letter that now parses is `create`d in the main index under its
//! original `_id`, and only once that is answered is the letter deleted;
//! one that still fails stays, with today's reason and one more
//! `redrive_count`. So a redrive killed anywhere loses nothing, and the
//! next one finishes its work without a duplicate: a `409` on the `create`
//! says an earlier run created the document, and the letter goes.
//! Letters are read in pages with `search_after` (see [`query`]), bounded
//! by count and time.

mod decision;
mod query;
mod send;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use elasticsearch::http::Method;
use elasticsearch::http::headers::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use thiserror::Error;

pub use decision::{
    AfterCreate, Decision, Letter, Operation, after_create, classify, decide, delete_lines,
    update_lines,
};
pub use query::Query;
use send::{Sent, send_all, time_left};

use crate::document::CreateLine;
use crate::elastic::{RequestOutcome, SearchClient, classify_request};
use crate::indexer::{Indexer, Stage};
use crate::metrics::print_emf;

/// Distinct reasons a report lists; the rest are counted together.
const MAX_REASONS: usize = 20;
const OTHER_REASONS: &str = "(other reasons)";
/// Ids a dry run lists of the letters it would move.
const SAMPLE_IDS: usize = 20;

/// `{"redrive": {"stage": "parse", "reason": "…", "since": "2026-01-01T00:00:00Z",
/// "max_records": N}}`; every field is optional.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedriveRequest {
    /// `parse` or `index` (default: both).
    pub stage: Option<String>,
    /// A phrase the letters' reason contains.
    pub reason: Option<String>,
    /// Dead-lettered at or after this time (RFC 3339, or a date).
    pub since: Option<String>,
    /// Stop after this many letters (default 100,000).
    pub max_records: u64,
    /// Start no page after this many seconds (default 60); bounded by the
    /// invocation's own deadline too.
    pub max_seconds: f64,
    /// Letters read per search (default 500).
    pub page_size: usize,
    /// Change nothing; report what would move.
    pub dry_run: bool,
}

impl Default for RedriveRequest {
    fn default() -> Self {
        RedriveRequest {
            stage: None,
            reason: None,
            since: None,
            max_records: 100_000,
            max_seconds: 60.0,
            page_size: 500,
            dry_run: false,
        }
    }
}

/// A request that cannot be run, saying which field is wrong and how.
#[derive(Debug, Error, PartialEq)]
pub enum RedriveRequestError {
    #[error(
        "invalid redrive request: field `redrive.stage`: {0:?} is not a stage: expected parse or index"
    )]
    UnknownStage(String),
    #[error(
        "invalid redrive request: field `redrive.stage`: decode dead letters cannot be redriven: they hold what the event carried instead of a record's value (not base64, no value, a malformed record), which no setting turns into a line"
    )]
    DecodeStage,
    #[error(
        "invalid redrive request: field `redrive.reason`: empty; leave it out to take every reason"
    )]
    EmptyReason,
    #[error(
        "invalid redrive request: field `redrive.since`: {found:?} is not a time ({reason}): expected RFC 3339 like 2026-01-01T00:00:00Z, or a date like 2026-01-01"
    )]
    Since { found: String, reason: String },
    #[error("invalid redrive request: {0}")]
    Field(String),
}

/// A request checked: what the redrive runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub query: Query,
    pub max_records: u64,
    pub max_seconds: f64,
    pub page_size: usize,
    pub dry_run: bool,
}

impl RedriveRequest {
    /// Reads the object under `redrive`; errors name the field.
    pub fn from_json(json: &str) -> Result<Plan, RedriveRequestError> {
        let request: Self = crate::request::read_object(
            json,
            "redrive",
            r#"{"stage": "parse", "max_records": 10000}"#,
        )
        .map_err(RedriveRequestError::Field)?;
        request.validate()
    }

    /// Checks the query and the limits.
    pub fn validate(self) -> Result<Plan, RedriveRequestError> {
        if !(self.max_seconds > 0.0 && self.max_seconds <= 900.0) {
            return Err(RedriveRequestError::Field(
                "field `redrive.max_seconds`: must be a number of seconds above 0 and at most 900"
                    .into(),
            ));
        }
        if self.max_records == 0 {
            return Err(RedriveRequestError::Field(
                "field `redrive.max_records`: must be at least 1".into(),
            ));
        }
        if !(1..=10_000).contains(&self.page_size) {
            return Err(RedriveRequestError::Field(
                "field `redrive.page_size`: must be 1 to 10000 (a search's largest page)".into(),
            ));
        }
        Ok(Plan {
            query: Query::new(
                self.stage.as_deref(),
                self.reason.as_deref(),
                self.since.as_deref(),
            )?,
            max_records: self.max_records,
            max_seconds: self.max_seconds,
            page_size: self.page_size,
            dry_run: self.dry_run,
        })
    }
}

/// Why a redrive ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stopped {
    /// No letter left that matches.
    CaughtUp,
    /// `max_records` reached, and letters that match remain.
    MaxRecords,
    /// `max_seconds` or the invocation's deadline reached.
    Time,
    /// A page had letters that could not be settled (Elasticsearch trouble).
    Failures,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedriveReport {
    pub dry_run: bool,
    /// Dead letters read: moved + still_failing + skipped + failed.
    pub records: u64,
    /// Created in the main index (or found there) and deleted from the
    /// dead letters; in a dry run, the letters that parse now.
    pub moved: u64,
    /// Processed again and failed again: kept, reason and count updated
    /// (a dry run updates nothing).
    pub still_failing: u64,
    /// Letters that cannot be processed (no raw bytes): left as they are.
    pub skipped: u64,
    /// Not settled (Elasticsearch unavailable or out of time): left as
    /// they were, for the next run.
    pub failed: u64,
    pub pages: u64,
    pub stopped: Stopped,
    pub elapsed_ms: u64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub still_failing_reasons: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub skipped_reasons: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub failure_reasons: BTreeMap<String, u64>,
    /// A dry run's first letters that would move.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_move_ids: Vec<String>,
}

impl RedriveReport {
    fn new(dry_run: bool) -> Self {
        RedriveReport {
            dry_run,
            records: 0,
            moved: 0,
            still_failing: 0,
            skipped: 0,
            failed: 0,
            pages: 0,
            stopped: Stopped::CaughtUp,
            elapsed_ms: 0,
            still_failing_reasons: BTreeMap::new(),
            skipped_reasons: BTreeMap::new(),
            failure_reasons: BTreeMap::new(),
            would_move_ids: Vec::new(),
        }
    }

    /// Matching letters remain in the dead-letter index after a real run.
    pub fn incomplete(&self) -> bool {
        !self.dry_run
            && (self.still_failing + self.skipped + self.failed > 0
                || self.stopped != Stopped::CaughtUp)
    }

    fn still_fails(&mut self, reason: &str) {
        self.still_failing += 1;
        count_reason(&mut self.still_failing_reasons, reason);
    }

    fn skip(&mut self, reason: &str) {
        self.skipped += 1;
        count_reason(&mut self.skipped_reasons, reason);
    }

    fn fail(&mut self, reason: &str) {
        self.failed += 1;
        count_reason(&mut self.failure_reasons, reason);
    }
}

fn count_reason(reasons: &mut BTreeMap<String, u64>, reason: &str) {
    let key = if reasons.contains_key(reason) || reasons.len() < MAX_REASONS {
        reason
    } else {
        OTHER_REASONS
    };
    *reasons.entry(key.to_owned()).or_default() += 1;
}

/// Matching letters remain after a redrive: the invocation fails, so that
/// the operator (or the DAG run) sees it; running it again is safe.
#[derive(Debug)]
pub struct Incomplete(pub RedriveReport);

impl std::error::Error for Incomplete {}

impl std::fmt::Display for Incomplete {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.0;
        write!(f, "dead letters remain: {} of {} moved", r.moved, r.records)?;
        if r.still_failing > 0 {
            let reasons = describe(&r.still_failing_reasons);
            write!(f, "; {} still fail ({reasons})", r.still_failing)?;
        }
        if r.skipped > 0 {
            let reasons = describe(&r.skipped_reasons);
            write!(f, "; {} cannot be processed ({reasons})", r.skipped)?;
        }
        if r.failed > 0 {
            let reasons = describe(&r.failure_reasons);
            write!(
                f,
                "; {} not settled, left for the next run ({reasons})",
                r.failed
            )?;
        }
        f.write_str(match r.stopped {
            Stopped::CaughtUp => "",
            Stopped::MaxRecords => "; stopped at max_records with more letters matching",
            Stopped::Time => "; stopped at max_seconds (or the deadline) before the last letter",
            Stopped::Failures => "; stopped after the first page with letters not settled",
        })
    }
}

fn describe(reasons: &BTreeMap<String, u64>) -> String {
    let parts: Vec<String> = reasons.iter().map(|(r, n)| format!("{r} (×{n})")).collect();
    parts.join("; ")
}

/// A redrive that could not go on: the dead letters could not be read, or
/// their index not prepared for the update of those that still fail.
#[derive(Debug, Error)]
pub enum RedriveError {
    #[error(
        "searching dead-letter index `{index}` failed ({detail}); {moved} letters moved before that"
    )]
    Search {
        index: String,
        detail: String,
        moved: u64,
    },
    #[error("adding redrive_count and redriven_at to the mapping of `{index}` failed: {detail}")]
    Mapping { index: String, detail: String },
}

/// Redrives the letters `plan` selects from the indexer's dead-letter
/// index into its main index, with its log format, until the plan's limits
/// or `deadline`. `progress` sees the running report after each page.
pub async fn redrive(
    indexer: &Indexer,
    plan: &Plan,
    deadline: Instant,
    progress: &mut dyn FnMut(&RedriveReport),
) -> Result<RedriveReport, RedriveError> {
    let started = Instant::now();
    let stop_paging = deadline.min(started + Duration::from_secs_f64(plan.max_seconds));
    let client = indexer.client();
    let settings = indexer.settings();
    let mut run = Run {
        indexer,
        deadline,
        search_path: format!(
            "/{}/_search?ignore_unavailable=true",
            settings.deadletter_index
        ),
        documents: CreateLine::new(&settings.index),
        mapping_ready: false,
    };
    let mut report = RedriveReport::new(plan.dry_run);
    // Letters written or deleted a moment ago are then seen as they are
    // (OpenSearch Serverless has no `_refresh`: it refreshes on its own).
    if settings.refreshes() {
        refresh(client, &settings.deadletter_index).await;
    }

    let mut after: Option<Value> = None;
    report.stopped = loop {
        if report.records >= plan.max_records {
            let more = run.page(plan, 1, after.as_ref(), &report).await?;
            break if more.is_empty() {
                Stopped::CaughtUp
            } else {
                Stopped::MaxRecords
            };
        }
        if Instant::now() >= stop_paging {
            break Stopped::Time;
        }
        let size = (plan.max_records - report.records).min(plan.page_size as u64) as usize;
        let page = run.page(plan, size, after.as_ref(), &report).await?;
        let Some(last) = page.last() else {
            break Stopped::CaughtUp;
        };
        after = last.get("sort").cloned();
        let unsettled_before = report.failed;
        run.settle(plan, &page, &mut report).await?;
        report.pages += 1;
        progress(&report);
        if report.failed > unsettled_before {
            break Stopped::Failures;
        }
        if page.len() < size {
            break Stopped::CaughtUp;
        }
    };
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

struct Run<'a> {
    indexer: &'a Indexer,
    deadline: Instant,
    search_path: String,
    documents: CreateLine,
    mapping_ready: bool,
}

impl Run<'_> {
    /// The hits of the next page of at most `size` letters after `after`.
    async fn page(
        &self,
        plan: &Plan,
        size: usize,
        after: Option<&Value>,
        report: &RedriveReport,
    ) -> Result<Vec<Value>, RedriveError> {
        let settings = self.indexer.settings();
        let failed = |detail: String| RedriveError::Search {
            index: settings.deadletter_index.clone(),
            detail,
            moved: report.moved,
        };
        let body = plan.query.search_body(size, after);
        let mut backoff = crate::elastic::Backoff::default();
        loop {
            let timeout = time_left(self.deadline, settings.request_timeout)
                .ok_or_else(|| failed("out of time".into()))?;
            let (status, detail) = match self.search(&body, timeout).await {
                Ok(hits) => return Ok(hits),
                Err(e) => e,
            };
            match classify_request(status, &detail) {
                RequestOutcome::Retry(reason) => {
                    let wait = backoff.next_wait();
                    if Instant::now() + wait + Duration::from_secs(1) >= self.deadline {
                        return Err(failed(reason));
                    }
                    tokio::time::sleep(wait).await;
                }
                RequestOutcome::Split(reason) | RequestOutcome::Fail(reason) => {
                    return Err(failed(reason));
                }
            }
        }
    }

    /// One `_search`; a dead-letter index that does not exist has no letters.
    async fn search(
        &self,
        body: &Value,
        timeout: Duration,
    ) -> Result<Vec<Value>, (Option<u16>, String)> {
        let body = serde_json::to_vec(body).map_err(|e| (None, e.to_string()))?;
        let response = self
            .indexer
            .client()
            .send(
                Method::Post,
                &self.search_path,
                HeaderMap::new(),
                Some(Bytes::from(body)),
                Some(timeout),
            )
            .await
            .map_err(|e| (None, e.to_string()))?;
        let status = response.status_code().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| (None, format!("reading the answer: {e}")))?;
        // OpenSearch Service ignores the query string of a signed POST, our
        // `ignore_unavailable` with it: a missing index is then a 404.
        if status == 404 && text.contains("index_not_found_exception") {
            return Ok(Vec::new());
        }
        if status != 200 {
            return Err((Some(status), text.chars().take(500).collect()));
        }
        let mut answer: Value = serde_json::from_str(&text)
            .map_err(|e| (None, format!("unreadable search answer: {e}")))?;
        match answer["hits"]["hits"].take() {
            Value::Array(hits) => Ok(hits),
            _ => Err((None, "the search answer has no hits.hits".into())),
        }
    }

    /// Processes a page of letters: creates, then deletes and updates.
    async fn settle(
        &mut self,
        plan: &Plan,
        hits: &[Value],
        report: &mut RedriveReport,
    ) -> Result<(), RedriveError> {
        let settings = self.indexer.settings();
        let dl = &settings.deadletter_index;
        report.records += hits.len() as u64;
        let mut moves: Vec<(Letter, Vec<u8>)> = Vec::new();
        let mut still: Vec<(Letter, Stage, String)> = Vec::new();
        for hit in hits {
            let letter: Letter = match serde_json::from_value(hit.clone()) {
                Ok(letter) => letter,
                Err(e) => {
                    report.skip(&format!("unreadable dead letter: {e}"));
                    continue;
                }
            };
            match decide(&letter, &self.documents, self.indexer.log_format()) {
                Decision::Index(lines) => moves.push((letter, lines)),
                Decision::StillFails { stage, reason } => still.push((letter, stage, reason)),
                Decision::Unusable(reason) => report.skip(&reason),
            }
        }
        if plan.dry_run {
            report.moved += moves.len() as u64;
            for (letter, _) in moves
                .iter()
                .take(SAMPLE_IDS - report.would_move_ids.len().min(SAMPLE_IDS))
            {
                report.would_move_ids.push(letter.id.clone());
            }
            for (_, _, reason) in &still {
                report.still_fails(reason);
            }
            return Ok(());
        }

        let client = self.indexer.client();
        let (moving, creates): (Vec<Letter>, Vec<Vec<u8>>) = moves.into_iter().unzip();
        let create_path = format!("/{}/_bulk", settings.index);
        let created = send_all(
            client,
            settings,
            &create_path,
            Operation::Create,
            &creates,
            self.deadline,
        )
        .await;
        let mut deletes: Vec<&Letter> = Vec::new();
        for (letter, sent) in moving.iter().zip(created) {
            let outcome = match sent {
                Sent::Done => crate::elastic::ItemOutcome::Done,
                Sent::Rejected(reason) => crate::elastic::ItemOutcome::Reject(reason),
                Sent::Unsettled(reason) => crate::elastic::ItemOutcome::Retry(reason),
            };
            match after_create(outcome) {
                AfterCreate::DeleteLetter => deletes.push(letter),
                AfterCreate::StillFails { stage, reason } => {
                    still.push((letter.clone(), stage, reason))
                }
                AfterCreate::Unsettled(reason) => {
                    report.fail(&format!("not created in `{}`: {reason}", settings.index))
                }
            }
        }
        if !still.is_empty() && !self.mapping_ready {
            add_redrive_fields(client, dl, self.deadline, settings.request_timeout).await?;
            self.mapping_ready = true;
        }

        // Deletes and updates in one go: neither depends on the other.
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let dl_path = format!("/{dl}/_bulk");
        let delete_items: Vec<Vec<u8>> = deletes.iter().map(|l| delete_lines(dl, &l.id)).collect();
        let update_items: Vec<Vec<u8>> = still
            .iter()
            .map(|(letter, stage, reason)| update_lines(dl, letter, *stage, reason, &now))
            .collect();
        let deleted = send_all(
            client,
            settings,
            &dl_path,
            Operation::Delete,
            &delete_items,
            self.deadline,
        );
        let deleted = deleted.await;
        for sent in deleted {
            match sent {
                Sent::Done => report.moved += 1,
                Sent::Rejected(reason) | Sent::Unsettled(reason) => report.fail(&format!(
                    "created, but its dead letter not deleted (the next run deletes it): {reason}"
                )),
            }
        }
        let updated = send_all(
            client,
            settings,
            &dl_path,
            Operation::Update,
            &update_items,
            self.deadline,
        )
        .await;
        for ((_, _, reason), sent) in still.iter().zip(updated) {
            match sent {
                Sent::Done => report.still_fails(reason),
                Sent::Rejected(e) | Sent::Unsettled(e) => report.fail(&format!(
                    "still fails, but its dead letter not updated: {e}"
                )),
            }
        }
        Ok(())
    }
}

/// Adds the fields a redrive writes to the dead-letter index's mapping
/// (strict): an index made from an older template lacks them. Adding
/// fields to a mapping is allowed and idempotent.
async fn add_redrive_fields(
    client: &SearchClient,
    index: &str,
    deadline: Instant,
    request_timeout: Duration,
) -> Result<(), RedriveError> {
    let failed = |detail: String| RedriveError::Mapping {
        index: index.to_owned(),
        detail,
    };
    let timeout =
        time_left(deadline, request_timeout).ok_or_else(|| failed("out of time".into()))?;
    let body = json!({"properties": {
        "redrive_count": {"type": "integer"},
        "redriven_at": {"type": "date"},
    }});
    let body = serde_json::to_vec(&body).map_err(|e| failed(e.to_string()))?;
    let response = client
        .send(
            Method::Put,
            &format!("/{index}/_mapping"),
            HeaderMap::new(),
            Some(Bytes::from(body)),
            Some(timeout),
        )
        .await
        .map_err(|e| failed(e.to_string()))?;
    let status = response.status_code();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        return Err(failed(format!(
            "answered {status}: {}",
            text.chars().take(500).collect::<String>()
        )));
    }
    Ok(())
}

/// Makes recent writes to `index` searchable. Only for an exact report:
/// the paging is correct without it, so a failure is logged, not fatal.
async fn refresh(client: &SearchClient, index: &str) {
    let answer = client
        .send(
            Method::Post,
            &format!("/{index}/_refresh?ignore_unavailable=true"),
            HeaderMap::new(),
            None,
            None,
        )
        .await;
    match answer {
        Ok(response) if response.status_code().is_success() => {}
        Ok(response) => tracing::warn!(index, status = %response.status_code(), "refresh refused"),
        Err(e) => tracing::warn!(index, error = %e, "refresh failed"),
    }
}

/// A JSON log line and CloudWatch metrics for a redrive.
pub fn log_report(report: &RedriveReport) {
    tracing::info!(
        dry_run = report.dry_run,
        records = report.records,
        moved = report.moved,
        still_failing = report.still_failing,
        skipped = report.skipped,
        failed = report.failed,
        pages = report.pages,
        stopped = ?report.stopped,
        elapsed_ms = report.elapsed_ms,
        "redrove dead letters"
    );
    if report.dry_run {
        return;
    }
    print_emf(
        &[("Function", "indexer-redrive")],
        &[
            ("Records", report.records as f64, "Count"),
            ("Moved", report.moved as f64, "Count"),
            ("StillFailing", report.still_failing as f64, "Count"),
            ("Failed", report.failed as f64, "Count"),
            ("ElapsedMs", report.elapsed_ms as f64, "Milliseconds"),
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_requests_and_names_bad_fields() {
        let plan = RedriveRequest::from_json("{}").unwrap();
        assert_eq!(plan.query, Query::new(None, None, None).unwrap());
        assert_eq!(
            (plan.max_records, plan.page_size, plan.dry_run),
            (100_000, 500, false)
        );
        let plan = RedriveRequest::from_json(
            r#"{"stage": "index", "reason": "mapper", "since": "2026-01-01T00:00:00Z", "max_records": 7, "dry_run": true}"#,
        )
        .unwrap();
        assert_eq!(
            (plan.query.stage, plan.max_records, plan.dry_run),
            (Some(Stage::Index), 7, true)
        );
        for (json, message) in [
            (
                r#"{"max_records": -1}"#,
                "field `redrive.max_records`: invalid value",
            ),
            (
                r#"{"max_records": 0}"#,
                "field `redrive.max_records`: must be at least 1",
            ),
            (r#"{"stages": "parse"}"#, "unknown field `stages`"),
            (r#"{"max_seconds": 0}"#, "field `redrive.max_seconds`"),
            (r#"{"page_size": 20000}"#, "field `redrive.page_size`"),
            (
                r#"{"stage": "bogus"}"#,
                "field `redrive.stage`: \"bogus\" is not a stage",
            ),
            (r#"{"since": "last week"}"#, "field `redrive.since`"),
            ("[1]", "`redrive` must be an object"),
        ] {
            let e = RedriveRequest::from_json(json).unwrap_err().to_string();
            assert!(e.starts_with("invalid redrive request: "), "{e}");
            assert!(e.contains(message), "{json}: {e}");
        }
    }

    #[test]
    fn a_run_is_incomplete_while_matching_letters_remain() {
        let mut report = RedriveReport::new(false);
        assert!(!report.incomplete());
        report.stopped = Stopped::MaxRecords;
        assert!(report.incomplete());
        let e = Incomplete(report.clone()).to_string();
        assert!(
            e.ends_with("stopped at max_records with more letters matching"),
            "{e}"
        );
        report.stopped = Stopped::CaughtUp;
        report.still_fails("matches no format");
        assert!(report.incomplete());
        let e = Incomplete(report.clone()).to_string();
        assert_eq!(
            e,
            "dead letters remain: 0 of 0 moved; 1 still fail (matches no format (×1))"
        );
        report.dry_run = true;
        assert!(
            !report.incomplete(),
            "a dry run changes nothing and fails nothing"
        );
    }

    #[test]
    fn reasons_are_counted_up_to_a_limit() {
        let mut report = RedriveReport::new(false);
        for i in 0..(MAX_REASONS + 5) {
            report.still_fails(&format!("reason {i}"));
        }
        report.still_fails("reason 0");
        assert_eq!(report.still_failing_reasons.len(), MAX_REASONS + 1);
        assert_eq!(report.still_failing_reasons[OTHER_REASONS], 5);
        assert_eq!(report.still_failing_reasons["reason 0"], 2);
    }
}
