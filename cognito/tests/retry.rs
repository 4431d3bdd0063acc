//! Throttling and server errors are retried with backoff, a bounded number of times; other
//! errors are not. A scripted HTTP server on loopback answers in turn.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{Ipv4Addr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cognito::{AwsCredentials, CognitoApi, CognitoError, RetryPolicy};
use serde_json::json;
use url::Url;

/// The `X-Amz-Target` and `Authorization` headers of the requests seen, in order.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// Serves `answers` (status, `__type`) one per connection, then stops; returns the endpoint
/// and the requests' `X-Amz-Target` and `Authorization` headers as they arrive.
fn scripted(answers: Vec<(u16, &'static str)>) -> (Url, Seen) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let url =
        Url::parse(&format!("http://{}/", listener.local_addr().expect("addr"))).expect("url");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for (status, code) in answers {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream);
            let (mut target, mut auth, mut length) = (String::new(), String::new(), 0usize);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("x-amz-target:") {
                    target = line[line.len() - v.len()..].trim().to_string();
                } else if lower.starts_with("authorization:") {
                    auth = line["authorization:".len()..].trim().to_string();
                } else if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            log.lock().expect("log").push((target, auth));
            let payload = if status == 200 {
                "{\"ok\":true}".to_string()
            } else {
                format!("{{\"__type\":\"{code}\",\"message\":\"scripted {code}\"}}")
            };
            let _ = write!(
                reader.get_mut(),
                "HTTP/1.1 {status} X\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
                payload.len()
            );
        }
    });
    (url, seen)
}

fn api(url: Url, max_attempts: u32) -> CognitoApi {
    CognitoApi::new(
        "us-east-1",
        Some(url),
        AwsCredentials::new("AKIDTEST", "secret-key-not-to-show", None),
        RetryPolicy {
            max_attempts,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            request_timeout: Duration::from_secs(5),
        },
    )
    .expect("api")
}

#[tokio::test]
async fn throttling_is_retried_until_it_passes() {
    let (url, seen) = scripted(vec![
        (400, "TooManyRequestsException"),
        (503, "InternalErrorException"),
        (200, ""),
    ]);
    let answer = api(url, 5)
        .call("AdminCreateUser", &json!({ "Username": "u" }))
        .await
        .expect("the third attempt passes");
    assert_eq!(answer, json!({ "ok": true }));
    let seen = seen.lock().expect("log");
    assert_eq!(seen.len(), 3);
    for (target, auth) in seen.iter() {
        assert_eq!(target, "AWSCognitoIdentityProviderService.AdminCreateUser");
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDTEST/")
                && auth.contains("/us-east-1/cognito-idp/aws4_request")
                && auth.contains("x-amz-target"),
            "{auth}"
        );
    }
}

#[tokio::test]
async fn attempts_are_bounded() {
    let (url, seen) = scripted(vec![(400, "TooManyRequestsException"); 3]);
    let error = api(url, 3)
        .call("AdminInitiateAuth", &json!({}))
        .await
        .expect_err("still throttled");
    assert_eq!(
        error,
        CognitoError::Service {
            operation: "AdminInitiateAuth",
            status: 400,
            code: "TooManyRequestsException".into(),
            message: "scripted TooManyRequestsException".into(),
            attempts: 3,
        }
    );
    assert_eq!(seen.lock().expect("log").len(), 3);
    assert!(!error.to_string().contains("secret-key-not-to-show"));
}

#[tokio::test]
async fn other_errors_are_not_retried() {
    let (url, seen) = scripted(vec![(400, "NotAuthorizedException"), (200, "")]);
    let error = api(url, 5)
        .call(
            "AdminInitiateAuth",
            &json!({ "AuthParameters": { "PASSWORD": "pw-not-to-show" } }),
        )
        .await
        .expect_err("not retried");
    assert!(
        matches!(&error, CognitoError::Service { code, attempts: 1, .. } if code == "NotAuthorizedException"),
        "{error:?}"
    );
    assert_eq!(seen.lock().expect("log").len(), 1);
    assert!(!format!("{error} {error:?}").contains("pw-not-to-show"));
}

#[tokio::test]
async fn a_dead_endpoint_is_a_transport_error_after_the_attempts() {
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let url = Url::parse(&format!("http://127.0.0.1:{port}/")).expect("url");
    match api(url, 2).call("AdminSetUserPassword", &json!({})).await {
        Err(CognitoError::Transport {
            operation,
            attempts,
            ..
        }) => {
            assert_eq!(operation, "AdminSetUserPassword");
            assert_eq!(attempts, 2);
        }
        other => panic!("{other:?}"),
    }
}
