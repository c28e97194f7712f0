pub mod drain;
pub mod esm;
pub mod generate;
mod generator_args;
pub mod index;
pub mod parse;
pub mod produce;
pub mod redrive;
pub mod replay;
pub mod summary;

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use logpipe::config::{self, ElasticsearchSettings, Settings};
use logpipe::elastic;
use logpipe::indexer::Indexer;

/// A reader that went away (`logpipe generate | head`) is not an error.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// What `index`, `drain`, `replay` and `redrive` index through, as the
/// indexer Lambda does: the settings' Elasticsearch with its index templates
/// installed, and the settings' log format.
pub async fn connect_indexer(settings: &Settings) -> anyhow::Result<Indexer> {
    let elasticsearch = ElasticsearchSettings::from_settings(settings)?;
    let log_format = config::log_format(settings)?;
    let client = elastic::connect(&elasticsearch).await?;
    elastic::install_templates(&client, &elasticsearch).await?;
    Ok(Indexer::new(client, elasticsearch, log_format))
}

/// A spinner on stderr with the time elapsed and a message (`--quiet`
/// hides it).
pub fn spinner(quiet: bool) -> anyhow::Result<ProgressBar> {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    };
    bar.set_style(ProgressStyle::with_template("{spinner} {elapsed} {msg}")?);
    bar.enable_steady_tick(Duration::from_millis(200));
    Ok(bar)
}
