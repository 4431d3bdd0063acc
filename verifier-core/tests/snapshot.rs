//! The conformance chain's snapshot (`../shared/vectors/chain/`, SPEC §2.1) read through
//! `block`, `batch`, `merkle` and `snapshot`, and the inclusion proofs of its certificates.
//!
//! The snapshot's files are embedded at build time, so these checks, and the tars built from
//! them in memory, also run on wasm32; natively a test checks the embedded list against the
//! folder on disk.
#![allow(clippy::unwrap_used)]

#[cfg(all(target_arch = "wasm32", target_os = "unknown", not(zipchain_vectors)))]
use wasm_bindgen_test::wasm_bindgen_test as test;

// `common` is shared by every test binary; `vectors_absent` is `pub` for them.
#[macro_use]
#[allow(unreachable_pub)]
mod common;

#[cfg(not(zipchain_vectors))]
#[test]
fn skipped() {
    common::vectors_absent("snapshot");
}

#[cfg(zipchain_vectors)]
mod vectors {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use zipchain_verifier_core::batch::Batch;
    use zipchain_verifier_core::block::Block;
    use zipchain_verifier_core::hash::Hash32;
    use zipchain_verifier_core::merkle::{InclusionProof, MerkleError, RootHash};
    use zipchain_verifier_core::snapshot::{ObjectKind, Snapshot, classify_path, object_key};

    /// The invalid block of `expected.json` (`invalid_objects`): its name is not its hash.
    const MISNAMED_BLOCK: &str = "7f2fad4d2f59599339975e39c9a3fc83331f1f097f1014407b0a4c997d7b8e5b";

    /// The embedded files, inserted as a directory reader would.
    pub(crate) fn embedded_snapshot() -> Snapshot {
        let mut snapshot = Snapshot::new();
        for (path, bytes) in crate::common::conformance_files() {
            let rel = path.strip_prefix("chain/snapshot/").unwrap();
            let (kind, key) = classify_path(rel).unwrap();
            assert_eq!(snapshot.insert(kind, key, bytes.to_vec()), None);
        }
        snapshot
    }

    fn h(hex: &str) -> Hash32 {
        Hash32::from_hex(hex).unwrap()
    }

    #[test]
    fn counts() {
        let s = embedded_snapshot();
        assert_eq!(s.count(ObjectKind::Block), 10);
        assert_eq!(s.count(ObjectKind::Timestamp), 10);
        assert_eq!(s.count(ObjectKind::Attestation), 9);
        assert_eq!(s.count(ObjectKind::Batch), 9);
        assert_eq!(s.len(), 38);
    }

    #[test]
    fn blocks_decode_and_are_named_by_their_hash_but_one() {
        let s = embedded_snapshot();
        let mut misnamed = Vec::new();
        for (key, bytes) in s.objects(ObjectKind::Block) {
            let block = Block::decode(bytes).unwrap();
            assert_eq!(block.encode(), bytes);
            assert_eq!(block.hash(), object_key(ObjectKind::Block, bytes).unwrap());
            if block.hash() != *key {
                misnamed.push(key.to_hex());
            }
        }
        assert_eq!(misnamed, [MISNAMED_BLOCK]);
    }

    #[test]
    fn timestamps_and_attestations_are_named_by_their_hash() {
        let s = embedded_snapshot();
        for kind in [ObjectKind::Timestamp, ObjectKind::Attestation] {
            for (key, bytes) in s.objects(kind) {
                assert_eq!(object_key(kind, bytes).unwrap(), *key, "{kind} {key}");
            }
        }
    }

    #[test]
    fn batches_decode_canonically_and_are_named_by_their_merkle_root() {
        let s = embedded_snapshot();
        for (key, bytes) in s.objects(ObjectKind::Batch) {
            let batch = Batch::decode(bytes).unwrap();
            assert!(!batch.is_empty());
            assert_eq!(batch.encode(), bytes, "batch {key} re-encodes to its bytes");
            assert_eq!(batch.root(), *key);
            assert_eq!(object_key(ObjectKind::Batch, bytes).unwrap(), *key);
            assert_ne!(Hash32::digest(bytes), *key, "a batch's key is not its hash");
        }
    }

    /// `expected.json`'s labels: each block's batch holds the labelled transactions in order,
    /// and its parent timestamp is as labelled.
    #[test]
    fn labelled_blocks_and_their_batches() {
        let s = embedded_snapshot();
        let expected: serde_json::Value =
            serde_json::from_str(vector_str!("chain/expected.json")).unwrap();
        let labels = expected["labels"].as_object().unwrap();
        assert_eq!(labels.len(), 9);
        for (label, entry) in labels {
            let key = h(entry["block"].as_str().unwrap());
            let block = Block::decode(s.get(ObjectKind::Block, &key).unwrap()).unwrap();
            assert_eq!(block.hash(), key, "{label}");
            assert_eq!(
                block.parent_timestamp,
                h(entry["parent_timestamp"].as_str().unwrap()),
                "{label}"
            );
            assert_eq!(block.is_genesis_shaped(), label == "b0", "{label}");
            let batch =
                Batch::decode(s.get(ObjectKind::Batch, &block.batch_root).unwrap()).unwrap();
            let txs: Vec<&str> = batch
                .txs()
                .iter()
                .map(|d| core::str::from_utf8(d).unwrap())
                .collect();
            let labelled: Vec<&str> = entry["txs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap())
                .collect();
            assert_eq!(txs, labelled, "{label}");
            for (i, d) in batch.txs().iter().enumerate() {
                // tx-2c is in b3 too, but first (and only once) within each batch.
                assert_eq!(batch.position(&Hash32::digest(d)), Some(i), "{label}");
            }
        }
    }

    fn certificates() -> [(&'static str, &'static str); 3] {
        [
            ("tx-1a", vector_str!("chain/certificates/tx-1a.json")),
            ("tx-2d", vector_str!("chain/certificates/tx-2d.json")),
            ("tx-5b", vector_str!("chain/certificates/tx-5b.json")),
        ]
    }

    /// `(tx, block, proof)` of a certificate.
    fn parse_certificate(text: &str) -> (Hash32, Block, InclusionProof) {
        let cert: serde_json::Value = serde_json::from_str(text).unwrap();
        let tx = h(cert["tx"].as_str().unwrap());
        let block = Block::decode(&hex::decode(cert["block"].as_str().unwrap()).unwrap()).unwrap();
        let inclusion = &cert["inclusion"];
        let proof = InclusionProof {
            leaf_index: inclusion["leaf_index"].as_u64().unwrap(),
            tree_size: inclusion["tree_size"].as_u64().unwrap(),
            path: inclusion["path"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| h(p.as_str().unwrap()))
                .collect(),
        };
        (tx, block, proof)
    }

    #[test]
    fn certificate_inclusion_proofs_lead_to_the_blocks_batch_root() {
        let s = embedded_snapshot();
        for (label, text) in certificates() {
            let (tx, block, proof) = parse_certificate(text);
            assert_eq!(tx, Hash32::digest(label.as_bytes()), "{label}");
            // Without the batch: the root from the block, the size from the proof.
            RootHash::new(block.batch_root, proof.tree_size)
                .verify_inclusion(&tx, &proof)
                .unwrap();
            // With the batch: the same proof as ours, for the same size.
            let batch =
                Batch::decode(s.get(ObjectKind::Batch, &block.batch_root).unwrap()).unwrap();
            assert_eq!(batch.root_hash().tree_size(), proof.tree_size, "{label}");
            let index = batch.position(&tx).unwrap() as u64;
            assert_eq!(index, proof.leaf_index, "{label}");
            assert_eq!(batch.tree().proof(index).unwrap(), proof, "{label}");
            batch.root_hash().verify_inclusion(&tx, &proof).unwrap();
            // Another transaction does not pass with this proof.
            assert!(matches!(
                batch
                    .root_hash()
                    .verify_inclusion(&Hash32::digest(b"tx-0x"), &proof),
                Err(MerkleError::RootMismatch { .. })
            ));
        }
    }

    /// Tars built in memory (on wasm32 too); the folder itself is read on native targets only.
    mod tar {
        #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
        use wasm_bindgen_test::wasm_bindgen_test as test;

        use ::tar::{Builder, EntryType, Header};
        use zipchain_verifier_core::snapshot::{SnapshotBudget, SnapshotError};

        use super::*;

        /// Every file of the snapshot, as `(kind dir/name, bytes)`.
        fn snapshot_files() -> Vec<(String, Vec<u8>)> {
            let mut out: Vec<_> = crate::common::conformance_files()
                .into_iter()
                .map(|(path, data)| {
                    let rel = path.strip_prefix("chain/snapshot/").unwrap();
                    (rel.to_owned(), data.to_vec())
                })
                .collect();
            out.sort();
            out
        }

        /// The same, read from the folder at run time.
        #[cfg(not(target_arch = "wasm32"))]
        fn dir_files() -> Vec<(String, Vec<u8>)> {
            let dir = std::path::Path::new(env!("ZIPCHAIN_VECTORS_DIR")).join("chain/snapshot");
            let mut out = Vec::new();
            for kind in ObjectKind::ALL {
                for entry in std::fs::read_dir(dir.join(kind.dir())).unwrap() {
                    let entry = entry.unwrap();
                    let name = entry.file_name().into_string().unwrap();
                    out.push((
                        format!("{}/{name}", kind.dir()),
                        std::fs::read(entry.path()).unwrap(),
                    ));
                }
            }
            out.sort();
            out
        }

        fn append(builder: &mut Builder<Vec<u8>>, path: &str, data: &[u8]) {
            let mut header = Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(EntryType::Regular);
            builder.append_data(&mut header, path, data).unwrap();
        }

        fn append_dir(builder: &mut Builder<Vec<u8>>, path: &str) {
            let mut header = Header::new_gnu();
            header.set_size(0);
            header.set_mode(0o755);
            header.set_entry_type(EntryType::Directory);
            builder.append_data(&mut header, path, &[][..]).unwrap();
        }

        /// A tar of the snapshot folder under `prefix` (`""`, `"./"`, `"snap/"`), with
        /// `chain.json`, directories and a few files that must be ignored.
        fn build(prefix: &str) -> Vec<u8> {
            let mut builder = Builder::new(Vec::new());
            if !prefix.is_empty() {
                append_dir(&mut builder, prefix);
            }
            append(
                &mut builder,
                &format!("{prefix}chain.json"),
                vector!("chain/chain.json"),
            );
            append(&mut builder, &format!("{prefix}README"), b"extra");
            for kind in ObjectKind::ALL {
                append_dir(&mut builder, &format!("{prefix}{}/", kind.dir()));
            }
            for (path, data) in snapshot_files() {
                append(&mut builder, &format!("{prefix}{path}"), &data);
            }
            append(&mut builder, &format!("{prefix}blocks/README"), b"extra");
            append(
                &mut builder,
                &format!("{prefix}blocks/{}", MISNAMED_BLOCK.to_uppercase()),
                b"extra",
            );
            builder.into_inner().unwrap()
        }

        #[test]
        fn tar_at_root_under_dot_and_under_a_top_directory() {
            let embedded = embedded_snapshot();
            let long_top = format!("{}/", "a-long-snapshot-directory-name-".repeat(3));
            for prefix in ["", "./", "snap/", "./snap/", long_top.as_str()] {
                let s = Snapshot::from_tar(&build(prefix)).unwrap();
                assert_eq!(s.count(ObjectKind::Block), 10, "{prefix:?}");
                assert_eq!(s.count(ObjectKind::Timestamp), 10);
                assert_eq!(s.count(ObjectKind::Attestation), 9);
                assert_eq!(s.count(ObjectKind::Batch), 9);
                assert_eq!(s.ignored(), 3, "{prefix:?}");
                assert_eq!(s.chain_json(), Some(vector!("chain/chain.json")));
                let mut without_chain = s.clone();
                without_chain.set_chain_json(None);
                assert_eq!(
                    without_chain.iter().collect::<Vec<_>>(),
                    embedded.iter().collect::<Vec<_>>()
                );
            }
        }

        #[cfg(not(target_arch = "wasm32"))]
        #[test]
        fn the_embedded_files_are_the_whole_folder() {
            assert_eq!(dir_files(), snapshot_files());
        }

        #[test]
        fn root_files_win_over_a_top_directory() {
            let mut builder = Builder::new(Vec::new());
            let (path, data) = &snapshot_files()[0];
            append(&mut builder, path, data);
            append(&mut builder, &format!("other/{path}"), data);
            let s = Snapshot::from_tar(&builder.into_inner().unwrap()).unwrap();
            assert_eq!(s.len(), 1);
            assert_eq!(s.ignored(), 1);
        }

        #[test]
        fn two_top_directories_are_refused() {
            let mut builder = Builder::new(Vec::new());
            let (path, data) = &snapshot_files()[0];
            append(&mut builder, &format!("one/{path}"), data);
            append(&mut builder, &format!("two/{path}"), data);
            assert_eq!(
                Snapshot::from_tar(&builder.into_inner().unwrap()),
                Err(SnapshotError::MultipleTopDirectories {
                    first: "one".into(),
                    second: "two".into()
                })
            );
        }

        #[test]
        fn duplicates() {
            let (path, data) = &snapshot_files()[0];
            let mut builder = Builder::new(Vec::new());
            append(&mut builder, path, data);
            append(&mut builder, path, data);
            let s = Snapshot::from_tar(&builder.into_inner().unwrap()).unwrap();
            assert_eq!(s.len(), 1);

            let mut builder = Builder::new(Vec::new());
            append(&mut builder, path, data);
            append(&mut builder, path, b"other bytes");
            assert_eq!(
                Snapshot::from_tar(&builder.into_inner().unwrap()),
                Err(SnapshotError::ConflictingDuplicate { path: path.clone() })
            );
        }

        /// One raw entry (the builder refuses `..` and drops a leading `./`).
        fn raw_entry(name: &[u8], kind: EntryType, data: &[u8]) -> Vec<u8> {
            let mut header = Header::new_ustar();
            header.as_old_mut().name[..name.len()].copy_from_slice(name);
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(kind);
            header.set_cksum();
            let mut out = header.as_bytes().to_vec();
            out.extend_from_slice(data);
            out.resize(out.len().next_multiple_of(512), 0);
            out
        }

        /// A tar whose one entry has the raw name `name`.
        fn raw_tar(name: &[u8], data: &[u8]) -> Vec<u8> {
            let mut out = raw_entry(name, EntryType::Regular, data);
            out.resize(out.len() + 1024, 0);
            out
        }

        #[test]
        fn dot_slash_and_pax_paths() {
            let s = Snapshot::from_tar(&raw_tar(
                format!("./blocks/{MISNAMED_BLOCK}").as_bytes(),
                b"x",
            ))
            .unwrap();
            assert_eq!(
                s.get(ObjectKind::Block, &h(MISNAMED_BLOCK)),
                Some(&b"x"[..])
            );
            let s = Snapshot::from_tar(&raw_tar(
                format!("./snap/blocks/{MISNAMED_BLOCK}").as_bytes(),
                b"x",
            ))
            .unwrap();
            assert_eq!(s.len(), 1);

            // A pax extended header names the file; the ustar name is a truncated stand-in.
            let path = format!("{}/batches/{MISNAMED_BLOCK}", "p".repeat(120));
            let body = format!(" path={path}\n");
            let len = body.len() + 3; // the length is three digits long
            let record = format!("{len}{body}");
            assert_eq!(record.len(), len);
            let mut tar = raw_entry(b"PaxHeaders/x", EntryType::XHeader, record.as_bytes());
            tar.extend(raw_entry(b"ppppp", EntryType::Regular, b"m"));
            tar.resize(tar.len() + 1024, 0);
            let s = Snapshot::from_tar(&tar).unwrap();
            assert_eq!(
                s.get(ObjectKind::Batch, &h(MISNAMED_BLOCK)),
                Some(&b"m"[..])
            );
            assert_eq!(s.ignored(), 0);
        }

        #[test]
        fn path_traversal_is_refused() {
            for name in [
                format!("../blocks/{MISNAMED_BLOCK}"),
                format!("snap/../../blocks/{MISNAMED_BLOCK}"),
                format!("/blocks/{MISNAMED_BLOCK}"),
                "../README".to_owned(),
            ] {
                assert_eq!(
                    Snapshot::from_tar(&raw_tar(name.as_bytes(), b"x")),
                    Err(SnapshotError::PathTraversal { path: name.clone() }),
                    "{name}"
                );
            }
            // The raw builder itself is sound.
            let ok = raw_tar(format!("blocks/{MISNAMED_BLOCK}").as_bytes(), b"x");
            assert_eq!(Snapshot::from_tar(&ok).unwrap().len(), 1);
        }

        #[test]
        fn links_and_special_files_are_ignored() {
            let mut builder = Builder::new(Vec::new());
            let mut header = Header::new_gnu();
            header.set_entry_type(EntryType::Symlink);
            header.set_size(0);
            builder
                .append_link(
                    &mut header,
                    format!("blocks/{MISNAMED_BLOCK}"),
                    "/etc/passwd",
                )
                .unwrap();
            let s = Snapshot::from_tar(&builder.into_inner().unwrap()).unwrap();
            assert!(s.is_empty());
            assert_eq!(s.ignored(), 1);
        }

        #[test]
        fn budgets_and_malformed_archives() {
            let tar = build("");
            let tight = SnapshotBudget {
                max_entries: 10,
                ..SnapshotBudget::DEFAULT
            };
            assert_eq!(
                Snapshot::from_tar_with_budget(&tar, &tight),
                Err(SnapshotError::TooManyEntries { max: 10 })
            );
            let tight = SnapshotBudget {
                max_object_bytes: 100,
                ..SnapshotBudget::DEFAULT
            };
            assert!(matches!(
                Snapshot::from_tar_with_budget(&tar, &tight),
                Err(SnapshotError::ObjectTooLarge { max: 100, .. })
            ));
            // Cut inside an entry's data.
            assert!(matches!(
                Snapshot::from_tar(&tar[..512 * 3 + 100]),
                Err(SnapshotError::Tar { .. })
            ));
            // A corrupted header checksum.
            let mut bad = tar.clone();
            bad[0] ^= 0x20;
            assert!(matches!(
                Snapshot::from_tar(&bad),
                Err(SnapshotError::Tar { .. })
            ));
            // Not a tar at all.
            assert!(Snapshot::from_tar(&[0x42; 1000]).is_err());
            // Empty input is the empty archive.
            assert_eq!(Snapshot::from_tar(&[]), Ok(Snapshot::new()));
        }
    }
}
