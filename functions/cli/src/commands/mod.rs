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

/// A reader that went away (`logpipe generate | head`) is not an error.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
