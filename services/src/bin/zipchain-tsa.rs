//! `zipchain-tsa`: the local stand-in for the Cognito timestamp service (SPEC §7.2).
//!
//! `zipchain-tsa --listen ADDR --key-dir DIR [--issuer ISS] [--username-domain D]`.
//! The RSA-2048 key is created in `DIR` on first use and kept across restarts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use zipchain_services::http::{init_logging, serve, shutdown_signal, tsa_app};
use zipchain_services::tsa::{DEFAULT_ISSUER, DEFAULT_USERNAME_DOMAIN, TimestampAuthority};

/// Local stand-in for the Cognito timestamp service: `POST /v1/timestamp` with 32 raw bytes
/// answers an RS256 JWT in the Cognito ID-token shape; `GET /.well-known/jwks.json` its key.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on (port 0 picks a free port; the real one is printed).
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// Directory of the signing key (created, with a new key, on first use).
    #[arg(long)]
    key_dir: PathBuf,
    /// The tokens' `iss`.
    #[arg(long, default_value = DEFAULT_ISSUER)]
    issuer: String,
    /// Usernames are `hex(y)@<domain>`.
    #[arg(long, default_value = DEFAULT_USERNAME_DOMAIN)]
    username_domain: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("zipchain-tsa: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let tsa = TimestampAuthority::load_or_create(&args.key_dir, args.issuer, args.username_domain)?;
    tracing::info!(
        kid = tsa.kid(),
        issuer = tsa.issuer(),
        domain = tsa.username_domain(),
        "timestamp authority ready"
    );
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    println!("listening on http://{}", listener.local_addr()?);
    serve(listener, tsa_app(Arc::new(tsa)), shutdown_signal()).await?;
    Ok(())
}
