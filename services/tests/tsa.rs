//! The Cognito stand-in: tokens verify under its own JWKS with the verifier core, have
//! the exact Cognito ID-token shape, and its key file is persisted and never clobbered.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use verifier_core::time::UnixSeconds;
use verifier_core::timestamp::{
    Jwks, TimestampError, TimestampPolicy, TimestampVerifier, TokenUse,
};
use zipchain_services::ServiceError;
use zipchain_services::tsa::{
    DEFAULT_ISSUER, DEFAULT_USERNAME_DOMAIN, KEY_FILE, TimestampAuthority,
};

const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_ZipTest";

/// RSA-2048 generation costs up to a second or two: share one authority.
fn tsa() -> &'static TimestampAuthority {
    static TSA: OnceLock<TimestampAuthority> = OnceLock::new();
    TSA.get_or_init(|| {
        let start = Instant::now();
        let tsa = TimestampAuthority::generate(ISSUER, "bky.sh").unwrap();
        eprintln!("RSA-2048 generation took {:?}", start.elapsed());
        tsa
    })
}

fn other_tsa() -> &'static TimestampAuthority {
    static TSA: OnceLock<TimestampAuthority> = OnceLock::new();
    TSA.get_or_init(|| TimestampAuthority::generate(ISSUER, "bky.sh").unwrap())
}

fn verifier(tsa: &TimestampAuthority) -> TimestampVerifier {
    let trust = tsa.timestamp_trust();
    TimestampVerifier::new(TimestampPolicy {
        issuer: trust.issuer,
        token_use: trust.token_use,
        username_domain: Some(trust.username_domain),
        jwks: Jwks::from_value(&trust.jwks).unwrap(),
    })
    .unwrap()
}

fn segment(token: &str, i: usize) -> String {
    let part = token.split('.').nth(i).unwrap();
    String::from_utf8(URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[test]
fn tokens_verify_under_own_jwks() {
    let tsa = tsa();
    let y = [0xabu8; 32];
    let token = tsa.issue(&y, 1_795_000_002).unwrap();
    let verified = verifier(tsa).validate(&token).unwrap();
    assert_eq!(verified.attested(), Some(&y[..]));
    assert_eq!(verified.iat(), UnixSeconds(1_795_000_002));
    assert_eq!(verified.token(), token);
}

#[test]
fn tokens_fail_under_another_jwks() {
    let token = tsa().issue(&[1u8; 32], 1_700_000_000).unwrap();
    let err = verifier(other_tsa()).validate(&token).unwrap_err();
    assert!(
        matches!(err, TimestampError::KidUnknown { .. }),
        "got {err:?}"
    );
    // Same kid, other key: the signature must fail.
    let mut jwks = other_tsa().jwks();
    jwks["keys"][0]["kid"] = tsa().kid().into();
    let policy = TimestampPolicy {
        issuer: ISSUER.to_string(),
        token_use: TokenUse::Id,
        username_domain: Some("bky.sh".to_string()),
        jwks: Jwks::from_value(&jwks).unwrap(),
    };
    let err = TimestampVerifier::new(policy)
        .unwrap()
        .validate(&token)
        .unwrap_err();
    assert_eq!(err.check(), "signature", "got {err:?}");
}

#[test]
fn kid_follows_cognito_rule() {
    let jwks = Jwks::from_value(&tsa().jwks()).unwrap();
    assert_eq!(jwks.check_cognito_kids().unwrap(), 1);
    assert_eq!(tsa().kid().len(), 44);
    let keys = tsa().jwks();
    let key = &keys["keys"][0];
    let members: Vec<&str> = key
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec!["alg", "e", "kid", "kty", "n", "use"];
    expected.sort_unstable();
    let mut members = members;
    members.sort_unstable();
    assert_eq!(members, expected);
    assert_eq!(key["e"], "AQAB");
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(key["n"].as_str().unwrap())
            .unwrap()
            .len(),
        256
    );
}

#[test]
fn token_has_cognito_id_token_shape() {
    let tsa = tsa();
    let y = [0x5au8; 32];
    let token = tsa.issue(&y, 1_795_000_002).unwrap();
    assert_eq!(
        segment(&token, 0),
        format!(r#"{{"kid":"{}","alg":"RS256"}}"#, tsa.kid())
    );
    let payload = segment(&token, 1);
    let claims: serde_json::Value = serde_json::from_str(&payload).unwrap();
    let sub = claims["sub"].as_str().unwrap();
    let expected = format!(
        r#"{{"sub":"{sub}","iss":"{ISSUER}","token_use":"id","cognito:username":"{}@bky.sh","aud":"{}","auth_time":1795000002,"iat":1795000002,"exp":1795003602}}"#,
        hex::encode(y),
        zipchain_services::tsa::CLIENT_ID,
    );
    assert_eq!(payload, expected);
    // sub is a UUIDv4 string.
    let groups: Vec<&str> = sub.split('-').collect();
    assert_eq!(
        groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12]
    );
    assert!(groups[2].starts_with('4'));
    // Deterministic.
    assert_eq!(tsa.issue(&y, 1_795_000_002).unwrap(), token);
    assert_ne!(tsa.issue(&y, 1_795_000_003).unwrap(), token);
}

/// The claim members and their order match the conformance tokens'.
#[test]
fn claim_order_matches_conformance_tokens() {
    let dir = std::env::var_os("ZIPCHAIN_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors"))
        .join("chain/snapshot/timestamps");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipped: no conformance vectors at {}", dir.display());
        return;
    };
    let ours = segment(&tsa().issue(&[7u8; 32], 1).unwrap(), 1);
    let names = |json: &str| -> Vec<String> {
        // Member names in document order (serde_json's Map sorts them).
        let mut out = Vec::new();
        let mut de = serde_json::Deserializer::from_str(json);
        struct Names<'a>(&'a mut Vec<String>);
        impl<'de> serde::de::Visitor<'de> for Names<'_> {
            type Value = ();
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
                while let Some((k, _)) = map.next_entry::<String, serde::de::IgnoredAny>()? {
                    self.0.push(k);
                }
                Ok(())
            }
        }
        serde::Deserializer::deserialize_map(&mut de, Names(&mut out)).unwrap();
        out
    };
    let mut checked = 0;
    for entry in entries {
        let token = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert_eq!(names(&segment(token.trim(), 1)), names(&ours));
        checked += 1;
    }
    assert!(checked > 0);
}

#[test]
fn bad_configuration_and_inputs_are_errors() {
    assert!(matches!(
        TimestampAuthority::generate("", "bky.sh"),
        Err(ServiceError::Config { what: "issuer", .. })
    ));
    assert!(matches!(
        TimestampAuthority::generate(ISSUER, "a@b"),
        Err(ServiceError::Config {
            what: "username domain",
            ..
        })
    ));
    assert!(matches!(
        tsa().issue(&[], 1),
        Err(ServiceError::Config { .. })
    ));
    assert_eq!(
        tsa().issue(&[1], u64::MAX - 1),
        Err(ServiceError::TimeOverflow {
            iat: u64::MAX - 1,
            lifetime: 3600
        })
    );
}

#[test]
fn load_or_create_persists_and_reuses_the_key() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("keys/tsa");
    let first =
        TimestampAuthority::load_or_create(&dir, DEFAULT_ISSUER, DEFAULT_USERNAME_DOMAIN).unwrap();
    let path = dir.join(KEY_FILE);
    let pem = std::fs::read_to_string(&path).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // No temporary files left behind.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);

    let second =
        TimestampAuthority::load_or_create(&dir, "https://other/issuer", "example.org").unwrap();
    assert_eq!(second.kid(), first.kid());
    assert_eq!(second.issuer(), "https://other/issuer");
    assert_eq!(second.username_domain(), "example.org");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), pem);
    // A token of the reloaded key verifies under the first one's JWKS.
    let token = second.issue(&[9u8; 32], 1_700_000_000).unwrap();
    let jwks = Jwks::from_value(&first.jwks()).unwrap();
    verifier_core::timestamp::verify_rs256_jws(&token, &jwks).unwrap();
}

#[test]
fn corrupted_key_file_is_an_error_and_kept() {
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join(KEY_FILE);
    for garbage in [
        &b"-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n"[..],
        &b"\xff\xfe binary"[..],
        &b""[..],
    ] {
        std::fs::write(&path, garbage).unwrap();
        let err = TimestampAuthority::load_or_create(temp.path(), ISSUER, "bky.sh").unwrap_err();
        assert!(
            matches!(&err, ServiceError::BadKeyFile { path: p, .. } if *p == path),
            "got {err:?}"
        );
        assert!(err.to_string().contains("left as it is"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), garbage);
    }
}
