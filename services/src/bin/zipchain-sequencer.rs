//! `zipchain-sequencer`: the enclave application (SPEC §7.3), stand-in mode.
//!
//! `zipchain-sequencer --listen ADDR --ca-dir DIR`. Its Ed25519 key pair and counter live
//! only in memory: a restart is a new chain. Documents are signed by the test CA kept in
//! `DIR` (created on first use); PCR0 is the SHA-384 of this program's file. This is the
//! program an auditor relates to PCR0, so it stays small: everything it does is
//! [`zipchain_services::sequencer::Sequencer`] behind [`zipchain_services::http::sequencer_app`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use zipchain_services::http::{
    SequencerState, init_logging, now_millis, sequencer_app, serve, shutdown_signal,
};
use zipchain_services::sequencer::self_measurement;

/// The sequencer enclave application, stand-in mode: `POST /v1/sequence` with 48 raw bytes
/// answers an NSM document; `GET /v1/public-key` the hex Ed25519 key.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on (port 0 picks a free port; the real one is printed).
    #[arg(long, default_value = "127.0.0.1:8082")]
    listen: SocketAddr,
    /// Directory of the stand-in test CA (created on first use).
    #[arg(long)]
    ca_dir: PathBuf,
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("zipchain-sequencer: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let pcr0 = self_measurement();
    let state = SequencerState::open(&args.ca_dir, pcr0, now_millis()?)?;
    tracing::info!(
        public_key = %hex::encode(state.public_key()),
        pcr0 = %hex::encode(pcr0),
        "sequencer ready: a new chain (key and counter in memory only)"
    );
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    println!("listening on http://{}", listener.local_addr()?);
    serve(listener, sequencer_app(Arc::new(state)), shutdown_signal()).await?;
    Ok(())
}
