//! `logpipe redrive`: the indexer Lambda's redrive, from the command line.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use logpipe::config::Settings;
use logpipe::recovery::redrive::{self, RedriveRequest};

/// Process dead letters again with today's settings (LOG_FORMAT, the
/// template): each that now parses is created in the main index under its
/// original id, then deleted from the dead-letter index; each that still
/// fails stays, its reason updated and its redrive_count incremented. Safe
/// to stop anywhere and run again. Prints the report as JSON; the exit
/// status is 1 if matching dead letters remain.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only letters of this stage: parse or index (default: both).
    #[arg(long)]
    stage: Option<String>,
    /// Only letters whose reason contains this phrase.
    #[arg(long)]
    reason: Option<String>,
    /// Only letters dead-lettered at or after this time (RFC 3339, or a date).
    #[arg(long)]
    since: Option<String>,
    /// Stop after this many letters.
    #[arg(long, default_value_t = RedriveRequest::default().max_records)]
    max_records: u64,
    /// Start no page after this many seconds.
    #[arg(long, default_value_t = RedriveRequest::default().max_seconds)]
    max_seconds: f64,
    /// Letters read per search.
    #[arg(long, default_value_t = RedriveRequest::default().page_size)]
    page_size: usize,
    /// Change nothing; report what would move.
    #[arg(long)]
    dry_run: bool,
    /// No progress display.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let plan = RedriveRequest {
        stage: args.stage,
        reason: args.reason,
        since: args.since,
        max_records: args.max_records,
        max_seconds: args.max_seconds,
        page_size: args.page_size,
        dry_run: args.dry_run,
    }
    .validate()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime.block_on(async {
        let settings = Settings::load().await?;
        let indexer = super::connect_indexer(&settings).await?;

        let bar = super::spinner(args.quiet)?;
        // The plan's own limits end the redrive; this only bounds a stuck request.
        let deadline = Instant::now() + Duration::from_secs_f64(args.max_seconds + 300.0);
        let report = redrive::redrive(&indexer, &plan, deadline, &mut |r| {
            bar.set_message(format!(
                "{} dead letters: {} moved, {} still failing, {} failed",
                r.records, r.moved, r.still_failing, r.failed
            ))
        })
        .await;
        bar.finish_and_clear();
        anyhow::Ok(report?)
    })?;

    println!("{}", serde_json::to_string_pretty(&report)?);
    let moved = if report.dry_run {
        "would move"
    } else {
        "moved"
    };
    eprintln!(
        "logpipe redrive: {} dead letters: {} {moved}, {} still failing, {} skipped, {} failed in {} ms; stopped: {:?}",
        report.records,
        report.moved,
        report.still_failing,
        report.skipped,
        report.failed,
        report.elapsed_ms,
        report.stopped,
    );
    if report.incomplete() {
        eprintln!("logpipe redrive: {}", redrive::Incomplete(report));
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
