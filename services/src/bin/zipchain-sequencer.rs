//! `zipchain-sequencer`: the enclave application (SPEC §7.3).
//!
//! Stand-in mode, `zipchain-sequencer --listen ADDR --ca-dir DIR`: documents are signed by
//! the test CA kept in `DIR` (created on first use); PCR0 is the SHA-384 of this program's
//! file. Enclave mode (built with `--features enclave`), `zipchain-sequencer --enclave
//! [--vsock-port N]`: documents come from `/dev/nsm`, whose PCR0 is the enclave image's
//! measurement, and the same HTTP API is served on vsock (docs/ENCLAVE.md). Either way the
//! Ed25519 key pair and counter live only in memory: a restart is a new chain. This is the
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

/// The vsock port of `--enclave` unless `--vsock-port` says otherwise.
const DEFAULT_VSOCK_PORT: u32 = 5005;

/// The sequencer enclave application: `POST /v1/sequence` with 48 raw bytes answers an NSM
/// document; `GET /v1/public-key` the hex Ed25519 key.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on (port 0 picks a free port; the real one is printed).
    #[arg(long, default_value = "127.0.0.1:8082", conflicts_with = "enclave")]
    listen: SocketAddr,
    /// Directory of the stand-in test CA (created on first use). Stand-in mode only.
    #[arg(long, required_unless_present = "enclave", conflicts_with = "enclave")]
    ca_dir: Option<PathBuf>,
    /// Run inside a Nitro enclave: documents from /dev/nsm, HTTP on vsock (needs a
    /// build with `--features enclave`).
    #[arg(long)]
    enclave: bool,
    /// The vsock port to listen on with --enclave (any CID).
    #[arg(long, requires = "enclave", default_value_t = DEFAULT_VSOCK_PORT)]
    vsock_port: u32,
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let args = Args::parse();
    let result = match (args.enclave, &args.ca_dir) {
        (true, _) => enclave(args.vsock_port).await,
        (false, Some(ca_dir)) => stand_in(args.listen, ca_dir).await,
        (false, None) => Err("--ca-dir DIR is required without --enclave".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("zipchain-sequencer: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn stand_in(
    listen: SocketAddr,
    ca_dir: &std::path::Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let pcr0 = self_measurement();
    let state = SequencerState::open(ca_dir, pcr0, now_millis()?)?;
    tracing::info!(
        public_key = %hex::encode(state.public_key()),
        pcr0 = %hex::encode(pcr0),
        "sequencer ready: a new chain (key and counter in memory only)"
    );
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    println!("listening on http://{}", listener.local_addr()?);
    serve(listener, sequencer_app(Arc::new(state)), shutdown_signal()).await?;
    Ok(())
}

#[cfg(feature = "enclave")]
async fn enclave(port: u32) -> Result<(), Box<dyn std::error::Error>> {
    use tokio_vsock::{VMADDR_CID_ANY, VsockAddr, VsockListener};
    use zipchain_services::enclave::NsmDevice;
    use zipchain_services::sequencer::Sequencer;

    let nsm = NsmDevice::open()?;
    if nsm.is_debug() {
        tracing::warn!(
            "PCR0 is all zero: a debug-mode enclave, whose documents verifiers reject unless allow_debug"
        );
    }
    let state = SequencerState::new(Sequencer::with_source(nsm)?, None);
    let (module_id, pcr0) = state.measurement();
    tracing::info!(
        public_key = %hex::encode(state.public_key()),
        module_id = %module_id,
        pcr0 = %hex::encode(&pcr0),
        "enclave sequencer ready: a new chain (key and counter in memory only)"
    );
    let listener = VsockListener::bind(VsockAddr::new(VMADDR_CID_ANY, port))
        .map_err(|e| format!("cannot listen on vsock port {port}: {e}"))?;
    println!("listening on vsock port {port} (any CID)");
    serve(listener, sequencer_app(Arc::new(state)), shutdown_signal()).await?;
    Ok(())
}

#[cfg(not(feature = "enclave"))]
async fn enclave(_port: u32) -> Result<(), Box<dyn std::error::Error>> {
    Err("this zipchain-sequencer was built without the `enclave` cargo feature; build it with `cargo build -p zipchain-services --features enclave --bin zipchain-sequencer`".into())
}
