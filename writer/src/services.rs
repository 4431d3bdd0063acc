//! The two trusted services the writer calls, as traits, and their in-process stand-ins.
//!
//! [`TimestampService`] is the Cognito-shaped timestamp authority (SPEC §1.3, §7.2);
//! [`SequencerService`] the enclave sequencer (SPEC §1.4, §1.5, §7.3). Without service URLs
//! the writer runs [`EmbeddedTsa`] and [`EmbeddedSequencer`], whose keys and counter live
//! under `DIR/standins/` so that a restarted writer continues its chain (SPEC §7.3).
//!
//! The embedded sequencer never gives one `k` to two `y`: before a new `y` is numbered it
//! is appended to `standins/sequencer/ys.log` and fsynced, so after any crash the log
//! numbers every `y` that ever left the process, and a repeated `y` gets its old `k`.

use std::fs::{self, File, OpenOptions};
use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Mutex;

use nsm_issuer::TestCa;
use services::client::{SequencerClient, TsaClient};
use services::sequencer::{Sequencer, self_measurement};
use services::tsa::{DEFAULT_ISSUER, DEFAULT_USERNAME_DOMAIN, TimestampAuthority};
use verifier_core::hash::Hash32;
use verifier_core::time::UnixMillis;
use verifier_core::timestamp::{Jwks, TimestampPolicy, TimestampVerifier, TokenUse};
use verifier_core::trust::TimestampTrust;

use crate::config::{CognitoSettings, TimestampConfig};
use crate::fsio;

/// A boxed future, so that the service traits can be used as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a service call failed.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ServiceFailure {
    /// The timestamp service failed or could not be set up.
    #[error("timestamp service: {reason}")]
    Timestamp {
        /// What went wrong.
        reason: String,
    },
    /// The sequencer failed or could not be set up.
    #[error("sequencer: {reason}")]
    Sequencer {
        /// What went wrong.
        reason: String,
    },
}

fn ts_failure(reason: impl ToString) -> ServiceFailure {
    ServiceFailure::Timestamp {
        reason: reason.to_string(),
    }
}

fn seq_failure(reason: impl ToString) -> ServiceFailure {
    ServiceFailure::Sequencer {
        reason: reason.to_string(),
    }
}

/// The timestamp service (SPEC §1.3).
pub trait TimestampService: Send + Sync {
    /// The JWT attesting `y` (a block hash) at the service's current time.
    fn timestamp(&self, y: Hash32) -> BoxFuture<'_, Result<String, ServiceFailure>>;
    /// The trust descriptor's `timestamp` section for this service.
    fn trust(&self) -> BoxFuture<'_, Result<TimestampTrust, ServiceFailure>>;
}

/// The sequencer (SPEC §1.4, §1.5).
pub trait SequencerService: Send + Sync {
    /// The NSM document sequencing `y = b.u ++ H(t)`; a repeated `y` keeps its `k`.
    fn sequence(&self, y: [u8; 48]) -> BoxFuture<'_, Result<Vec<u8>, ServiceFailure>>;
    /// `K_S+`.
    fn public_key(&self) -> BoxFuture<'_, Result<[u8; 32], ServiceFailure>>;
    /// The PEM root its documents chain to (`None`: the AWS Nitro Enclaves root).
    fn root_pem(&self) -> BoxFuture<'_, Result<Option<String>, ServiceFailure>>;
    /// The PCR0 a new chain's descriptor pins, when known.
    fn pcr0(&self) -> Option<[u8; 48]>;
}

/// The current time in Unix milliseconds (the writer may read the clock; the core never does).
pub fn now_ms() -> UnixMillis {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    UnixMillis(ms)
}

/// The in-process Cognito stand-in, its key in `standins/tsa/`.
#[derive(Debug)]
pub struct EmbeddedTsa {
    tsa: TimestampAuthority,
}

impl EmbeddedTsa {
    /// Loads the key in `dir`, creating it on first use.
    ///
    /// # Errors
    /// [`ServiceFailure::Timestamp`] when the key cannot be read or made.
    pub fn open(dir: &Path) -> Result<Self, ServiceFailure> {
        let tsa = TimestampAuthority::load_or_create(dir, DEFAULT_ISSUER, DEFAULT_USERNAME_DOMAIN)
            .map_err(ts_failure)?;
        Ok(Self { tsa })
    }
}

impl TimestampService for EmbeddedTsa {
    fn timestamp(&self, y: Hash32) -> BoxFuture<'_, Result<String, ServiceFailure>> {
        let iat = now_ms().0 / 1000;
        let token = self.tsa.issue(y.as_bytes(), iat).map_err(ts_failure);
        Box::pin(std::future::ready(token))
    }

    fn trust(&self) -> BoxFuture<'_, Result<TimestampTrust, ServiceFailure>> {
        Box::pin(std::future::ready(Ok(self.tsa.timestamp_trust())))
    }
}

/// Bytes of one `ys.log` record: `y` (48) and its CRC-32 (4, little-endian).
const YLOG_RECORD: usize = 52;

/// The in-process sequencer stand-in: test CA in `standins/ca/`, key seed, PCR0 and the
/// append-only `y` log in `standins/sequencer/`.
#[derive(Debug)]
pub struct EmbeddedSequencer {
    inner: Mutex<Inner>,
    public_key: [u8; 32],
    root_pem: String,
    pcr0: [u8; 48],
}

#[derive(Debug)]
struct Inner {
    sequencer: Sequencer,
    log: File,
    log_path: PathBuf,
}

impl EmbeddedSequencer {
    /// Opens the stand-in whose CA is in `ca_dir` and whose key and log are in `dir`,
    /// creating what is missing (a new key is a new sequencer, counting from 0).
    ///
    /// # Errors
    /// [`ServiceFailure::Sequencer`] when a file cannot be read or written or holds
    /// nonsense.
    pub fn open(ca_dir: &Path, dir: &Path) -> Result<Self, ServiceFailure> {
        let ca = if ca_dir.join("module_id").is_file() {
            TestCa::load(ca_dir).map_err(seq_failure)?
        } else {
            let ca = TestCa::generate(now_ms()).map_err(seq_failure)?;
            ca.save(ca_dir).map_err(seq_failure)?;
            ca
        };
        fs::create_dir_all(dir).map_err(|e| seq_failure(format!("{}: {e}", dir.display())))?;
        let seed: [u8; 32] = load_or_create_hex(&dir.join("seed"), || {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(seq_failure)?;
            Ok(seed)
        })?;
        let pcr0: [u8; 48] = load_or_create_hex(&dir.join("pcr0"), || Ok(self_measurement()))?;
        let log_path = dir.join("ys.log");
        let ys = read_ylog(&log_path)?;
        let module_id = ca.module_id().to_owned();
        let root_pem = ca.root_pem();
        let sequencer = Sequencer::restore(seed, ca, module_id, pcr0, ys).map_err(seq_failure)?;
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| seq_failure(format!("{}: {e}", log_path.display())))?;
        fsio::sync_dir(dir).map_err(|e| seq_failure(format!("{}: {e}", dir.display())))?;
        Ok(Self {
            public_key: sequencer.public_key(),
            inner: Mutex::new(Inner {
                sequencer,
                log,
                log_path,
            }),
            root_pem,
            pcr0,
        })
    }

    fn sequence_now(&self, y: [u8; 48]) -> Result<Vec<u8>, ServiceFailure> {
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| seq_failure("the sequencer lock is poisoned"))?;
        if inner.sequencer.lookup(&y).is_none() {
            let mut record = [0u8; YLOG_RECORD];
            record[..48].copy_from_slice(&y);
            record[48..].copy_from_slice(&crc32fast::hash(&y).to_le_bytes());
            let Inner { log, log_path, .. } = &mut *inner;
            log.write_all(&record)
                .and_then(|()| log.sync_data())
                .map_err(|e| seq_failure(format!("{}: {e}", log_path.display())))?;
            inner.sequencer.reserve(y).map_err(seq_failure)?;
        }
        let doc = inner.sequencer.sequence(y, now_ms()).map_err(seq_failure)?;
        Ok(doc.document)
    }
}

impl SequencerService for EmbeddedSequencer {
    fn sequence(&self, y: [u8; 48]) -> BoxFuture<'_, Result<Vec<u8>, ServiceFailure>> {
        Box::pin(std::future::ready(self.sequence_now(y)))
    }

    fn public_key(&self) -> BoxFuture<'_, Result<[u8; 32], ServiceFailure>> {
        Box::pin(std::future::ready(Ok(self.public_key)))
    }

    fn root_pem(&self) -> BoxFuture<'_, Result<Option<String>, ServiceFailure>> {
        Box::pin(std::future::ready(Ok(Some(self.root_pem.clone()))))
    }

    fn pcr0(&self) -> Option<[u8; 48]> {
        Some(self.pcr0)
    }
}

/// Reads `ys.log`; a torn last record (never used: it is fsynced before use) is cut off.
fn read_ylog(path: &Path) -> Result<Vec<[u8; 48]>, ServiceFailure> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(seq_failure(format!("{}: {e}", path.display()))),
    };
    let mut ys = Vec::with_capacity(bytes.len() / YLOG_RECORD);
    let mut good = 0;
    for record in bytes.chunks_exact(YLOG_RECORD) {
        let (y, crc) = record.split_at(48);
        if crc32fast::hash(y).to_le_bytes() != crc {
            break;
        }
        let mut yy = [0u8; 48];
        yy.copy_from_slice(y);
        ys.push(yy);
        good += YLOG_RECORD;
    }
    if good < bytes.len() {
        tracing::warn!(log = %path.display(), "dropping a torn record at the end of the sequencer's y log");
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| seq_failure(format!("{}: {e}", path.display())))?;
        file.set_len(good as u64)
            .and_then(|()| file.sync_all())
            .map_err(|e| seq_failure(format!("{}: {e}", path.display())))?;
    }
    Ok(ys)
}

/// Reads `N` bytes of hex from `path`, or makes them with `make` and writes them atomically.
fn load_or_create_hex<const N: usize>(
    path: &Path,
    make: impl FnOnce() -> Result<[u8; N], ServiceFailure>,
) -> Result<[u8; N], ServiceFailure> {
    match fs::read_to_string(path) {
        Ok(text) => {
            let bytes = hex::decode(text.trim())
                .map_err(|e| seq_failure(format!("{}: not hex: {e}", path.display())))?;
            let len = bytes.len();
            bytes.try_into().map_err(|_| {
                seq_failure(format!("{}: got {len} bytes, expected {N}", path.display()))
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let value = make()?;
            fsio::write_atomic(path, hex::encode(value).as_bytes())
                .map_err(|e| seq_failure(format!("{}: {e}", path.display())))?;
            Ok(value)
        }
        Err(e) => Err(seq_failure(format!("{}: {e}", path.display()))),
    }
}

/// The timestamp service at `--timestamp URL` (a `zipchain-tsa`, SPEC §7.2).
///
/// Its descriptor section is learnt once, at the first [`TimestampService::trust`]: the
/// JWKS from `/.well-known/jwks.json`, and the issuer, token use and username domain
/// from a probe token over `H("zipchain-writer: probe")`, which must then validate
/// under that JWKS.
#[derive(Debug)]
pub struct HttpTimestamp {
    client: TsaClient,
}

/// What the probe token attests (never a block hash: no block hashes to it).
const PROBE: &[u8] = b"zipchain-writer: probe";

impl HttpTimestamp {
    async fn learn_trust(&self) -> Result<TimestampTrust, ServiceFailure> {
        let jwks = self.client.jwks().await.map_err(ts_failure)?;
        let probe = Hash32::digest(PROBE);
        let token = self
            .client
            .timestamp(probe.as_bytes())
            .await
            .map_err(ts_failure)?;
        let claims = unverified_claims(&token)?;
        let text = |name: &str| claims.get(name).and_then(serde_json::Value::as_str);
        let token_use = text("token_use")
            .and_then(TokenUse::from_name)
            .ok_or_else(|| ts_failure("the probe token has no known `token_use`"))?;
        let issuer = text("iss")
            .ok_or_else(|| ts_failure("the probe token has no `iss`"))?
            .to_owned();
        let username = text(token_use.username_claim())
            .ok_or_else(|| ts_failure("the probe token has no username claim"))?;
        let (_, domain) = username.split_once('@').ok_or_else(|| {
            ts_failure(format!(
                "the probe token's username {username:?} has no domain"
            ))
        })?;
        let trust = TimestampTrust {
            issuer,
            token_use,
            username_domain: domain.to_owned(),
            jwks,
        };
        // The service must pass the very checks an auditor will run.
        let policy = TimestampPolicy {
            issuer: trust.issuer.clone(),
            token_use,
            username_domain: Some(trust.username_domain.clone()),
            jwks: Jwks::from_value(&trust.jwks).map_err(ts_failure)?,
        };
        let verifier =
            TimestampVerifier::with_backend(policy, crate::CRYPTO).map_err(ts_failure)?;
        let verified = verifier.validate(&token).map_err(ts_failure)?;
        if verified.attested() != Some(probe.as_bytes().as_slice()) {
            return Err(ts_failure("the probe token attests other bytes than asked"));
        }
        Ok(trust)
    }
}

/// The claims of a compact JWS, read without checking it (the caller checks it next).
fn unverified_claims(
    token: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, ServiceFailure> {
    use base64::Engine as _;
    let payload = token
        .split('.')
        .nth(1)
        .ok_or_else(|| ts_failure("the token is not a compact JWS"))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|e| ts_failure(format!("the token's payload is not base64url: {e}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ts_failure(format!("the token's payload is not a JSON object: {e}")))
}

impl TimestampService for HttpTimestamp {
    fn timestamp(&self, y: Hash32) -> BoxFuture<'_, Result<String, ServiceFailure>> {
        Box::pin(async move {
            self.client
                .timestamp(y.as_bytes())
                .await
                .map_err(ts_failure)
        })
    }

    fn trust(&self) -> BoxFuture<'_, Result<TimestampTrust, ServiceFailure>> {
        Box::pin(self.learn_trust())
    }
}

/// The timestamp service at `url`.
///
/// # Errors
/// [`ServiceFailure::Timestamp`] for a URL the client cannot use.
pub fn http_timestamp(url: &str) -> Result<Box<dyn TimestampService>, ServiceFailure> {
    let client = TsaClient::new(url).map_err(ts_failure)?;
    Ok(Box::new(HttpTimestamp { client }))
}

/// The timestamp service the configuration names: a `zipchain-tsa` at its base URL, or
/// Amazon Cognito (the region's endpoint, or another such as moto on loopback), with the
/// AWS credentials of its source, read now.
///
/// # Errors
/// [`ServiceFailure::Timestamp`] naming what is wrong with the URL or the credentials.
pub fn timestamp_service(
    config: &TimestampConfig,
) -> Result<Box<dyn TimestampService>, ServiceFailure> {
    match config {
        TimestampConfig::Tsa(url) => http_timestamp(url),
        TimestampConfig::Cognito(settings) => cognito_timestamp(settings),
    }
}

/// Amazon Cognito as the timestamp service (SPEC §7.2, seed [0022]-[0023]).
fn cognito_timestamp(s: &CognitoSettings) -> Result<Box<dyn TimestampService>, ServiceFailure> {
    let failed = |e: cognito::CognitoError| {
        ts_failure(format!(
            "Amazon Cognito (user pool {}): {e}",
            s.user_pool_id
        ))
    };
    let config = cognito::CognitoConfig {
        region: s.region.clone(),
        user_pool_id: s.user_pool_id.clone(),
        client_id: s.client_id.clone(),
        username_domain: s.username_domain.clone(),
        endpoint: s.endpoint.clone(),
        credentials: s.credentials.resolve().map_err(failed)?,
        retry: cognito::RetryPolicy::default(),
    };
    let client = cognito::CognitoTimestamps::new(config).map_err(failed)?;
    Ok(Box::new(CognitoTimestamp { client }))
}

/// Cognito ID tokens as timestamps, through `cognito::CognitoTimestamps`.
#[derive(Debug)]
struct CognitoTimestamp {
    client: cognito::CognitoTimestamps,
}

impl CognitoTimestamp {
    /// `e` as a failure that names the service and the pool (shown on `/healthz`).
    fn failure(&self, e: cognito::CognitoError) -> ServiceFailure {
        ts_failure(format!(
            "Amazon Cognito (user pool {}): {e}",
            self.client.config().user_pool_id
        ))
    }
}

impl TimestampService for CognitoTimestamp {
    fn timestamp(&self, y: Hash32) -> BoxFuture<'_, Result<String, ServiceFailure>> {
        Box::pin(async move {
            self.client
                .timestamp(y.as_bytes())
                .await
                .map_err(|e| self.failure(e))
        })
    }

    fn trust(&self) -> BoxFuture<'_, Result<TimestampTrust, ServiceFailure>> {
        Box::pin(async move { self.client.trust().await.map_err(|e| self.failure(e)) })
    }
}

/// The sequencer at `--sequencer URL` (a `zipchain-sequencer`, SPEC §7.3, or the enclave
/// application behind a proxy). Its key and counter live in the enclave: when it restarts,
/// its key changes and the writer stops sealing (SPEC §7.1).
#[derive(Debug)]
pub struct HttpSequencer {
    client: SequencerClient,
}

impl SequencerService for HttpSequencer {
    fn sequence(&self, y: [u8; 48]) -> BoxFuture<'_, Result<Vec<u8>, ServiceFailure>> {
        Box::pin(async move { self.client.sequence(&y).await.map_err(seq_failure) })
    }

    fn public_key(&self) -> BoxFuture<'_, Result<[u8; 32], ServiceFailure>> {
        Box::pin(async move { self.client.public_key().await.map_err(seq_failure) })
    }

    fn root_pem(&self) -> BoxFuture<'_, Result<Option<String>, ServiceFailure>> {
        Box::pin(async move { self.client.root_pem().await.map_err(seq_failure) })
    }

    /// Not known before the first document; the descriptor then pins no PCRs (the
    /// operator may add `nitro.pcrs` to `chain.json` before publishing it).
    fn pcr0(&self) -> Option<[u8; 48]> {
        None
    }
}

/// The sequencer at `url`.
///
/// # Errors
/// [`ServiceFailure::Sequencer`] for a URL the client cannot use.
pub fn http_sequencer(url: &str) -> Result<Box<dyn SequencerService>, ServiceFailure> {
    let client = SequencerClient::new(url).map_err(seq_failure)?;
    Ok(Box::new(HttpSequencer { client }))
}
