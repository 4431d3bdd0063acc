//! The real `zipchain-writer` on six stores of three providers, the seed's layout (issue
//! #15): two `s3://` buckets with Object Lock on `moto_server`, two `az://` containers on
//! Azurite and two `gs://` buckets with locked retention policies on the GCS emulator, all
//! on loopback and started by the test (installed by `scripts/setup.sh`; a server that
//! cannot start fails the test, and only `ZIPCHAIN_SKIP_MOTO=1` / `ZIPCHAIN_SKIP_AZURITE=1`
//! / `ZIPCHAIN_SKIP_GCS=1` skip it). Endpoints and credentials reach the writer through the
//! environment, as a user gives them (`AWS_ENDPOINT`…, `AZURE_STORAGE_USE_EMULATOR` and
//! `AZURITE_BLOB_STORAGE_URL`, `GOOGLE_SERVICE_ACCOUNT_KEY` naming the emulator).

mod common;

use common::*;
use futures::StreamExt as _;
use object_store::ObjectStore as _;
use verifier_core::chain::Auditor;
use zipchain_testkit::azurite::Azurite;
use zipchain_testkit::gcs_emulator::GcsEmulator;
use zipchain_testkit::moto::{BucketLock, MotoServer, free_port};

/// Three stores lost at once (each pull with three unreachable stores takes about ten
/// seconds of retries, so not all 20 choices): each provider's two and one more, one of
/// each provider (the halves), and the even and odd stores.
const LOST: [[usize; 3]; 7] = [
    [0, 1, 3],
    [1, 2, 4],
    [0, 2, 5],
    [0, 1, 2],
    [3, 4, 5],
    [0, 2, 4],
    [1, 3, 5],
];

/// The three servers.
struct Clouds {
    moto: MotoServer,
    azurite: Azurite,
    gcs: GcsEmulator,
}

impl Clouds {
    /// Starts the three, or `None` when one is skipped.
    fn start_or_skip() -> Option<Self> {
        Some(Self {
            moto: MotoServer::start_or_skip()?,
            azurite: Azurite::start_or_skip()?,
            gcs: GcsEmulator::start_or_skip()?,
        })
    }

    /// Stores 0 and 3 on S3 (COMPLIANCE buckets), 1 and 4 on Azure, 2 and 5 on GCS
    /// (locked retention policies); their URLs.
    fn stores(&self, name: &str) -> Vec<String> {
        (0..6)
            .map(|i| {
                let bucket = format!("{name}-{i}");
                match i % 3 {
                    0 => {
                        self.moto
                            .create_bucket(&bucket, BucketLock::Compliance { days: 1 });
                        format!("s3://{bucket}/chain")
                    }
                    1 => {
                        self.azurite.create_container(&bucket);
                        format!("az://{bucket}/chain")
                    }
                    _ => {
                        self.gcs.create_bucket(&bucket);
                        self.gcs.set_retention(&bucket, 86_400);
                        self.gcs.lock_retention(&bucket);
                        format!("gs://{bucket}/chain")
                    }
                }
            })
            .collect()
    }

    /// The writer's environment for the three.
    fn env(&self) -> Vec<(String, String)> {
        let mut env = self.moto.env();
        env.extend(self.azurite.env());
        env.extend(self.gcs.env());
        env
    }

    /// The `object_store` options of the three, for the pulls.
    fn store_options(&self) -> Vec<(String, String)> {
        let mut options = self.moto.store_options();
        options.extend(self.azurite.store_options());
        options.extend(self.gcs.store_options());
        options
    }
}

#[test]
fn writer_on_s3_azure_and_gcs_then_pull_and_audit_with_any_three_unreachable() {
    let Some(clouds) = Clouds::start_or_skip() else {
        return;
    };
    let urls = clouds.stores("mixed");
    let env = clouds.env();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");

    // Azure's immutability cannot be verified: refused without --allow-mutable-store.
    let stderr = refused_at_start(&dir, &store_args(&urls), &env);
    assert!(
        stderr.contains("store 1 (az://mixed-1/chain) is not known to be immutable"),
        "{stderr}"
    );
    assert!(stderr.contains("--allow-mutable-store"), "{stderr}");
    assert!(!dir.join("chain.json").exists());

    let mut args = store_args(&urls);
    args.push("--allow-mutable-store");
    let daemon = Daemon::start_with(&dir, &env_refs(&env), &args);
    rt().block_on(async {
        let client = client();
        let txs = post_all(&client, &daemon.base, "mixed", 40).await;
        wait_final(&client, &daemon.base, &txs).await;
        let trust = trust(&client, &daemon.base).await;
        let auditor = Auditor::new(&trust).unwrap();
        let certificates = certificates(&client, &daemon, txs.iter().step_by(9)).await;
        assert!(daemon.stop().success());

        let options = clouds.store_options();
        let stores = replication::Stores::from_urls_with(&urls, options.clone()).unwrap();
        // Every store holds shards: two per provider took part.
        for i in 0..6 {
            let listed = stores
                .store(i)
                .unwrap()
                .list(None)
                .collect::<Vec<_>>()
                .await;
            assert!(listed.len() > 3, "store {i}: {listed:?}");
        }
        // Unreachable stores: endpoints on a loopback port nobody listens on.
        let dead_port = free_port().unwrap();
        let dead_url = format!("http://127.0.0.1:{dead_port}");
        let dead_options: Vec<(String, String)> = options
            .iter()
            .map(|(k, v)| match k.as_str() {
                "aws_endpoint" | "google_base_url" => (k.clone(), dead_url.clone()),
                "azure_storage_endpoint" => (k.clone(), format!("{dead_url}/devstoreaccount1")),
                _ => (k.clone(), v.clone()),
            })
            .collect();
        let dead = replication::Stores::from_urls_with(&urls, dead_options).unwrap();
        pull_and_audit_with_any_three_unreachable(
            &stores,
            &dead,
            &LOST,
            &auditor,
            &txs,
            &certificates,
        )
        .await;
    });
}

#[test]
fn a_gs_bucket_is_accepted_at_start_only_with_a_locked_retention_policy() {
    let Some(moto) = MotoServer::start_or_skip() else {
        return;
    };
    let Some(gcs) = GcsEmulator::start_or_skip() else {
        return;
    };
    // Stores 0-3 on S3 (COMPLIANCE), 4 and 5 on GCS: 4 locked, 5 not yet.
    let urls: Vec<String> = (0..6)
        .map(|i| {
            let bucket = format!("retention-{i}");
            if i < 4 {
                moto.create_bucket(&bucket, BucketLock::Compliance { days: 1 });
                format!("s3://{bucket}")
            } else {
                gcs.create_bucket(&bucket);
                gcs.set_retention(&bucket, 86_400);
                format!("gs://{bucket}/chain")
            }
        })
        .collect();
    gcs.lock_retention("retention-4");
    let mut env = moto.env();
    env.extend(gcs.env());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");

    let stderr = refused_at_start(&dir, &store_args(&urls), &env);
    assert!(
        stderr.contains(
            "store 5 (gs://retention-5/chain) is mutable: the bucket's retention policy (1 day) is not locked"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("--allow-mutable-store"), "{stderr}");
    assert!(!dir.join("chain.json").exists());

    // Locked (as `gcloud storage buckets update --lock-retention-period` does), it is
    // accepted without the flag, and writes become final.
    gcs.lock_retention("retention-5");
    let daemon = Daemon::start_with(&dir, &env_refs(&env), &store_args(&urls));
    rt().block_on(async {
        let client = client();
        let tx = post(&client, &daemon.base, b"into locked buckets".to_vec())
            .await
            .expect("202");
        wait_final(&client, &daemon.base, &[tx]).await;
    });
    assert!(daemon.stop().success());
}
