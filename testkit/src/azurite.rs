//! A real Azure Blob service for tests: Azurite (npm `azurite`, installed by
//! `scripts/setup.sh` into `testkit/azurite/node_modules`) started on a free loopback port
//! with `--disableTelemetry`, and its containers made with Shared Key-signed requests from
//! Node (issue #15).
//!
//! A test that needs it calls [`Azurite::start_or_skip`]: when the server cannot start,
//! that **panics** with the reason, so the test fails; only `ZIPCHAIN_SKIP_AZURITE=1` set
//! explicitly skips it (the function then returns `None` and says so on stderr).
//!
//! Azurite does not implement immutability policies, legal holds or version-level WORM
//! (its README lists them as not supported), nor blob versions: the tests show
//! conditional creates, not immutability.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::loopback;

/// The environment variable that names another `azurite-blob` than the test kit's.
pub const SERVER_ENV: &str = "ZIPCHAIN_AZURITE";

/// The environment variable that, set to `1`, skips the tests that need Azurite.
pub const SKIP_ENV: &str = "ZIPCHAIN_SKIP_AZURITE";

/// Azurite's well-known development account.
pub const ACCOUNT: &str = "devstoreaccount1";

/// The well-known key of [`ACCOUNT`] (public, in Azurite's documentation).
pub const ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// How long the server may take to accept connections.
const STARTUP: Duration = Duration::from_secs(60);

/// A running Azurite Blob service, killed when dropped; its data lives in a temporary
/// directory removed with it. [`Azurite::kill`] and [`Azurite::restart`] crash it and
/// bring it back on the same port and data (issue #18's store faults).
#[derive(Debug)]
pub struct Azurite {
    server: Option<loopback::Server>,
    binary: PathBuf,
    port: u16,
    data: tempfile::TempDir,
}

/// The `azurite-blob` the tests run: `$ZIPCHAIN_AZURITE`, else
/// `testkit/azurite/node_modules/.bin/azurite-blob`.
pub fn server_binary() -> PathBuf {
    loopback::server_binary(SERVER_ENV, "azurite/node_modules/.bin/azurite-blob")
}

impl Azurite {
    /// Starts Azurite, or returns `None` when `ZIPCHAIN_SKIP_AZURITE=1`.
    ///
    /// # Panics
    /// When the server cannot be started: the test that asked fails, with the reason.
    pub fn start_or_skip() -> Option<Self> {
        loopback::start_or_skip(SKIP_ENV, "Azurite", "Azure", Self::start)
    }

    /// Starts the Blob service on a free loopback port and waits until it accepts
    /// connections.
    ///
    /// # Errors
    /// The reason, in words: no binary, it did not start, or it exited (with its output).
    pub fn start() -> Result<Self, String> {
        let binary = loopback::existing(server_binary())?;
        let data = tempfile::tempdir().map_err(|e| format!("no temporary directory: {e}"))?;
        let port = loopback::port()?;
        let mut azurite = Self {
            server: None,
            binary,
            port,
            data,
        };
        azurite.restart()?;
        Ok(azurite)
    }

    /// Kills the server with SIGKILL, as a crash would: its port stops answering. Azurite
    /// saves its blob index every 5 s, so blobs written in the last seconds may be gone
    /// when it comes back: a store that loses recent writes.
    pub fn kill(&mut self) {
        self.server = None;
    }

    /// Starts the server (again) on its port and data directory, and waits until it
    /// accepts connections; a running one is killed first.
    ///
    /// # Errors
    /// As [`Azurite::start`].
    pub fn restart(&mut self) -> Result<(), String> {
        self.kill();
        let mut command = Command::new(&self.binary);
        command
            .args([
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                &self.port.to_string(),
            ])
            .arg("--location")
            .arg(self.data.path())
            .args(["--disableTelemetry", "--silent"]);
        let what = self.binary.display().to_string();
        self.server = Some(loopback::spawn_and_wait(
            command, &what, self.port, STARTUP,
        )?);
        Ok(())
    }

    /// The service's address, `http://127.0.0.1:PORT` (what `AZURITE_BLOB_STORAGE_URL`
    /// takes).
    pub fn service_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The account's endpoint, `http://127.0.0.1:PORT/devstoreaccount1` (what
    /// `azure_storage_endpoint` takes).
    pub fn endpoint(&self) -> String {
        format!("{}/{ACCOUNT}", self.service_url())
    }

    /// The `object_store` options of an `az://` store on this server (account, key,
    /// endpoint, plain HTTP), for `Stores::from_urls_with`.
    pub fn store_options(&self) -> Vec<(String, String)> {
        vec![
            ("azure_storage_account_name".into(), ACCOUNT.into()),
            ("azure_storage_account_key".into(), ACCOUNT_KEY.into()),
            ("azure_storage_endpoint".into(), self.endpoint()),
            ("azure_allow_http".into(), "true".into()),
        ]
    }

    /// The environment a process needs to reach this server as its Azure Blob service:
    /// `AZURE_STORAGE_USE_EMULATOR=true` and `AZURITE_BLOB_STORAGE_URL` (the account and
    /// key are then Azurite's well-known ones).
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AZURE_STORAGE_USE_EMULATOR".into(), "true".into()),
            ("AZURITE_BLOB_STORAGE_URL".into(), self.service_url()),
        ]
    }

    /// Creates the container `name`, private.
    ///
    /// # Panics
    /// When Azurite refuses (the test fails with its answer).
    pub fn create_container(&self, name: &str) {
        self.create(name, "");
    }

    /// Creates the container `name` with public access level `container`: anyone may list
    /// its blobs and read them, without credentials (`x-ms-blob-public-access: container`,
    /// as `az storage container create --public-access container` sets it).
    ///
    /// # Panics
    /// When Azurite refuses (the test fails with its answer).
    pub fn create_public_container(&self, name: &str) {
        self.create(name, "container");
    }

    /// Create Container `name` with the public access level `access` (`""`: private).
    fn create(&self, name: &str, access: &str) {
        // Create Container with a Shared Key signature, computed by Node's crypto (no
        // Azure SDK is installed): path-style, so the account is in the path as well as
        // in the canonicalized resource.
        let script = r#"
const crypto = require('crypto');
const http = require('http');
const [port, account, key, container, access] = process.argv.slice(1);
const date = new Date().toUTCString();
const version = '2021-10-04';
const path = `/${account}/${container}`;
const msHeaders = { 'x-ms-date': date, 'x-ms-version': version };
if (access) { msHeaders['x-ms-blob-public-access'] = access; }
const canonical = Object.keys(msHeaders).sort().map((h) => `${h}:${msHeaders[h]}`).join('\n');
const toSign = ['PUT', '', '', '', '', '', '', '', '', '', '', '', canonical,
  `/${account}${path}\nrestype:container`].join('\n');
const sig = crypto.createHmac('sha256', Buffer.from(key, 'base64')).update(toSign, 'utf8').digest('base64');
const req = http.request({ host: '127.0.0.1', port, method: 'PUT', path: `${path}?restype=container`,
  headers: { ...msHeaders, 'Content-Length': 0,
    Authorization: `SharedKey ${account}:${sig}` } }, (res) => {
  let body = '';
  res.on('data', (d) => { body += d; });
  res.on('end', () => {
    if (res.statusCode !== 201) { console.error(res.statusCode, body); process.exit(1); }
  });
});
req.on('error', (e) => { console.error(e.message); process.exit(1); });
req.end();
"#;
        let output = Command::new("node")
            .args(["-e", script])
            .args([&self.port.to_string(), ACCOUNT, ACCOUNT_KEY, name, access])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run node: {e}"));
        assert!(
            output.status.success(),
            "Create Container {name} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
