//! Signer keys as text (docs/DECISIONS.md, "Witness and log key files"): one line of
//! signed-note signer-key text, as Go's `golang.org/x/mod/sumdb/note` writes an Ed25519
//! signer key: `PRIVATE+KEY+<name>+<hex key id>+<base64(algorithm ++ seed)>`, the key id
//! that of the verifier key (SPEC §9.2), the seed the 32-byte Ed25519 secret.
//!
//! The algorithm byte says what the key signs: 0x01 a log's checkpoints (the writer's log
//! key), 0x04 cosignatures (a witness's key).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::SigningKey;

use super::note::{
    ALG_COSIGNATURE_V1, ALG_ED25519, SignatureLine, VerifierKey, cosign_v1, is_valid_name,
    sign_ed25519,
};

/// The prefix of signer-key text.
const PREFIX: &str = "PRIVATE+KEY+";

/// Why signer-key text cannot be used.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignerKeyError {
    /// The name is empty, or has a space, a `+` or a control character.
    #[error("{0:?} is not a key name (non-empty, without spaces, `+` or control characters)")]
    Name(String),
    /// The text is not `PRIVATE+KEY+<name>+<hex id>+<base64>`.
    #[error("not a signer key (PRIVATE+KEY+<name>+<hex key id>+<base64>): {0}")]
    Format(&'static str),
    /// The algorithm byte is not the one expected.
    #[error("the key's algorithm is 0x{got:02x}, expected 0x{expected:02x}")]
    Algorithm {
        /// The byte written.
        got: u8,
        /// The byte the caller needs.
        expected: u8,
    },
    /// The key id is not the one the name and key give.
    #[error("the key id is {got}, but the name and key give {expected}")]
    KeyId {
        /// The id written.
        got: String,
        /// The id computed.
        expected: String,
    },
}

/// An Ed25519 signing key with its name and algorithm (0x01 or 0x04).
#[derive(Clone)]
pub struct SignerKey {
    name: String,
    algorithm: u8,
    key: SigningKey,
}

impl std::fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("SignerKey")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl SignerKey {
    /// The key of `seed` under `name`, for `algorithm` ([`ALG_ED25519`] or
    /// [`ALG_COSIGNATURE_V1`]).
    ///
    /// # Errors
    /// [`SignerKeyError::Name`] for a name a note cannot carry,
    /// [`SignerKeyError::Algorithm`] for another algorithm.
    pub fn new(name: &str, algorithm: u8, seed: [u8; 32]) -> Result<Self, SignerKeyError> {
        if !is_valid_name(name) {
            return Err(SignerKeyError::Name(crate::text::bounded(name)));
        }
        if algorithm != ALG_ED25519 && algorithm != ALG_COSIGNATURE_V1 {
            return Err(SignerKeyError::Algorithm {
                got: algorithm,
                expected: ALG_ED25519,
            });
        }
        Ok(Self {
            name: name.to_owned(),
            algorithm,
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The algorithm byte.
    pub fn algorithm(&self) -> u8 {
        self.algorithm
    }

    /// The Ed25519 key itself.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// Its signed-note verifier key.
    pub fn verifier_key(&self) -> VerifierKey {
        // The name and algorithm were checked by `new`, the only way to make one.
        VerifierKey::of_signing_key(&self.name, self.algorithm, &self.key)
    }

    /// The signature line of this key over the note text `text`: an Ed25519 note
    /// signature for a 0x01 key, a cosignature/v1 at `time` (Unix seconds) for a 0x04 key.
    pub fn sign(&self, text: &str, time: u64) -> SignatureLine {
        if self.algorithm == ALG_COSIGNATURE_V1 {
            cosign_v1(text, &self.name, &self.key, time)
        } else {
            sign_ed25519(text, &self.name, &self.key)
        }
    }

    /// The signer-key text and a newline (what a key file holds).
    pub fn to_text(&self) -> String {
        let id = self.verifier_key().id();
        let secret = [&[self.algorithm][..], self.key.as_bytes()].concat();
        format!(
            "{PREFIX}{}+{}+{}\n",
            self.name,
            hex::encode(id),
            STANDARD.encode(secret)
        )
    }

    /// Reads signer-key text (one trailing `\n` or `\r\n` allowed) of a key for
    /// `algorithm`.
    ///
    /// # Errors
    /// [`SignerKeyError`] naming what is wrong.
    pub fn parse(text: &str, algorithm: u8) -> Result<Self, SignerKeyError> {
        let line = text
            .strip_suffix("\r\n")
            .or_else(|| text.strip_suffix('\n'))
            .unwrap_or(text);
        let rest = line
            .strip_prefix(PREFIX)
            .ok_or(SignerKeyError::Format("no PRIVATE+KEY+ prefix"))?;
        // The base64 may hold `+`: the name and the id end at the first two.
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(SignerKeyError::Format(
                "fewer than five `+`-separated fields",
            ));
        };
        let secret = STANDARD
            .decode(b64)
            .map_err(|_| SignerKeyError::Format("the key is not standard base64"))?;
        let (&got, seed) = secret
            .split_first()
            .ok_or(SignerKeyError::Format("the key is empty"))?;
        if got != algorithm {
            return Err(SignerKeyError::Algorithm {
                got,
                expected: algorithm,
            });
        }
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| SignerKeyError::Format("the key is not 32 bytes"))?;
        let key = Self::new(name, algorithm, seed)?;
        let expected = hex::encode(key.verifier_key().id());
        if id != expected {
            return Err(SignerKeyError::KeyId {
                got: id.to_owned(),
                expected,
            });
        }
        Ok(key)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::tlog::note::Note;

    #[test]
    fn a_key_round_trips_and_bad_ones_are_named() {
        let key = SignerKey::new("w.example", ALG_COSIGNATURE_V1, [9; 32]).unwrap();
        let text = key.to_text();
        let again = SignerKey::parse(&text, ALG_COSIGNATURE_V1).unwrap();
        assert_eq!(again.name(), "w.example");
        assert_eq!(again.key.as_bytes(), &[9; 32]);
        let vkey = key.verifier_key().to_text();
        assert!(vkey.starts_with("w.example+"));
        // Same name and id in both texts.
        let id = vkey.split('+').nth(1).unwrap();
        assert!(text.starts_with(&format!("PRIVATE+KEY+w.example+{id}+")));

        assert!(matches!(
            SignerKey::parse("w.example+00+AA==", ALG_COSIGNATURE_V1),
            Err(SignerKeyError::Format(_))
        ));
        let other_id = text.replacen(id, "00000000", 1);
        assert!(matches!(
            SignerKey::parse(&other_id, ALG_COSIGNATURE_V1),
            Err(SignerKeyError::KeyId { .. })
        ));
        assert_eq!(
            SignerKey::parse(&text, ALG_ED25519).err(),
            Some(SignerKeyError::Algorithm {
                got: ALG_COSIGNATURE_V1,
                expected: ALG_ED25519
            })
        );
        assert!(matches!(
            SignerKey::new("has space", ALG_ED25519, [1; 32]),
            Err(SignerKeyError::Name(_))
        ));
        assert!(matches!(
            SignerKey::new("x", 0x06, [1; 32]),
            Err(SignerKeyError::Algorithm { got: 6, .. })
        ));
    }

    #[test]
    fn each_algorithm_signs_what_its_verifier_key_checks() {
        let text = "zipchain/00\n1\nAAAA\n";
        for algorithm in [ALG_ED25519, ALG_COSIGNATURE_V1] {
            let key = SignerKey::new("k.example", algorithm, [3; 32]).unwrap();
            let line = key.sign(text, 1_700_000_000);
            let note = Note {
                text: text.to_owned(),
                signatures: vec![line],
            };
            let signed = note.verify(&[key.verifier_key()]).unwrap();
            let expected_time = (algorithm == ALG_COSIGNATURE_V1).then_some(1_700_000_000);
            assert_eq!(signed, vec![Some(expected_time)]);
        }
    }
}
