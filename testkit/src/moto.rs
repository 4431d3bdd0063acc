//! A real S3 for tests: `moto_server` (PyPI `moto[server]`, installed by `scripts/setup.sh`
//! into `.venv/moto`) started on a free loopback port, and its buckets made with boto3 from
//! the same virtual environment (issue #15).
//!
//! A test that needs it calls [`MotoServer::start_or_skip`]: when the server cannot start,
//! that **panics** with the reason, so the test fails; only `ZIPCHAIN_SKIP_MOTO=1` set
//! explicitly skips it (the function then returns `None` and says so on stderr).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::loopback;
pub use crate::loopback::free_port;

/// The environment variable that names another `moto_server` than `.venv/moto`'s.
pub const SERVER_ENV: &str = "ZIPCHAIN_MOTO_SERVER";

/// The environment variable that, set to `1`, skips the tests that need `moto_server`.
pub const SKIP_ENV: &str = "ZIPCHAIN_SKIP_MOTO";

/// The access key the tests use (moto takes any).
pub const ACCESS_KEY_ID: &str = "zipchain-test";

/// The secret key the tests use.
pub const SECRET_ACCESS_KEY: &str = "zipchain-test-secret";

/// The region the tests use.
pub const REGION: &str = "us-east-1";

/// How long the server may take to accept connections.
const STARTUP: Duration = Duration::from_secs(60);

/// A bucket's Object Lock, as [`MotoServer::create_bucket`] makes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BucketLock {
    /// No Object Lock (versioning off).
    None,
    /// Object Lock enabled, no default retention.
    Enabled,
    /// Object Lock with a default retention of `days` in COMPLIANCE mode.
    Compliance {
        /// The retention, in days.
        days: u32,
    },
    /// Object Lock with a default retention of `days` in GOVERNANCE mode.
    Governance {
        /// The retention, in days.
        days: u32,
    },
}

/// A running `moto_server`, killed when dropped.
#[derive(Debug)]
pub struct MotoServer {
    _server: loopback::Server,
    endpoint: String,
    python: PathBuf,
}

/// The `moto_server` the tests run: `$ZIPCHAIN_MOTO_SERVER`, else `.venv/moto/bin/moto_server`
/// in the workspace.
pub fn server_binary() -> PathBuf {
    loopback::server_binary(SERVER_ENV, "../.venv/moto/bin/moto_server")
}

impl MotoServer {
    /// Starts `moto_server`, or returns `None` when `ZIPCHAIN_SKIP_MOTO=1`.
    ///
    /// # Panics
    /// When the server cannot be started: the test that asked fails, with the reason.
    pub fn start_or_skip() -> Option<Self> {
        loopback::start_or_skip(SKIP_ENV, "moto_server", "S3", Self::start)
    }

    /// Starts `moto_server` on a free loopback port and waits until it accepts connections.
    ///
    /// # Errors
    /// The reason, in words: no binary, it did not start, or it exited (with its output).
    pub fn start() -> Result<Self, String> {
        let binary = loopback::existing(server_binary())?;
        let python = binary.with_file_name("python");
        let port = loopback::port()?;
        let mut command = Command::new(&binary);
        command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        // Its request log goes to stderr; nobody reads it past the start (a thread drains
        // it, since a full pipe would stall the server).
        let server =
            loopback::spawn_and_wait(command, &binary.display().to_string(), port, STARTUP)?;
        Ok(Self {
            _server: server,
            endpoint: format!("http://127.0.0.1:{port}"),
            python,
        })
    }

    /// The server's endpoint, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The `object_store` options of an `s3://` store on this server (endpoint, plain
    /// HTTP, the test credentials and region), for `Stores::from_urls_with`.
    pub fn store_options(&self) -> Vec<(String, String)> {
        vec![
            ("aws_endpoint".into(), self.endpoint.clone()),
            ("aws_allow_http".into(), "true".into()),
            ("aws_access_key_id".into(), ACCESS_KEY_ID.into()),
            ("aws_secret_access_key".into(), SECRET_ACCESS_KEY.into()),
            ("aws_region".into(), REGION.into()),
        ]
    }

    /// The environment a process needs to reach this server as its S3 (`AWS_ENDPOINT`,
    /// `AWS_ALLOW_HTTP`, the test credentials and region).
    pub fn env(&self) -> Vec<(String, String)> {
        self.store_options()
            .into_iter()
            .map(|(k, v)| (k.to_ascii_uppercase(), v))
            .collect()
    }

    /// Creates `bucket` with `lock`.
    ///
    /// # Panics
    /// When moto refuses (the test fails with boto3's message).
    pub fn create_bucket(&self, bucket: &str, lock: BucketLock) {
        let rule = match lock {
            BucketLock::None => "None".to_owned(),
            BucketLock::Enabled => "{'ObjectLockEnabled': 'Enabled'}".to_owned(),
            BucketLock::Compliance { days } => format!(
                "{{'ObjectLockEnabled': 'Enabled', 'Rule': {{'DefaultRetention': {{'Mode': 'COMPLIANCE', 'Days': {days}}}}}}}"
            ),
            BucketLock::Governance { days } => format!(
                "{{'ObjectLockEnabled': 'Enabled', 'Rule': {{'DefaultRetention': {{'Mode': 'GOVERNANCE', 'Days': {days}}}}}}}"
            ),
        };
        let locked = if lock == BucketLock::None {
            "False"
        } else {
            "True"
        };
        self.boto3(&format!(
            "s3.create_bucket(Bucket={bucket:?}, ObjectLockEnabledForBucket={locked})\n\
             rule = {rule}\n\
             if rule and 'Rule' in rule:\n    \
                 s3.put_object_lock_configuration(Bucket={bucket:?}, ObjectLockConfiguration=rule)\n"
        ));
    }

    /// Publishes `bucket` for anonymous reading: a bucket policy that lets anyone
    /// (`"Principal": "*"`) list it (`s3:ListBucket`) and get its objects (`s3:GetObject`),
    /// as docs/DECISIONS.md ("Public read-only pull") tells a user to publish a bucket.
    ///
    /// # Panics
    /// When moto refuses (the test fails with boto3's message).
    pub fn make_public(&self, bucket: &str) {
        self.boto3(&format!(
            "import json\n\
             s3.put_bucket_policy(Bucket={bucket:?}, Policy=json.dumps({{'Version': '2012-10-17', 'Statement': [\n    \
                 {{'Sid': 'PublicList', 'Effect': 'Allow', 'Principal': '*', 'Action': 's3:ListBucket', 'Resource': 'arn:aws:s3:::{bucket}'}},\n    \
                 {{'Sid': 'PublicRead', 'Effect': 'Allow', 'Principal': '*', 'Action': 's3:GetObject', 'Resource': 'arn:aws:s3:::{bucket}/*'}}]}}))\n"
        ));
    }

    /// Creates a Cognito user pool `name` as the writer needs it (plain usernames, no MFA)
    /// and an app client without a secret that allows `ADMIN_USER_PASSWORD_AUTH`, with
    /// boto3; returns (pool id, client id).
    ///
    /// # Panics
    /// When moto refuses (the test fails with boto3's message).
    pub fn create_user_pool(&self, name: &str) -> (String, String) {
        let printed = self.boto3(&format!(
            "idp = boto3.client('cognito-idp', endpoint_url={endpoint:?}, region_name={REGION:?}, \
             aws_access_key_id={ACCESS_KEY_ID:?}, aws_secret_access_key={SECRET_ACCESS_KEY:?})\n\
             pool = idp.create_user_pool(PoolName={name:?})['UserPool']['Id']\n\
             client = idp.create_user_pool_client(UserPoolId=pool, ClientName={client:?}, \
             GenerateSecret=False, ExplicitAuthFlows=['ALLOW_ADMIN_USER_PASSWORD_AUTH', \
             'ALLOW_REFRESH_TOKEN_AUTH'])['UserPoolClient']['ClientId']\n\
             print(pool, client)\n",
            endpoint = self.endpoint,
            client = format!("{name}-writer"),
        ));
        match printed.trim().split_once(' ') {
            Some((pool, client)) => (pool.to_owned(), client.to_owned()),
            None => panic!("create_user_pool printed {printed:?}"),
        }
    }

    /// Runs `script` under the virtual environment's Python with `s3`, a boto3 S3 client
    /// of this server, in scope; returns what it printed.
    ///
    /// # Panics
    /// When the script fails (the test fails with its output).
    pub fn boto3(&self, script: &str) -> String {
        let program = format!(
            "import boto3\n\
             s3 = boto3.client('s3', endpoint_url={endpoint:?}, region_name={REGION:?}, \
             aws_access_key_id={ACCESS_KEY_ID:?}, aws_secret_access_key={SECRET_ACCESS_KEY:?})\n\
             {script}",
            endpoint = self.endpoint,
        );
        let output = Command::new(&self.python)
            .args(["-c", &program])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.python.display()));
        assert!(
            output.status.success(),
            "boto3 script failed ({}):\n{program}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}
