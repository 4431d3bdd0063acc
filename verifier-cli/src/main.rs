//! `zipchain`: the command-line verifier (SPEC §6). A thin adapter over
//! `zipchain-verifier-core`: it reads files, reads the clock where a command needs
//! "now", and prints; every check is the core's.
//!
//! Exit codes: 0 success/valid; 1 verified and found invalid, or not found;
//! 2 bad usage or unreadable input.
#![forbid(unsafe_code)]

mod args;
mod commands;
mod cosigned;
mod input;
mod report;
mod snapshot;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command, JwtCommand, NsmCommand, WitnessCommand};
use crate::input::InputError;

/// What a command found, mapped to the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Success, or the input verified: exit 0.
    Valid,
    /// The input was read and found invalid, or what was asked for is not there: exit 1.
    Invalid,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let code = if err.use_stderr() { 2 } else { 0 };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    let json = cli.command.json();
    match run(cli) {
        Ok(Outcome::Valid) => ExitCode::SUCCESS,
        Ok(Outcome::Invalid) => ExitCode::from(1),
        Err(err) => {
            if json {
                report::print_json(&serde_json::json!({ "error": err.to_string() }));
            }
            eprintln!("zipchain: error: {err}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<Outcome, InputError> {
    match cli.command {
        Command::Audit(args) => commands::audit::run(args),
        Command::Verify(args) => commands::verify::run(args),
        Command::Check(args) => commands::check::run(args),
        Command::Pull(args) => commands::pull::run(args),
        Command::Nsm(NsmCommand::Verify(args)) => commands::nsm::verify(args),
        Command::Jwt(JwtCommand::Verify(args)) => commands::jwt::verify(args),
        Command::Witness(WitnessCommand::Keygen(args)) => commands::witness::keygen(args),
        Command::Witness(WitnessCommand::Serve(args)) => commands::witness::serve::run(args),
        Command::Cosign(args) => commands::cosign::run(args),
    }
}

impl Command {
    fn json(&self) -> bool {
        match self {
            Command::Audit(a) => a.output.json,
            Command::Verify(a) => a.output.json,
            Command::Check(a) => a.output.json,
            Command::Pull(a) => a.output.json,
            Command::Nsm(NsmCommand::Verify(a)) => a.output.json,
            Command::Jwt(JwtCommand::Verify(a)) => a.output.json,
            Command::Witness(WitnessCommand::Keygen(a)) => a.output.json,
            Command::Witness(WitnessCommand::Serve(a)) => a.output.json,
            Command::Cosign(a) => a.output.json,
        }
    }
}
