//! The trust descriptor `chain.json` (SPEC §1.6): the conformance chain's descriptor, and
//! descriptors with unknown fields, bad hex or a wrong version rejected.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(all(target_arch = "wasm32", target_os = "unknown", not(zipchain_vectors)))]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[allow(unreachable_pub)] // shared helpers, not all used here
#[macro_use]
mod common;

#[cfg(zipchain_vectors)]
mod vectors {
    use serde_json::{Value, json};
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use zipchain_verifier_core::hash::Hash32;
    use zipchain_verifier_core::timestamp::TokenUse;
    use zipchain_verifier_core::trust::{NitroTrust, TrustDescriptor, TrustError};

    /// A change made to the conformance descriptor.
    type Edit = Box<dyn Fn(&mut Value)>;

    const CHAIN_JSON: &str = vector_str!("chain/chain.json");

    fn chain_value() -> Value {
        serde_json::from_str(CHAIN_JSON).unwrap()
    }

    fn parse(value: &Value) -> Result<TrustDescriptor, TrustError> {
        TrustDescriptor::from_json(&value.to_string())
    }

    #[test]
    fn conformance_descriptor_parses() {
        let d = TrustDescriptor::from_json(CHAIN_JSON).unwrap();
        assert_eq!(
            d.genesis(),
            Hash32::from_hex("06058cbe5f9cfb25ad1996f1d91d47f6b82ad26e9b6a00c5288f380508b60e8a")
                .unwrap()
        );
        assert_eq!(
            d.sequencer_key().to_hex(),
            "0fb2f05ea5ba8aab184c97608ff99638b1ff437041e4b1981144769b7b9a07bc"
        );
        assert_eq!(d.timestamp().token_use, TokenUse::Id);
        assert_eq!(d.timestamp().username_domain, "bky.sh");
        let policy = d.timestamp_policy();
        assert_eq!(
            policy.issuer,
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_ZipConform"
        );
        assert_eq!(policy.username_domain.as_deref(), Some("bky.sh"));
        assert_eq!(policy.jwks.len(), 1);
        assert!(d.timestamp_verifier().is_ok());

        assert!(d.nsm_policy().is_ok());
        assert!(!d.nitro().allow_debug);
        assert_eq!(d.pcrs().len(), 1);
        assert_eq!(d.pcrs().get(&0).map(Vec::len), Some(48));
        let root = d.root_der().unwrap();
        assert_eq!(root.first(), Some(&0x30));
        assert_eq!(root.len(), 520);
    }

    #[test]
    fn round_trips_through_pretty_json() {
        let d = TrustDescriptor::from_json(CHAIN_JSON).unwrap();
        let text = d.to_json_pretty();
        let again = TrustDescriptor::from_json(&text).unwrap();
        assert_eq!(again, d);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v, chain_value());
        // Serde integration goes through the same checks.
        let via_serde: TrustDescriptor = serde_json::from_str(CHAIN_JSON).unwrap();
        assert_eq!(via_serde, d);
        let mut bad = chain_value();
        bad["zipchain_chain"] = json!(3);
        assert!(serde_json::from_value::<TrustDescriptor>(bad).is_err());
    }

    #[test]
    fn unknown_fields_are_rejected_at_every_level() {
        for path in [&[][..], &["timestamp"][..], &["nitro"][..]] {
            let mut v = chain_value();
            let mut target = &mut v;
            for p in path {
                target = &mut target[*p];
            }
            target["extra"] = json!(true);
            let err = parse(&v).unwrap_err();
            assert!(
                matches!(&err, TrustError::Json { reason } if reason.contains("unknown field")),
                "{path:?}: {err}"
            );
        }
    }

    #[test]
    fn wrong_version_and_bad_values_are_rejected() {
        let cases: Vec<(&str, Edit)> = vec![
            ("version 3", Box::new(|v| v["zipchain_chain"] = json!(3))),
            ("version 0", Box::new(|v| v["zipchain_chain"] = json!(0))),
            (
                "version string",
                Box::new(|v| v["zipchain_chain"] = json!("1")),
            ),
            (
                "no version",
                Box::new(|v| {
                    v.as_object_mut().unwrap().remove("zipchain_chain");
                }),
            ),
            (
                "genesis short",
                Box::new(|v| v["genesis"] = json!("06058cbe")),
            ),
            (
                "genesis not hex",
                Box::new(|v| v["genesis"] = json!("zz".repeat(32))),
            ),
            (
                "key not hex",
                Box::new(|v| v["sequencer_key"] = json!("0x".repeat(32))),
            ),
            (
                "key short",
                Box::new(|v| v["sequencer_key"] = json!("0fb2")),
            ),
            (
                "token_use ID",
                Box::new(|v| v["timestamp"]["token_use"] = json!("ID")),
            ),
            (
                "no domain",
                Box::new(|v| {
                    v["timestamp"]
                        .as_object_mut()
                        .unwrap()
                        .remove("username_domain");
                }),
            ),
            (
                "domain with @",
                Box::new(|v| v["timestamp"]["username_domain"] = json!("a@b")),
            ),
            (
                "empty issuer",
                Box::new(|v| v["timestamp"]["issuer"] = json!("")),
            ),
            (
                "jwk enc",
                Box::new(|v| v["timestamp"]["jwks"]["keys"][0]["use"] = json!("enc")),
            ),
            (
                "no keys",
                Box::new(|v| v["timestamp"]["jwks"] = json!({"keys": []})),
            ),
            (
                "pem garbage",
                Box::new(|v| {
                    v["nitro"]["root_pem"] =
                        json!("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n")
                }),
            ),
            (
                "pcr 32",
                Box::new(|v| v["nitro"]["pcrs"] = json!({"32": "00".repeat(48)})),
            ),
            (
                "pcr bad hex",
                Box::new(|v| v["nitro"]["pcrs"] = json!({"0": "xyz"})),
            ),
            (
                "allow_debug string",
                Box::new(|v| v["nitro"]["allow_debug"] = json!("false")),
            ),
        ];
        for (what, edit) in cases {
            let mut v = chain_value();
            edit(&mut v);
            assert!(parse(&v).is_err(), "{what} was accepted");
        }
        // SPEC v2 §9.4: version 2 is read too (with or without its two fields).
        let mut v = chain_value();
        v["zipchain_chain"] = json!(3);
        assert_eq!(
            parse(&v).unwrap_err(),
            TrustError::Version {
                got: 3,
                expected: 1
            }
        );
        let mut v = chain_value();
        v["genesis"] = json!("abc");
        assert_eq!(
            parse(&v).unwrap_err(),
            TrustError::Genesis { got: "abc".into() }
        );
        let mut v = chain_value();
        v["sequencer_key"] = json!("00");
        assert!(matches!(
            parse(&v).unwrap_err(),
            TrustError::SequencerKey(_)
        ));
        let mut v = chain_value();
        v["timestamp"]["jwks"]["keys"][0]["alg"] = json!("RS512");
        assert!(matches!(parse(&v).unwrap_err(), TrustError::Timestamp(_)));
    }

    #[test]
    fn duplicate_members_are_rejected_anywhere() {
        let dup_top = CHAIN_JSON.replacen(
            "\"zipchain_chain\": 1,",
            "\"zipchain_chain\": 1, \"zipchain_chain\": 1,",
            1,
        );
        assert_ne!(dup_top, CHAIN_JSON);
        assert!(matches!(
            TrustDescriptor::from_json(&dup_top),
            Err(TrustError::Json { .. })
        ));
        let dup_jwk = CHAIN_JSON.replacen("\"e\": \"AQAB\"", "\"e\": \"AQAB\", \"e\": \"AQAB\"", 1);
        assert_ne!(dup_jwk, CHAIN_JSON);
        assert!(matches!(
            TrustDescriptor::from_json(&dup_jwk),
            Err(TrustError::Json { .. })
        ));
        assert!(TrustDescriptor::from_json(&format!("{CHAIN_JSON} {{}}")).is_err());
    }

    /// Every key of the descriptor's JWKS is named by a kid, and a Cognito-style kid
    /// is the SHA-256 of its key's SPKI (as for every real Cognito key).
    #[test]
    fn jwks_kid_rules() {
        use zipchain_verifier_core::timestamp::TimestampError;
        // The real pools' JWKS as a descriptor's.
        for jwks in [
            vector_str!("jwt/cognito-us-east-1_iWcTPhZBA/jwks.json"),
            vector_str!("jwt/cognito-us-east-1_PDsy6i0Bf/jwks.json"),
        ] {
            let mut v = chain_value();
            v["timestamp"]["jwks"] = serde_json::from_str(jwks).unwrap();
            let d = parse(&v).unwrap();
            assert_eq!(d.timestamp_policy().jwks.check_cognito_kids(), Ok(2));
        }
        // No kid.
        let mut v = chain_value();
        v["timestamp"]["jwks"]["keys"][0]
            .as_object_mut()
            .unwrap()
            .remove("kid");
        let err = parse(&v).unwrap_err();
        assert!(
            matches!(&err, TrustError::Timestamp(TimestampError::Jwks { kid: None, reason }) if reason.starts_with("keys[0] has no kid")),
            "{err}"
        );
        // Another key's Cognito kid: here pool A's first kid on the conformance key.
        let pool_a: Value =
            serde_json::from_str(vector_str!("jwt/cognito-us-east-1_iWcTPhZBA/jwks.json")).unwrap();
        let mut v = chain_value();
        v["timestamp"]["jwks"]["keys"][0]["kid"] = pool_a["keys"][0]["kid"].clone();
        let err = parse(&v).unwrap_err();
        assert!(
            matches!(
                &err,
                TrustError::Timestamp(TimestampError::JwkKidMismatch { kid, computed })
                    if kid == pool_a["keys"][0]["kid"].as_str().unwrap()
                        && computed == chain_value()["timestamp"]["jwks"]["keys"][0]["kid"].as_str().unwrap()
            ),
            "{err}"
        );
        // Two keys under one kid, a key of another type, alg or use.
        let mut v = chain_value();
        let key = v["timestamp"]["jwks"]["keys"][0].clone();
        v["timestamp"]["jwks"]["keys"] = json!([key.clone(), key]);
        assert!(matches!(
            parse(&v).unwrap_err(),
            TrustError::Timestamp(TimestampError::Jwks { .. })
        ));
        for (member, value) in [("kty", "EC"), ("alg", "RS384"), ("use", "enc")] {
            let mut v = chain_value();
            v["timestamp"]["jwks"]["keys"][0][member] = json!(value);
            assert!(
                matches!(
                    parse(&v).unwrap_err(),
                    TrustError::Timestamp(TimestampError::Jwks { .. })
                ),
                "{member} {value}"
            );
        }
        // alg and use may be absent; a kid of another form is not Cognito's and is kept.
        let mut v = chain_value();
        let key = v["timestamp"]["jwks"]["keys"][0].as_object_mut().unwrap();
        key.remove("alg");
        key.remove("use");
        key.insert("kid".into(), json!("zipchain-test-key-1"));
        let d = parse(&v).unwrap();
        assert_eq!(d.timestamp_policy().jwks.check_cognito_kids(), Ok(0));
    }

    /// A 1 MB hostile value anywhere in the descriptor gives an error under 300 bytes
    /// that says how long the value was.
    #[test]
    fn hostile_values_make_short_errors() {
        let long = "a".repeat(1 << 20);
        let cases: Vec<(&str, Edit)> = vec![
            ("an unknown field", {
                let long = long.clone();
                Box::new(move |v| v[long.as_str()] = json!(1))
            }),
            ("genesis", {
                let long = long.clone();
                Box::new(move |v| v["genesis"] = json!(long))
            }),
            ("sequencer_key", {
                let long = long.clone();
                Box::new(move |v| v["sequencer_key"] = json!(long))
            }),
            ("token_use", {
                let long = long.clone();
                Box::new(move |v| v["timestamp"]["token_use"] = json!(long))
            }),
            ("username_domain", {
                let long = format!("@{long}");
                Box::new(move |v| v["timestamp"]["username_domain"] = json!(long))
            }),
            ("a JWK's kid and kty", {
                let long = long.clone();
                Box::new(move |v| {
                    v["timestamp"]["jwks"]["keys"][0]["kid"] = json!(long);
                    v["timestamp"]["jwks"]["keys"][0]["kty"] = json!("EC");
                })
            }),
            ("a PCR index", {
                let long = long.clone();
                Box::new(move |v| {
                    let mut pcrs = serde_json::Map::new();
                    pcrs.insert(long.clone(), json!("00".repeat(48)));
                    v["nitro"]["pcrs"] = Value::Object(pcrs);
                })
            }),
            ("allow_debug", {
                let long = long.clone();
                Box::new(move |v| v["nitro"]["allow_debug"] = json!(long))
            }),
        ];
        for (what, edit) in cases {
            let mut v = chain_value();
            edit(&mut v);
            let err = parse(&v).unwrap_err();
            let shown = err.to_string();
            assert!(shown.len() < 300, "{what}: {} bytes: {shown}", shown.len());
            assert!(shown.contains("bytes)"), "{what}: {shown}");
            assert!(format!("{err:?}").len() < 400, "{what}");
        }
        // JSON that does not parse, with a 1 MB string before the fault.
        let err = TrustDescriptor::from_json(&format!(r#"{{"genesis":"{long}" ]"#)).unwrap_err();
        assert!(err.to_string().len() < 300, "{err}");
    }

    #[test]
    fn nitro_section_defaults() {
        let mut v = chain_value();
        v.as_object_mut().unwrap().remove("nitro");
        let d = parse(&v).unwrap();
        assert_eq!(d.nitro(), &NitroTrust::default());
        assert!(d.nsm_policy().is_ok());
        assert!(d.pcrs().is_empty());
        assert_eq!(d.root_der(), None);
        // Written back without the optional members.
        let text = d.to_json_pretty();
        assert!(
            !text.contains("root_pem") && !text.contains("pcrs"),
            "{text}"
        );
        let mut v = chain_value();
        v["nitro"] = json!({});
        assert_eq!(parse(&v).unwrap().nitro(), &NitroTrust::default());
    }

    #[test]
    fn the_audit_fingerprint_covers_what_verdicts_depend_on_and_nothing_else() {
        let base = parse(&chain_value()).unwrap().audit_fingerprint();
        // The same descriptor written with its members in another order.
        let reordered: serde_json::Map<String, Value> = chain_value()
            .as_object()
            .unwrap()
            .clone()
            .into_iter()
            .rev()
            .collect();
        let reordered = TrustDescriptor::from_json(&Value::Object(reordered).to_string());
        assert_eq!(reordered.unwrap().audit_fingerprint(), base);
        // Every section that decides a verdict changes it.
        let edits: Vec<Edit> = vec![
            Box::new(|v| v["nitro"]["allow_debug"] = json!(true)),
            Box::new(|v| v["timestamp"]["username_domain"] = json!("other.example")),
            Box::new(|v| {
                v["sequencer_key"] =
                    json!("1fb2f05ea5ba8aab184c97608ff99638b1ff437041e4b1981144769b7b9a07bc")
            }),
        ];
        for edit in edits {
            let mut v = chain_value();
            edit(&mut v);
            if let Ok(d) = parse(&v) {
                assert_ne!(d.audit_fingerprint(), base, "{v}");
            }
        }
    }
}

#[cfg(not(zipchain_vectors))]
#[test]
fn skipped() {
    common::vectors_absent("trust vectors");
}
