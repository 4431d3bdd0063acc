//! `zipchain witness keygen --name NAME -o KEYFILE` (SPEC §9.6): make an Ed25519 witness
//! key from the OS random source, write it to a new private file (mode 0600, written
//! atomically, never over an existing file) and print its cosignature/v1 verifier key.
//! `zipchain witness serve` is the witness daemon ([`serve`]).

pub(crate) mod serve;

use serde_json::json;
use snapshot_fs::atomic::{Existing, Options, Written, write_atomic_with};
use verifier_core::tlog::note::ALG_COSIGNATURE_V1;
use verifier_core::tlog::signer::SignerKey;

use crate::Outcome;
use crate::args::KeygenArgs;
use crate::input::InputError;
use crate::report::{print_json, print_text};

pub(crate) fn keygen(args: KeygenArgs) -> Result<Outcome, InputError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| InputError::malformed("the OS random source", e.to_string()))?;
    let key = SignerKey::new(&args.name, ALG_COSIGNATURE_V1, seed)
        .map_err(|e| InputError::malformed("--name", e))?;
    let verifier_key = key.verifier_key().to_text();
    let text = key.to_text();
    let path = &args.output_file;
    let written = write_atomic_with(
        path,
        text.as_bytes(),
        Options {
            private: true,
            existing: Existing::Keep,
            ..Options::default()
        },
    )
    .map_err(|source| InputError::Write {
        path: path.clone(),
        source,
    })?;
    if written == Written::AlreadyExists {
        return Err(InputError::malformed(
            path.display().to_string(),
            "exists; a key file is never overwritten",
        ));
    }
    if args.output.json {
        print_json(&json!({
            "name": key.name(),
            "verifier_key": verifier_key,
            "key_file": path.display().to_string(),
        }));
    } else {
        print_text(&format!("{verifier_key}\n"));
        eprintln!("zipchain: witness key written to {}", path.display());
    }
    Ok(Outcome::Valid)
}
