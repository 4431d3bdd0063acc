//! `zipchain witness serve --listen ADDR --key KEYFILE --chain chain.json --store URL ×6
//! --state DIR [--anonymous] [--poll-interval 10s] [--catch-up-wait 5s]` (SPEC §9.3,
//! §9.6; issue #17): a witness daemon speaking C2SP
//! tlog-witness. It keeps its own audit of the chain current (pulling new objects from
//! the six stores and auditing them incrementally: [`rounds`]) and answers
//! `POST /add-checkpoint` as the core decides ([`http`]); `/healthz` and `/metrics`
//! ([`metrics`]) say how it is doing.
//!
//! `DIR` holds, each created on first start (docs/DECISIONS.md):
//! - `snapshot/`: the snapshot pulled from the stores (SPEC §2.1 layout);
//! - `audit/`: the kept audit ([`snapshot_fs::audit_state::StateDir`], locked: one
//!   daemon per directory); damaged or of another descriptor, it is rebuilt from the
//!   snapshot (it only saves work);
//! - `cosigned/<hex genesis>`: the latest checkpoint cosigned for that origin, as
//!   `zipchain cosign --state` keeps it; written atomically and fsynced before a `200`,
//!   never lost or reset: a damaged one stops the daemon (exit 2).
//!
//! Stdout has one line, the URL it listens on (`--json`: one JSON document with the URL,
//! origin and verifier key); logs go to stderr (`RUST_LOG`, default `info`). The key
//! never appears in either.

mod http;
mod metrics;
mod rounds;

use std::path::Path;
use std::sync::Arc;

use serde_json::json;
use snapshot_fs::atomic::{create_dir, sync_dir};
use snapshot_fs::audit_state::StateDir;
use verifier_core::chain::ResumableAudit;
use verifier_core::tlog::checkpoint::origin;
use verifier_core::tlog::note::ALG_COSIGNATURE_V1;
use verifier_core::tlog::signer::SignerKey;

use crate::Outcome;
use crate::args::ServeArgs;
use crate::commands::audit::load_auditor;
use crate::commands::pull::open_stores;
use crate::cosigned;
use crate::input::{InputError, read_text};
use crate::report::print_json;

use self::http::Witness;
use self::metrics::Metrics;
use self::rounds::{Auditing, Rounds};

/// How long a stopping daemon lets a round in progress finish.
const SHUTDOWN_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

pub(crate) fn run(args: ServeArgs) -> Result<Outcome, InputError> {
    services::http::init_logging();
    let auditor = load_auditor(&args.chain, args.output.crypto)?;
    let key = SignerKey::parse(&read_text(&args.key)?, ALG_COSIGNATURE_V1)
        .map_err(|e| InputError::malformed(args.key.display().to_string(), e))?;
    let stores = open_stores(&args.stores, args.anonymous)?;
    let genesis = auditor.genesis();
    let origin = origin(&genesis);

    let dir = &args.state;
    let snapshot = dir.join("snapshot");
    let cosigned_dir = dir.join("cosigned");
    for d in [dir.as_path(), &snapshot, &cosigned_dir] {
        make_dir(d)?;
    }
    let mut states = StateDir::open(&dir.join("audit"))?;
    let state = match states.load(&auditor) {
        Ok(Some(state)) => state,
        Ok(None) => ResumableAudit::new(&auditor),
        Err(e) => {
            tracing::warn!(cause = %e, "the kept audit cannot be used; auditing the snapshot again");
            ResumableAudit::new(&auditor)
        }
    };
    let held_path = cosigned_dir.join(genesis.to_hex());
    let held = cosigned::read(&held_path)?;
    if let Some(h) = held.as_ref().filter(|h| h.origin != origin) {
        return Err(InputError::malformed(
            format!("the state file {}", held_path.display()),
            format!("holds a checkpoint of {:?}, not of {origin:?}", h.origin),
        ));
    }

    let metrics = Arc::new(Metrics::default());
    metrics.held(held.as_ref().map_or(0, |h| h.size));
    let rounds = Arc::new(Rounds::new(&state));
    let verifier_key = key.verifier_key().to_text();
    if auditor.log_key().is_none() {
        tracing::warn!(
            "the trust descriptor names no log_key: checkpoints are cosigned on the witness's own audit alone, whoever signed them"
        );
    }
    let witness = Arc::new(Witness {
        origin: origin.clone(),
        log_key: auditor.log_key().cloned(),
        key,
        held: tokio::sync::Mutex::new(held),
        held_path,
        persist_failure: std::sync::Mutex::new(None),
        rounds: Arc::clone(&rounds),
        metrics: Arc::clone(&metrics),
        catch_up_wait: args.catch_up_wait,
        poll_interval: args.poll_interval,
    });
    let auditing = Auditing {
        auditor,
        states,
        state,
        snapshot,
        stores,
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| InputError::malformed("async runtime", e))?;
    let served = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| InputError::malformed(format!("--listen {}", args.listen), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| InputError::malformed(format!("--listen {}", args.listen), e))?;
        let url = format!("http://{addr}");
        if args.output.json {
            print_json(&json!({ "url": url, "origin": origin, "verifier_key": verifier_key }));
        } else {
            println!("listening on {url}");
        }
        tracing::info!(%url, %origin, %verifier_key, "witness serving");
        tokio::spawn(rounds.run(auditing, args.poll_interval, metrics));
        services::http::serve(
            listener,
            http::app(witness),
            services::http::shutdown_signal(),
        )
        .await
        .map_err(|e| InputError::malformed(url, e))
    });
    // A round still auditing is not waited for long: the kept audit is saved crash-safe,
    // and the held checkpoint was written before any answer.
    runtime.shutdown_timeout(SHUTDOWN_WAIT);
    served.map(|()| Outcome::Valid)
}

/// Creates `dir` (and its parents) durably when it is missing.
fn make_dir(dir: &Path) -> Result<(), InputError> {
    if dir.is_dir() {
        return Ok(());
    }
    let write = |source| InputError::Write {
        path: dir.to_owned(),
        source,
    };
    create_dir(dir).map_err(write)?;
    sync_dir(snapshot_fs::atomic::parent(dir)).map_err(write)
}
