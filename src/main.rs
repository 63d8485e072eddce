//! `acktr`: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> anyhow::Result<ExitCode> {
    acktr::cli::run(acktr::cli::Cli::parse())
}
