//! `cognito-token -o FILE`: starts moto (`.venv/moto`, scripts/setup.sh), makes two user
//! pools and a token of each for one random `y` through the `cognito` crate, and writes
//! them with the first pool's issuer and JWKS as JSON ([`CognitoTokens`]), for the npm
//! package's tests (scripts/make-fixtures.sh). With `ZIPCHAIN_SKIP_MOTO=1` it writes
//! `{"skipped": "<why>"}` instead, which those tests report as skipped; a moto that cannot
//! start is an error otherwise.
//!
//! [`CognitoTokens`]: zipchain_testkit::cognito_tokens::CognitoTokens

use anyhow::{Context, Result, anyhow};
use zipchain_testkit::cognito_tokens::cognito_tokens;
use zipchain_testkit::moto::{MotoServer, SKIP_ENV};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out =
        zipchain_testkit::bench_args::flag(&args, "-o").context("usage: cognito-token -o FILE")?;
    let json = if std::env::var_os(SKIP_ENV).is_some() {
        serde_json::json!({ "skipped": format!("{SKIP_ENV} is set") })
    } else {
        let server = MotoServer::start().map_err(|e| anyhow!("moto_server: {e}"))?;
        serde_json::to_value(cognito_tokens(&server).map_err(|e| anyhow!(e))?)?
    };
    std::fs::write(&out, serde_json::to_string_pretty(&json)? + "\n")
        .with_context(|| out.clone())?;
    Ok(())
}
