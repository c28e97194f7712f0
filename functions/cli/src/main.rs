//! `logpipe`: the pipeline's library from the command line.

mod commands;
/// The local event-source mapping (`logpipe esm`): CLI-only, kept out of the
/// library so that the Lambdas link only what they run.
mod esm;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc keeps freed memory for reuse: with the system allocator, large
/// per-invocation buffers are mapped and faulted in afresh every time, which
/// doubled the indexer's CPU per event (README, benchmarks).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Generate, parse and index web access logs, locally or against AWS.
#[derive(Debug, Parser)]
#[command(name = "logpipe", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Generate(commands::generate::Args),
    Parse(commands::parse::Args),
    Index(commands::index::Args),
    Drain(commands::drain::Args),
    Redrive(commands::redrive::Args),
    Replay(commands::replay::Args),
    Produce(commands::produce::Args),
    Esm(commands::esm::Args),
    Summary(commands::summary::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logpipe::telemetry::init_cli_logs();
    let outcome = match cli.command {
        Command::Generate(args) => commands::generate::run(args),
        Command::Parse(args) => commands::parse::run(args),
        Command::Index(args) => commands::index::run(args),
        Command::Drain(args) => commands::drain::run(args),
        Command::Redrive(args) => commands::redrive::run(args),
        Command::Produce(args) => commands::produce::run(args),
        Command::Esm(args) => commands::esm::run(args),
        Command::Summary(args) => commands::summary::run(args),
        Command::Replay(args) => commands::replay::run(args),
    };
    match outcome {
        Ok(code) => code,
        Err(error) if commands::is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("logpipe: {error:#}");
            ExitCode::FAILURE
        }
    }
}
