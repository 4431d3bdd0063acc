//! `zipchain-writer`: see the library's documentation. Exit codes: 0 after a clean
//! shutdown (Ctrl-C or SIGTERM) or a valid `--check-config`, 1 when the writer fails, 2 for
//! bad usage or an invalid configuration.

use std::process::ExitCode;

use services::http::{init_logging, shutdown_signal};
use zipchain_writer::{CommandLine, Config};

/// mimalloc, not glibc's malloc: every request allocates and frees a task and buffers, and
/// glibc spent much of that time consolidating its free lists (issue #4).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    init_logging();
    let line = CommandLine::parse();
    let check_only = line.check_only();
    let config = match Config::try_from(line) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("zipchain-writer: {e}");
            return ExitCode::from(2);
        }
    };
    if check_only {
        return match zipchain_writer::check::check_offline(&config) {
            Ok(summary) => {
                print!("{summary}");
                eprintln!("zipchain-writer: the configuration is valid");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("zipchain-writer: {e}");
                ExitCode::from(2)
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("zipchain-writer: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
        zipchain_writer::run(config, listener, shutdown_signal())
            .await
            .map_err(|e| e.to_string())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zipchain-writer: {e}");
            ExitCode::FAILURE
        }
    }
}
