//! The configuration file (`--config FILE`, `--check-config FILE`; issue #15): the commented
//! example parses and checks; every class of bad field is refused naming the key; flags
//! override the file; `--check-config` prints a summary with no secret in it (exit 0) or
//! the error naming the key (exit 2); and a writer started from a file serves.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use verifier_core::chain::Auditor;
use zipchain_writer::config::{Secret, StoreConfig, TimestampConfig};
use zipchain_writer::{CommandLine, Config, ConfigError};

/// The token the tests' token files hold: never to be seen in any output.
const TOKEN: &str = "tok-SECRET-0123456789";

/// Two witnesses' verifier keys (`zipchain witness keygen`), as in the example.
const WITNESS_A: &str = "witness-a.example+16962832+BAlp84wapWW3Ze4CHQDmsV04/H67U+litye/O8ivq8n0";
const WITNESS_B: &str = "witness-b.example+161ac471+BHJ21zgC40RDwygcFilvmAgxCTRGoFJHeE9bwI+qObaE";

/// The repository's example configuration.
fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/writer.example.toml")
}

/// Writes `content` to `dir/name` with `mode`.
fn write(dir: &Path, name: &str, content: &str, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

/// The configuration of `--config FILE` and `flags`.
fn load(file: &Path, flags: &[&str]) -> Result<Config, ConfigError> {
    let mut argv = vec!["zipchain-writer", "--config", file.to_str().unwrap()];
    argv.extend_from_slice(flags);
    Config::try_from(CommandLine::try_parse_from(argv).unwrap())
}

/// The example with its absolute token file replaced by `token` (beside it).
fn example_with_token(dir: &Path) -> PathBuf {
    write(dir, "token", &format!("{TOKEN}\n"), 0o600);
    let text = std::fs::read_to_string(example())
        .unwrap()
        .replace("/etc/zipchain-writer/token", "token");
    write(dir, "writer.toml", &text, 0o644)
}

#[test]
fn the_example_parses_and_checks() {
    zipchain_writer::config_file::read(&example()).expect("docs/writer.example.toml parses");
    let tmp = tempfile::tempdir().unwrap();
    let config = load(&example_with_token(tmp.path()), &[]).unwrap();
    assert_eq!(config.data_dir, Path::new("/var/lib/zipchain-writer"));
    assert_eq!(config.listen.to_string(), "0.0.0.0:8080");
    assert_eq!(config.token, Some(Secret::from(TOKEN)));
    assert_eq!(config.batch_max, 10_000);
    let stores = config.stores.as_ref().unwrap();
    assert_eq!(stores.len(), 6);
    assert_eq!(
        stores[1],
        StoreConfig {
            url: "s3://zipchain-shards-1".into(),
            options: vec![("aws_region".into(), "us-west-2".into())],
        }
    );
    assert!(stores[2].url.starts_with("az://") && stores[4].url.starts_with("gs://"));
    assert_eq!(config.sequencer.as_deref(), Some("http://127.0.0.1:8082"));
    let Some(TimestampConfig::Cognito(cognito)) = &config.timestamp else {
        panic!("{:?}", config.timestamp);
    };
    assert_eq!(cognito.user_pool_id, "us-east-1_AbCdEf123");
    assert_eq!(cognito.region, "us-east-1");
    assert_eq!(config.witnesses.as_ref().unwrap().quorum, 2);
    assert_eq!(
        config.witness_urls,
        vec![
            "https://witness-a.example/tlog-witness",
            "https://witness-b.example/"
        ]
    );
    // Neither Debug shows the token.
    assert!(!format!("{config:?}").contains(TOKEN));
}

/// A minimal valid file's lines, to which each case adds or replaces.
const BASE: &str = "data_dir = \"data\"\n";

#[test]
fn every_class_of_bad_field_is_refused_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write(d, "token", &format!("{TOKEN}\n"), 0o600);
    write(d, "open-token", &format!("{TOKEN}\n"), 0o644);
    let six = |fourth: &str| {
        let mut urls = ["\"memory://\""; 6];
        urls[3] = fourth;
        format!("stores = [{}]\n", urls.join(", "))
    };
    let s3 = |options: &str| {
        format!(
            "stores = [\"memory://\", {{ url = \"s3://b\", options = {{ {options} }} }}, \"memory://\", \"memory://\", \"memory://\", \"memory://\"]\n"
        )
    };
    let cognito = |extra: &str| {
        format!(
            "[timestamp.cognito]\nuser_pool_id = \"us-east-1_Pool1\"\nclient_id = \"c\"\nusername_domain = \"bky.sh\"\n{extra}"
        )
    };
    let cases: Vec<(String, &str)> = vec![
        // TOML syntax.
        (format!("{BASE}[batch\n"), "line 2: (file): "),
        // Unknown keys, at the top and in a table.
        (
            format!("{BASE}foo = 1\n"),
            "line 2: foo: unknown field `foo`",
        ),
        (
            format!("{BASE}[batch]\nmaxx = 3\n"),
            "batch.maxx: unknown field `maxx`",
        ),
        (
            format!("{BASE}[[stores]]\nurl = \"memory://\"\nurl2 = \"x\"\n"),
            "stores[0].url2: unknown field",
        ),
        // Types.
        (
            format!("{BASE}[limits]\nmax_connections = \"many\"\n"),
            "line 3: limits.max_connections: invalid type: string \"many\", expected u64",
        ),
        (
            format!("{BASE}[batch]\nmax = -1\n"),
            "batch.max: invalid value: integer `-1`",
        ),
        (format!("{BASE}listen = \"localhost\"\n"), "listen: "),
        (
            format!("{BASE}allow_mutable_store = \"yes\"\n"),
            "allow_mutable_store: invalid type",
        ),
        // Ranges.
        (
            format!("{BASE}[batch]\nmax = 0\n"),
            "batch.max: 0 is out of range, expected 1 to",
        ),
        (
            format!("{BASE}[batch]\nmax = 100000000\n"),
            "batch.max: 100000000 is out of range",
        ),
        (
            format!("{BASE}[batch]\nwait_ms = 3600001\n"),
            "batch.wait_ms: 3600001 is out of range",
        ),
        (
            format!("{BASE}[limits]\nmax_tx_bytes = 0\n"),
            "limits.max_tx_bytes: 0 is out of range",
        ),
        (
            format!("{BASE}[limits]\nheader_timeout_ms = 0\n"),
            "limits.header_timeout_ms: 0 is out of range",
        ),
        (
            format!("{BASE}[limits]\nidle_timeout_ms = 86400001\n"),
            "limits.idle_timeout_ms: 86400001 is out of range",
        ),
        (
            format!("{BASE}[limits]\nmax_connections = 1000001\n"),
            "limits.max_connections: 1000001 is out of range",
        ),
        (
            format!("{BASE}[limits]\nmax_pending = 0\n"),
            "limits.max_pending: 0 is out of range",
        ),
        (
            format!("{BASE}[limits]\nrequest_timeout_ms = 0\n"),
            "limits.request_timeout_ms: 0 is out of range",
        ),
        (
            format!("{BASE}[limits]\nmax_requests = 0\n"),
            "limits.max_requests: 0 is out of range",
        ),
        // Stores.
        (
            format!("{BASE}stores = [\"memory://\"]\n"),
            "stores: got 1 stores, expected exactly 6",
        ),
        (
            format!("{BASE}{}", six("\"ftp://x\"")),
            "stores[3]: unsupported scheme \"ftp\"",
        ),
        (
            format!("{BASE}{}", six("\"not a url\"")),
            "stores[3]: \"not a url\" is not a URL",
        ),
        (
            format!(
                "{BASE}{}",
                six("{ url = \"file:///tmp/s\", options = { aws_region = \"x\" } }")
            ),
            "stores[3].options.aws_region: a file:// store takes no options",
        ),
        (
            format!("{BASE}{}", s3("azure_storage_account_name = \"a\"")),
            "stores[1].options.azure_storage_account_name: a s3:// store takes aws_* options",
        ),
        (
            format!("{BASE}{}", s3("aws_no_such_option = \"1\"")),
            "stores[1].options.aws_no_such_option: not an option object_store knows",
        ),
        (
            format!("{BASE}{}", s3("aws_secret_access_key = \"aws-SECRET\"")),
            "stores[1].options.aws_secret_access_key: a secret does not go in the configuration file: give it in the writer's environment (AWS_SECRET_ACCESS_KEY)",
        ),
        (
            format!(
                "{BASE}{}",
                six("{ url = \"az://c\", options = { azure_storage_sas_token = \"sas-SECRET\" } }")
            ),
            "stores[3].options.azure_storage_sas_token: a secret does not go",
        ),
        // Services.
        (
            format!("{BASE}[sequencer]\nurl = \"ftp://x\"\n"),
            "sequencer.url: \"ftp://x\" is not an http(s) URL",
        ),
        (
            format!("{BASE}[sequencer]\n"),
            "sequencer: missing field `url`",
        ),
        (
            format!("{BASE}[timestamp]\nurl = \"http://tsa\"\n{}", cognito("")),
            "timestamp: expected either url",
        ),
        (
            format!("{BASE}[timestamp]\n"),
            "timestamp: expected either url",
        ),
        (
            format!("{BASE}[timestamp]\nurl = \"cognito://us-east-1_P?client=c\"\n"),
            "timestamp.url: cognito://us-east-1_P?client=c: no domain=",
        ),
        (
            format!(
                "{BASE}[timestamp.cognito]\nuser_pool_id = \"p\"\nclient_id = \"c\"\nusername_domain = \"d\"\n"
            ),
            "timestamp.cognito.user_pool_id: \"p\" is not <region>_<id>",
        ),
        (
            format!("{BASE}{}", cognito("region = \"eu-west-1\"\n")),
            "timestamp.cognito.user_pool_id: ",
        ),
        (
            format!(
                "{BASE}{}",
                cognito("region = \"US\"\n").replace("us-east-1_", "US_")
            ),
            "timestamp.cognito.region: ",
        ),
        (
            format!("{BASE}{}", cognito("endpoint = \"ftp://x\"\n")),
            "timestamp.cognito.endpoint: \"ftp://x\" is not an http(s) URL",
        ),
        (
            format!(
                "{BASE}{}",
                cognito("").replace("username_domain = \"bky.sh\"", "username_domain = \"a@b\"")
            ),
            "timestamp.cognito.username_domain: ",
        ),
        (
            format!(
                "{BASE}[timestamp.cognito]\nuser_pool_id = \"us-east-1_P\"\nusername_domain = \"d\"\n"
            ),
            "timestamp.cognito: missing field `client_id`",
        ),
        (
            format!("{BASE}{}", cognito("secret = \"x\"\n")),
            "timestamp.cognito.secret: unknown field",
        ),
        // The token.
        (
            format!("{BASE}[auth]\ntoken = \"{TOKEN}\"\n"),
            "auth.token: the token does not go in the configuration file",
        ),
        (
            format!("{BASE}[auth]\ntoken_file = \"open-token\"\n"),
            "has mode 644, so other users may read the token",
        ),
        (
            format!("{BASE}[auth]\ntoken_file = \"missing\"\n"),
            "cannot read the token file",
        ),
        (
            "data_dir = \"data\"\nlisten = \"0.0.0.0:8080\"\n".to_owned(),
            "listen 0.0.0.0:8080 is not a loopback address, so writes need a token",
        ),
        // One-off steps, witnesses, the data directory.
        (
            format!("{BASE}new_chain = true\n"),
            "new_chain: starting a successor chain is a one-off step",
        ),
        (
            format!("{BASE}[witnesses]\nkeys = [\"nonsense\"]\nquorum = 1\n"),
            "witnesses.keys[0]: ",
        ),
        (
            format!("{BASE}[witnesses]\nkeys = [\"{WITNESS_A}\", \"{WITNESS_B}\"]\nquorum = 3\n"),
            "witnesses.quorum is 3, expected 1 to 2",
        ),
        (
            format!("{BASE}[witnesses]\nkeys = [\"{WITNESS_A}\"]\n"),
            "witness keys need a quorum K",
        ),
        (
            format!("{BASE}[witnesses]\nquorum = 1\n"),
            "a quorum without any witness key",
        ),
        (
            format!("{BASE}[witnesses]\nurls = [\"https://w.example/\", \"ftp://w.example/\"]\n"),
            "witnesses.urls[1]: \"ftp://w.example/\" is not an http(s) URL",
        ),
        (
            format!("{BASE}[witnesses]\nurls = \"https://w.example/\"\n"),
            "witnesses.urls: invalid type: string",
        ),
        (
            format!("{BASE}[witnesses]\nurl = [\"https://w.example/\"]\n"),
            "witnesses.url: unknown field `url`",
        ),
        ("listen = \"127.0.0.1:0\"\n".to_owned(), "no data directory"),
    ];
    for (i, (text, expected)) in cases.iter().enumerate() {
        let file = write(d, &format!("case-{i}.toml"), text, 0o644);
        let error = load(&file, &[]).expect_err(text).to_string();
        assert!(
            error.contains(expected),
            "case {i}:\n{text}\ngot: {error}\nexpected: {expected}"
        );
        for secret in [TOKEN, "aws-SECRET", "sas-SECRET"] {
            assert!(!error.contains(secret), "case {i} shows a secret: {error}");
        }
    }
    let missing = d.join("no-such.toml");
    let error = load(&missing, &[]).unwrap_err();
    assert!(
        matches!(error, ConfigError::FileUnreadable { .. }),
        "{error}"
    );
}

#[test]
fn flags_override_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write(d, "token", &format!("{TOKEN}\n"), 0o600);
    let file = write(
        d,
        "writer.toml",
        &format!(
            "data_dir = \"data\"\nlisten = \"0.0.0.0:9000\"\n[auth]\ntoken_file = \"token\"\n[batch]\nmax = 500\nwait_ms = 50\n[witnesses]\nkeys = [\"{WITNESS_A}\"]\nquorum = 1\nurls = [\"http://127.0.0.1:7001/\"]\n"
        ),
        0o644,
    );
    let from_file = load(&file, &[]).unwrap();
    assert_eq!(from_file.data_dir, d.join("data"), "relative to the file");
    assert_eq!(
        (from_file.batch_max, from_file.batch_wait.as_millis()),
        (500, 50)
    );
    assert!(!from_file.new_chain);
    let over = load(
        &file,
        &[
            "--batch-max",
            "7",
            "--data-dir",
            "/elsewhere",
            "--listen",
            "127.0.0.1:0",
            "--new-chain",
            "--witness-key",
            WITNESS_B,
            "--quorum",
            "1",
        ],
    )
    .unwrap();
    assert_eq!(over.batch_max, 7);
    assert_eq!(
        over.batch_wait.as_millis(),
        50,
        "a flag left to its default does not override"
    );
    assert_eq!(over.data_dir, Path::new("/elsewhere"));
    assert_eq!(over.listen.to_string(), "127.0.0.1:0");
    assert!(over.new_chain);
    assert_eq!(over.witnesses.unwrap().keys, vec![WITNESS_B.to_owned()]);
    assert_eq!(
        over.witness_urls,
        vec!["http://127.0.0.1:7001/"],
        "--witness-key/--quorum leave witnesses.urls"
    );
    // --witness replaces witnesses.urls and leaves the keys.
    let pushed = load(
        &file,
        &[
            "--witness",
            "http://127.0.0.1:7002",
            "--witness",
            "http://127.0.0.1:7003",
        ],
    )
    .unwrap();
    assert_eq!(
        pushed.witness_urls,
        vec!["http://127.0.0.1:7002", "http://127.0.0.1:7003"]
    );
    assert_eq!(pushed.witnesses.unwrap().keys, vec![WITNESS_A.to_owned()]);
    let error = load(&file, &["--witness", "http://127.0.0.1:7002/?x"])
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("--witness[0]: "), "{error}");
    assert_eq!(
        over.token,
        Some(Secret::from(TOKEN)),
        "the file's token file stays"
    );
    // Flag errors name the flag.
    let error = load(&file, &["--batch-max", "0"]).unwrap_err().to_string();
    assert!(
        error.starts_with("--batch-max: 0 is out of range"),
        "{error}"
    );
    // A token on the command line beside the file's token file: one source only.
    let error = load(&file, &["--token", "other"]).unwrap_err();
    assert_eq!(
        error,
        ConfigError::TokenTwice {
            file_field: "auth.token_file".into()
        }
    );
    // --store replaces all six stores.
    let six: Vec<&str> = (0..6).flat_map(|_| ["--store", "memory://"]).collect();
    let stores = load(&file, &six).unwrap().stores.unwrap();
    assert!(
        stores
            .iter()
            .all(|s| s.url == "memory://" && s.options.is_empty())
    );
    // --check-config and --config are one or the other.
    assert!(
        CommandLine::try_parse_from([
            "zipchain-writer",
            "--config",
            "a.toml",
            "--check-config",
            "a.toml"
        ])
        .is_err()
    );
}

/// Runs `zipchain-writer --check-config FILE` with `env`: (exit code, stdout, stderr).
fn check_config(file: &Path, env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_zipchain-writer"))
        .arg("--check-config")
        .arg(file)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove(zipchain_writer::config::TOKEN_ENV)
        .env("RUST_LOG", "trace")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn check_config_prints_a_summary_without_secrets_or_the_error_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let file = example_with_token(tmp.path());
    let aws_secret = "aws-SECRET-access-key-value";
    let session = "aws-SECRET-session-token-value";
    let env = [
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", aws_secret),
        ("AWS_SESSION_TOKEN", session),
    ];
    let (code, stdout, stderr) = check_config(&file, &env);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    for key in [
        "data_dir = \"/var/lib/zipchain-writer\"",
        "stores[0] = \"s3://zipchain-shards-0\" { aws_region = \"us-east-1\" }",
        "stores[5] = \"gs://zipchain-shards-5\"",
        "timestamp.cognito.user_pool_id = \"us-east-1_AbCdEf123\"",
        "timestamp.cognito.credentials = the environment",
        "batch.max = 10000",
        "auth.token = (redacted) from auth.token_file",
        "limits.max_requests = 8192",
        "witnesses.quorum = 2",
        "witnesses.urls[0] = \"https://witness-a.example/tlog-witness\"",
        "witnesses.urls[1] = \"https://witness-b.example/\"",
    ] {
        assert!(stdout.contains(key), "no {key:?} in:\n{stdout}");
    }
    assert!(stderr.contains("the configuration is valid"), "{stderr}");
    for secret in [TOKEN, aws_secret, session] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} shown:\n{stdout}\n{stderr}"
        );
    }

    // Without credentials for Cognito: exit 2, naming it.
    let (code, _, stderr) = check_config(&file, &[("HOME", "/nonexistent")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("Cognito credentials"), "{stderr}");

    // A bad key: exit 2, the key named, nothing on stdout.
    let bad = write(
        tmp.path(),
        "bad.toml",
        &std::fs::read_to_string(&file)
            .unwrap()
            .replace("max = 10000", "max = 0"),
        0o644,
    );
    let (code, stdout, stderr) = check_config(&bad, &env);
    assert_eq!(code, Some(2));
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("batch.max: 0 is out of range"), "{stderr}");
}

/// POSTs `data` with the bearer `token`; the status and the body.
async fn post_with(
    client: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    data: Vec<u8>,
) -> (u16, serde_json::Value) {
    let mut request = client
        .post(format!("{base}/v1/transactions"))
        .header("content-type", "application/octet-stream")
        .body(data);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_started_from_a_file_serves() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write(d, "token", &format!("{TOKEN}\n"), 0o600);
    let file = write(
        d,
        "writer.toml",
        &format!(
            "data_dir = \"data\"\nlisten = \"127.0.0.1:0\"\n\
             [auth]\ntoken_file = \"token\"\n\
             [batch]\nmax = 16\nwait_ms = 20\n\
             [limits]\nmax_tx_bytes = 1024\n\
             [witnesses]\nkeys = [\"{WITNESS_A}\", \"{WITNESS_B}\"]\nquorum = 2\n"
        ),
        0o644,
    );
    let daemon = Daemon::spawn(
        &["--config".into(), file.clone().into()],
        &[],
        d.join("writer.log"),
    );
    let client = client();
    let (status, _) = post_with(&client, &daemon.base, None, b"no token".to_vec()).await;
    assert_eq!(status, 401, "auth.token_file is in force");
    let (status, _) = post_with(&client, &daemon.base, Some(TOKEN), vec![0; 1025]).await;
    assert_eq!(status, 413, "limits.max_tx_bytes is in force");
    let mut txs = Vec::new();
    for i in 0..40 {
        let (status, body) = post_with(
            &client,
            &daemon.base,
            Some(TOKEN),
            format!("from a file {i}").into_bytes(),
        )
        .await;
        assert_eq!(status, 202, "{body}");
        txs.push(body["tx"].as_str().unwrap().to_owned());
    }
    let heights = wait_final(&client, &daemon.base, &txs).await;
    assert!(heights.iter().all(|h| *h >= 1));
    let trust = trust(&client, &daemon.base).await;
    assert_eq!(
        trust.witnesses().unwrap().quorum(),
        2,
        "[witnesses] at genesis"
    );
    let auditor = Auditor::new(&trust).unwrap();
    let audit = pull_and_audit(&d.join("data"), &auditor).await;
    assert!(
        audit.height().unwrap() >= 3,
        "batch.max 16 cuts 40 writes into several blocks"
    );
    check_certificates(&client, &daemon.base, &auditor, Some(&audit), &txs).await;
    let log = daemon.log_text();
    assert!(!log.contains(TOKEN), "the token is logged:\n{log}");
    assert!(daemon.stop().success());
}
