//! Command-line arguments (SPEC §6), parsed by clap. Raw arguments become a checked
//! configuration in each command's `run`, not here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// zipchain: verify a trusted-services ledger offline.
///
/// Exit codes: 0 success / valid; 1 verified and found invalid, or not found;
/// 2 bad usage or unreadable input.
#[derive(Debug, Parser)]
#[command(name = "zipchain", version, about, long_about = None, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command takes.
#[derive(Debug, Args, Clone, Copy)]
pub(crate) struct Output {
    /// Print one JSON document on stdout and nothing else there.
    #[arg(long, global = true, help_heading = "Output")]
    pub(crate) json: bool,
    /// The implementation that checks signatures (RS256, ES384, Ed25519). Every
    /// backend gives the same verdicts; aws-lc-rs is about three times faster.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t = CryptoArg::AwsLcRs,
        value_name = "BACKEND",
        help_heading = "Crypto"
    )]
    pub(crate) crypto: CryptoArg,
}

/// `--crypto`: a backend of verifier-core's crypto seam.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CryptoArg {
    /// AWS-LC through aws-lc-rs (the default here).
    #[value(name = "aws-lc-rs")]
    AwsLcRs,
    /// The pure-Rust crates (rsa, p384, ed25519-dalek), as in the npm package.
    #[value(name = "rustcrypto")]
    RustCrypto,
}

impl CryptoArg {
    /// The backend it names.
    pub(crate) fn backend(self) -> &'static dyn verifier_core::crypto::CryptoBackend {
        match self {
            Self::AwsLcRs => &verifier_core::crypto::AWS_LC,
            Self::RustCrypto => &verifier_core::crypto::RUST_CRYPTO,
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Verify every object of a snapshot, choose the main chain and report.
    Audit(AuditArgs),
    /// Write the certificate of a final transaction (the seed's `verify()`).
    Verify(VerifyArgs),
    /// Check a certificate, offline.
    Check(CheckArgs),
    /// Rebuild a snapshot from the six replicated object stores.
    Pull(PullArgs),
    /// Verify AWS Nitro NSM attestation documents.
    #[command(subcommand)]
    Nsm(NsmCommand),
    /// Validate timestamp JWTs.
    #[command(subcommand)]
    Jwt(JwtCommand),
    /// Witness keys and the witness daemon (SPEC §9.2, §9.3, §9.6).
    #[command(subcommand)]
    Witness(WitnessCommand),
    /// Audit a snapshot and cosign a checkpoint of its main chain, as SPEC §9.3 allows.
    Cosign(CosignArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum WitnessCommand {
    /// Make an Ed25519 witness key (file mode 0600) and print its verifier key.
    Keygen(KeygenArgs),
    /// Run a witness daemon speaking C2SP tlog-witness (`POST /add-checkpoint`): it pulls
    /// the chain from the six stores, audits it itself and cosigns only as SPEC §9.3 allows.
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The address to listen on, e.g. `127.0.0.1:8090` (port 0 picks a free port; the
    /// URL is printed on stdout).
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: std::net::SocketAddr,
    /// The witness key file (made by `zipchain witness keygen`).
    #[arg(long, value_name = "KEYFILE")]
    pub(crate) key: PathBuf,
    /// The trust descriptor of the chain witnessed.
    #[arg(long, value_name = "chain.json")]
    pub(crate) chain: PathBuf,
    /// An object store of the chain, six times, in shard order (as `zipchain pull`).
    #[arg(long = "store", value_name = "URL", required = true)]
    pub(crate) stores: Vec<String>,
    /// The witness's directory: the pulled snapshot, its kept audit and the latest
    /// checkpoint cosigned per origin (created if needed; one daemon at a time).
    #[arg(long, value_name = "DIR")]
    pub(crate) state: PathBuf,
    /// Read the cloud stores anonymously (as `zipchain pull --anonymous`): for a chain
    /// whose operator publishes its buckets for anyone to read.
    #[arg(long)]
    pub(crate) anonymous: bool,
    /// How often the witness pulls and audits on its own, between requests.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub(crate) poll_interval: std::time::Duration,
    /// How long a request waits for the witness's pull and audit to cover its
    /// checkpoint before the answer is `503` with `Retry-After`.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = humantime::parse_duration)]
    pub(crate) catch_up_wait: std::time::Duration,
    #[command(flatten)]
    pub(crate) output: Output,
}

#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    /// The witness's key name (non-empty, no spaces or `+`), e.g. its host name.
    #[arg(long, value_name = "NAME")]
    pub(crate) name: String,
    /// The key file to create; an existing file is never overwritten.
    #[arg(short = 'o', long = "output", value_name = "KEYFILE")]
    pub(crate) output_file: PathBuf,
    #[command(flatten)]
    pub(crate) output: Output,
}

#[derive(Debug, Args)]
pub(crate) struct CosignArgs {
    /// The checkpoint: a file holding its body or a signed note, or `-` for stdin.
    #[arg(value_name = "NOTE")]
    pub(crate) note: PathBuf,
    /// The snapshot to audit: a directory or a `.tar` of one.
    #[arg(long, value_name = "SNAPSHOT")]
    pub(crate) snapshot: PathBuf,
    /// The trust descriptor.
    #[arg(long, value_name = "chain.json")]
    pub(crate) chain: PathBuf,
    /// The witness key file (made by `zipchain witness keygen`).
    #[arg(long, value_name = "KEYFILE")]
    pub(crate) key: PathBuf,
    /// The latest checkpoint this witness cosigned (created on the first cosignature).
    #[arg(long, value_name = "FILE")]
    pub(crate) state: PathBuf,
    #[command(flatten)]
    pub(crate) output: Output,
}

#[derive(Debug, Subcommand)]
pub(crate) enum NsmCommand {
    /// Verify one NSM attestation document (a file of its raw bytes) and print its fields.
    Verify(NsmVerifyArgs),
}

#[derive(Debug, Args)]
pub(crate) struct NsmVerifyArgs {
    /// The document: a file holding the raw COSE_Sign1 bytes.
    pub(crate) doc: PathBuf,
    /// Trusted root certificate (PEM). Default: AWS Nitro Enclaves Root-G1, embedded.
    #[arg(long, value_name = "PEM")]
    pub(crate) root: Option<PathBuf>,
    /// Check the certificate chain at this time (Unix milliseconds) instead of the
    /// document's own timestamp.
    #[arg(long, value_name = "MS")]
    pub(crate) at: Option<u64>,
    /// Accept debug-mode documents (PCR0 all zero).
    #[arg(long)]
    pub(crate) allow_debug: bool,
    #[command(flatten)]
    pub(crate) output: Output,
}

#[derive(Debug, Subcommand)]
pub(crate) enum JwtCommand {
    /// Validate one JWT as an archival proof (no `exp` check) and print its claims.
    Verify(JwtVerifyArgs),
}

/// Which Cognito token type to expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TokenUseArg {
    /// ID token: the username is in `cognito:username`.
    Id,
    /// Access token: the username is in `username`.
    Access,
}

#[derive(Debug, Args)]
pub(crate) struct JwtVerifyArgs {
    /// A file holding the token, or `-` for stdin. One trailing newline is ignored.
    pub(crate) token: PathBuf,
    /// The trusted JWKS (JSON file).
    #[arg(long, value_name = "FILE")]
    pub(crate) jwks: PathBuf,
    /// The issuer the token must name (`iss`).
    #[arg(long, value_name = "ISS")]
    pub(crate) issuer: String,
    /// The token type (`token_use`).
    #[arg(long, value_enum, default_value = "id")]
    pub(crate) token_use: TokenUseArg,
    /// Require the username to be `hex@D` and print the attested bytes.
    #[arg(long, value_name = "D")]
    pub(crate) username_domain: Option<String>,
    #[command(flatten)]
    pub(crate) output: Output,
}

#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    /// The snapshot: a directory or a `.tar` of one.
    pub(crate) snapshot: PathBuf,
    /// The trust descriptor.
    #[arg(long, value_name = "chain.json")]
    pub(crate) chain: PathBuf,
    /// Exit 1 when any object is invalid.
    #[arg(long)]
    pub(crate) strict: bool,
    /// Also write the checkpoint body of the audited main chain here (SPEC §9.2).
    #[arg(long, value_name = "FILE")]
    pub(crate) checkpoint_out: Option<PathBuf>,
    /// Keep what this audit verified in DIR, and read and verify only new objects when
    /// DIR already holds an audit of this chain (the result is the full audit's).
    #[arg(long, value_name = "DIR")]
    pub(crate) state: Option<PathBuf>,
    /// With --state: ignore what DIR holds (damaged, or of another descriptor) and
    /// audit every object again, then keep that.
    #[arg(long, requires = "state")]
    pub(crate) rebuild_state: bool,
    #[command(flatten)]
    pub(crate) output: Output,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["tx", "data"])))]
pub(crate) struct VerifyArgs {
    /// The snapshot: a directory or a `.tar` of one.
    pub(crate) snapshot: PathBuf,
    /// The trust descriptor.
    #[arg(long, value_name = "chain.json")]
    pub(crate) chain: PathBuf,
    /// The transaction id `H(d)`, hex.
    #[arg(long, value_name = "HEX")]
    pub(crate) tx: Option<String>,
    /// A file holding the transaction itself.
    #[arg(long, value_name = "FILE")]
    pub(crate) data: Option<PathBuf>,
    /// Write the certificate here (default: print it on stdout).
    #[arg(short = 'o', long = "output", value_name = "cert.json")]
    pub(crate) output_file: Option<PathBuf>,
    /// Write a certificate v2 whose main-chain proof is under this cosigned checkpoint
    /// (a file holding the signed note), SPEC §9.5.
    #[arg(long, value_name = "NOTE")]
    pub(crate) checkpoint: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) output: Output,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The certificate.
    #[arg(value_name = "cert.json")]
    pub(crate) certificate: PathBuf,
    /// The trust descriptor.
    #[arg(long, value_name = "chain.json")]
    pub(crate) chain: PathBuf,
    /// Also check main-chain position against this snapshot (directory or `.tar`).
    #[arg(long, value_name = "SNAPSHOT")]
    pub(crate) snapshot: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) output: Output,
}

#[derive(Debug, Args)]
pub(crate) struct PullArgs {
    /// An object store, six times, in shard order: `file:///abs/dir`, `memory://`,
    /// `s3://bucket/prefix`, `az://container/prefix` or `gs://bucket/prefix`.
    #[arg(long = "store", value_name = "URL", required = true)]
    pub(crate) stores: Vec<String>,
    /// The snapshot directory to write (created if needed). When it already is a
    /// snapshot, only the objects it does not hold yet are fetched.
    #[arg(short = 'o', long = "output", value_name = "SNAPSHOT")]
    pub(crate) output_dir: PathBuf,
    /// Only what is new since the last pull: SNAPSHOT must already be a snapshot
    /// directory (an error otherwise, rather than a whole pull into a mistyped path).
    #[arg(long, conflicts_with = "full")]
    pub(crate) since: bool,
    /// Fetch and verify every object again, replacing what SNAPSHOT holds (repairs a
    /// damaged snapshot).
    #[arg(long)]
    pub(crate) full: bool,
    /// How long a store may stay silent while it lists (each page), and when it did not
    /// answer the listing, for each shard it is asked for: a store over it counts as down.
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = positive_seconds)]
    pub(crate) list_timeout: std::time::Duration,
    /// Read the cloud stores anonymously: send every request unsigned, without looking
    /// for credentials, for buckets published for anyone to read.
    #[arg(long)]
    pub(crate) anonymous: bool,
    #[command(flatten)]
    pub(crate) output: Output,
}

/// A duration in seconds (fractions allowed), more than 0 and at most a day.
fn positive_seconds(text: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if secs.is_finite() && secs > 0.0 && secs <= 86_400.0 {
        Ok(std::time::Duration::from_secs_f64(secs))
    } else {
        Err(format!(
            "{text:?}: expected more than 0 and at most 86400 seconds"
        ))
    }
}
