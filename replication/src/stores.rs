//! The six object stores and the write-once replication of one object (SPEC §2.2, §7.1).
//!
//! Store `i` holds shard `i` of every object, at `<kind dir>/<hex key>` (for example
//! `blocks/3f…a2`), the layout of a snapshot (SPEC §2.1) with shards in place of objects.
//! Stores are named by URL: `file:///abs/dir`, `memory://`, `s3://bucket/prefix`,
//! `az://container/prefix`, `gs://bucket/prefix` (the cloud schemes read their credentials
//! and endpoints from the usual `AWS_*`, `AZURE_*` and `GOOGLE_*` environment variables, or
//! from options given to [`Stores::from_urls_with`]).
//!
//! `s3://` stores write with a SHA-256 checksum, so that buckets with S3 Object Lock accept
//! them, and can report their bucket's Object Lock configuration ([`Stores::object_lock`];
//! see [`crate::s3`]); `gs://` stores their bucket's retention policy (see [`crate::gcs`]);
//! [`Stores::immutability`] gives either.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use verifier_core::hash::Hash32;
use verifier_core::snapshot::{ObjectKind, object_key};

use crate::gcs::{self, GcsBucket};
use crate::immutability::Immutability;
use crate::s3::{self, ObjectLock};
use crate::shard::{Shard, ShardError, TOTAL_SHARDS, encode};

/// Why stores could not be opened or an object could not be replicated.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Not exactly six store URLs.
    #[error("got {got} store URLs, expected exactly {expected}")]
    StoreCount {
        /// URLs given.
        got: usize,
        /// [`TOTAL_SHARDS`].
        expected: usize,
    },
    /// A store URL that does not parse or names no supported store.
    #[error("store URL {url:?}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The object's key is not its hash (or, for a batch, its Merkle root), or a batch does
    /// not decode: it would be replicated under a name no reader can verify.
    #[error(transparent)]
    Object(#[from] ShardError),
    /// Store `store` already holds a different shard under this object's name.
    #[error("store {store} ({url}) already holds a different shard for {kind} {key}")]
    ShardConflict {
        /// The store's index.
        store: usize,
        /// The store's URL.
        url: String,
        /// The object's kind.
        kind: ObjectKind,
        /// The object's key.
        key: Hash32,
    },
    /// Store `store` kept failing with transient errors.
    #[error("store {store} ({url}) failed {tries} times: {message}")]
    Unavailable {
        /// The store's index.
        store: usize,
        /// The store's URL.
        url: String,
        /// Attempts made.
        tries: u32,
        /// The last error.
        message: String,
    },
    /// Store `store` refused the request with an error that retrying will not fix.
    #[error("store {store} ({url}) refused: {message}")]
    Rejected {
        /// The store's index.
        store: usize,
        /// The store's URL.
        url: String,
        /// The store's error.
        message: String,
    },
    /// Store `store`'s bucket could not tell its Object Lock configuration.
    #[error("store {store} ({url}): cannot read the bucket's Object Lock configuration: {message}")]
    ObjectLockUnknown {
        /// The store's index.
        store: usize,
        /// The store's URL.
        url: String,
        /// What failed.
        message: String,
    },
    /// Store `store`'s bucket could not tell its retention policy.
    #[error("store {store} ({url}): cannot read the bucket's retention policy: {message}")]
    RetentionUnknown {
        /// The store's index.
        store: usize,
        /// The store's URL.
        url: String,
        /// What failed.
        message: String,
    },
    /// Not every shard was written: replication is not done (SPEC §7.1).
    #[error("{written} of 6 shards written; failed: {}", list(failures))]
    Incomplete {
        /// Shards written (or found already there, identical).
        written: usize,
        /// One error per store that failed ([`StoreError::ShardConflict`],
        /// [`StoreError::Unavailable`] or [`StoreError::Rejected`]).
        failures: Vec<StoreError>,
    },
}

fn list(failures: &[StoreError]) -> String {
    failures
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The options that make every cloud store send its requests unsigned, with no
/// credentials (`aws_skip_signature`, `azure_skip_signature`, `google_skip_signature`):
/// for reading buckets published for anonymous reading (`zipchain pull --anonymous`). An
/// unsigned write is refused by any real store.
pub const ANONYMOUS: [(&str, &str); 3] = [
    ("aws_skip_signature", "true"),
    ("azure_skip_signature", "true"),
    ("google_skip_signature", "true"),
];

/// How often and how patiently a store request is retried on transient errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, at least 1.
    pub tries: u32,
    /// The wait after the first failure; it doubles after each further failure.
    pub first_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 5 tries, waiting 100, 200, 400 and 800 ms between them.
    fn default() -> Self {
        Self {
            tries: 5,
            first_backoff: Duration::from_millis(100),
        }
    }
}

/// What kind of store a URL named (its scheme), or one given built.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    /// `file:///abs/dir`: a local directory.
    File,
    /// `memory://`: in memory, gone with the process.
    Memory,
    /// `s3://bucket/prefix`: S3 or an S3-compatible service.
    S3,
    /// `az://container/prefix`: Azure Blob Storage.
    Azure,
    /// `gs://bucket/prefix`: Google Cloud Storage.
    Gcs,
    /// Built by the caller ([`Stores::from_stores`]).
    Given,
}

/// One store: its URL, its kind, the store, for `file://` its directory, for `s3://` the S3
/// client and for `gs://` the bucket (for requests on the bucket itself).
#[derive(Clone, Debug)]
struct Store {
    url: String,
    kind: StoreKind,
    store: Arc<dyn ObjectStore>,
    local_dir: Option<PathBuf>,
    s3: Option<object_store::aws::AmazonS3>,
    gcs: Option<GcsBucket>,
}

/// The six object stores; store `i` holds shard `i` of every object.
#[derive(Clone, Debug)]
pub struct Stores {
    stores: [Store; TOTAL_SHARDS],
    retry: RetryPolicy,
}

/// Where a store keeps the shard of an object: `<kind dir>/<hex key>`.
pub fn shard_path(kind: ObjectKind, key: &Hash32) -> Path {
    Path::from_iter([kind.dir(), key.to_hex().as_str()])
}

impl Stores {
    /// Opens six stores named by URL, in shard order.
    ///
    /// # Errors
    /// [`StoreError::StoreCount`] unless there are exactly six; [`StoreError::BadUrl`] for a
    /// URL that does not parse, is not absolute, or names an unsupported scheme.
    pub fn from_urls<S: AsRef<str>>(urls: &[S]) -> Result<Self, StoreError> {
        Self::from_urls_with(urls, std::iter::empty::<(String, String)>())
    }

    /// [`Stores::from_urls`] with `object_store` configuration options for the cloud
    /// stores, on top of the environment: keys such as `aws_endpoint`, `aws_allow_http`,
    /// `aws_access_key_id` (as `object_store::parse_url_opts` takes them). Each cloud store
    /// takes the options of its own kind (`aws_*` for `s3://`, `azure_*` for `az://`,
    /// `google_*` for `gs://`); an `s3://` store refuses an `aws_*` key it does not know.
    ///
    /// # Errors
    /// As [`Stores::from_urls`].
    pub fn from_urls_with<S, I, K, V>(urls: &[S], options: I) -> Result<Self, StoreError>
    where
        S: AsRef<str>,
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let options: Vec<(String, String)> = options
            .into_iter()
            .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()))
            .collect();
        let each: Vec<(&str, &[(String, String)])> = urls
            .iter()
            .map(|url| (url.as_ref(), options.as_slice()))
            .collect();
        Self::from_urls_each(&each)
    }

    /// Opens six stores, each with `object_store` options of its own (as
    /// [`Stores::from_urls_with`] takes them): for example two `az://` containers in two
    /// storage accounts, or `s3://` buckets in two regions.
    ///
    /// # Errors
    /// As [`Stores::from_urls`].
    pub fn from_urls_each<S: AsRef<str>>(
        stores: &[(S, &[(String, String)])],
    ) -> Result<Self, StoreError> {
        if stores.len() != TOTAL_SHARDS {
            return Err(StoreError::StoreCount {
                got: stores.len(),
                expected: TOTAL_SHARDS,
            });
        }
        let mut opened = Vec::with_capacity(TOTAL_SHARDS);
        for (url, options) in stores {
            opened.push(open_url(url.as_ref(), options)?);
        }
        let stores = opened
            .try_into()
            .map_err(|v: Vec<Store>| StoreError::StoreCount {
                got: v.len(),
                expected: TOTAL_SHARDS,
            })?;
        Ok(Self {
            stores,
            retry: RetryPolicy::default(),
        })
    }

    /// The default of SPEC §2.2: six local directories `dir/store-0` … `dir/store-5`
    /// (created when first written).
    pub fn local(dir: &FsPath) -> Result<Self, StoreError> {
        let urls: Vec<String> = (0..TOTAL_SHARDS)
            .map(|i| {
                let path = dir.join(format!("store-{i}"));
                let path = std::path::absolute(&path).unwrap_or(path);
                format!("file://{}", path.display())
            })
            .collect();
        Self::from_urls(&urls)
    }

    /// Six stores already built (for example [`object_store::memory::InMemory`] in tests);
    /// they are named `store 0` … `store 5` in messages.
    pub fn from_stores(stores: [Arc<dyn ObjectStore>; TOTAL_SHARDS]) -> Self {
        let mut i = 0;
        let stores = stores.map(|store| {
            let s = Store {
                url: format!("store {i}"),
                kind: StoreKind::Given,
                store,
                local_dir: None,
                s3: None,
                gcs: None,
            };
            i += 1;
            s
        });
        Self {
            stores,
            retry: RetryPolicy::default(),
        }
    }

    /// The same stores with another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = RetryPolicy {
            tries: retry.tries.max(1),
            ..retry
        };
        self
    }

    /// The retry policy in force.
    pub fn retry(&self) -> RetryPolicy {
        self.retry
    }

    /// The URL of store `i` (as given), if `i < 6`.
    pub fn url(&self, i: usize) -> Option<&str> {
        self.stores.get(i).map(|s| s.url.as_str())
    }

    /// The kind of store `i`, if `i < 6`.
    pub fn kind(&self, i: usize) -> Option<StoreKind> {
        self.stores.get(i).map(|s| s.kind)
    }

    /// Store `i`, if `i < 6`.
    pub fn store(&self, i: usize) -> Option<&Arc<dyn ObjectStore>> {
        self.stores.get(i).map(|s| &s.store)
    }

    /// The Object Lock configuration of store `i`'s bucket, for an `s3://` store; `None`
    /// for any other store (and for `i >= 6`).
    ///
    /// # Errors
    /// [`StoreError::ObjectLockUnknown`] when the bucket cannot be asked or does not
    /// answer with its configuration (no such bucket, access denied, unreachable, …).
    pub async fn object_lock(&self, i: usize) -> Result<Option<ObjectLock>, StoreError> {
        let Some(store) = self.stores.get(i) else {
            return Ok(None);
        };
        let Some(client) = &store.s3 else {
            return Ok(None);
        };
        s3::object_lock(client)
            .await
            .map(Some)
            .map_err(|message| StoreError::ObjectLockUnknown {
                store: i,
                url: store.url.clone(),
                message,
            })
    }

    /// The retention policy of store `i`'s bucket, for a `gs://` store; `None` for any
    /// other store (and for `i >= 6`).
    ///
    /// # Errors
    /// [`StoreError::RetentionUnknown`] when the bucket cannot be asked or does not answer
    /// with its metadata (no such bucket, no `storage.buckets.get` permission, unreachable, …).
    pub async fn retention(&self, i: usize) -> Result<Option<gcs::Retention>, StoreError> {
        let Some(store) = self.stores.get(i) else {
            return Ok(None);
        };
        let Some(bucket) = &store.gcs else {
            return Ok(None);
        };
        gcs::retention(bucket)
            .await
            .map(Some)
            .map_err(|message| StoreError::RetentionUnknown {
                store: i,
                url: store.url.clone(),
                message,
            })
    }

    /// What store `i`'s bucket says about the immutability of its shards: the Object Lock
    /// configuration of an `s3://` bucket ([`Stores::object_lock`]), the retention policy
    /// of a `gs://` one ([`Stores::retention`]); `None` for the other stores.
    ///
    /// # Errors
    /// As [`Stores::object_lock`] and [`Stores::retention`].
    pub async fn immutability(&self, i: usize) -> Result<Option<Immutability>, StoreError> {
        if let Some(lock) = self.object_lock(i).await? {
            return Ok(Some(Immutability::ObjectLock(lock)));
        }
        Ok(self.retention(i).await?.map(Immutability::Retention))
    }

    /// For a `file://` store, its directory.
    pub(crate) fn local_dir(&self, i: usize) -> Option<&FsPath> {
        self.stores.get(i)?.local_dir.as_deref()
    }

    /// Replicates one object: writes shard `i` to store `i`, write-once, all six at once.
    ///
    /// A store that already holds the identical shard counts as written (a retried or
    /// resumed write). Transient errors are retried with exponential backoff per the
    /// [`RetryPolicy`]. Returns `Ok` only when all six shards are written (SPEC §7.1).
    ///
    /// # Errors
    /// [`StoreError::Object`] when `key` is not the object's key (nothing is written);
    /// otherwise [`StoreError::Incomplete`] listing each store that failed.
    pub async fn put_object(
        &self,
        kind: ObjectKind,
        key: Hash32,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let got =
            object_key(kind, bytes).map_err(|source| ShardError::NotABatch { key, source })?;
        if got != key {
            return Err(ShardError::KeyMismatch {
                kind,
                got,
                expected: key,
            }
            .into());
        }
        self.put_object_keyed(kind, key, bytes).await
    }

    /// [`Stores::put_object`] for a caller that computed `key` from `bytes` itself (the
    /// writer, which hashed every transaction on arrival and built the batch's Merkle tree
    /// from those ids): the key is not computed a second time. A wrong key would make the
    /// object unreadable (`pull` checks every object against its name), never wrongly
    /// accepted.
    ///
    /// # Errors
    /// [`StoreError::Incomplete`] listing each store that failed.
    pub async fn put_object_keyed(
        &self,
        kind: ObjectKind,
        key: Hash32,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let shards = encode(kind, key, bytes);
        let path = shard_path(kind, &key);
        let results = join_all(
            shards
                .iter()
                .zip(&self.stores)
                .enumerate()
                .map(|(i, (shard, store))| self.put_shard(i, store, &path, shard)),
        )
        .await;
        let written = results.iter().filter(|r| r.is_ok()).count();
        let failures: Vec<StoreError> = results.into_iter().filter_map(Result::err).collect();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Incomplete { written, failures })
        }
    }

    async fn put_shard(
        &self,
        i: usize,
        store: &Store,
        path: &Path,
        shard: &Shard,
    ) -> Result<(), StoreError> {
        let bytes = shard.to_bytes();
        let put = self
            .with_retry_on(i, || async {
                let opts = PutOptions {
                    mode: PutMode::Create,
                    ..Default::default()
                };
                store
                    .store
                    .put_opts(path, PutPayload::from(bytes.clone()), opts)
                    .await
                    .map(|_| ())
            })
            .await;
        match put {
            Ok(()) => Ok(()),
            Err(Failure::Permanent(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            )) => {
                let existing = self
                    .with_retry_on(i, || async { store.store.get(path).await?.bytes().await })
                    .await
                    .map_err(|f| f.into_error(i, &store.url, self.retry.tries))?;
                if existing.as_ref() == bytes.as_slice() {
                    Ok(())
                } else {
                    Err(StoreError::ShardConflict {
                        store: i,
                        url: store.url.clone(),
                        kind: shard.kind(),
                        key: *shard.key(),
                    })
                }
            }
            Err(f) => Err(f.into_error(i, &store.url, self.retry.tries)),
        }
    }

    /// Runs `op` until it succeeds, fails permanently, or runs out of tries.
    pub(crate) async fn with_retry_on<T, F, Fut>(&self, _store: usize, op: F) -> Result<T, Failure>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = object_store::Result<T>>,
    {
        let mut backoff = self.retry.first_backoff;
        let mut tries = 0;
        loop {
            tries += 1;
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) if !is_transient(&e) => return Err(Failure::Permanent(e)),
                Err(e) if tries >= self.retry.tries => return Err(Failure::Exhausted(e)),
                Err(_) => {
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2);
                }
            }
        }
    }
}

/// How a retried request ended badly.
#[derive(Debug)]
pub(crate) enum Failure {
    /// An error retrying will not fix (including `NotFound` and `AlreadyExists`).
    Permanent(object_store::Error),
    /// Transient errors until the tries ran out; the last one.
    Exhausted(object_store::Error),
}

impl Failure {
    pub(crate) fn into_error(self, store: usize, url: &str, tries: u32) -> StoreError {
        match self {
            Failure::Permanent(e) => StoreError::Rejected {
                store,
                url: url.to_owned(),
                message: e.to_string(),
            },
            Failure::Exhausted(e) => StoreError::Unavailable {
                store,
                url: url.to_owned(),
                tries,
                message: e.to_string(),
            },
        }
    }
}

/// Network and server trouble (object_store's `Generic`, and a panicked blocking task) may
/// pass; everything with a definite meaning (not found, exists, denied, …) will not.
fn is_transient(e: &object_store::Error) -> bool {
    matches!(
        e,
        object_store::Error::Generic { .. } | object_store::Error::JoinError { .. }
    )
}

/// The options of `options` whose key starts with `prefix` (in any case).
fn own_options<'a>(
    options: &'a [(String, String)],
    prefix: &'a str,
) -> impl Iterator<Item = (&'a String, &'a String)> + 'a {
    options
        .iter()
        .filter(move |(k, _)| k.to_ascii_lowercase().starts_with(prefix))
        .map(|(k, v)| (k, v))
}

/// An `object_store` builder of a cloud store configured by keys of its own
/// (`azure_*`, `google_*`): [`configure`] and [`build_at`] serve `az://` and `gs://`.
trait CloudBuilder: Sized {
    type Key: std::str::FromStr<Err = object_store::Error>;
    type Store: ObjectStore;
    fn with_key(self, key: Self::Key, value: &str) -> Self;
    fn build_at(self, url: &str) -> object_store::Result<Self::Store>;
}

impl CloudBuilder for object_store::azure::MicrosoftAzureBuilder {
    type Key = object_store::azure::AzureConfigKey;
    type Store = object_store::azure::MicrosoftAzure;
    fn with_key(self, key: Self::Key, value: &str) -> Self {
        self.with_config(key, value)
    }
    fn build_at(self, url: &str) -> object_store::Result<Self::Store> {
        self.with_url(url).build()
    }
}

impl CloudBuilder for object_store::gcp::GoogleCloudStorageBuilder {
    type Key = object_store::gcp::GoogleConfigKey;
    type Store = object_store::gcp::GoogleCloudStorage;
    fn with_key(self, key: Self::Key, value: &str) -> Self {
        self.with_config(key, value)
    }
    fn build_at(self, url: &str) -> object_store::Result<Self::Store> {
        self.with_url(url).build()
    }
}

/// `builder` as its `from_env` made it (for `az://` the `AZURE_*` environment,
/// `AZURE_STORAGE_USE_EMULATOR` and `AZURITE_BLOB_STORAGE_URL` included; for `gs://` the
/// `GOOGLE_*` environment: `GOOGLE_SERVICE_ACCOUNT`, `GOOGLE_SERVICE_ACCOUNT_KEY`,
/// `GOOGLE_APPLICATION_CREDENTIALS`, `GOOGLE_BASE_URL`, …), then `options`; an unknown
/// key of its kind is refused.
fn configure<'a, B: CloudBuilder>(
    mut builder: B,
    options: impl Iterator<Item = (&'a String, &'a String)>,
) -> Result<B, String> {
    for (key, value) in options {
        let key = key
            .to_ascii_lowercase()
            .parse::<B::Key>()
            .map_err(|e| e.to_string())?;
        builder = builder.with_key(key, value);
    }
    Ok(builder)
}

/// The store of `url` built by `builder`, and the URL's prefix.
fn build_at<B: CloudBuilder>(builder: B, url: &url::Url) -> Result<(B::Store, Path), String> {
    let store = builder.build_at(url.as_str()).map_err(|e| e.to_string())?;
    let (_, prefix) = object_store::ObjectStoreScheme::parse(url).map_err(|e| e.to_string())?;
    Ok((store, prefix))
}

/// Opens one store URL, with `options` for the cloud stores.
fn open_url(text: &str, options: &[(String, String)]) -> Result<Store, StoreError> {
    let bad = |reason: String| StoreError::BadUrl {
        url: text.to_owned(),
        reason,
    };
    let url = url::Url::parse(text).map_err(|e| bad(e.to_string()))?;
    let mut gcs = None;
    let (store, prefix) = match url.scheme() {
        "file" => {
            if url.host_str().is_some_and(|h| !h.is_empty()) {
                return Err(bad("a file URL names no host: use file:///abs/dir".into()));
            }
            let dir = url
                .to_file_path()
                .map_err(|()| bad("not an absolute local path".into()))?;
            let (store, prefix) = object_store::parse_url(&url).map_err(|e| bad(e.to_string()))?;
            let store = Arc::new(PrefixStore::new(store, prefix)) as Arc<dyn ObjectStore>;
            return Ok(Store {
                url: text.to_owned(),
                kind: StoreKind::File,
                store,
                local_dir: Some(dir),
                s3: None,
                gcs: None,
            });
        }
        "s3" => {
            let own = options
                .iter()
                .filter(|(k, _)| k.to_ascii_lowercase().starts_with("aws_"))
                .map(|(k, v)| (k, v.clone()));
            let (client, prefix) = s3::build(&url, own).map_err(bad)?;
            let inner: Arc<dyn ObjectStore> = Arc::new(client.clone());
            let store: Arc<dyn ObjectStore> = if prefix.as_ref().is_empty() {
                inner
            } else {
                Arc::new(PrefixStore::new(inner, prefix))
            };
            return Ok(Store {
                url: text.to_owned(),
                kind: StoreKind::S3,
                store,
                local_dir: None,
                s3: Some(client),
                gcs: None,
            });
        }
        "memory" => (
            Box::new(object_store::memory::InMemory::new()) as Box<dyn ObjectStore>,
            Path::default(),
        ),
        "az" => {
            let builder = configure(
                object_store::azure::MicrosoftAzureBuilder::from_env(),
                own_options(options, "azure_"),
            )
            .map_err(bad)?;
            let (store, prefix) = build_at(builder, &url).map_err(bad)?;
            (Box::new(store) as Box<dyn ObjectStore>, prefix)
        }
        "gs" => {
            let builder = configure(
                object_store::gcp::GoogleCloudStorageBuilder::from_env(),
                own_options(options, "google_"),
            )
            .map_err(bad)?;
            let (store, prefix) = build_at(builder.clone(), &url).map_err(bad)?;
            let bucket = GcsBucket::new(
                &builder,
                url.host_str().unwrap_or_default(),
                store.credentials(),
            );
            gcs = Some(bucket);
            (Box::new(store) as Box<dyn ObjectStore>, prefix)
        }
        other => {
            return Err(bad(format!(
                "unsupported scheme {other:?}: expected file, memory, s3, az or gs"
            )));
        }
    };
    let store: Arc<dyn ObjectStore> = if prefix.as_ref().is_empty() {
        Arc::from(store)
    } else {
        Arc::new(PrefixStore::new(store, prefix))
    };
    let kind = match url.scheme() {
        "az" => StoreKind::Azure,
        "gs" => StoreKind::Gcs,
        _ => StoreKind::Memory,
    };
    Ok(Store {
        url: text.to_owned(),
        kind,
        store,
        local_dir: None,
        s3: None,
        gcs,
    })
}
