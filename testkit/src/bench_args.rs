//! The command lines of the test kit's binaries (`crypto-floor`, `resume-bench`,
//! `cognito-token`): flags read by name from the arguments as given.

/// The value after `--name` in `args`, if it is there.
pub fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}
