//! The Cognito timestamp client against a real moto server on loopback (issue #15): a pool
//! and an app client made through the signed API, tokens for `y`, checked by the chain's
//! verifier under the pool's JWKS.
//!
//! The server is `.venv/moto/bin/moto_server` (`scripts/setup.sh`), started by
//! `testkit::moto::MotoServer`; a server that cannot start fails the test with the reason
//! (only `ZIPCHAIN_SKIP_MOTO=1`, set explicitly, skips it).

use cognito::{
    AwsCredentials, CognitoApi, CognitoConfig, CognitoError, CognitoTimestamps, RetryPolicy,
    verifier_for,
};
use serde_json::{Value, json};
use testkit::moto::{ACCESS_KEY_ID, MotoServer, REGION, SECRET_ACCESS_KEY};
use url::Url;
use verifier_core::timestamp::{TimestampError, TokenUse};

const DOMAIN: &str = "bky.sh";

fn credentials() -> AwsCredentials {
    AwsCredentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY, None)
}

fn endpoint(server: &MotoServer) -> Url {
    Url::parse(server.endpoint()).expect("moto's endpoint is a URL")
}

/// A new pool with plain usernames and an app client for `ADMIN_USER_PASSWORD_AUTH`, made
/// through the signed API; returns (pool id, client id).
async fn make_pool(server: &MotoServer, name: &str) -> (String, String) {
    let api = CognitoApi::new(
        REGION,
        Some(endpoint(server)),
        credentials(),
        RetryPolicy::default(),
    )
    .expect("api");
    let pool = api
        .call("CreateUserPool", &json!({ "PoolName": name }))
        .await
        .expect("CreateUserPool");
    let pool_id = pool["UserPool"]["Id"]
        .as_str()
        .expect("UserPool.Id")
        .to_string();
    let client = api
        .call(
            "CreateUserPoolClient",
            &json!({
                "UserPoolId": pool_id,
                "ClientName": format!("{name}-writer"),
                "GenerateSecret": false,
                "ExplicitAuthFlows": ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            }),
        )
        .await
        .expect("CreateUserPoolClient");
    let client_id = client["UserPoolClient"]["ClientId"]
        .as_str()
        .expect("UserPoolClient.ClientId")
        .to_string();
    (pool_id, client_id)
}

async fn timestamps(server: &MotoServer, name: &str) -> CognitoTimestamps {
    let (pool, client) = make_pool(server, name).await;
    CognitoTimestamps::new(CognitoConfig {
        region: REGION.into(),
        user_pool_id: pool,
        client_id: client,
        username_domain: DOMAIN.into(),
        endpoint: Some(endpoint(server)),
        credentials: credentials(),
        retry: RetryPolicy::default(),
    })
    .expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_validate_and_attest_y() {
    let Some(server) = MotoServer::start_or_skip() else {
        return;
    };
    let service = timestamps(&server, "zipchain-a").await;
    let trust = service.trust().await.expect("trust");
    assert_eq!(trust.issuer, service.config().aws_issuer());
    assert_eq!(trust.token_use, TokenUse::Id);
    assert_eq!(trust.username_domain, DOMAIN);
    assert!(trust.jwks["keys"].as_array().is_some_and(|k| !k.is_empty()));
    let verifier = verifier_for(&trust).expect("verifier");

    let y = [0x5au8; 32];
    let token = service.timestamp(&y).await.expect("timestamp");
    let verified = verifier.validate(&token).expect("the token validates");
    assert_eq!(verified.attested(), Some(&y[..]));
    let claims = verified.claims();
    assert_eq!(
        claims.get("cognito:username").and_then(Value::as_str),
        Some(format!("{}@{DOMAIN}", hex::encode(y)).as_str())
    );
    assert_eq!(
        claims.get("aud").and_then(Value::as_str),
        Some(service.config().client_id.as_str())
    );
    for claim in ["iat", "exp", "auth_time", "sub"] {
        assert!(claims.contains_key(claim), "moto's ID token has no {claim}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_y_twice_gives_two_valid_tokens() {
    let Some(server) = MotoServer::start_or_skip() else {
        return;
    };
    let service = timestamps(&server, "zipchain-twice").await;
    let verifier = verifier_for(&service.trust().await.expect("trust")).expect("verifier");
    let y = b"the same y, asked again after a crash";
    let first = service.timestamp(y).await.expect("first timestamp");
    let second = service
        .timestamp(y)
        .await
        .expect("second timestamp (UsernameExistsException handled)");
    assert_ne!(first, second, "two authentications, two tokens");
    for token in [&first, &second] {
        let verified = verifier.validate(token).expect("validates");
        assert_eq!(verified.attested(), Some(&y[..]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_of_another_pool_is_rejected() {
    let Some(server) = MotoServer::start_or_skip() else {
        return;
    };
    let ours = timestamps(&server, "zipchain-ours").await;
    let theirs = timestamps(&server, "zipchain-theirs").await;
    let verifier = verifier_for(&ours.trust().await.expect("trust")).expect("verifier");
    let y = [7u8; 32];
    let token = theirs.timestamp(&y).await.expect("their timestamp");
    // moto signs every pool's tokens with one key (kid "dummy"), so the key matches and it
    // is the issuer that tells the pools apart; real pools also differ in their keys.
    let error = verifier.validate(&token).expect_err("another pool's token");
    assert!(
        matches!(
            error,
            TimestampError::Issuer { .. } | TimestampError::KidUnknown { .. }
        ),
        "{error}"
    );
    assert!(
        matches!(error.check(), "issuer" | "kid"),
        "{}",
        error.check()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_the_operation_and_carry_cognito_s_code() {
    let Some(server) = MotoServer::start_or_skip() else {
        return;
    };
    let service = CognitoTimestamps::new(CognitoConfig {
        region: REGION.into(),
        user_pool_id: format!("{REGION}_NoSuchPool1"),
        client_id: "no-such-client".into(),
        username_domain: DOMAIN.into(),
        endpoint: Some(endpoint(&server)),
        credentials: credentials(),
        retry: RetryPolicy::default(),
    })
    .expect("client");
    match service.timestamp(&[1, 2, 3]).await {
        Err(CognitoError::Service {
            operation,
            code,
            attempts,
            ..
        }) => {
            assert_eq!(operation, "AdminCreateUser");
            assert_eq!(code, "ResourceNotFoundException");
            assert_eq!(attempts, 1, "a missing pool is not retried");
        }
        other => panic!("{other:?}"),
    }
}

/// The IAM actions a writer needs on its pool (docs/DEPLOY.md): these three and no more.
const WRITER_ACTIONS: [&str; 3] = [
    "cognito-idp:AdminCreateUser",
    "cognito-idp:AdminSetUserPassword",
    "cognito-idp:AdminInitiateAuth",
];

/// With moto's IAM authentication on, moto recomputes every request's SigV4 signature
/// with botocore and checks the caller's policy: our signing is the SDKs', and the three
/// admin actions are all the writer needs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_signed_as_aws_checks_them() {
    let Some(server) = MotoServer::start_or_skip() else {
        return;
    };
    let (pool, client) = make_pool(&server, "zipchain-signed").await;
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Action": WRITER_ACTIONS, "Resource": "*" }],
    });
    let keys = server.boto3(&format!(
        "iam = boto3.client('iam', endpoint_url={endpoint:?}, region_name={REGION:?}, \
         aws_access_key_id={ACCESS_KEY_ID:?}, aws_secret_access_key={SECRET_ACCESS_KEY:?})\n\
         iam.create_user(UserName='writer')\n\
         iam.put_user_policy(UserName='writer', PolicyName='timestamps', PolicyDocument={policy:?})\n\
         key = iam.create_access_key(UserName='writer')['AccessKey']\n\
         print(key['AccessKeyId'], key['SecretAccessKey'])\n",
        endpoint = server.endpoint(),
        policy = policy.to_string(),
    ));
    let (key_id, secret) = keys.trim().split_once(' ').expect("key id and secret");
    // From now on every request must be signed by a known key and allowed by its policy.
    let reset = reqwest::Client::new()
        .post(format!("{}/moto-api/reset-auth", server.endpoint()))
        .body("0")
        .send()
        .await
        .expect("reset-auth");
    assert!(
        reset.status().is_success(),
        "reset-auth: {}",
        reset.status()
    );

    let config = |credentials: AwsCredentials| CognitoConfig {
        region: REGION.into(),
        user_pool_id: pool.clone(),
        client_id: client.clone(),
        username_domain: DOMAIN.into(),
        endpoint: Some(endpoint(&server)),
        credentials,
        retry: RetryPolicy::default(),
    };
    let writer =
        CognitoTimestamps::new(config(AwsCredentials::new(key_id, secret, None))).expect("client");
    let verifier = verifier_for(&writer.trust().await.expect("trust")).expect("verifier");
    let y = [0xc3u8; 32];
    let token = writer.timestamp(&y).await.expect("a signed timestamp");
    assert_eq!(
        verifier.validate(&token).expect("validates").attested(),
        Some(&y[..])
    );

    // An action outside the policy is refused for that key.
    let refused = writer
        .api()
        .call("CreateUserPool", &json!({ "PoolName": "not-allowed" }))
        .await
        .expect_err("CreateUserPool is not in the writer's policy");
    assert!(
        matches!(&refused, CognitoError::Service { status: 403, .. }),
        "{refused:?}"
    );

    // A wrong secret: the signature does not match, and the error does not show the secret.
    let wrong_secret = "wrong-secret-that-must-not-show";
    let forger = CognitoTimestamps::new(config(AwsCredentials::new(key_id, wrong_secret, None)))
        .expect("client");
    let error = forger
        .timestamp(&y)
        .await
        .expect_err("a request with a wrong signature");
    match &error {
        CognitoError::Service {
            operation, status, ..
        } => {
            assert_eq!(*operation, "AdminCreateUser");
            assert_eq!(*status, 403);
        }
        other => panic!("{other:?}"),
    }
    let shown = format!("{error} {error:?}");
    assert!(
        !shown.contains(wrong_secret) && !shown.contains(secret),
        "{shown}"
    );
}
