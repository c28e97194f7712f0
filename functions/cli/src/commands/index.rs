//! `logpipe index`: the indexer Lambda's handler on a saved event.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use logpipe::config::Settings;
use logpipe::indexer::decode_event_json;

/// Index a saved Lambda Kafka event (`aws:kafka` or `SelfManagedKafka`) as
/// the indexer Lambda does, with the same configuration (ELASTICSEARCH_URL,
/// ... or SECRET_NAME). Prints the batch report and the `batchItemFailures`
/// answer as JSON; the exit status is 1 if any record failed.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The event, as JSON (`-` for stdin).
    #[arg(long)]
    event: String,
    /// Give up (and report the rest as failed) after this many seconds.
    #[arg(long, default_value_t = 900)]
    timeout: u64,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let text = if args.event == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading the event from stdin")?
    } else {
        std::fs::read_to_string(&args.event).with_context(|| format!("reading {}", args.event))?
    };
    let decoded = decode_event_json(&text).with_context(|| format!("reading {}", args.event))?;

    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime.block_on(async {
        let settings = Settings::load().await?;
        let indexer = super::connect_indexer(&settings).await?;
        let deadline = Instant::now() + Duration::from_secs(args.timeout);
        anyhow::Ok(indexer.index(&decoded.records, deadline).await)
    })?;

    let output = serde_json::json!({
        "report": report,
        "response": report.response,
    });
    println!("{}", serde_json::to_string_pretty(&output)?);
    eprintln!(
        "logpipe index: {} records: {} indexed, {} dead-lettered, {} failed ({} requests, {} ms)",
        report.records,
        report.indexed,
        report.dead_lettered,
        report.failed,
        report.requests,
        report.elapsed_ms
    );
    Ok(if report.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
