//! The retry policy: a function of Elasticsearch's answer (DESIGN.md §3),
//! and the backoff between attempts.

use std::time::Duration;

use rand::RngExt;

/// What to do with one `_bulk` item after Elasticsearch answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOutcome {
    /// Created, or already there (`409` on `create` with our deterministic id).
    Done,
    /// Overload or a server-side failure: send it again later.
    Retry(String),
    /// The document itself is refused (mapping, parsing): it never will be indexed.
    Reject(String),
}

/// Classifies one item by its status and error type.
pub fn classify_item(status: u16, error_type: Option<&str>, reason: Option<&str>) -> ItemOutcome {
    let describe = || match (error_type, reason) {
        (Some(t), Some(r)) => format!("{status} {t}: {r}"),
        (Some(t), None) => format!("{status} {t}"),
        (None, Some(r)) => format!("{status}: {r}"),
        (None, None) => format!("status {status}"),
    };
    // Overload, whatever the status: Elasticsearch's name for it, then
    // OpenSearch's (which renamed the exception class).
    if let Some("es_rejected_execution_exception" | "rejected_execution_exception") = error_type {
        return ItemOutcome::Retry(describe());
    }
    match status {
        200..=299 | 409 => ItemOutcome::Done,
        429 | 500..=599 => ItemOutcome::Retry(describe()),
        400..=499 => ItemOutcome::Reject(describe()),
        _ => ItemOutcome::Retry(describe()),
    }
}

/// What to do with every item of a request that failed as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestOutcome {
    /// Connection refused, timeout, 429, 5xx: try the whole request again.
    Retry(String),
    /// 413: the server takes smaller requests than ours (its
    /// `http.max_content_length`, or a managed service's limit): send the
    /// records again in smaller requests, at once.
    Split(String),
    /// Authentication, a refused body: no retry helps; the records fail (and
    /// Kafka redelivers them), they are not the records' fault.
    Fail(String),
}

/// Classifies a whole-request answer; `None` status means no answer came.
pub fn classify_request(status: Option<u16>, detail: &str) -> RequestOutcome {
    match status {
        None => RequestOutcome::Retry(format!("no answer: {detail}")),
        Some(s @ (408 | 429 | 500..=599)) => {
            RequestOutcome::Retry(format!("answered {s}: {detail}"))
        }
        Some(413) => RequestOutcome::Split(format!("answered 413 (request too large): {detail}")),
        Some(s) => RequestOutcome::Fail(format!("answered {s}: {detail}")),
    }
}

/// Exponential backoff with jitter: each wait is uniform in `cap/2..=cap`,
/// and the cap doubles up to `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    next_cap: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Self {
        Backoff {
            next_cap: first,
            max,
        }
    }

    pub fn next_wait(&mut self) -> Duration {
        let cap = self.next_cap;
        self.next_cap = (self.next_cap * 2).min(self.max);
        let millis = cap.as_millis() as u64;
        Duration::from_millis(rand::rng().random_range(millis / 2..=millis.max(1)))
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(Duration::from_millis(100), Duration::from_secs(5))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items() {
        assert_eq!(classify_item(201, None, None), ItemOutcome::Done);
        assert_eq!(
            classify_item(409, Some("version_conflict_engine_exception"), None),
            ItemOutcome::Done
        );
        assert!(matches!(
            classify_item(429, None, None),
            ItemOutcome::Retry(_)
        ));
        assert!(matches!(
            classify_item(503, None, None),
            ItemOutcome::Retry(_)
        ));
        for overloaded in [
            "es_rejected_execution_exception",
            "rejected_execution_exception",
        ] {
            assert!(matches!(
                classify_item(400, Some(overloaded), None),
                ItemOutcome::Retry(_)
            ));
        }
        assert_eq!(
            classify_item(
                400,
                Some("document_parsing_exception"),
                Some("failed to parse field [ip]")
            ),
            ItemOutcome::Reject(
                "400 document_parsing_exception: failed to parse field [ip]".into()
            )
        );
        assert!(matches!(
            classify_item(404, None, None),
            ItemOutcome::Reject(_)
        ));
    }

    #[test]
    fn requests() {
        assert!(matches!(
            classify_request(None, "refused"),
            RequestOutcome::Retry(_)
        ));
        assert!(matches!(
            classify_request(Some(503), ""),
            RequestOutcome::Retry(_)
        ));
        assert!(matches!(
            classify_request(Some(429), ""),
            RequestOutcome::Retry(_)
        ));
        assert!(matches!(
            classify_request(Some(401), ""),
            RequestOutcome::Fail(_)
        ));
        assert!(matches!(
            classify_request(Some(413), ""),
            RequestOutcome::Split(_)
        ));
        assert!(matches!(
            classify_request(Some(400), ""),
            RequestOutcome::Fail(_)
        ));
    }

    #[test]
    fn backoff_grows_with_jitter_up_to_the_cap() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(400));
        let waits: Vec<_> = (0..5).map(|_| b.next_wait()).collect();
        assert!(
            (50..=100).contains(&(waits[0].as_millis() as u64)),
            "{waits:?}"
        );
        assert!(
            (100..=200).contains(&(waits[1].as_millis() as u64)),
            "{waits:?}"
        );
        assert!(
            waits[2..]
                .iter()
                .all(|w| (200..=400).contains(&(w.as_millis() as u64))),
            "{waits:?}"
        );
    }
}
