//! The verdict on a snapshot's audit (SPEC §5, §6), and SPEC §6's JSON fields of an
//! audit report, written once for both spellings of their names.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::{Check, audit_checks};
use crate::chain::{AuditReport, Auditor, ChainEnd, HashSeed};
use crate::snapshot::Snapshot;
use crate::trust::TrustDescriptor;

/// How a JSON rendering spells its keys: SPEC §6's snake_case (`zipchain audit
/// --json`) or JavaScript's camelCase (the wasm module).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyCase {
    /// `main_chain_height`.
    Snake,
    /// `mainChainHeight`.
    Camel,
}

impl KeyCase {
    /// The key spelt `snake` in snake_case and `camel` in camelCase, in this case.
    pub fn pick(self, snake: &'static str, camel: &'static str) -> &'static str {
        match self {
            Self::Snake => snake,
            Self::Camel => camel,
        }
    }
}

/// Exactly the fields SPEC §6 lists for `zipchain audit --json`, in its order, with
/// keys in `case`. [`AuditReport`] carries more (the main chain, forks, pending
/// blocks); the human summary shows those.
#[derive(Clone, Copy, Debug)]
pub struct SpecFields<'a> {
    /// The report.
    pub report: &'a AuditReport,
    /// How the keys are spelt.
    pub case: KeyCase,
}

impl SpecFields<'_> {
    /// Writes the fields into a map being serialised.
    fn write<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        let (r, case) = (self.report, self.case);
        map.serialize_entry(
            case.pick("main_chain_height", "mainChainHeight"),
            &r.main_chain_height,
        )?;
        map.serialize_entry(
            case.pick("main_chain_tip", "mainChainTip"),
            &r.main_chain_tip,
        )?;
        map.serialize_entry("blocks", &r.blocks)?;
        map.serialize_entry("timestamps", &r.timestamps)?;
        map.serialize_entry("attestations", &r.attestations)?;
        map.serialize_entry("batches", &r.batches)?;
        map.serialize_entry(
            case.pick("orphaned_blocks", "orphanedBlocks"),
            &r.orphaned_blocks,
        )?;
        map.serialize_entry(
            case.pick("invalid_objects", "invalidObjects"),
            &r.invalid_objects,
        )?;
        map.serialize_entry(
            case.pick("sequence_gap_at", "sequenceGapAt"),
            &r.sequence_gap_at,
        )?;
        map.serialize_entry("equivocations", &r.equivocations)?;
        map.serialize_entry(
            case.pick("transactions_final", "transactionsFinal"),
            &r.transactions_final,
        )?;
        map.serialize_entry(case.pick("first_time", "firstTime"), &r.first_time)?;
        map.serialize_entry(case.pick("last_time", "lastTime"), &r.last_time)
    }
}

impl Serialize for SpecFields<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        self.write(&mut map)?;
        map.end()
    }
}

/// The verdict on a snapshot: the audit's report and the checks a reader sees
/// (`trust_descriptor`, `snapshot`, `main_chain`, `equivocation`). Serialised in
/// camelCase: SPEC §6's fields, then `mainChain`, `valid` and `checks`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditVerdict {
    /// A non-empty main chain and no equivocation: `zipchain audit`'s exit status.
    pub valid: bool,
    /// The checks, in order.
    pub checks: Vec<Check>,
    /// The report; all counts zero when the descriptor or the snapshot is unusable.
    pub report: AuditReport,
}

impl Serialize for AuditVerdict {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        SpecFields {
            report: &self.report,
            case: KeyCase::Camel,
        }
        .write(&mut map)?;
        map.serialize_entry("mainChain", &self.report.main_chain)?;
        map.serialize_entry("valid", &self.valid)?;
        map.serialize_entry("checks", &self.checks)?;
        map.end()
    }
}

impl AuditVerdict {
    /// Nothing read: the verdict when the descriptor or the snapshot is unusable.
    fn unread(checks: Vec<Check>) -> Self {
        Self {
            valid: false,
            checks,
            report: AuditReport {
                main_chain_height: None,
                main_chain_tip: None,
                blocks: 0,
                timestamps: 0,
                attestations: 0,
                batches: 0,
                orphaned_blocks: Vec::new(),
                invalid_objects: Vec::new(),
                sequence_gap_at: None,
                equivocations: Vec::new(),
                transactions_final: 0,
                first_time: None,
                last_time: None,
                main_chain: Vec::new(),
                pending_blocks: Vec::new(),
                unsequenced_blocks: Vec::new(),
                missing_batches: Vec::new(),
                chain_end: ChainEnd::NoGenesis,
                forks: Vec::new(),
            },
        }
    }
}

/// The trust descriptor `chain` (JSON text) ready to audit with, its hash maps
/// under `seed`; or the failed check `trust_descriptor`.
///
/// # Errors
/// The failed check, naming the descriptor `chain: …`.
pub fn load_auditor(chain: &str, seed: HashSeed) -> Result<Auditor, Check> {
    TrustDescriptor::from_json(chain)
        .and_then(|trust| Auditor::new(&trust))
        .map(|auditor| auditor.with_hash_seed(seed))
        .map_err(|e| Check::failed("trust_descriptor", format!("chain: {e}")))
}

/// Audits the snapshot `tar` (a `.tar`, SPEC §2.1) under the trust descriptor
/// `chain` (JSON text). `progress` is called as objects are examined (see
/// [`Auditor::audit`]). A descriptor or tar that cannot be read is a verdict naming
/// it, with nothing counted.
pub fn audit_tar(
    tar: &[u8],
    chain: &str,
    seed: HashSeed,
    progress: &mut dyn FnMut(usize, usize),
) -> AuditVerdict {
    let auditor = match load_auditor(chain, seed) {
        Ok(auditor) => auditor,
        Err(check) => return AuditVerdict::unread(vec![check]),
    };
    let mut checks = vec![Check::passed(
        "trust_descriptor",
        format!("chain {}", auditor.genesis()),
    )];
    let snapshot = match Snapshot::from_tar(tar) {
        Ok(snapshot) => snapshot,
        Err(e) => {
            checks.push(Check::failed("snapshot", e.to_string()));
            return AuditVerdict::unread(checks);
        }
    };
    checks.push(Check::passed(
        "snapshot",
        format!(
            "{} objects read, {} other entries ignored",
            snapshot.len(),
            snapshot.ignored()
        ),
    ));
    let audit = auditor.audit(&snapshot, progress);
    checks.extend(audit_checks(&audit));
    AuditVerdict {
        valid: checks.iter().all(|c| c.ok),
        checks,
        report: audit.report(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_fields_in_both_cases() {
        let verdict = audit_tar(&[], "", HashSeed::new(1), &mut |_, _| {});
        // Sorted: serde_json keeps insertion order only with `preserve_order` (which
        // the CLI turns on; its tests check the order).
        let keys = |case| {
            let json = serde_json::to_value(SpecFields {
                report: &verdict.report,
                case,
            })
            .unwrap_or_default();
            let mut keys: Vec<String> = json
                .as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            keys.sort();
            keys
        };
        let sorted = |names: &[&str]| {
            let mut names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
            names.sort();
            names
        };
        // The snake_case names and their order: verifier-cli's tests (`AUDIT_FIELDS`).
        assert_eq!(keys(KeyCase::Snake).len(), 13);
        assert_eq!(
            keys(KeyCase::Camel),
            sorted(&[
                "mainChainHeight",
                "mainChainTip",
                "blocks",
                "timestamps",
                "attestations",
                "batches",
                "orphanedBlocks",
                "invalidObjects",
                "sequenceGapAt",
                "equivocations",
                "transactionsFinal",
                "firstTime",
                "lastTime",
            ])
        );
    }

    #[test]
    fn an_unusable_trust_descriptor_is_one_failed_check_and_nothing_counted() {
        for chain in ["", "{", "{}", "[1]"] {
            let verdict = audit_tar(&[], chain, HashSeed::new(1), &mut |_, _| {});
            assert!(!verdict.valid);
            assert_eq!(verdict.checks.len(), 1);
            assert_eq!(verdict.checks[0].name, "trust_descriptor");
            assert!(verdict.checks[0].detail.starts_with("chain: "));
            assert_eq!(verdict.report.blocks, 0);
            let json = serde_json::to_string(&verdict).unwrap_or_default();
            assert!(json.starts_with("{\"mainChainHeight\":null,"), "{json}");
            assert!(json.ends_with(&format!(
                "\"mainChain\":[],\"valid\":false,\"checks\":{}}}",
                serde_json::to_string(&verdict.checks).unwrap_or_default()
            )));
        }
    }
}
