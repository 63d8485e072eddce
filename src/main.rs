//! `acktr`: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;

/// jemalloc, keeping freed memory for reuse (Cargo.toml says why; book: Performance).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read at its start: freed pages are never returned to the system
/// (neither `dirty` nor `muzzy` decay), so a buffer freed in one update is reused in the next
/// without the kernel zeroing its pages again; the process keeps its peak footprint.
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &[u8] = b"dirty_decay_ms:-1,muzzy_decay_ms:-1\0";

fn main() -> anyhow::Result<ExitCode> {
    acktr::cli::run(acktr::cli::Cli::parse())
}
