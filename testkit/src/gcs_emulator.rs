//! A GCS emulator for tests: `gcp-storage-emulator` (PyPI, pure Python, installed by
//! `scripts/setup.sh` into `.venv/gcs` and patched there with
//! `testkit/gcs-emulator/xml-api.patch`) started in memory on a free loopback port, and its
//! buckets made and their retention policies set and locked through its JSON API
//! (issue #15).
//!
//! A test that needs it calls [`GcsEmulator::start_or_skip`]: when the server cannot
//! start, that **panics** with the reason, so the test fails; only `ZIPCHAIN_SKIP_GCS=1`
//! set explicitly skips it (the function then returns `None` and says so on stderr).
//!
//! `object_store`'s GCS client writes, reads and lists through GCS's XML API; the release
//! (2026.7.19) answers an upload without the `ETag` the client requires, ignores
//! `x-goog-if-generation-match`, has no XML listing and does not decode percent-encoded
//! bucket names, so the patch adds those, as GCS documents them, and
//! `lockRetentionPolicy`. What the patched emulator still does not do: enforce a retention
//! policy (a locked object can still be deleted or replaced by a request without a
//! precondition), or check credentials (every request is served, signed or not).

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

    /// Starts the emulator in memory on a free loopback port, waits until it accepts
    /// connections, and checks that it speaks the XML API (that the patch is applied).
    ///
    /// # Errors
    /// The reason, in words: no binary, it did not start, it exited (with its output), or
    /// it is not patched.
    pub fn start() -> Result<Self, String> {
        let binary = loopback::existing(server_binary())?;
        let python = binary.with_file_name("python");
        let port = loopback::port()?;
        let mut command = Command::new(&binary);
        command.args(["start", "-H", "127.0.0.1", "--port", &port.to_string()]);
        command.args(["--in-memory", "--quiet"]);
        let server =
            loopback::spawn_and_wait(command, &binary.display().to_string(), port, STARTUP)?;
        let emulator = Self {
            _server: server,
            port,
            python,
        };
        emulator.check_xml_api(&binary)?;
        Ok(emulator)
    }

    /// Whether the emulator answers the XML API's listing of a missing bucket as GCS does
    /// (404 `NoSuchBucket`), which the release alone does not (501).
    fn check_xml_api(&self, binary: &std::path::Path) -> Result<(), String> {
        let script = format!(
            "import urllib.request, urllib.error\n\
             try:\n    \
                 urllib.request.urlopen({url:?})\n\
             except urllib.error.HTTPError as e:\n    \
                 print(e.code, e.read().decode(), end='')\n",
            url = format!("{}/zipchain-probe?list-type=2", self.base_url()),
        );
        let output = Command::new(&self.python)
            .args(["-c", &script])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.python.display()))?;
        let answer = String::from_utf8_lossy(&output.stdout);
        if answer.starts_with("404") && answer.contains("NoSuchBucket") {
            Ok(())
        } else {
            Err(format!(
                "{} does not speak GCS's XML API (GET /<bucket>?list-type=2 answered {:?}{}): it is not patched with testkit/gcs-emulator/xml-api.patch",
                binary.display(),
                answer,
                String::from_utf8_lossy(&output.stderr)
            ))
        }
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
        self.json_api(
            "POST",
            "/storage/v1/b?project=zipchain",
            &serde_json::json!({"name": bucket}).to_string(),
        );
    }

    /// Gives `bucket` a retention policy of `seconds`, unlocked (`storage.buckets.patch`, as
    /// `gcloud storage buckets update --retention-period` does).
    ///
    /// # Panics
    /// When the emulator refuses (the test fails with its answer).
    pub fn set_retention(&self, bucket: &str, seconds: u64) {
        self.json_api(
            "PATCH",
            &format!("/storage/v1/b/{bucket}"),
            &serde_json::json!({"retentionPolicy": {"retentionPeriod": seconds.to_string()}})
                .to_string(),
        );
    }

    /// Locks `bucket`'s retention policy (`storage.buckets.lockRetentionPolicy` at its
    /// current metageneration, as `gcloud storage buckets update --lock-retention-period`
    /// does).
    ///
    /// # Panics
    /// When the emulator refuses (the test fails with its answer).
    pub fn lock_retention(&self, bucket: &str) {
        let metadata = self.json_api("GET", &format!("/storage/v1/b/{bucket}"), "");
        let metageneration = serde_json::from_str::<serde_json::Value>(&metadata)
            .ok()
            .and_then(|v| Some(v.get("metageneration")?.as_str()?.to_owned()))
            .unwrap_or_else(|| panic!("no metageneration in {metadata}"));
        self.json_api(
            "POST",
            &format!(
                "/storage/v1/b/{bucket}/lockRetentionPolicy?ifMetagenerationMatch={metageneration}"
            ),
            "",
        );
    }

    /// Sends one JSON API request (`body` empty: none); returns the answer's body.
    ///
    /// # Panics
    /// When the request fails (the test fails with the emulator's answer).
    fn json_api(&self, method: &str, path: &str, body: &str) -> String {
        self.python(&format!(
            "import urllib.request\n\
             body = {body:?}.encode() or None\n\
             req = urllib.request.Request({url:?}, method={method:?}, data=body,\n    \
                 headers={{'Content-Type': 'application/json'}})\n\
             print(urllib.request.urlopen(req).read().decode(), end='')\n",
            url = format!("{}{path}", self.base_url()),
        ))
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
