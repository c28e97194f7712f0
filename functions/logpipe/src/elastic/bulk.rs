//! One `_bulk` request and its per-item answers.

use std::time::Duration;

use bytes::Bytes;
use elasticsearch::http::Method;
use elasticsearch::http::headers::{CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::Deserialize;
use thiserror::Error;

use super::SearchClient;

/// Enough of the answer to classify every item.
const FILTER_PATH: &str = "errors,items.*.status,items.*.error.type,items.*.error.reason";

/// The answer to one item, in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkItem {
    pub status: u16,
    pub error_type: Option<String>,
    pub reason: Option<String>,
}

/// A request that failed as a whole; `status` is `None` when no answer came.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{detail}")]
pub struct BulkError {
    pub status: Option<u16>,
    pub detail: String,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    items: Vec<std::collections::HashMap<String, ItemAnswer>>,
}

#[derive(Deserialize)]
struct ItemAnswer {
    status: u16,
    #[serde(default)]
    error: Option<ItemError>,
}

#[derive(Deserialize)]
struct ItemError {
    #[serde(rename = "type")]
    kind: Option<String>,
    reason: Option<String>,
}

/// Sends an NDJSON body of `actions` actions; answers one item per action.
/// The body is `Bytes` because the client sends those as they are, where it
/// would copy a `Vec` (growing its own buffer from 1 KiB as it goes).
pub async fn send_bulk(
    client: &SearchClient,
    body: Bytes,
    actions: usize,
    timeout: Duration,
) -> Result<Vec<BulkItem>, BulkError> {
    send_bulk_to(client, "/_bulk", body, actions, timeout).await
}

/// [`send_bulk`] to another `_bulk` path, such as `/<index>/_bulk` (the
/// actions still name their index): a request's path then says which index
/// it writes, for whoever reads the traffic.
pub async fn send_bulk_to(
    client: &SearchClient,
    path: &str,
    body: Bytes,
    actions: usize,
    timeout: Duration,
) -> Result<Vec<BulkItem>, BulkError> {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    let response = client
        .send(
            Method::Post,
            &format!("{path}?filter_path={FILTER_PATH}"),
            headers,
            Some(body),
            Some(timeout),
        )
        .await
        .map_err(|e| BulkError {
            status: None,
            detail: e.to_string(),
        })?;
    let status = response.status_code().as_u16();
    let text = response.text().await.map_err(|e| BulkError {
        status: None,
        detail: format!("reading the answer: {e}"),
    })?;
    if status != 200 {
        return Err(BulkError {
            status: Some(status),
            detail: text.chars().take(500).collect(),
        });
    }
    parse_answer(&text, actions)
}

fn parse_answer(text: &str, actions: usize) -> Result<Vec<BulkItem>, BulkError> {
    // A 200 we cannot read is no proof of anything: retry, like no answer.
    let unreadable = |detail: String| BulkError {
        status: None,
        detail,
    };
    let answer: Answer = serde_json::from_str(text)
        .map_err(|e| unreadable(format!("unreadable _bulk answer: {e}")))?;
    if answer.items.len() != actions {
        return Err(unreadable(format!(
            "_bulk answered {} items for {actions} actions",
            answer.items.len()
        )));
    }
    answer
        .items
        .into_iter()
        .map(|item| {
            let (_, item) = item
                .into_iter()
                .next()
                .ok_or_else(|| unreadable("_bulk answered an empty item".into()))?;
            Ok(BulkItem {
                status: item.status,
                error_type: item.error.as_ref().and_then(|e| e.kind.clone()),
                reason: item.error.and_then(|e| e.reason),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_in_order() {
        let text = r#"{"errors":true,"items":[
            {"create":{"status":201}},
            {"create":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"exists"}}},
            {"create":{"status":429,"error":{"type":"es_rejected_execution_exception"}}}]}"#;
        let items = parse_answer(text, 3).unwrap();
        assert_eq!(items[0].status, 201);
        assert_eq!(
            items[1].error_type.as_deref(),
            Some("version_conflict_engine_exception")
        );
        assert_eq!(items[1].reason.as_deref(), Some("exists"));
        assert_eq!(items[2].status, 429);
        assert!(
            parse_answer(text, 4).is_err(),
            "a missing item is not a success"
        );
        assert!(parse_answer("<html>", 1).is_err());
    }
}
