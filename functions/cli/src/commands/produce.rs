//! `logpipe produce`: the producer Lambda's code path, from the command line.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use logpipe::config::{KafkaSettings, Settings};
use logpipe::kafka::LogProducer;

use super::generator_args::GeneratorArgs;

/// Generate access logs and publish them to Kafka, as the producer Lambda
/// does. Configuration comes from the environment (KAFKA_BOOTSTRAP_SERVER,
/// ...) and, when SECRET_NAME is set, from that Secrets Manager secret. The
/// report is printed as JSON on stdout; the exit status is 1 if any record
/// was not delivered.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of lines.
    #[arg(long, short = 'n', default_value_t = logpipe::produce::DEFAULT_COUNT)]
    count: u64,
    #[command(flatten)]
    generator: GeneratorArgs,
    /// Give up (and count the rest as failed) after this many seconds.
    #[arg(long, default_value_t = 900)]
    timeout: u64,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let settings = runtime.block_on(Settings::load())?;
    let kafka = KafkaSettings::from_settings(&settings)?;
    let producer = LogProducer::new(&kafka)?;

    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(args.count)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} lines sent, {per_sec} ({eta} left)")
            .context("progress bar template")?,
    );
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let outcome = logpipe::produce::run(
        &producer,
        args.generator.config(),
        args.count,
        deadline,
        &mut |sent| bar.set_position(sent),
    );
    bar.finish_and_clear();

    let report = match &outcome {
        Ok(report) => report,
        Err(undelivered) => &undelivered.0,
    };
    println!("{}", serde_json::to_string_pretty(report)?);
    eprintln!(
        "logpipe produce: {} of {} lines delivered to `{}` in {} ms ({:.0} lines/s)",
        report.produced, report.requested, report.topic, report.elapsed_ms, report.lines_per_second
    );
    match outcome {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(undelivered) => {
            eprintln!("logpipe produce: {undelivered}");
            Ok(ExitCode::FAILURE)
        }
    }
}
