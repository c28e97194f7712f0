//! What the pipeline left in Elasticsearch, read back through its search
//! API and drawn for a terminal: documents, dead letters, status codes, top
//! endpoints, requests per minute and end-to-end throughput.

use std::fmt::Write;

use bytes::Bytes;
use chrono::DateTime;
use elasticsearch::http::Method;
use elasticsearch::http::headers::HeaderMap;
use serde_json::{Value, json};
use thiserror::Error;

use crate::elastic::SearchClient;

#[derive(Debug, Error)]
#[error("reading the summary of index `{index}` from Elasticsearch: {reason}")]
pub struct SummaryError {
    index: String,
    reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub index: String,
    pub dead_letter_index: String,
    pub indexed: u64,
    pub dead_letters: u64,
    /// Dead letters per stage (`decode`, `parse`, `index`).
    pub dead_letter_stages: Vec<(String, u64)>,
    /// Documents per status code, most frequent first.
    pub statuses: Vec<(String, u64)>,
    pub endpoints: Vec<(String, u64)>,
    /// Documents per minute of their `timestamp`: (epoch ms, count).
    pub per_minute: Vec<(i64, u64)>,
}

/// Records that went through the pipeline in a measured time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throughput {
    pub records: u64,
    pub seconds: f64,
}

/// Reads the summary of `index` and `dead_letter_index` (absent indices count 0).
/// OpenSearch Serverless has no `_refresh` (it refreshes on its own, within
/// seconds): `refresh` false skips it.
pub async fn read(
    client: &SearchClient,
    index: &str,
    dead_letter_index: &str,
    top: usize,
    refresh: bool,
) -> Result<Summary, SummaryError> {
    let fail = |index: &str, reason: String| SummaryError {
        index: index.to_owned(),
        reason,
    };
    for name in [index, dead_letter_index].into_iter().filter(|_| refresh) {
        // Documents are searchable after a refresh; a missing index is fine.
        let _ = client
            .send(
                Method::Post,
                &format!("/{name}/_refresh"),
                HeaderMap::new(),
                None,
                None,
            )
            .await;
    }
    let indexed = count(client, index).await.map_err(|e| fail(index, e))?;
    let dead_letters = count(client, dead_letter_index)
        .await
        .map_err(|e| fail(dead_letter_index, e))?;

    let aggregations = search_aggregations(
        client,
        index,
        json!({
            "status": {"terms": {"field": "status", "size": 20}},
            "endpoint": {"terms": {"field": "endpoint", "size": top}},
            "per_minute": {"date_histogram": {"field": "timestamp", "fixed_interval": "1m"}}
        }),
    )
    .await
    .map_err(|e| fail(index, e))?;
    let dead_letter_stages = if dead_letters > 0 {
        let stages = search_aggregations(
            client,
            dead_letter_index,
            json!({"stage": {"terms": {"field": "stage", "size": 10}}}),
        )
        .await
        .map_err(|e| fail(dead_letter_index, e))?;
        terms(&stages, "stage")
    } else {
        Vec::new()
    };

    let per_minute = aggregations["per_minute"]["buckets"]
        .as_array()
        .map(|buckets| {
            buckets
                .iter()
                .filter_map(|b| Some((b["key"].as_i64()?, b["doc_count"].as_u64()?)))
                .collect()
        })
        .unwrap_or_default();
    Ok(Summary {
        index: index.to_owned(),
        dead_letter_index: dead_letter_index.to_owned(),
        indexed,
        dead_letters,
        dead_letter_stages,
        statuses: terms(&aggregations, "status"),
        endpoints: terms(&aggregations, "endpoint"),
        per_minute,
    })
}

async fn count(client: &SearchClient, index: &str) -> Result<u64, String> {
    let response = client
        .send(
            Method::Get,
            &format!("/{index}/_count"),
            HeaderMap::new(),
            None,
            None,
        )
        .await
        .map_err(|e| e.to_string())?;
    match response.status_code().as_u16() {
        404 => Ok(0),
        200 => {
            let body: Value = response.json().await.map_err(|e| e.to_string())?;
            body["count"]
                .as_u64()
                .ok_or_else(|| format!("`_count` answered without a count: {body}"))
        }
        status => Err(format!(
            "`_count` answered HTTP {status}: {}",
            response.text().await.unwrap_or_default()
        )),
    }
}

async fn search_aggregations(
    client: &SearchClient,
    index: &str,
    aggregations: Value,
) -> Result<Value, String> {
    let body = json!({"size": 0, "track_total_hits": true, "aggs": aggregations});
    let response = client
        .send(
            Method::Post,
            &format!("/{index}/_search?ignore_unavailable=true"),
            HeaderMap::new(),
            Some(Bytes::from(body.to_string())),
            None,
        )
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status_code().as_u16();
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    match status {
        200 => Ok(body["aggregations"].clone()),
        404 => Ok(Value::Null),
        _ => Err(format!("`_search` answered HTTP {status}: {body}")),
    }
}

fn terms(aggregations: &Value, name: &str) -> Vec<(String, u64)> {
    let Some(buckets) = aggregations[name]["buckets"].as_array() else {
        return Vec::new();
    };
    buckets
        .iter()
        .filter_map(|b| {
            let key = match &b["key"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some((key, b["doc_count"].as_u64()?))
        })
        .collect()
}

/// Bars are this many cells wide at most.
const BAR_WIDTH: usize = 40;
/// Rows of the per-minute chart at most; longer spans are drawn per several minutes.
const CHART_ROWS: usize = 24;

/// The summary as text for a terminal.
pub fn render(summary: &Summary, throughput: Option<Throughput>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} documents indexed; {}: {} dead letters{}",
        summary.index,
        thousands(summary.indexed),
        summary.dead_letter_index,
        thousands(summary.dead_letters),
        if summary.dead_letter_stages.is_empty() {
            String::new()
        } else {
            let stages: Vec<String> = summary
                .dead_letter_stages
                .iter()
                .map(|(stage, n)| format!("{stage}: {}", thousands(*n)))
                .collect();
            format!(" ({})", stages.join(", "))
        }
    );
    if let Some(t) = throughput {
        let rate = if t.seconds > 0.0 {
            t.records as f64 / t.seconds
        } else {
            0.0
        };
        let _ = writeln!(
            out,
            "end to end: {} records in {:.1} s, {} records/s",
            thousands(t.records),
            t.seconds,
            thousands(rate.round() as u64)
        );
    }
    section(&mut out, "requests per status code", &summary.statuses);
    section(&mut out, "top endpoints", &summary.endpoints);

    let (minutes, rows) = per_rows(&summary.per_minute);
    if !rows.is_empty() {
        let title = match minutes {
            1 => "requests per minute (timestamp, UTC)".to_owned(),
            n => format!("requests per {n} minutes (timestamp, UTC)"),
        };
        let rows: Vec<(String, u64)> = rows
            .into_iter()
            .map(|(ms, n)| {
                let label = DateTime::from_timestamp_millis(ms)
                    .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_else(|| ms.to_string());
                (label, n)
            })
            .collect();
        section(&mut out, &title, &rows);
    }
    out
}

/// Minute buckets merged so that at most [`CHART_ROWS`] remain: (minutes a row, rows).
fn per_rows(per_minute: &[(i64, u64)]) -> (usize, Vec<(i64, u64)>) {
    let minutes = per_minute.len().div_ceil(CHART_ROWS).max(1);
    let rows = per_minute
        .chunks(minutes)
        .map(|chunk| (chunk[0].0, chunk.iter().map(|(_, n)| n).sum()))
        .collect();
    (minutes, rows)
}

fn section(out: &mut String, title: &str, rows: &[(String, u64)]) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{title}");
    let label_width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let counts: Vec<String> = rows.iter().map(|(_, n)| thousands(*n)).collect();
    let count_width = counts.iter().map(String::len).max().unwrap_or(0);
    let max = rows.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    for ((label, n), count) in rows.iter().zip(&counts) {
        let _ = writeln!(
            out,
            "  {label:<label_width$}  {count:>count_width$}  {}",
            bar(*n, max)
        );
    }
}

/// A bar in eighths of a cell, so that small differences still show.
fn bar(n: u64, max: u64) -> String {
    const PARTS: [char; 8] = ['▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];
    let eighths = (n as u128 * (BAR_WIDTH as u128 * 8) / max as u128) as usize;
    let mut bar = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        bar.push(PARTS[eighths % 8 - 1]);
    }
    bar
}

/// 100000 as `100,000`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> Summary {
        Summary {
            index: "logs".into(),
            dead_letter_index: "logs-deadletter".into(),
            indexed: 1_234_567,
            dead_letters: 3,
            dead_letter_stages: vec![("parse".into(), 2), ("decode".into(), 1)],
            statuses: vec![("200".into(), 80), ("404".into(), 20)],
            endpoints: vec![("/home".into(), 60), ("/about".into(), 40)],
            per_minute: vec![(0, 10), (60_000, 5)],
        }
    }

    #[test]
    fn draws_counts_bars_and_throughput() {
        let text = render(
            &summary(),
            Some(Throughput {
                records: 100_000,
                seconds: 8.0,
            }),
        );
        let expected = "\
logs: 1,234,567 documents indexed; logs-deadletter: 3 dead letters (parse: 2, decode: 1)
end to end: 100,000 records in 8.0 s, 12,500 records/s

requests per status code
  200  80  ████████████████████████████████████████
  404  20  ██████████

top endpoints
  /home   60  ████████████████████████████████████████
  /about  40  ██████████████████████████▋

requests per minute (timestamp, UTC)
  1970-01-01 00:00  10  ████████████████████████████████████████
  1970-01-01 00:01   5  ████████████████████
";
        assert_eq!(text, expected);
    }

    #[test]
    fn long_spans_are_drawn_per_several_minutes() {
        let per_minute: Vec<(i64, u64)> = (0..100).map(|m| (m * 60_000, 1)).collect();
        let (minutes, rows) = per_rows(&per_minute);
        assert_eq!(minutes, 5);
        assert_eq!(rows.len(), 20);
        assert!(rows.iter().all(|&(_, n)| n == 5));
        assert_eq!(per_rows(&[]).1, vec![]);
    }

    #[test]
    fn formats_thousands() {
        for (n, s) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (100_000, "100,000"),
        ] {
            assert_eq!(thousands(n), s);
        }
    }
}
