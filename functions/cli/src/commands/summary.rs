//! `logpipe summary`: what the pipeline left in Elasticsearch.

use std::process::ExitCode;

use anyhow::{Context, Result};
use logpipe::config::{ElasticsearchSettings, Settings};
use logpipe::elastic;
use logpipe::summary::{self, Throughput};

/// Read back from Elasticsearch (ELASTICSEARCH_URL, ELASTICSEARCH_INDEX, ...)
/// the documents indexed, the dead letters, requests per status code, top
/// endpoints and requests per minute, and draw them in the terminal.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Endpoints to show.
    #[arg(long, default_value_t = 5)]
    top: usize,
    /// With --seconds: records that went through the pipeline in that time,
    /// for the end-to-end throughput line.
    #[arg(long, requires = "seconds")]
    records: Option<u64>,
    #[arg(long, requires = "records")]
    seconds: Option<f64>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let summary = runtime.block_on(async {
        let settings = Settings::load().await?;
        let elasticsearch = ElasticsearchSettings::from_settings(&settings)?;
        let client = elastic::connect(&elasticsearch).await?;
        anyhow::Ok(
            summary::read(
                &client,
                &elasticsearch.index,
                &elasticsearch.deadletter_index,
                args.top,
                elasticsearch.refreshes(),
            )
            .await?,
        )
    })?;
    let throughput = args
        .records
        .zip(args.seconds)
        .map(|(records, seconds)| Throughput { records, seconds });
    print!("{}", summary::render(&summary, throughput));
    Ok(ExitCode::SUCCESS)
}
