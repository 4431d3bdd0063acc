//! `zipchain-fuzz TARGET [FILE|DIR]...`
//!
//! Built by `cargo afl build` (which passes `--cfg fuzzing`): the AFL++ harness of the
//! fuzz target TARGET, in persistent mode, for `cargo afl fuzz … -- zipchain-fuzz TARGET`.
//! Built by plain `cargo build`: runs TARGET on each FILE (and each file in each DIR) and
//! says how many it ran, to replay a crash or a corpus without the fuzzer.
//! `zipchain-fuzz --list` lists the targets.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(name) = args.next() else {
        eprintln!("usage: zipchain-fuzz TARGET [FILE|DIR]... | --list");
        return ExitCode::from(2);
    };
    if name == "--list" {
        for t in zipchain_fuzz::TARGETS {
            println!("{:<20} {}", t.name, t.about);
        }
        return ExitCode::SUCCESS;
    }
    let Some(target) = zipchain_fuzz::target(&name) else {
        eprintln!("zipchain-fuzz: no target {name:?} (zipchain-fuzz --list)");
        return ExitCode::from(2);
    };
    // Once, before the fork server starts: the fixtures the target reads (the vectors,
    // the conformance chain's audit) are made here, not for every input.
    (target.run)(&[]);
    run(target, args.collect())
}

#[cfg(fuzzing)]
fn run(target: &'static zipchain_fuzz::Target, _: Vec<String>) -> ExitCode {
    afl::fuzz!(|data: &[u8]| (target.run)(data));
    ExitCode::SUCCESS
}

#[cfg(not(fuzzing))]
fn run(target: &'static zipchain_fuzz::Target, paths: Vec<String>) -> ExitCode {
    let mut files = Vec::new();
    for path in paths {
        let path = std::path::PathBuf::from(path);
        match std::fs::read_dir(&path) {
            Ok(entries) => {
                let mut inner: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
                inner.sort();
                files.extend(inner.into_iter().filter(|p| p.is_file()));
            }
            Err(_) => files.push(path),
        }
    }
    for file in &files {
        let data = match std::fs::read(file) {
            Ok(data) => data,
            Err(e) => {
                eprintln!("{}: {e}", file.display());
                return ExitCode::FAILURE;
            }
        };
        eprintln!("{}: {} bytes", file.display(), data.len());
        (target.run)(&data);
    }
    println!("{}: {} inputs, no failure", target.name, files.len());
    ExitCode::SUCCESS
}
