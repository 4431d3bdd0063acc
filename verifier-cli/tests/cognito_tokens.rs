//! `zipchain jwt verify` on tokens of moto's Cognito (issue #15): the timestamps the
//! writer's Cognito backend makes (testkit's `cognito_tokens`, through the `cognito`
//! crate). A pool's token is valid under its issuer and JWKS and attests `y`; another
//! pool's token for the same `y` fails the `issuer` check.
//!
//! moto is `.venv/moto` (scripts/setup.sh); a server that cannot start fails the test with
//! the reason, and only `ZIPCHAIN_SKIP_MOTO=1` skips it.

mod common;

use common::zipchain;
use zipchain_testkit::cognito_tokens::cognito_tokens;
use zipchain_testkit::moto::MotoServer;

#[test]
fn the_cli_accepts_a_pools_token_and_refuses_another_pools() {
    let Some(server) = MotoServer::start_or_skip() else {
        return;
    };
    let tokens = cognito_tokens(&server).expect("tokens of moto's Cognito");
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, tokens.jwks.to_string()).unwrap();
    let verify = |token: &str, issuer: &str| {
        let file = dir.path().join("token.jwt");
        std::fs::write(&file, token).unwrap();
        zipchain(["jwt", "verify", "--json", "--token-use", "id"])
            .args([&file])
            .args(["--jwks".as_ref(), jwks.as_os_str()])
            .args([
                "--issuer",
                issuer,
                "--username-domain",
                &tokens.username_domain,
            ])
            .run()
    };
    let ours = verify(&tokens.token, &tokens.issuer);
    ours.code(0);
    let j = ours.json();
    assert_eq!(j["valid"], true);
    assert_eq!(j["attested"], tokens.y.as_str());
    assert_eq!(j["claims"]["iss"], tokens.issuer.as_str());

    let theirs = verify(&tokens.other_token, &tokens.issuer);
    theirs.code(1);
    assert_eq!(theirs.json()["failed_check"], "issuer");
    // Under its own pool's issuer the other token is valid: the refusal is the pool's.
    verify(&tokens.other_token, &tokens.other_issuer).code(0);
}
