//! Tokens of moto's Cognito, made the way the writer makes its timestamps (issue #15):
//! two user pools on a moto server, a token for a random `y` from each through the
//! `cognito` crate (AdminCreateUser, a permanent password, AdminInitiateAuth), and the
//! first pool's trust section (issuer and JWKS). The CLI's and the npm package's tests
//! check that the verifier accepts a pool's token under its JWKS and refuses the other's.

use serde::Serialize;
use url::Url;

use crate::moto::{ACCESS_KEY_ID, MotoServer, REGION, SECRET_ACCESS_KEY};

/// The username domain of the tokens (`hex(y)@<domain>`).
pub const DOMAIN: &str = "moto.zipchain.test";

/// Two pools' tokens and the first pool's trust section.
#[derive(Clone, Debug, Serialize)]
pub struct CognitoTokens {
    /// The first pool's issuer (`iss`).
    pub issuer: String,
    /// Its JWK Set.
    pub jwks: serde_json::Value,
    /// The username domain.
    pub username_domain: String,
    /// The attested bytes, hex.
    pub y: String,
    /// A token of the first pool for `y`.
    pub token: String,
    /// The second pool's issuer.
    pub other_issuer: String,
    /// A token of the second pool for `y`.
    pub other_token: String,
}

/// Makes two pools on `server` and a token of each for a random `y`.
///
/// # Errors
/// What moto or the Cognito client answered.
pub fn cognito_tokens(server: &MotoServer) -> Result<CognitoTokens, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let y: [u8; 32] = crate::random_uuid()
        .and_then(|a| crate::random_uuid().map(|b| [a, b].concat()))
        .map_err(|e| e.to_string())?
        .try_into()
        .map_err(|_| "32 random bytes".to_owned())?;
    let endpoint = Url::parse(server.endpoint()).map_err(|e| e.to_string())?;
    let pool = |name: &str| {
        let (user_pool_id, client_id) = server.create_user_pool(name);
        cognito::CognitoTimestamps::new(cognito::CognitoConfig {
            region: REGION.into(),
            user_pool_id,
            client_id,
            username_domain: DOMAIN.into(),
            endpoint: Some(endpoint.clone()),
            credentials: cognito::AwsCredentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY, None),
            retry: cognito::RetryPolicy::default(),
        })
        .map_err(|e| e.to_string())
    };
    let ours = pool("zipchain-fixture-ours")?;
    let theirs = pool("zipchain-fixture-theirs")?;
    runtime.block_on(async {
        let trust = ours.trust().await.map_err(|e| e.to_string())?;
        let other = theirs.trust().await.map_err(|e| e.to_string())?;
        Ok(CognitoTokens {
            issuer: trust.issuer,
            jwks: trust.jwks,
            username_domain: DOMAIN.into(),
            y: hex::encode(y),
            token: ours.timestamp(&y).await.map_err(|e| e.to_string())?,
            other_issuer: other.issuer,
            other_token: theirs.timestamp(&y).await.map_err(|e| e.to_string())?,
        })
    })
}
