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

/// A state's parts as [`ResumableAudit::encode_parts`] gives them: the rest part whole,
/// and the records of the two appended parts one by one, so that a caller writes a state
/// of a million blocks without holding its hundreds of megabytes in memory at once.
#[derive(Debug)]
pub struct StateParts<'a> {
    /// Where the main records go in the main part: its byte offset (the part is cut
    /// there first; 0 rewrites it whole).
    pub main_offset: u64,
    /// Where the final-transaction records go in the finals part (cut there first).
    pub finals_offset: u64,
    /// The whole rest part.
    pub rest: Vec<u8>,
    state: &'a ResumableAudit,
    main_from: usize,
    fresh_finals: &'a [(Hash32, u64)],
}

impl StateParts<'_> {
    /// The main-chain records from `main_offset` on, in height order.
    pub fn main_records(&self) -> impl Iterator<Item = [u8; MAIN_RECORD]> + '_ {
        let state = self.state;
        state
            .audit
            .main_chain
            .iter()
            .zip(&state.main_facts)
            .skip(self.main_from)
            .map(|(m, f)| {
                let mut record = [0u8; MAIN_RECORD];
                let fields: [&[u8]; 8] = [
                    m.block.as_bytes(),
                    m.timestamp.as_bytes(),
                    m.attestation.as_bytes(),
                    m.batch_root.as_bytes(),
                    &f.uuid,
                    &m.sequence.to_le_bytes(),
                    &m.iat.0.to_le_bytes(),
                    &f.document_time.0.to_le_bytes(),
                ];
                let mut at = 0;
                for field in fields {
                    if let Some(slot) = record.get_mut(at..at + field.len()) {
                        slot.copy_from_slice(field);
                    }
                    at += field.len();
                }
                record
            })
    }

    /// The final-transaction records from `finals_offset` on: by height, then id, so
    /// that a state written in pieces reads back as one written whole.
    pub fn final_records(&self) -> impl Iterator<Item = [u8; FINAL_RECORD]> + '_ {
        self.fresh_finals.iter().map(|(tx, h)| {
            let mut record = [0u8; FINAL_RECORD];
            let (id, height) = record.split_at_mut(32);
            id.copy_from_slice(tx.as_bytes());
            height.copy_from_slice(&h.to_le_bytes());
            record
        })
    }
}

impl From<StateParts<'_>> for StateBytes {
    fn from(parts: StateParts<'_>) -> Self {
        let main = parts.main_records().flatten().collect();
        let finals = parts.final_records().flatten().collect();
        StateBytes {
            main_offset: parts.main_offset,
            main,
            finals_offset: parts.finals_offset,
            finals,
            rest: parts.rest,
        }
    }
}

impl ResumableAudit {
    /// The state as bytes: what changed in the two appended parts since the last
    /// [`ResumableAudit::mark_written`] (or all of it), and the whole rest part.
    /// [`ResumableAudit::encode_parts`] gives the same without collecting the records.
    pub fn encode(&self) -> StateBytes {
        self.encode_parts().into()
    }

    /// [`ResumableAudit::encode`], its appended parts as iterators of records.
    pub fn encode_parts(&self) -> StateParts<'_> {
        let (main_from, finals_through) = self.written.unwrap_or((0, 0));
        let main_from = main_from.min(self.audit.main_chain.len());
        // The final transactions are held by height then id already.
        let finals_all = &self.audit.final_transactions;
        let (written_finals, fresh_finals) = if self.written.is_some() {
            let fresh = finals_all.above(finals_through);
            (finals_all.len() - fresh.len(), fresh)
        } else {
            (0, finals_all.above(0))
        };

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
        StateParts {
            main_offset: (main_from * MAIN_RECORD) as u64,
            finals_offset: (written_finals * FINAL_RECORD) as u64,
            rest: w.0,
            state: self,
            main_from,
            fresh_finals,
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
    /// [`ResumableAudit::decoder`] reads the same from records fed one by one.
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
        Self::decode_for(identity(auditor), main, finals, rest)
    }

    /// A reader of the state whose rest part is `rest`, for the chain and descriptor of
    /// `auditor`, when the main and finals parts hold `main_len` and `finals_len` bytes:
    /// feed it the records it counts ([`StateDecoder::main_count`],
    /// [`StateDecoder::finals_count`]), then [`StateDecoder::finish`]. What it holds
    /// grows with the records fed, never beyond what the parts' lengths allow.
    ///
    /// # Errors
    /// As [`ResumableAudit::decode`], for the rest part and the counts it declares.
    pub fn decoder(
        auditor: &Auditor,
        rest: &[u8],
        main_len: u64,
        finals_len: u64,
    ) -> Result<StateDecoder, StateError> {
        StateDecoder::new(identity(auditor), rest, main_len, finals_len)
    }

    /// [`ResumableAudit::decode`] for the chain `genesis` under the descriptor with
    /// `fingerprint`.
    pub(super) fn decode_for(
        want: (Hash32, [u8; 32], HashSeed),
        main: &[u8],
        finals: &[u8],
        rest: &[u8],
    ) -> Result<Self, StateError> {
        let mut decoder = StateDecoder::new(want, rest, main.len() as u64, finals.len() as u64)?;
        let main_count = decoder.main_count();
        for record in main.chunks_exact(MAIN_RECORD).take(main_count) {
            decoder.push_main(record)?;
        }
        let finals_count = decoder.finals_count();
        for record in finals.chunks_exact(FINAL_RECORD).take(finals_count) {
            decoder.push_final(record)?;
        }
        decoder.finish()
    }
}

/// Reads a kept audit back record by record ([`ResumableAudit::decoder`]): the rest part
/// first, then the main-chain and final-transaction records the caller streams from
/// where it keeps them, so that the parts' bytes are never all in memory beside the state
/// they make.
#[derive(Debug)]
pub struct StateDecoder {
    state: ResumableAudit,
    main_count: usize,
    finals_count: usize,
    finals: Vec<(Hash32, u64)>,
}

impl StateDecoder {
    fn new(
        (want_genesis, want_fingerprint, seed): (Hash32, [u8; 32], HashSeed),
        rest: &[u8],
        main_len: u64,
        finals_len: u64,
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
        // The counts, checked against the bytes the parts hold before anything is sized
        // by them.
        let records = |count: u64, record: usize, len: u64, part| {
            usize::try_from(count)
                .ok()
                .filter(|n| n.checked_mul(record).is_some_and(|b| b as u64 <= len))
                .ok_or(StateError::Truncated { part })
        };
        let main_count = records(main_count, MAIN_RECORD, main_len, "main")?;
        let finals_count = records(finals_count, FINAL_RECORD, finals_len, "finals")?;
        if final_through > 0 && final_through >= main_count as u64 {
            return Err(StateError::Inconsistent(
                "final transactions beyond the main chain",
            ));
        }

        let mut state = ResumableAudit::empty(genesis, fingerprint, seed);
        state.audit.counts = counts;
        state.audit.main_chain = Vec::with_capacity(main_count);
        state.audit.invalid_objects = invalid_objects;
        state.audit.equivocations = equivocations;
        state.main_facts = Vec::with_capacity(main_count);
        state.genesis_parent = genesis_parent;
        state.active = active;
        state.batches = batches;
        state.coverage = coverage;
        state.final_through = final_through;
        state.written = Some((main_count, final_through));
        Ok(Self {
            state,
            main_count,
            finals_count,
            finals: Vec::with_capacity(finals_count),
        })
    }

    /// How many main-chain records the state counts: feed exactly these.
    pub fn main_count(&self) -> usize {
        self.main_count
    }

    /// How many final-transaction records the state counts: feed exactly these, after
    /// the main-chain records.
    pub fn finals_count(&self) -> usize {
        self.finals_count
    }

    /// The next main-chain record ([`MAIN_RECORD`] bytes), in height order.
    ///
    /// # Errors
    /// A record of another size, one more than counted, or one that cannot be.
    pub fn push_main(&mut self, record: &[u8]) -> Result<(), StateError> {
        let main_chain = &mut self.state.audit.main_chain;
        let height = main_chain.len();
        if record.len() != MAIN_RECORD || height >= self.main_count {
            return Err(StateError::Truncated { part: "main" });
        }
        let mut m = Reader {
            bytes: record,
            part: "main",
        };
        let block = MainChainBlock {
            height: height as u64,
            block: m.hash()?,
            timestamp: m.hash()?,
            attestation: m.hash()?,
            batch_root: m.hash()?,
            sequence: 0,
            iat: UnixSeconds(0),
        };
        let uuid = m.array()?;
        let (sequence, iat, time) = (m.u64()?, m.u64()?, m.u64()?);
        if (height == 0 && block.block != self.state.genesis)
            || sequence >= self.state.coverage.below
        {
            return Err(StateError::Inconsistent("main chain"));
        }
        main_chain.push(MainChainBlock {
            sequence,
            iat: UnixSeconds(iat),
            ..block
        });
        self.state.main_facts.push(MainFacts {
            uuid,
            document_time: UnixMillis(time),
        });
        Ok(())
    }

    /// The next final-transaction record ([`FINAL_RECORD`] bytes), in the order written.
    ///
    /// # Errors
    /// A record of another size, one more than counted, or one that cannot be.
    pub fn push_final(&mut self, record: &[u8]) -> Result<(), StateError> {
        if record.len() != FINAL_RECORD || self.finals.len() >= self.finals_count {
            return Err(StateError::Truncated { part: "finals" });
        }
        let mut f = Reader {
            bytes: record,
            part: "finals",
        };
        let (tx, height) = (f.hash()?, f.u64()?);
        if height == 0 || height > self.state.final_through {
            return Err(StateError::Inconsistent("final transactions"));
        }
        self.finals.push((tx, height));
        Ok(())
    }

    /// The state, once every counted record was fed.
    ///
    /// # Errors
    /// Records missing, or final transactions out of order or repeated.
    pub fn finish(self) -> Result<ResumableAudit, StateError> {
        let mut state = self.state;
        if state.audit.main_chain.len() != self.main_count {
            return Err(StateError::Truncated { part: "main" });
        }
        if self.finals.len() != self.finals_count {
            return Err(StateError::Truncated { part: "finals" });
        }
        state.audit.final_transactions =
            TxHeights::from_entries(self.finals).map_err(StateError::Inconsistent)?;
        Ok(state)
    }
}

/// What a state must have been made for: `auditor`'s chain (its genesis) and descriptor
/// (its fingerprint), and the seed of the state's hash maps.
fn identity(auditor: &Auditor) -> (Hash32, [u8; 32], HashSeed) {
    (auditor.genesis(), auditor.fingerprint(), auditor.seed)
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
