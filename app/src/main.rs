//! The `satchel` binary: the desktop window, or with a subcommand the
//! command-line client.

use satchel::{cli, gui};
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("SATCHEL_LOG"))
        .with_writer(std::io::stderr)
        .init();
    if args.wants_window() {
        return window(&args);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line naming the cause: the chain joined, no backtrace.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The window runs iced's own event loop and tokio runtime on this thread.
fn window(args: &cli::Args) -> ExitCode {
    let backend = match args.profile().and_then(|p| gui::Backend::open(p, args.demo())) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    match gui::run(backend) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: the window could not open: {e}");
            ExitCode::FAILURE
        }
    }
}
