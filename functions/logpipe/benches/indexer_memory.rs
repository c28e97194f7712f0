//! Peak heap of the indexer's handler on a 6 MB event (Lambda's largest):
//! the event text, its records, the documents and the `_bulk` bodies.
//!
//! `cargo bench -p logpipe --bench indexer_memory`; the README quotes it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use logpipe::indexer::{Prepared, decode_event_json, prepare};
use logpipe::parse::LogFormat;
use logpipe::{Generator, GeneratorConfig, LineFormat, LineWriter};

/// Counts live heap bytes and remembers the peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const EVENT_BYTES: usize = 6 << 20;
const MAX_BULK_BYTES: usize = 5 << 20;

fn main() {
    // As Lambda builds it: realistic lines (longer), base64, until 6 MB.
    let mut generator = Generator::new(GeneratorConfig {
        seed: Some(7),
        ..GeneratorConfig::realistic()
    });
    let mut writer = LineWriter::new(LineFormat::Original);
    let mut text = String::from(
        r#"{"eventSource":"aws:kafka","bootstrapServers":"b-1:9092","records":{"billion_website_logs-0":["#,
    );
    let mut offset = 0;
    while text.len() < EVENT_BYTES - 600 {
        let mut line = Vec::new();
        writer.write(&generator.record(), &mut line);
        if offset > 0 {
            text.push(',');
        }
        text.push_str(&format!(
            r#"{{"topic":"billion_website_logs","partition":0,"offset":{offset},"timestamp":1769034220000,"timestampType":"CREATE_TIME","key":"OS4xODAuMTIzLjE3MA==","value":"{}","headers":[]}}"#,
            BASE64.encode(&line)
        ));
        offset += 1;
    }
    text.push_str("]}}");

    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let decoded = decode_event_json(&text).expect("a Kafka event");
    let indices = ("billion_website_logs", "billion_website_logs-deadletter");
    let Prepared { lines, actions } = prepare(&decoded.records, indices, &LogFormat::Auto);
    // The indexer builds one request at a time, of at most MAX_BULK_BYTES.
    let mut largest = 0;
    let mut rest = &actions[..];
    while !rest.is_empty() {
        let mut bytes = 0;
        let take = rest
            .iter()
            .take_while(|a| {
                bytes += lines.of(a).len();
                bytes <= MAX_BULK_BYTES
            })
            .count()
            .max(1);
        let body = lines.body(&rest[..take]);
        largest = largest.max(body.len());
        rest = &rest[take..];
    }
    let peak = PEAK.load(Ordering::Relaxed);
    println!(
        "indexer memory: event {:.1} MB, {} records; peak heap above the event text {:.1} MB, with it {:.1} MB (largest _bulk body {:.1} MB)",
        text.len() as f64 / 1e6,
        decoded.records.len(),
        (peak - before) as f64 / 1e6,
        peak as f64 / 1e6,
        largest as f64 / 1e6,
    );
}
