//! SPEC §9 on the real writer binary: the log key at genesis and `chain.json` v2, the
//! checkpoint it signs, `GET /v1/checkpoint`, `POST /v1/checkpoint/cosignatures` (taken,
//! refused with the reason, kept across a restart), and certificates v2 once a quorum
//! cosigned.

mod common;

use common::*;
use verifier_core::certificate::check_certificate;
use verifier_core::chain::Auditor;
use verifier_core::tlog::checkpoint::Checkpoint;
use verifier_core::tlog::note::{ALG_COSIGNATURE_V1, Note};
use verifier_core::tlog::signer::SignerKey;

fn witness(name: &str, seed: u8) -> SignerKey {
    SignerKey::new(name, ALG_COSIGNATURE_V1, [seed; 32]).unwrap()
}

/// `note` with `key`'s cosignature appended.
fn cosigned(note: &str, key: &SignerKey) -> String {
    let mut parsed = Note::parse(note).unwrap();
    parsed
        .signatures
        .push(key.sign(&parsed.text, 1_800_000_000));
    parsed.to_text()
}

async fn post_note(client: &reqwest::Client, base: &str, note: &str) -> (u16, serde_json::Value) {
    let r = client
        .post(format!("{base}/v1/checkpoint/cosignatures"))
        .body(note.to_owned())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let bytes = r.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

async fn latest(client: &reqwest::Client, base: &str, at_least: u64) -> String {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let r = client
            .get(format!("{base}/v1/checkpoint"))
            .send()
            .await
            .unwrap();
        if r.status().as_u16() == 200 {
            let text = r.text().await.unwrap();
            let size = Checkpoint::parse(&Note::parse(&text).unwrap().text)
                .unwrap()
                .size;
            if size >= at_least {
                return text;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint of {at_least}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[test]
fn checkpoints_cosignatures_and_certificates_v2() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("w");
    let (a, b, c) = (
        witness("a.example", 1),
        witness("b.example", 2),
        witness("c.example", 3),
    );
    let keys: Vec<String> = [&a, &b, &c]
        .iter()
        .map(|k| k.verifier_key().to_text())
        .collect();
    let args = [
        "--witness-key",
        &keys[0],
        "--witness-key",
        &keys[1],
        "--witness-key",
        &keys[2],
        "--quorum",
        "2",
    ];
    rt().block_on(async {
        let client = client();
        let daemon = Daemon::start_with(&data, &[], &args);
        let trust = trust(&client, &daemon.base).await;
        assert_eq!(trust.version(), 2);
        let log_key = trust
            .log_key()
            .expect("chain.json names the log key")
            .clone();
        assert_eq!(
            log_key.name(),
            format!("zipchain/{}", trust.genesis().to_hex())
        );
        assert_eq!(trust.witnesses().unwrap().quorum(), 2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(data.join("log.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let auditor = Auditor::new(&trust).unwrap();

        let tx = post(&client, &daemon.base, b"checkpointed".to_vec())
            .await
            .unwrap();
        let height = wait_final(&client, &daemon.base, std::slice::from_ref(&tx)).await[0];
        let note = latest(&client, &daemon.base, height + 1).await;
        let parsed = Note::parse(&note).unwrap();
        // Signed by the log key, which chain.json names.
        assert_eq!(parsed.signatures.len(), 1);
        assert_eq!(
            parsed.verify(std::slice::from_ref(&log_key)).unwrap(),
            vec![Some(None)]
        );
        let cert_url = format!("{}/v1/transactions/{tx}/certificate", daemon.base);

        // Refused, each with its reason, and nothing kept.
        let mut bad = Note::parse(&cosigned(&note, &a)).unwrap();
        let last = bad.signatures.last_mut().unwrap();
        last.signature[20] ^= 1;
        let (status, v) = post_note(&client, &daemon.base, &bad.to_text()).await;
        assert_eq!(status, 400, "{v}");
        assert!(v["error"].as_str().unwrap().contains("a.example"), "{v}");
        let stranger = witness("stranger.example", 9);
        let (status, v) = post_note(&client, &daemon.base, &cosigned(&note, &stranger)).await;
        assert_eq!(status, 400, "{v}");
        assert!(
            v["error"].as_str().unwrap().contains("no cosignature"),
            "{v}"
        );
        let size = Checkpoint::parse(&parsed.text).unwrap().size;
        let forged = note.replacen(&format!("\n{size}\n"), "\n999\n", 1);
        assert_ne!(forged, note);
        let (status, v) = post_note(&client, &daemon.base, &cosigned(&forged, &a)).await;
        assert_eq!(status, 400, "{v}");
        let (status, v) = post_note(&client, &daemon.base, "not a note").await;
        assert_eq!(status, 400, "{v}");

        // One witness: kept, served, below the quorum: still v1.
        let (status, v) = post_note(&client, &daemon.base, &cosigned(&note, &a)).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["accepted"], serde_json::json!(["a.example"]));
        assert_eq!(v["cosigned"], false);
        let cert = get_text(&client, &cert_url).await;
        let value: serde_json::Value = serde_json::from_str(&cert).unwrap();
        assert_eq!(value["zipchain_certificate"], 1);

        // The second: quorum; the certificate is v2 and checks offline as final.
        let (status, v) = post_note(&client, &daemon.base, &cosigned(&note, &b)).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["witnesses"], 2);
        assert_eq!(v["cosigned"], true);
        let cert = get_text(&client, &cert_url).await;
        let verdict = check_certificate(&cert, &auditor, None);
        assert!(verdict.valid, "{:?}", verdict.first_failure());
        assert!(verdict.main_chain_checked);
        let proof = verdict.main_chain_proof.as_ref().unwrap();
        assert_eq!((proof.witnesses, proof.quorum), (2, 2));

        // Kept across a restart, with the cosignatures GET serves.
        daemon.stop();
        let daemon = Daemon::start_with(&data, &[], &args);
        let served = get_text(&client, &format!("{}/v1/checkpoint", daemon.base)).await;
        let served = Note::parse(&served).unwrap();
        assert!(
            served.signatures.len() >= 3 || served.text != parsed.text,
            "{served:?}"
        );
        let cert_url = format!("{}/v1/transactions/{tx}/certificate", daemon.base);
        let cert = get_text(&client, &cert_url).await;
        let verdict = check_certificate(&cert, &auditor, None);
        assert!(
            verdict.valid && verdict.main_chain_checked,
            "{:?}",
            verdict.first_failure()
        );
        daemon.stop();
    });
}

/// A chain made before v2 (chain.json v1, no log key) gains a log key and the
/// `--witness-key` policy at its next start; a chain.json that names a log key whose file is
/// gone, or another key, is refused.
#[test]
fn a_v1_chain_gains_a_log_key_and_a_lost_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("w");
    rt().block_on(async {
        let client = client();
        let daemon = Daemon::start(&data, &[]);
        let made = trust(&client, &daemon.base).await;
        assert!(made.log_key().is_some() && made.witnesses().is_none());
        daemon.stop();

        // As a writer before v2 left it.
        let json = data.join("chain.json");
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let map = v.as_object_mut().unwrap();
        map.remove("log_key");
        map.insert("zipchain_chain".into(), 1.into());
        std::fs::write(&json, serde_json::to_string_pretty(&v).unwrap()).unwrap();
        std::fs::remove_file(data.join("log.key")).unwrap();

        let a = witness("a.example", 1).verifier_key().to_text();
        let daemon = Daemon::start_with(&data, &[], &["--witness-key", &a, "--quorum", "1"]);
        let upgraded = trust(&client, &daemon.base).await;
        assert_eq!(upgraded.version(), 2);
        assert_eq!(upgraded.genesis(), made.genesis());
        let new_key = upgraded.log_key().unwrap().clone();
        assert_ne!(Some(&new_key), made.log_key());
        assert_eq!(upgraded.witnesses().unwrap().keys()[0].to_text(), a);
        // Served and written back alike.
        let written = verifier_core::trust::TrustDescriptor::from_json(
            &std::fs::read_to_string(&json).unwrap(),
        )
        .unwrap();
        assert_eq!(written.log_key(), Some(&new_key));
        let note = latest(&client, &daemon.base, 1).await;
        let parsed = Note::parse(&note).unwrap();
        assert_eq!(
            parsed.verify(std::slice::from_ref(&new_key)).unwrap(),
            vec![Some(None)]
        );
        daemon.stop();

        let key_file = data.join("log.key");
        let saved = std::fs::read(&key_file).unwrap();
        std::fs::remove_file(&key_file).unwrap();
        let stderr = refused_at_start(&data, &[], &[]);
        assert!(stderr.contains("log.key is missing"), "{stderr}");
        let other = SignerKey::new(
            &format!("zipchain/{}", made.genesis().to_hex()),
            verifier_core::tlog::note::ALG_ED25519,
            [7; 32],
        )
        .unwrap();
        std::fs::write(&key_file, other.to_text()).unwrap();
        let stderr = refused_at_start(&data, &[], &[]);
        assert!(stderr.contains("but"), "{stderr}");
        std::fs::write(&key_file, saved).unwrap();
        let daemon = Daemon::start(&data, &[]);
        assert_eq!(trust(&client, &daemon.base).await.log_key(), Some(&new_key));
        daemon.stop();
    });
}
