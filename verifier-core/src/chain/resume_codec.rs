//! The bytes of a [`ResumableAudit`] (issue #17): three parts, so that a run writes what
//! it changed, not the whole state.
//!
//! - **main**: one fixed-size record per main-chain block (168 bytes: `H(b)`, `H(t)`,
//!   `H(a)`, `b.m^H`, `b.u`, `k`, `t.iat`, the document's time), appended to;
//! - **finals**: one record per final transaction (40 bytes: its id and the height of its
//!   first main-chain occurrence), appended to;
//! - **rest**: everything else (the facts off the main chain, the coverage, the invalid
//!   objects, how many records of the other two parts it covers), written whole.
//!
//! Integers are little-endian; strings and lists carry their length first. The caller
//! stores the parts and guards them against corruption (checksums, atomic replacement);
//! [`ResumableAudit::decode`] still checks every length against the bytes there are
//! before it allocates, and every value it can, so that a damaged or foreign state is a
//! [`StateError`], never a panic and never a wrong audit.

use super::resume::{ActiveFacts, KeptCoverage, MainFacts};
use std::collections::BTreeSet;

use super::*;

/// The first bytes of the rest part.
const MAGIC: &[u8; 16] = b"zipchain-audit\0\x01";

/// The format version of the three parts.
pub const STATE_VERSION: u32 = 1;

/// Bytes per main-chain record.
pub const MAIN_RECORD: usize = 168;

/// Bytes per final-transaction record.
pub const FINAL_RECORD: usize = 40;

/// Why kept audit bytes could not be read back.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// Not the rest part of a kept audit.
    #[error("not a zipchain audit state")]
    NotAState,
    /// Written by another version of the format.
    #[error("audit state format {found}, this zipchain reads format {STATE_VERSION}")]
    Version {
        /// The version found.
        found: u32,
    },
    /// Made for another chain, or under another trust descriptor.
    #[error("the audit state belongs to another chain or trust descriptor")]
    Foreign,
    /// The bytes end before what they declare.
    #[error("the audit state is truncated ({part} part)")]
    Truncated {
        /// Which part.
        part: &'static str,
    },
    /// A value that cannot be (an unknown kind, a height beyond the chain, …).
    #[error("the audit state is inconsistent: {0}")]
    Inconsistent(&'static str),
}

/// What [`ResumableAudit::encode`] gives the caller to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateBytes {
    /// Where `main` goes in the main part: its byte offset (the part is cut there
    /// first; 0 rewrites it whole).
    pub main_offset: u64,
    /// Main-chain records from `main_offset` on.
    pub main: Vec<u8>,
    /// Where `finals` goes in the finals part (cut there first).
    pub finals_offset: u64,
    /// Final-transaction records from `finals_offset` on.
    pub finals: Vec<u8>,
    /// The whole rest part.
    pub rest: Vec<u8>,
}

impl ResumableAudit {
    /// The state as bytes: what changed in the two appended parts since the last
    /// [`ResumableAudit::mark_written`] (or all of it), and the whole rest part.
    pub fn encode(&self) -> StateBytes {
        let (main_from, finals_through) = self.written.unwrap_or((0, 0));
        let main_from = main_from.min(self.audit.main_chain.len());
        let mut main = Vec::with_capacity((self.audit.main_chain.len() - main_from) * MAIN_RECORD);
        for (m, f) in self
            .audit
            .main_chain
            .iter()
            .zip(&self.main_facts)
            .skip(main_from)
        {
            main.extend_from_slice(m.block.as_bytes());
            main.extend_from_slice(m.timestamp.as_bytes());
            main.extend_from_slice(m.attestation.as_bytes());
            main.extend_from_slice(m.batch_root.as_bytes());
            main.extend_from_slice(&f.uuid);
            main.extend_from_slice(&m.sequence.to_le_bytes());
            main.extend_from_slice(&m.iat.0.to_le_bytes());
            main.extend_from_slice(&f.document_time.0.to_le_bytes());
        }
        // Final transactions in height order (then id), so that a state written in
        // pieces reads back as one written whole.
        // The final transactions are held in that order already.
        let finals_all = &self.audit.final_transactions;
        let (written_finals, fresh) = if self.written.is_some() {
            let fresh = finals_all.above(finals_through);
            (finals_all.len() - fresh.len(), fresh)
        } else {
            (0, finals_all.above(0))
        };
        let mut finals = Vec::with_capacity(fresh.len() * FINAL_RECORD);
        for (tx, h) in fresh {
            finals.extend_from_slice(tx.as_bytes());
            finals.extend_from_slice(&h.to_le_bytes());
        }

        let mut w = Writer::default();
        w.bytes(MAGIC);
        w.u32(STATE_VERSION);
        w.hash(&self.genesis);
        w.bytes(&self.fingerprint);
        w.len(self.audit.main_chain.len());
        w.len(self.audit.final_transactions.len());
        w.hash(&self.genesis_parent);
        w.u64(self.final_through);
        w.u64(self.coverage.below);
        w.option_u64(self.coverage.max);
        w.len(self.coverage.above.len());
        for k in &self.coverage.above {
            w.u64(*k);
        }
        for kind in ObjectKind::ALL {
            w.len(self.audit.counts.get(&kind).copied().unwrap_or(0));
        }
        w.len(self.active.blocks.len());
        for (key, b) in &self.active.blocks {
            w.hash(key);
            w.bytes(&b.uuid);
            w.hash(&b.batch_root);
            w.hash(&b.parent_timestamp);
        }
        w.len(self.active.timestamps.len());
        for (key, attests, iat) in &self.active.timestamps {
            w.hash(key);
            w.hash(attests);
            w.u64(iat.0);
        }
        w.len(self.active.attestations.len());
        for (key, y, k, time) in &self.active.attestations {
            w.hash(key);
            w.bytes(y);
            w.u64(*k);
            w.u64(time.0);
        }
        w.len(self.batches.len());
        for b in &self.batches {
            w.hash(b);
        }
        w.len(self.audit.invalid_objects.len());
        for i in &self.audit.invalid_objects {
            w.u8(i.kind.code());
            w.text(&i.key);
            w.text(&i.reason);
        }
        w.len(self.audit.equivocations.len());
        for e in &self.audit.equivocations {
            w.u64(e.sequence);
            w.len(e.attestations.len());
            for a in &e.attestations {
                w.text(a);
            }
            w.len(e.ys.len());
            for y in &e.ys {
                w.text(y);
            }
        }
        StateBytes {
            main_offset: (main_from * MAIN_RECORD) as u64,
            main,
            finals_offset: (written_finals * FINAL_RECORD) as u64,
            finals,
            rest: w.0,
        }
    }

    /// Records that the bytes of the last [`ResumableAudit::encode`] are stored: the
    /// next one gives only what comes after them.
    pub fn mark_written(&mut self) {
        self.written = Some((self.audit.main_chain.len(), self.final_through));
    }

    /// Reads a state back from its three parts, for the chain and descriptor of
    /// `auditor`. Bytes past the records the rest part counts (a run that stopped after
    /// appending, before it replaced the rest) are ignored. Run
    /// [`Auditor::resume_source`] (or [`ResumableAudit::update`]) before reading its
    /// audit: the findings beside the main chain are recomputed there.
    ///
    /// # Errors
    /// [`StateError`] when the parts are not a state of this format, of this chain and
    /// descriptor, or are damaged.
    pub fn decode(
        auditor: &Auditor,
        main: &[u8],
        finals: &[u8],
        rest: &[u8],
    ) -> Result<Self, StateError> {
        Self::decode_for(
            (auditor.genesis(), auditor.fingerprint(), auditor.seed),
            main,
            finals,
            rest,
        )
    }

    /// [`ResumableAudit::decode`] for the chain `genesis` under the descriptor with
    /// `fingerprint`.
    pub(super) fn decode_for(
        (want_genesis, want_fingerprint, seed): (Hash32, [u8; 32], HashSeed),
        main: &[u8],
        finals: &[u8],
        rest: &[u8],
    ) -> Result<Self, StateError> {
        let mut r = Reader {
            bytes: rest,
            part: "rest",
        };
        if r.take(MAGIC.len()).ok() != Some(&MAGIC[..]) {
            return Err(StateError::NotAState);
        }
        let version = r.u32()?;
        if version != STATE_VERSION {
            return Err(StateError::Version { found: version });
        }
        let genesis = r.hash()?;
        let fingerprint: [u8; 32] = r.array()?;
        if genesis != want_genesis || fingerprint != want_fingerprint {
            return Err(StateError::Foreign);
        }
        let main_count = r.u64()?;
        let finals_count = r.u64()?;
        let genesis_parent = r.hash()?;
        let final_through = r.u64()?;
        let mut coverage = KeptCoverage {
            below: r.u64()?,
            max: r.option_u64()?,
            above: BTreeSet::new(),
        };
        let above = r.count(8)?;
        for _ in 0..above {
            let k = r.u64()?;
            if k <= coverage.below || !coverage.above.insert(k) {
                return Err(StateError::Inconsistent("covered numbers out of order"));
            }
        }
        let mut counts = BTreeMap::new();
        for kind in ObjectKind::ALL {
            let n =
                usize::try_from(r.u64()?).map_err(|_| StateError::Inconsistent("object count"))?;
            if n > 0 {
                counts.insert(kind, n);
            }
        }
        let mut active = ActiveFacts::default();
        for _ in 0..r.count(32 + 16 + 32 + 32)? {
            let key = r.hash()?;
            let uuid = r.array()?;
            let batch_root = r.hash()?;
            let parent_timestamp = r.hash()?;
            active.blocks.push((
                key,
                Block {
                    uuid,
                    batch_root,
                    parent_timestamp,
                },
            ));
        }
        for _ in 0..r.count(32 + 32 + 8)? {
            active
                .timestamps
                .push((r.hash()?, r.hash()?, UnixSeconds(r.u64()?)));
        }
        for _ in 0..r.count(32 + 48 + 8 + 8)? {
            active
                .attestations
                .push((r.hash()?, r.array()?, r.u64()?, UnixMillis(r.u64()?)));
        }
        let mut batches = Vec::new();
        for _ in 0..r.count(32)? {
            batches.push(r.hash()?);
        }
        if !batches.is_sorted_by(|a, b| a < b) {
            return Err(StateError::Inconsistent("batches out of order"));
        }
        let mut invalid_objects = Vec::new();
        for _ in 0..r.count(1 + 4 + 4)? {
            let kind = kind_of(r.u8()?)?;
            invalid_objects.push(InvalidObject {
                kind,
                key: r.text()?,
                reason: r.text()?,
            });
        }
        let mut equivocations = Vec::new();
        for _ in 0..r.count(8 + 8 + 8)? {
            let sequence = r.u64()?;
            let mut attestations = Vec::new();
            for _ in 0..r.count(4)? {
                attestations.push(r.text()?);
            }
            let mut ys = Vec::new();
            for _ in 0..r.count(4)? {
                ys.push(r.text()?);
            }
            equivocations.push(Equivocation {
                sequence,
                attestations,
                ys,
            });
        }
        if !r.bytes.is_empty() {
            return Err(StateError::Inconsistent("trailing bytes"));
        }

        let main_count = usize::try_from(main_count)
            .ok()
            .filter(|n| n.checked_mul(MAIN_RECORD).is_some_and(|b| b <= main.len()))
            .ok_or(StateError::Truncated { part: "main" })?;
        let mut main_chain = Vec::with_capacity(main_count);
        let mut main_facts = Vec::with_capacity(main_count);
        let mut m = Reader {
            bytes: main,
            part: "main",
        };
        for height in 0..main_count {
            main_chain.push(MainChainBlock {
                height: height as u64,
                block: m.hash()?,
                timestamp: m.hash()?,
                attestation: m.hash()?,
                batch_root: m.hash()?,
                sequence: 0,
                iat: UnixSeconds(0),
            });
            let uuid = m.array()?;
            let (sequence, iat, time) = (m.u64()?, m.u64()?, m.u64()?);
            if let Some(last) = main_chain.last_mut() {
                last.sequence = sequence;
                last.iat = UnixSeconds(iat);
            }
            main_facts.push(MainFacts {
                uuid,
                document_time: UnixMillis(time),
            });
        }
        if main_chain.first().is_some_and(|b0| b0.block != genesis)
            || main_chain.iter().any(|b| b.sequence >= coverage.below)
        {
            return Err(StateError::Inconsistent("main chain"));
        }
        if final_through > 0 && final_through >= main_count as u64 {
            return Err(StateError::Inconsistent(
                "final transactions beyond the main chain",
            ));
        }

        let finals_count = usize::try_from(finals_count)
            .ok()
            .filter(|n| {
                n.checked_mul(FINAL_RECORD)
                    .is_some_and(|b| b <= finals.len())
            })
            .ok_or(StateError::Truncated { part: "finals" })?;
        let mut entries: Vec<(Hash32, u64)> = Vec::with_capacity(finals_count);
        let mut f = Reader {
            bytes: finals,
            part: "finals",
        };
        for _ in 0..finals_count {
            let (tx, height) = (f.hash()?, f.u64()?);
            if height == 0 || height > final_through {
                return Err(StateError::Inconsistent("final transactions"));
            }
            entries.push((tx, height));
        }
        let final_transactions =
            TxHeights::from_entries(entries).map_err(StateError::Inconsistent)?;

        let mut state = ResumableAudit::empty(genesis, fingerprint, seed);
        state.audit.counts = counts;
        state.audit.main_chain = main_chain;
        state.audit.invalid_objects = invalid_objects;
        state.audit.equivocations = equivocations;
        state.audit.final_transactions = final_transactions;
        state.main_facts = main_facts;
        state.genesis_parent = genesis_parent;
        state.active = active;
        state.batches = batches;
        state.coverage = coverage;
        state.final_through = final_through;
        state.written = Some((main_count, final_through));
        Ok(state)
    }
}

fn kind_of(byte: u8) -> Result<ObjectKind, StateError> {
    ObjectKind::from_code(byte).ok_or(StateError::Inconsistent("object kind"))
}

/// Appends the encoding's values.
#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
    fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }
    fn option_u64(&mut self, v: Option<u64>) {
        match v {
            Some(v) => {
                self.u8(1);
                self.u64(v);
            }
            None => self.u8(0),
        }
    }
    fn hash(&mut self, h: &Hash32) {
        self.bytes(h.as_bytes());
    }
    fn text(&mut self, s: &str) {
        // Keys and reasons are short (bounded by the audit); longer is cut.
        let b = s.as_bytes();
        let n = b.len().min(u32::MAX as usize);
        self.u32(n as u32);
        self.bytes(b.get(..n).unwrap_or(b));
    }
}

/// Takes the encoding's values, each checked against the bytes left.
struct Reader<'a> {
    bytes: &'a [u8],
    part: &'static str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], StateError> {
        let part = self.part;
        let (head, tail) = self
            .bytes
            .split_at_checked(n)
            .ok_or(StateError::Truncated { part })?;
        self.bytes = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], StateError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, StateError> {
        Ok(self.array::<1>()?[0])
    }
    fn u32(&mut self) -> Result<u32, StateError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, StateError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn option_u64(&mut self) -> Result<Option<u64>, StateError> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(self.u64()?)),
            _ => Err(StateError::Inconsistent("option flag")),
        }
    }
    fn hash(&mut self) -> Result<Hash32, StateError> {
        Ok(Hash32(self.array()?))
    }
    /// A list's length, checked against the bytes left at `at_least` bytes an item, so
    /// that a damaged length cannot make the reader allocate or loop beyond the input.
    fn count(&mut self, at_least: usize) -> Result<usize, StateError> {
        let part = self.part;
        usize::try_from(self.u64()?)
            .ok()
            .filter(|n| {
                n.checked_mul(at_least)
                    .is_some_and(|b| b <= self.bytes.len())
            })
            .ok_or(StateError::Truncated { part })
    }
    fn text(&mut self) -> Result<String, StateError> {
        let n = usize::try_from(self.u32()?).map_err(|_| StateError::Inconsistent("text"))?;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| StateError::Inconsistent("text"))
    }
}
