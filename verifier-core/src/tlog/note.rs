//! C2SP signed notes (SPEC §9.2): verifier keys, Ed25519 note signatures (algorithm
//! 0x01) and tlog-cosignature/v1 (0x04), read strictly.
//!
//! A note is its text (lines ending in `\n`), one empty line, then signature lines
//! `— <name> <base64(key id ++ signature)>\n`. A verifier ignores the lines of keys it
//! does not know, refuses a note in which a known key's signature does not verify, and
//! refuses a known key signing twice.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

/// Ed25519 over the note text (C2SP signed-note).
pub const ALG_ED25519: u8 = 0x01;
/// Ed25519 tlog-cosignature/v1 (C2SP tlog-cosignature).
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

/// The most signature lines a note may carry (as Go's `note` package).
pub const MAX_SIGNATURES: usize = 100;
/// The most bytes of note text accepted.
pub const MAX_NOTE_LEN: usize = 64 * 1024;

/// Why a note or a key cannot be read, or a signature does not verify.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The verifier key is not `<name>+<hex key id>+<base64>`.
    #[error("verifier key: {0}")]
    Key(&'static str),
    /// The note is not text, empty lines, signature lines as C2SP has them.
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    /// A known key signed twice.
    #[error("key {name} signs the note more than once")]
    DuplicateSignature {
        /// The key's name.
        name: String,
    },
    /// A known key's signature does not verify.
    #[error("the signature of {name} does not verify")]
    BadSignature {
        /// The key's name.
        name: String,
    },
}

// The reasons are fixed texts: this code runs in the wasm module, where every
// formatted message costs bytes (issue #5's size limit).
fn key_error(reason: &'static str) -> NoteError {
    NoteError::Key(reason)
}

fn malformed(reason: &'static str) -> NoteError {
    NoteError::Malformed(reason)
}

/// A key name: non-empty, no space or `+`, no control character.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '+')
}

/// `SHA-256(name ++ "\n" ++ algorithm ++ public key)[..4]`, the key id of C2SP signed notes.
pub fn key_id(name: &str, algorithm: u8, public_key: &[u8; 32]) -> [u8; 4] {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update(b"\n")
        .chain_update([algorithm])
        .chain_update(public_key)
        .finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// A signed-note verifier key (`<name>+<hex key id>+<base64(algorithm ++ key)>`) of an
/// Ed25519 note key (0x01) or a cosignature/v1 key (0x04).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: [u8; 4],
    algorithm: u8,
    key: VerifyingKey,
}

impl VerifierKey {
    /// Reads a verifier key; the key id must be the one its name, algorithm and key give.
    ///
    /// # Errors
    /// [`NoteError::Key`] naming what is wrong.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        // The name has no `+`; the base64 after the key id may.
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(key_error("not <name>+<hex key id>+<base64 key>"));
        };
        if !is_valid_name(name) {
            return Err(key_error(
                "the name is empty or has a space, `+` or control character",
            ));
        }
        if id.len() != 8
            || !id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(key_error("the key id is not 8 lowercase hex digits"));
        }
        let bytes = STANDARD
            .decode(b64)
            .map_err(|_| key_error("the key is not padded standard base64"))?;
        let (&algorithm, key) = bytes
            .split_first()
            .ok_or_else(|| key_error("the key is empty"))?;
        if algorithm != ALG_ED25519 && algorithm != ALG_COSIGNATURE_V1 {
            return Err(key_error(
                "the algorithm is neither Ed25519 (0x01) nor cosignature/v1 (0x04)",
            ));
        }
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| key_error("an Ed25519 key is 32 bytes"))?;
        let expected = key_id(name, algorithm, &key);
        if hex::encode(expected) != id {
            return Err(key_error("the key id is not the one of the name and key"));
        }
        let key = VerifyingKey::from_bytes(&key)
            .map_err(|_| key_error("not a valid Ed25519 public key"))?;
        Ok(Self {
            name: name.to_owned(),
            id: expected,
            algorithm,
            key,
        })
    }

    /// A verifier key for `public_key` under `name` with `algorithm`.
    ///
    /// # Errors
    /// [`NoteError::Key`] for an invalid name, algorithm or key.
    pub fn new(name: &str, algorithm: u8, public_key: &[u8; 32]) -> Result<Self, NoteError> {
        let text = format!(
            "{name}+{}+{}",
            hex::encode(key_id(name, algorithm, public_key)),
            STANDARD.encode([&[algorithm][..], public_key].concat())
        );
        Self::parse(&text)
    }

    /// The verifier key of `key` under a name and algorithm already checked.
    pub(crate) fn of_signing_key(
        name: &str,
        algorithm: u8,
        key: &ed25519_dalek::SigningKey,
    ) -> Self {
        let key = key.verifying_key();
        Self {
            name: name.to_owned(),
            id: key_id(name, algorithm, key.as_bytes()),
            algorithm,
            key,
        }
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its key id.
    pub fn id(&self) -> [u8; 4] {
        self.id
    }

    /// Its algorithm byte.
    pub fn algorithm(&self) -> u8 {
        self.algorithm
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The key as text, `<name>+<hex key id>+<base64(algorithm ++ key)>`.
    pub fn to_text(&self) -> String {
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.id),
            STANDARD.encode([&[self.algorithm][..], self.key.as_bytes()].concat())
        )
    }

    /// Verifies `signature` (the bytes after the key id) over `text`: for 0x01 an
    /// Ed25519 signature of the text; for 0x04 `be64(time) ++ signature` over
    /// `cosignature/v1\ntime <time>\n ++ text`. Returns the cosigning time for 0x04.
    fn verify(&self, text: &str, signature: &[u8]) -> Option<Option<u64>> {
        match self.algorithm {
            ALG_ED25519 => {
                let sig = Signature::from_slice(signature).ok()?;
                self.key
                    .verify_strict(text.as_bytes(), &sig)
                    .ok()
                    .map(|()| None)
            }
            ALG_COSIGNATURE_V1 => {
                let (time, sig) = signature.split_at_checked(8)?;
                let time = u64::from_be_bytes(time.try_into().ok()?);
                let sig = Signature::from_slice(sig).ok()?;
                let message = cosigned_message(time, text);
                self.key
                    .verify_strict(message.as_bytes(), &sig)
                    .ok()
                    .map(|()| Some(time))
            }
            _ => None,
        }
    }
}

/// `cosignature/v1\ntime <time>\n ++ text`: what a tlog-cosignature/v1 signs.
pub fn cosigned_message(time: u64, text: &str) -> String {
    format!("cosignature/v1\ntime {time}\n{text}")
}

/// The signature line of `name`'s Ed25519 note key `key` over `text` (algorithm 0x01).
pub fn sign_ed25519(text: &str, name: &str, key: &ed25519_dalek::SigningKey) -> SignatureLine {
    use ed25519_dalek::Signer as _;
    SignatureLine {
        name: name.to_owned(),
        id: key_id(name, ALG_ED25519, key.verifying_key().as_bytes()),
        signature: key.sign(text.as_bytes()).to_bytes().to_vec(),
    }
}

/// The tlog-cosignature/v1 line of witness `name` with key `key` over the checkpoint
/// `text` at `time` (Unix seconds): `key id ++ be64(time) ++ signature`.
pub fn cosign_v1(
    text: &str,
    name: &str,
    key: &ed25519_dalek::SigningKey,
    time: u64,
) -> SignatureLine {
    use ed25519_dalek::Signer as _;
    let signature = key.sign(cosigned_message(time, text).as_bytes());
    SignatureLine {
        name: name.to_owned(),
        id: key_id(name, ALG_COSIGNATURE_V1, key.verifying_key().as_bytes()),
        signature: [&time.to_be_bytes()[..], &signature.to_bytes()].concat(),
    }
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureLine {
    /// The key name.
    pub name: String,
    /// The key id (the first four bytes).
    pub id: [u8; 4],
    /// The signature bytes after the key id.
    pub signature: Vec<u8>,
}

impl SignatureLine {
    /// The line as a note carries it, with its `\n`.
    pub fn to_line(&self) -> String {
        format!(
            "\u{2014} {} {}\n",
            self.name,
            STANDARD.encode([&self.id[..], &self.signature].concat())
        )
    }
}

/// A signed note, read but not verified: its text and its signature lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The text the signatures are over (every line ends in `\n`).
    pub text: String,
    /// The signature lines, in order.
    pub signatures: Vec<SignatureLine>,
}

impl Note {
    /// Reads a signed note strictly (C2SP signed-note): UTF-8 text without control
    /// characters other than `\n`, lines ending in `\n`, the text non-empty and without
    /// empty lines, then one empty line and at least one signature line.
    ///
    /// # Errors
    /// [`NoteError::Malformed`] naming what is wrong.
    pub fn parse(note: &str) -> Result<Self, NoteError> {
        if note.len() > MAX_NOTE_LEN {
            return Err(malformed("longer than 64 KiB"));
        }
        if note.chars().any(|c| c.is_control() && c != '\n') {
            return Err(malformed("a control character other than newline"));
        }
        // Byte windows, not a substring search: `\n` is one byte in UTF-8.
        let bytes = note.as_bytes();
        let split = bytes
            .windows(2)
            .rposition(|w| w == b"\n\n")
            .ok_or_else(|| malformed("no empty line before the signatures"))?;
        let (text, sigs) = (&note[..=split], &note[split + 2..]);
        if text.as_bytes().windows(2).any(|w| w == b"\n\n") || text.starts_with('\n') {
            return Err(malformed("an empty line in the text"));
        }
        if sigs.is_empty() {
            return Err(malformed("no signature lines"));
        }
        if !sigs.ends_with('\n') {
            return Err(malformed(
                "the last signature line does not end in a newline",
            ));
        }
        let mut signatures = Vec::new();
        for line in sigs[..sigs.len() - 1].split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(malformed("more than 100 signatures"));
            }
            signatures.push(parse_signature_line(line)?);
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The note as text: the text, an empty line, the signature lines.
    pub fn to_text(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.to_line());
        }
        out
    }

    /// Checks the signatures of `known` keys: each known key that signed must have
    /// signed once and validly; unknown keys (name and id not among `known`) are
    /// ignored. Returns, for each of `known` (same order), `None` if it did not sign and
    /// `Some(time)` if it did (`time` is the cosigning time of a 0x04 key, `None` for 0x01).
    ///
    /// # Errors
    /// [`NoteError::DuplicateSignature`] or [`NoteError::BadSignature`].
    pub fn verify(&self, known: &[VerifierKey]) -> Result<Vec<Option<Option<u64>>>, NoteError> {
        let mut signed: Vec<Option<Option<u64>>> = vec![None; known.len()];
        for line in &self.signatures {
            let Some(i) = known
                .iter()
                .position(|k| k.name == line.name && k.id == line.id)
            else {
                continue;
            };
            if signed[i].is_some() {
                return Err(NoteError::DuplicateSignature {
                    name: line.name.clone(),
                });
            }
            let time = known[i]
                .verify(&self.text, &line.signature)
                .ok_or_else(|| NoteError::BadSignature {
                    name: line.name.clone(),
                })?;
            signed[i] = Some(time);
        }
        Ok(signed)
    }
}

fn parse_signature_line(line: &str) -> Result<SignatureLine, NoteError> {
    let rest = line
        .strip_prefix("\u{2014} ")
        .ok_or_else(|| malformed("a signature line does not start with \"\u{2014} \""))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or_else(|| malformed("a signature line is not \"\u{2014} <name> <base64>\""))?;
    if !is_valid_name(name) {
        return Err(malformed("a signature line's key name is not valid"));
    }
    let bytes = STANDARD
        .decode(b64)
        .map_err(|_| malformed("a signature is not padded standard base64"))?;
    if bytes.len() < 5 {
        return Err(malformed(
            "a signature is shorter than a key id and one byte",
        ));
    }
    let (id, signature) = bytes.split_at(4);
    Ok(SignatureLine {
        name: name.to_owned(),
        id: [id[0], id[1], id[2], id[3]],
        signature: signature.to_vec(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// C2SP signed-note's example key and note (the Go `note` package's test vectors).
    const PEPPER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const PEPPER_NOTE: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    #[test]
    fn the_c2sp_example_note_verifies_and_a_changed_one_does_not() {
        let key = VerifierKey::parse(PEPPER_VKEY).unwrap();
        assert_eq!(key.to_text(), PEPPER_VKEY);
        let note = Note::parse(PEPPER_NOTE).unwrap();
        assert_eq!(note.to_text(), PEPPER_NOTE);
        assert_eq!(
            note.verify(std::slice::from_ref(&key)).unwrap(),
            vec![Some(None)]
        );
        let changed = PEPPER_NOTE.replace("answer", "Answer");
        let err = Note::parse(&changed).unwrap().verify(&[key]).unwrap_err();
        assert!(matches!(err, NoteError::BadSignature { .. }), "{err}");
    }

    /// A real checkpoint of a CT log (transparency.dev's arche2025h1 staging log), with
    /// its log's Ed25519 note signature and, among others, the tlog-cosignature/v1 of
    /// the witness remora.n621.de.
    const ARCHE_CHECKPOINT: &str = "arche2025h1.staging.ct.transparency.dev\n1432088532\nU7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=\n\n\
\u{2014} arche2025h1.staging.ct.transparency.dev zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6hoGREPMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI4kJXFbon5Ch9MNL5zRNZ55lvGt0=\n\
\u{2014} arche2025h1.staging.ct.transparency.dev ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=\n\
\u{2014} transparency.dev/DEV:witness-little-garden 2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/KYTzwZ2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q44vdgJY096st5BQ==\n\
\u{2014} witness1.smartit.nu/witness1 pIyCDwAAAABqEiEghIp82KWebrw7/oHQwlTAm3g2RKS4+eebl8eO0WH+/iEcxZ75W3u5hNI7TOQtmJbqmNWVuE0tgh0XwzdZsDsUAQ==\n\
\u{2014} remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==\n\
\u{2014} witness.stagemole.eu Z/euoAAAAABqEiEgw0i+7g2ENfDAWHmtRzCfKTHSDwYDJA2NmKeGi9Y8FtEyOUvVr+AJmIY/2TUFucgKi7lI7cUiOvKFYe/TmN9DAg==\n";
    const ARCHE_LOG_KEY: &str = "arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f";
    const REMORA_WITNESS_KEY: &str =
        "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2";

    #[test]
    fn a_real_checkpoint_verifies_under_its_log_key_and_a_real_witness_cosignature() {
        let log = VerifierKey::parse(ARCHE_LOG_KEY).unwrap();
        let witness = VerifierKey::parse(REMORA_WITNESS_KEY).unwrap();
        assert_eq!(witness.algorithm(), ALG_COSIGNATURE_V1);
        assert_eq!(
            (log.to_text(), witness.to_text()),
            (ARCHE_LOG_KEY.into(), REMORA_WITNESS_KEY.into())
        );
        let note = Note::parse(ARCHE_CHECKPOINT).unwrap();
        assert_eq!(note.signatures.len(), 6);
        let signed = note.verify(&[log.clone(), witness.clone()]).unwrap();
        assert_eq!(signed[0], Some(None));
        // The cosigning time: 0x6a122120 (2026-05-...), before the signature.
        assert_eq!(signed[1], Some(Some(0x6a12_2120)));
        let clobbered = ARCHE_CHECKPOINT.replacen("1432088532", "42", 1);
        let err = Note::parse(&clobbered)
            .unwrap()
            .verify(&[witness])
            .unwrap_err();
        assert!(matches!(err, NoteError::BadSignature { .. }), "{err}");
    }

    #[test]
    fn bad_keys_and_notes_are_named_errors() {
        for bad in [
            "",
            "a+b",
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TX",
            "PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        ] {
            assert!(
                matches!(VerifierKey::parse(bad), Err(NoteError::Key(_))),
                "{bad}"
            );
        }
        for bad in [
            "text\n",
            "text\n\n",
            "text\n\n\u{2014} a\n",
            "\ntext\n\n\u{2014} a AAAAAAA=\n",
            "a\n\nb\n\n\u{2014} a AAAAAAA=\n",
            "text\n\n- a AAAAAAA=\n",
            "text\n\n\u{2014} a AAAA\n",
            "text\n\n\u{2014} a AAAAAAA\n",
            "text\n\n\u{2014} a AAAAAAA=",
            "te\rxt\n\n\u{2014} a AAAAAAA=\n",
        ] {
            assert!(
                matches!(Note::parse(bad), Err(NoteError::Malformed(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn unknown_keys_are_ignored_and_a_known_key_twice_is_refused() {
        let key = VerifierKey::parse(PEPPER_VKEY).unwrap();
        let note = Note::parse(PEPPER_NOTE).unwrap();
        let mut unknown = note.clone();
        unknown.signatures.push(SignatureLine {
            name: "other".into(),
            id: [1, 2, 3, 4],
            signature: vec![0; 64],
        });
        let text = unknown.to_text();
        let reread = Note::parse(&text).unwrap();
        assert_eq!(
            reread.verify(std::slice::from_ref(&key)).unwrap(),
            vec![Some(None)]
        );
        let mut twice = note.clone();
        twice.signatures.push(note.signatures[0].clone());
        assert!(matches!(
            twice.verify(&[key]),
            Err(NoteError::DuplicateSignature { .. })
        ));
    }
}
