//! A GCS emulator for tests: `gcp-storage-emulator` (PyPI, pure Python, installed by
//! `scripts/setup.sh` into `.venv/gcs`) started in memory on a free loopback port, and its
//! buckets made through its JSON API (issue #15).
//!
//! A test that needs it calls [`GcsEmulator::start_or_skip`]: when the server cannot
//! start, that **panics** with the reason, so the test fails; only `ZIPCHAIN_SKIP_GCS=1`
//! set explicitly skips it (the function then returns `None` and says so on stderr).
//!
//! What it does with `object_store`'s GCS client (which writes and reads objects through
//! GCS's XML API), as of 2026.7.19: it stores an upload (`PUT /<bucket>/<object>`) but
//! answers without the `ETag` header `object_store` requires, so every `gs://` write
//! fails on the client's side; it ignores `x-goog-if-generation-match: 0` (GCS answers
//! 412 over an existing object); it has no XML bucket listing (`GET /<bucket>?list-type=2`);
//! it does not decode percent-encoded bucket names (so names with `-` are not found); a
//! bucket's `retentionPolicy` is stored as given but neither locked nor enforced.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::loopback;

/// The environment variable that names another `gcp-storage-emulator` than `.venv/gcs`'s.
pub const SERVER_ENV: &str = "ZIPCHAIN_GCS_EMULATOR";

/// The environment variable that, set to `1`, skips the tests that need the emulator.
pub const SKIP_ENV: &str = "ZIPCHAIN_SKIP_GCS";

/// How long the server may take to accept connections.
const STARTUP: Duration = Duration::from_secs(60);

/// A running `gcp-storage-emulator` (in memory), killed when dropped.
#[derive(Debug)]
pub struct GcsEmulator {
    _server: loopback::Server,
    port: u16,
    python: PathBuf,
}

/// The emulator the tests run: `$ZIPCHAIN_GCS_EMULATOR`, else
/// `.venv/gcs/bin/gcp-storage-emulator` in the workspace.
pub fn server_binary() -> PathBuf {
    loopback::server_binary(SERVER_ENV, "../.venv/gcs/bin/gcp-storage-emulator")
}

impl GcsEmulator {
    /// Starts the emulator, or returns `None` when `ZIPCHAIN_SKIP_GCS=1`.
    ///
    /// # Panics
    /// When the server cannot be started: the test that asked fails, with the reason.
    pub fn start_or_skip() -> Option<Self> {
        loopback::start_or_skip(SKIP_ENV, "gcp-storage-emulator", "GCS", Self::start)
    }

    /// Starts the emulator in memory on a free loopback port and waits until it accepts
    /// connections.
    ///
    /// # Errors
    /// The reason, in words: no binary, it did not start, or it exited (with its output).
    pub fn start() -> Result<Self, String> {
        let binary = loopback::existing(server_binary())?;
        let python = binary.with_file_name("python");
        let port = loopback::port()?;
        let mut command = Command::new(&binary);
        command.args(["start", "-H", "127.0.0.1", "--port", &port.to_string()]);
        command.args(["--in-memory", "--quiet"]);
        let server =
            loopback::spawn_and_wait(command, &binary.display().to_string(), port, STARTUP)?;
        Ok(Self {
            _server: server,
            port,
            python,
        })
    }

    /// The emulator's base URL, `http://127.0.0.1:PORT` (what `google_base_url` takes).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `object_store` options of a `gs://` store on this emulator (its base URL, a
    /// bearer token it does not check, plain HTTP), for `Stores::from_urls_with`.
    pub fn store_options(&self) -> Vec<(String, String)> {
        vec![
            ("google_base_url".into(), self.base_url()),
            ("google_bearer_token".into(), "zipchain-test".into()),
            ("google_allow_http".into(), "true".into()),
        ]
    }

    /// The environment a process needs to reach this emulator as its GCS: a service-account
    /// key in `GOOGLE_SERVICE_ACCOUNT_KEY` whose `gcs_base_url` is the emulator and whose
    /// `disable_oauth` makes `object_store` send no token (the key itself is a placeholder,
    /// never used), and `GOOGLE_ALLOW_HTTP=true`.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "GOOGLE_SERVICE_ACCOUNT_KEY".into(),
                self.service_account_key(),
            ),
            ("GOOGLE_ALLOW_HTTP".into(), "true".into()),
        ]
    }

    /// The service-account key of [`GcsEmulator::env`].
    pub fn service_account_key(&self) -> String {
        serde_json::json!({
            "type": "service_account",
            "client_email": "zipchain-test@example.invalid",
            "private_key_id": "zipchain-test",
            "private_key": "not a key: disable_oauth is set",
            "gcs_base_url": self.base_url(),
            "disable_oauth": true,
        })
        .to_string()
    }

    /// Creates `bucket`.
    ///
    /// # Panics
    /// When the emulator refuses (the test fails with its answer).
    pub fn create_bucket(&self, bucket: &str) {
        self.python(&format!(
            "import json, urllib.request\n\
             req = urllib.request.Request({url:?} + '/storage/v1/b?project=zipchain', method='POST',\n    \
                 data=json.dumps({{'name': {bucket:?}}}).encode(), headers={{'Content-Type': 'application/json'}})\n\
             urllib.request.urlopen(req).read()\n",
            url = self.base_url(),
        ));
    }

    /// Runs `script` under the virtual environment's Python; returns what it printed.
    ///
    /// # Panics
    /// When the script fails (the test fails with its output).
    pub fn python(&self, script: &str) -> String {
        let output = Command::new(&self.python)
            .args(["-c", script])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.python.display()));
        assert!(
            output.status.success(),
            "Python script failed ({}):\n{script}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}
