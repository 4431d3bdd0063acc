//! Startup: from a data directory and a configuration to a running [`Writer`]: the
//! genesis (or a successor chain), recovery from the mirror, the log re-queued, the
//! pipeline started.

use super::*;

impl Writer {
    /// Starts the writer on `config.data_dir`: makes the genesis at first start (or the
    /// successor chain with `--new-chain`), recovers from the mirror, re-queues the log,
    /// and starts the pipeline.
    ///
    /// # Errors
    /// [`WriterError`] when any of that fails.
    pub async fn start(config: &Config) -> Result<Self, WriterError> {
        let layout = Layout {
            dir: config.data_dir.clone(),
        };
        std::fs::create_dir_all(&layout.dir).map_err(|e| WriterError::Io {
            path: layout.dir.clone(),
            reason: e.to_string(),
        })?;
        let embedded_sequencer = config.sequencer.is_none();
        let stores = match &config.stores {
            Some(stores) => config::StoreConfig::open_all(stores)?,
            None => Stores::local(&layout.stores())?,
        };
        check_immutable(&stores, config.allow_mutable_store).await?;
        let chain_exists = layout.chain_json().is_file();
        let mut previous = None;
        if !chain_exists {
            recover::clear_unfinished_genesis(&layout, embedded_sequencer)?;
        } else if config.new_chain {
            previous = Some(recover::archive_chain(&layout, embedded_sequencer)?);
        }
        let timestamps: Arc<dyn TimestampService> = match &config.timestamp {
            None => Arc::new(EmbeddedTsa::open(&layout.tsa())?),
            Some(service) => Arc::from(services::timestamp_service(service)?),
        };
        let sequencer: Arc<dyn SequencerService> = match &config.sequencer {
            None => Arc::new(EmbeddedSequencer::open(&layout.ca(), &layout.sequencer())?),
            Some(url) => Arc::from(services::http_sequencer(url)?),
        };
        let trust = if chain_exists && !config.new_chain {
            recover::load_trust(&layout.chain_json())?
        } else {
            recover::create_genesis(
                &layout,
                timestamps.as_ref(),
                sequencer.as_ref(),
                &stores,
                previous,
                config.witnesses.clone(),
            )
            .await?
        };
        let (trust, log_key) =
            recover::checkpoint_trust(&layout, trust, config.witnesses.as_ref())?;
        let auditor =
            Auditor::with_backend(&trust, crate::CRYPTO).map_err(|e| WriterError::Chain {
                reason: e.to_string(),
            })?;
        let mirror = Mirror::open(&layout.objects())?;
        let checkpoints = crate::checkpoints::Checkpoints::open(
            log_key,
            trust.genesis(),
            trust.witnesses().cloned(),
            layout.checkpoints(),
        )
        .map_err(|reason| WriterError::Chain { reason })?;
        let shared = Arc::new(Shared::new(
            trust.clone(),
            mirror,
            checkpoints,
            Ledger::default(),
            crate::witness_push::Witnesses::new(&config.witness_urls),
        ));
        // Opened before recovery so that StoreIt gets the log's own retirer; recovery
        // does not touch the log.
        let (wal, records) = Wal::open(&layout.wal())?;
        let sealer = Arc::new(Sealer {
            shared: Arc::clone(&shared),
            auditor: Arc::new(auditor),
            timestamps,
            sequencer: Arc::clone(&sequencer),
            stores,
            retirer: wal.retirer(),
        });

        let key = sequencer.public_key().await?;
        let mut halt = (key != trust.sequencer_key().to_bytes()).then(|| {
            format!(
                "the sequencer's key is {}, chain.json pins {}: the sequencer restarted; start a successor chain with --new-chain",
                hex::encode(key),
                trust.sequencer_key().to_hex()
            )
        });
        let ledger = if halt.is_none() {
            let recovered = recover::recover(&sealer).await?;
            halt = recovered.halt;
            Ledger {
                main: recovered.audit.main_chain,
                finals: recovered.audit.final_transactions.into_iter().collect(),
                pending: Default::default(),
                log: Default::default(),
            }
        } else {
            // Sealing is stopped; still serve what the mirror proves.
            let snapshot = shared.mirror.load()?;
            let audit = sealer.auditor.audit(&snapshot, &mut |_, _| {});
            Ledger {
                main: audit.main_chain,
                finals: audit.final_transactions.into_iter().collect(),
                pending: Default::default(),
                log: Default::default(),
            }
        };
        let parent = ledger.main.last().map(|b| b.timestamp);
        shared.restore(ledger);

        let (queue_tx, queue_rx) = mpsc::unbounded_channel();
        let mut requeued = Vec::new();
        for record in records {
            let tx = Hash32::digest(&record.data);
            if shared
                .status(&tx)
                .is_some_and(|s| s != state::TxStatus::Pending)
            {
                continue;
            }
            requeued.push(tx);
            let _ = queue_tx.send(Queued {
                index: record.index,
                tx,
                data: record.data,
            });
        }
        shared.add_pending(requeued.iter());
        if !requeued.is_empty() {
            tracing::info!(
                count = requeued.len(),
                "re-queued acknowledged transactions from the log"
            );
        }
        let (wal_handle, appender) = pipeline::spawn_appender(wal, Arc::clone(&shared), queue_tx)
            .map_err(|e| WriterError::Io {
            path: layout.wal(),
            reason: e.to_string(),
        })?;
        let pipeline = match (halt, parent) {
            (None, Some(parent)) => Some(Pipeline::spawn(
                sealer,
                queue_rx,
                parent,
                config.batch_max,
                config.batch_wait,
            )),
            (Some(reason), _) => {
                shared.set_unhealthy(Component::Sealing, format!("stopped: {reason}"));
                None
            }
            (None, None) => None,
        };
        let checkpointer = tokio::spawn(crate::checkpoints::sign_loop(
            Arc::clone(&shared),
            config.batch_wait,
        ));
        let pushers =
            crate::witness_push::spawn(&shared).map_err(|reason| WriterError::Chain { reason })?;
        Ok(Self {
            checkpointer,
            pushers,
            shared,
            wal: wal_handle,
            appender,
            pipeline,
            config: config.clone(),
        })
    }
}

/// Refuses an `s3://` store whose bucket does not lock shards in COMPLIANCE mode, or a
/// `gs://` store whose bucket has no locked retention policy (SPEC §2.2 asks for write-once
/// stores; issue #15), or one whose settings cannot be read, unless `allow_mutable`
/// (`--allow-mutable-store`), which logs each one instead. An `az://` store, whose
/// immutability the writer cannot verify, is refused the same way. `file://` and
/// `memory://` stores are not checked.
///
/// # Errors
/// [`WriterError::MutableStore`] for the first mutable bucket;
/// [`WriterError::UnverifiedStore`] for the first `az://` store;
/// [`WriterError::Stores`] when a bucket's settings cannot be read.
async fn check_immutable(stores: &Stores, allow_mutable: bool) -> Result<(), WriterError> {
    for i in 0..replication::shard::TOTAL_SHARDS {
        let url = stores.url(i).unwrap_or_default();
        if let Some(reason) = stores.kind(i).and_then(unverifiable) {
            if !allow_mutable {
                return Err(WriterError::UnverifiedStore {
                    store: i,
                    url: url.to_owned(),
                    reason: reason.to_owned(),
                });
            }
            tracing::warn!(
                store = i,
                url,
                "store of unverified immutability allowed: {reason}"
            );
            continue;
        }
        match stores.immutability(i).await {
            Ok(None) => {}
            Ok(Some(lock)) if lock.is_locked() => {
                tracing::info!(store = i, url, "the bucket locks every shard: {lock}");
            }
            Ok(Some(lock)) if allow_mutable => {
                tracing::warn!(store = i, url, "mutable store allowed: {lock}");
            }
            Ok(Some(lock)) => {
                return Err(WriterError::MutableStore {
                    store: i,
                    url: url.to_owned(),
                    found: lock.to_string(),
                });
            }
            Err(e) if allow_mutable => {
                tracing::warn!(store = i, url, "mutable store allowed: {e}");
            }
            Err(e) => {
                return Err(WriterError::Stores {
                    reason: format!(
                        "{e}; the writer checks that every s3:// bucket has Object Lock in COMPLIANCE mode (s3:GetBucketObjectLockConfiguration) and every gs:// bucket a locked retention policy (storage.buckets.get), or pass --allow-mutable-store"
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Why the writer cannot verify that a store of `kind` is immutable, for the kinds it
/// cannot (docs/DECISIONS.md, "Stores on Azure Blob and GCS").
fn unverifiable(kind: replication::StoreKind) -> Option<&'static str> {
    match kind {
        replication::StoreKind::Azure => Some(
            "an az:// container's immutability (a locked time-based policy, or version-level WORM) is set and shown by Azure Resource Manager, which the writer does not call; the Blob service's container properties do not say whether a policy is locked",
        ),
        _ => None,
    }
}
