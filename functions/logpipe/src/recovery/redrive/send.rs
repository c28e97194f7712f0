//! Bulk operations of a page sent with the indexer's retry policy: items
//! answered with overload are sent again after a backoff, within the time
//! left; a request too large is split.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::decision::{Operation, classify};
use crate::config::ElasticsearchSettings;
use crate::elastic::{
    Backoff, ItemOutcome, RequestOutcome, SearchClient, classify_request, send_bulk_to,
};

/// Kept back from the deadline to report in time.
const DEADLINE_MARGIN: Duration = Duration::from_millis(500);

/// What became of one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    Done,
    /// Refused for good (a `4xx` on the item itself).
    Rejected(String),
    /// Not settled before the deadline (or never will be by retrying, as a
    /// `401`): the item's last failure.
    Unsettled(String),
}

/// Sends `items` (each one action's NDJSON lines, all of `operation`) to
/// `path` (`/<index>/_bulk`); answers one [`Sent`] per item, in order.
pub async fn send_all(
    client: &SearchClient,
    settings: &ElasticsearchSettings,
    path: &str,
    operation: Operation,
    items: &[Vec<u8>],
    deadline: Instant,
) -> Vec<Sent> {
    let mut sent = vec![Sent::Unsettled("out of time before it was sent".into()); items.len()];
    let mut pending: Vec<usize> = (0..items.len()).collect();
    let mut backoff = Backoff::default();
    let mut max_bytes = settings.max_bulk_bytes;
    while !pending.is_empty() {
        let mut next = Vec::new();
        let mut must_wait = false;
        for chunk in chunks(&pending, items, max_bytes, settings.max_bulk_actions) {
            let Some(timeout) = time_left(deadline, settings.request_timeout) else {
                continue;
            };
            let mut body = Vec::with_capacity(chunk.iter().map(|&i| items[i].len()).sum());
            for &i in &chunk {
                body.extend_from_slice(&items[i]);
            }
            let bytes = body.len();
            match send_bulk_to(client, path, Bytes::from(body), chunk.len(), timeout).await {
                Ok(answers) => {
                    for (&i, item) in chunk.iter().zip(answers) {
                        let outcome = classify(
                            operation,
                            item.status,
                            item.error_type.as_deref(),
                            item.reason.as_deref(),
                        );
                        sent[i] = match outcome {
                            ItemOutcome::Done => Sent::Done,
                            ItemOutcome::Reject(reason) => Sent::Rejected(reason),
                            ItemOutcome::Retry(reason) => {
                                must_wait = true;
                                next.push(i);
                                Sent::Unsettled(reason)
                            }
                        };
                    }
                }
                Err(error) => {
                    let (reason, again) = match classify_request(error.status, &error.detail) {
                        RequestOutcome::Retry(reason) => {
                            must_wait = true;
                            (reason, true)
                        }
                        RequestOutcome::Split(reason) if chunk.len() > 1 => {
                            max_bytes = max_bytes.min(bytes / 2);
                            (reason, true)
                        }
                        RequestOutcome::Split(reason) | RequestOutcome::Fail(reason) => {
                            (reason, false)
                        }
                    };
                    for &i in &chunk {
                        sent[i] = Sent::Unsettled(reason.clone());
                    }
                    if again {
                        next.extend(chunk);
                    }
                }
            }
        }
        if must_wait && !next.is_empty() {
            let wait = backoff.next_wait();
            if Instant::now() + wait + DEADLINE_MARGIN >= deadline {
                break;
            }
            tokio::time::sleep(wait).await;
        }
        pending = next;
    }
    sent
}

/// How long the next request may take, if there is time for one.
pub fn time_left(deadline: Instant, request_timeout: Duration) -> Option<Duration> {
    let left = deadline.checked_duration_since(Instant::now() + DEADLINE_MARGIN)?;
    (left >= Duration::from_millis(50)).then(|| left.min(request_timeout))
}

/// `pending` items in requests of at most `max_bytes` and `max_actions`;
/// an item larger than the byte limit goes alone rather than never.
fn chunks(
    pending: &[usize],
    items: &[Vec<u8>],
    max_bytes: usize,
    max_actions: usize,
) -> Vec<Vec<usize>> {
    let mut chunks = Vec::new();
    let mut chunk: Vec<usize> = Vec::new();
    let mut bytes = 0;
    for &i in pending {
        let size = items[i].len();
        if !chunk.is_empty() && (bytes + size > max_bytes || chunk.len() >= max_actions) {
            chunks.push(std::mem::take(&mut chunk));
            bytes = 0;
        }
        bytes += size;
        chunk.push(i);
    }
    if !chunk.is_empty() {
        chunks.push(chunk);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_stay_within_their_limits_and_keep_the_order() {
        let items: Vec<Vec<u8>> = (0..10).map(|i| vec![b'x'; 10 + i]).collect();
        let pending: Vec<usize> = (0..10).collect();
        let chunks = chunks(&pending, &items, 40, 3);
        assert_eq!(chunks.concat(), pending);
        for chunk in &chunks {
            assert!(chunk.len() <= 3);
            let bytes: usize = chunk.iter().map(|&i| items[i].len()).sum();
            assert!(bytes <= 40 || chunk.len() == 1, "{chunk:?}");
        }
        // An item above the byte limit still goes, alone.
        assert_eq!(
            super::chunks(&[0, 1], &items, 5, 10),
            vec![vec![0], vec![1]]
        );
    }
}
