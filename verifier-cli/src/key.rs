//! The witness key file (docs/DECISIONS.md): one line of signed-note signer-key text, as
//! Go's `golang.org/x/mod/sumdb/note` writes an Ed25519 signer key, with the
//! cosignature/v1 algorithm byte: `PRIVATE+KEY+<name>+<hex key id>+<base64(0x04 ++ seed)>`,
//! the key id that of the verifier key (SPEC §9.2), the seed the 32-byte Ed25519 secret.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::SigningKey;
use verifier_core::tlog::note::{ALG_COSIGNATURE_V1, VerifierKey, is_valid_name};

/// The prefix of signer-key text.
const PREFIX: &str = "PRIVATE+KEY+";

/// Why a key file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum KeyError {
    /// The name is empty, or has a space, a `+` or a control character.
    #[error("{0:?} is not a key name (non-empty, without spaces, `+` or control characters)")]
    Name(String),
    /// The text is not `PRIVATE+KEY+<name>+<hex id>+<base64>`.
    #[error("not a signer key (PRIVATE+KEY+<name>+<hex key id>+<base64>): {0}")]
    Format(&'static str),
    /// The algorithm byte is not cosignature/v1's.
    #[error("the key's algorithm is 0x{0:02x}, expected 0x04 (cosignature/v1)")]
    Algorithm(u8),
    /// The key id is not the one the name and key give.
    #[error("the key id is {got}, but the name and key give {expected}")]
    KeyId {
        /// The id written.
        got: String,
        /// The id computed.
        expected: String,
    },
}

/// A witness's signing key and its name.
pub(crate) struct WitnessKey {
    /// The key name.
    pub(crate) name: String,
    /// The Ed25519 key.
    pub(crate) key: SigningKey,
}

impl WitnessKey {
    /// The key of `seed` under `name`.
    pub(crate) fn new(name: &str, seed: [u8; 32]) -> Result<Self, KeyError> {
        if !is_valid_name(name) {
            return Err(KeyError::Name(name.to_owned()));
        }
        Ok(Self {
            name: name.to_owned(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// Its cosignature/v1 verifier key.
    pub(crate) fn verifier_key(&self) -> Result<VerifierKey, KeyError> {
        VerifierKey::new(
            &self.name,
            ALG_COSIGNATURE_V1,
            self.key.verifying_key().as_bytes(),
        )
        .map_err(|_| KeyError::Name(self.name.clone()))
    }

    /// The key file's content: the signer-key text and a newline.
    pub(crate) fn to_file(&self) -> Result<String, KeyError> {
        let id = self.verifier_key()?.id();
        let secret = [&[ALG_COSIGNATURE_V1][..], self.key.as_bytes()].concat();
        Ok(format!(
            "{PREFIX}{}+{}+{}\n",
            self.name,
            hex::encode(id),
            STANDARD.encode(secret)
        ))
    }

    /// Reads a key file's content (one trailing newline allowed).
    pub(crate) fn parse(text: &str) -> Result<Self, KeyError> {
        let line = crate::input::strip_one_newline(text);
        let rest = line
            .strip_prefix(PREFIX)
            .ok_or(KeyError::Format("no PRIVATE+KEY+ prefix"))?;
        // The base64 may hold `+`: the name and the id end at the first two.
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(KeyError::Format("fewer than five `+`-separated fields"));
        };
        let secret = STANDARD
            .decode(b64)
            .map_err(|_| KeyError::Format("the key is not standard base64"))?;
        let (&algorithm, seed) = secret
            .split_first()
            .ok_or(KeyError::Format("the key is empty"))?;
        if algorithm != ALG_COSIGNATURE_V1 {
            return Err(KeyError::Algorithm(algorithm));
        }
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| KeyError::Format("the key is not 32 bytes"))?;
        let key = Self::new(name, seed)?;
        let expected = hex::encode(key.verifier_key()?.id());
        if id != expected {
            return Err(KeyError::KeyId {
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

    #[test]
    fn a_key_file_round_trips_and_bad_ones_are_named() {
        let key = WitnessKey::new("w.example", [9; 32]).unwrap();
        let text = key.to_file().unwrap();
        let again = WitnessKey::parse(&text).unwrap();
        assert_eq!(again.name, "w.example");
        assert_eq!(again.key.as_bytes(), &[9; 32]);
        let vkey = key.verifier_key().unwrap().to_text();
        assert!(vkey.starts_with("w.example+"));
        // Same name and id in both texts.
        let id = vkey.split('+').nth(1).unwrap();
        assert!(text.starts_with(&format!("PRIVATE+KEY+w.example+{id}+")));

        assert!(matches!(
            WitnessKey::parse("w.example+00+AA=="),
            Err(KeyError::Format(_))
        ));
        let other_id = text.replacen(id, "00000000", 1);
        assert!(matches!(
            WitnessKey::parse(&other_id),
            Err(KeyError::KeyId { .. })
        ));
        let b64 = text.trim_end().rsplit_once('+').map(|(_, b)| b).unwrap();
        let mut secret = STANDARD.decode(b64).unwrap();
        secret[0] = 0x01;
        let as_note = text.replacen(b64, &STANDARD.encode(&secret), 1);
        assert_eq!(
            WitnessKey::parse(&as_note).err(),
            Some(KeyError::Algorithm(1))
        );
        assert!(matches!(
            WitnessKey::new("has space", [1; 32]),
            Err(KeyError::Name(_))
        ));
    }
}
