//! `logpipe drain`: the indexer Lambda's drain mode, from the command line.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use logpipe::config::{KafkaSettings, Settings};
use logpipe::drain::{self, DrainRequest};
use logpipe::kafka::LogConsumer;

/// Read the topic as a member of the consumer group (KAFKA_GROUP_ID, default
/// `mwaa_log_indexer`) and index what it holds, committing offsets only once
/// their records are indexed or dead-lettered. Stops at the limits or when
/// caught up. Prints the report as JSON; the exit status is 1 if any record
/// could not be placed (the next drain starts again from it).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Stop after this many records.
    #[arg(long, default_value_t = DrainRequest::default().max_records)]
    max_records: u64,
    /// Stop polling after this many seconds.
    #[arg(long, default_value_t = DrainRequest::default().max_seconds)]
    max_seconds: f64,
    /// Stop when no record came for this many seconds (once partitions are assigned).
    #[arg(long, default_value_t = DrainRequest::default().idle_seconds)]
    idle_seconds: f64,
    /// No progress display.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let request = DrainRequest {
        max_records: args.max_records,
        max_seconds: args.max_seconds,
        idle_seconds: args.idle_seconds,
    }
    .validate()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime.block_on(async {
        let settings = Settings::load().await?;
        let kafka = KafkaSettings::from_settings(&settings)?;
        let indexer = super::connect_indexer(&settings).await?;
        let consumer = LogConsumer::new(&kafka)?;

        let bar = super::spinner(args.quiet)?;
        bar.set_message(format!("joining group `{}`", kafka.group_id));
        // The request's own limits end the drain; this only bounds a stuck commit.
        let deadline = Instant::now() + Duration::from_secs_f64(args.max_seconds + 300.0);
        let report = drain::drain(&consumer, &indexer, &request, deadline, &mut |r| {
            bar.set_message(format!(
                "{} records: {} indexed, {} dead-lettered, {} failed",
                r.records, r.indexed, r.dead_lettered, r.failed
            ))
        })
        .await;
        bar.finish_and_clear();
        anyhow::Ok(report?)
    })?;

    println!("{}", serde_json::to_string_pretty(&report)?);
    eprintln!(
        "logpipe drain: {} records: {} indexed, {} dead-lettered, {} failed in {} ms; stopped: {:?}; committed {:?}",
        report.records,
        report.indexed,
        report.dead_lettered,
        report.failed,
        report.elapsed_ms,
        report.stopped,
        report.committed
    );
    if report.failed > 0 {
        eprintln!("logpipe drain: {}", drain::Incomplete(report));
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
