//! Regression guard over every real NSM document in `../shared/vectors/nitro/`:
//! the test walks the folders at run time (so a document added there is covered
//! without touching this file), requires every `.cbor` file to be in its folder's
//! `MANIFEST.json` and every manifest entry to be on disk, and requires the
//! verifier's verdict and fields to equal the manifest's. A change in how AWS
//! encodes its documents, or a reader grown stricter than real input, fails here.
//! Native only (it reads the folder; `tests/nsm.rs` runs the embedded copies on
//! wasm32 too).
#![cfg(not(target_arch = "wasm32"))]
#![cfg_attr(not(zipchain_vectors), allow(unused))]

#[macro_use]
#[allow(unreachable_pub)]
mod common;

#[cfg(not(zipchain_vectors))]
#[test]
fn skipped() {
    common::vectors_absent("nsm_manifest");
}

#[cfg(zipchain_vectors)]
mod walk {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    use serde_json::Value as Json;
    use zipchain_verifier_core::nsm::{NsmDocument, NsmError, NsmLimits, NsmPolicy, VerifyAt};
    // One verifier per crypto backend, each call checked on all (#19).
    use super::common::{aws_nsm_verifiers, nsm_verifiers};
    use zipchain_verifier_core::time::{UnixMillis, UnixSeconds};

    fn nitro() -> PathBuf {
        Path::new(env!("ZIPCHAIN_VECTORS_DIR")).join("nitro")
    }

    /// Every folder under `nitro/` that has a manifest.
    fn folders() -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = std::fs::read_dir(nitro())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("MANIFEST.json").is_file())
            .collect();
        out.sort();
        out
    }

    /// `"null"` or `"bstr[N]"`, as the manifests describe an optional field.
    fn shape(field: &Option<Vec<u8>>) -> String {
        match field {
            None => "null".into(),
            Some(bytes) => format!("bstr[{}]", bytes.len()),
        }
    }

    fn u64_of(meta: &Json, key: &str) -> u64 {
        meta[key]
            .as_u64()
            .unwrap_or_else(|| panic!("{}: {key}", meta["file"]))
    }

    /// The manifest's claims about a document that parses, checked field by field.
    fn assert_fields(file: &str, doc: &NsmDocument, meta: &Json) {
        assert_eq!(doc.module_id, meta["module_id"].as_str().unwrap(), "{file}");
        assert_eq!(doc.pcrs.len() as u64, u64_of(meta, "pcr_count"), "{file}");
        for i in 0..3u8 {
            assert_eq!(
                hex::encode(doc.pcr(i).unwrap()),
                meta[format!("pcr{i}")].as_str().unwrap(),
                "{file}: PCR{i}"
            );
        }
        assert_eq!(doc.is_debug(), meta["debug_mode"] == true, "{file}");
        for (name, field) in [
            ("public_key", &doc.public_key),
            ("user_data", &doc.user_data),
            ("nonce", &doc.nonce),
        ] {
            assert_eq!(shape(field), meta[name].as_str().unwrap(), "{file}: {name}");
        }
    }

    #[test]
    fn every_real_document_gets_its_manifest_verdict() {
        let aws = aws_nsm_verifiers();
        let debug = nsm_verifiers(NsmPolicy {
            allow_debug: true,
            ..NsmPolicy::default()
        })
        .unwrap();
        let folders = folders();
        let names: Vec<_> = folders
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.contains(&"docs".into()) && names.contains(&"docs-current".into()),
            "{names:?}"
        );
        let mut seen = 0;
        for folder in &folders {
            let manifest: Vec<Json> = serde_json::from_str(
                &std::fs::read_to_string(folder.join("MANIFEST.json")).unwrap(),
            )
            .unwrap();
            let listed: BTreeSet<&str> = manifest
                .iter()
                .map(|m| m["file"].as_str().unwrap())
                .collect();
            let on_disk: BTreeSet<String> = std::fs::read_dir(folder)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".cbor"))
                .collect();
            assert_eq!(
                on_disk.iter().map(String::as_str).collect::<BTreeSet<_>>(),
                listed,
                "{}: the .cbor files and MANIFEST.json disagree",
                folder.display()
            );
            for meta in &manifest {
                let file = meta["file"].as_str().unwrap();
                let bytes = std::fs::read(folder.join(file)).unwrap();
                assert_eq!(bytes.len() as u64, u64_of(meta, "size"), "{file}");
                let genuine =
                    meta["cose_sig_valid"] == true && meta["chain_valid_at_doc_timestamp"] == true;
                let is_debug = meta["debug_mode"] == true;
                let verdict = aws.verify(&bytes, VerifyAt::DocumentTimestamp);
                let allowed = debug.verify(&bytes, VerifyAt::DocumentTimestamp);
                match (genuine, is_debug) {
                    (true, false) => {
                        let v = verdict.unwrap_or_else(|e| panic!("{file}: {e}"));
                        assert_eq!(
                            v.document().timestamp,
                            UnixMillis(u64_of(meta, "timestamp_ms"))
                        );
                        assert_eq!(
                            v.chain_validity().not_after,
                            UnixSeconds(u64_of(meta, "chain_min_not_after")),
                            "{file}"
                        );
                        assert_eq!(
                            v.chain_validity().not_before,
                            UnixSeconds(u64_of(meta, "leaf_not_before")),
                            "{file}"
                        );
                        assert_fields(file, v.document(), meta);
                    }
                    (true, true) => {
                        assert_eq!(verdict, Err(NsmError::DebugMode), "{file}");
                        let v = allowed.unwrap_or_else(|e| panic!("{file}: {e}"));
                        assert_eq!(
                            v.document().timestamp,
                            UnixMillis(u64_of(meta, "timestamp_ms"))
                        );
                        assert_fields(file, v.document(), meta);
                    }
                    (false, _) => {
                        assert!(verdict.is_err(), "{file} must be rejected");
                        assert!(
                            allowed.is_err(),
                            "{file} must be rejected with debug allowed"
                        );
                        // A genuine chain with a bad signature still parses: the reader
                        // is not what rejects it.
                        if meta["chain_valid_at_doc_timestamp"] == true {
                            let doc = NsmDocument::parse_unverified(&bytes, &NsmLimits::default())
                                .unwrap_or_else(|e| panic!("{file}: {e}"));
                            assert_fields(file, &doc, meta);
                            assert_eq!(allowed, Err(NsmError::Signature), "{file}");
                        }
                    }
                }
                seen += 1;
            }
        }
        assert!(seen >= 21, "only {seen} documents found");
    }
}
