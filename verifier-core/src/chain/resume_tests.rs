//! [`ResumableAudit`] against the full audit ([`AuditBuilder`]): random chains with
//! forks, blocks timestamped or sequenced twice, gaps that later fill, withheld and
//! missing batches, equivocation and invalid objects, given in random increments (and
//! sometimes with objects taken away again). After every increment the resumed audit
//! must equal a full audit of everything given so far.

#![allow(clippy::panic)]

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use std::collections::BTreeSet;

use super::*;

#[path = "../../tests/support/splitmix.rs"]
mod splitmix;

/// A small deterministic generator (SplitMix64): the same cases on every platform.
use splitmix::SplitMix64 as Rng;

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn hash(&mut self) -> Hash32 {
        Hash32::digest(&self.next().to_be_bytes())
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        let n = items.len() as u64;
        (n > 0).then(|| &items[usize::try_from(self.below(n)).unwrap_or(0)])
    }
}

/// The batches a world's blocks name, as the source the audits read them from.
#[derive(Default)]
struct Batches(BTreeMap<Hash32, Vec<u8>>);

impl ObjectSource for Batches {
    fn object(&self, kind: ObjectKind, key: &Hash32) -> Result<Option<Vec<u8>>, String> {
        Ok((kind == ObjectKind::Batch)
            .then(|| self.0.get(key).cloned())
            .flatten())
    }
}

/// A block of a random world: its key, the block, its timestamps.
type BuiltBlock = (Hash32, Block, Vec<(Hash32, UnixSeconds)>);

/// One random snapshot's facts, as the examination of its objects gives them.
struct World {
    genesis: Hash32,
    facts: Vec<(ObjectKind, Examined)>,
    batches: Batches,
}

fn world(rng: &mut Rng) -> World {
    let mut facts = Vec::new();
    let mut batches = Batches::default();
    let txs: Vec<Vec<u8>> = (0..12u8).map(|i| vec![i; 3]).collect();
    let mut batch = |rng: &mut Rng, facts: &mut Vec<(ObjectKind, Examined)>| -> Hash32 {
        let n = 1 + rng.below(3);
        let chosen: Vec<Vec<u8>> = (0..n).filter_map(|_| rng.pick(&txs).cloned()).collect();
        let b = crate::batch::Batch::new(chosen);
        let root = b.root();
        match rng.below(20) {
            // Withheld: the block names a batch the snapshot lacks.
            0 => {}
            // Listed as well-formed, but unreadable when the main chain's are read.
            1 => facts.push((ObjectKind::Batch, Examined::Batch { key: root })),
            // An invalid object under the batch's name.
            2 => facts.push((
                ObjectKind::Batch,
                Examined::Invalid(InvalidObject {
                    kind: ObjectKind::Batch,
                    key: root.to_hex(),
                    reason: "batch: not canonical CBOR".to_owned(),
                }),
            )),
            _ => {
                batches.0.insert(root, b.encode());
                facts.push((ObjectKind::Batch, Examined::Batch { key: root }));
            }
        }
        root
    };

    // Blocks: (key, block, its timestamps).
    let mut blocks: Vec<BuiltBlock> = Vec::new();
    let mut k_next: u64 = 0;
    let mut iat: u64 = 1_000;
    let mut genesis = Hash32::ZERO;
    let count = 1 + rng.below(40);
    // A rough world breaks its chain often (gaps nobody fills, numbers out of order,
    // unknown parents, blocks never sequenced); a smooth one rarely, so that long main
    // chains are tested too.
    let rough = rng.chance(40);
    let odds = |p: u64| if rough { p } else { p / 4 };
    for i in 0..count {
        let parent = if i == 0 {
            Hash32::ZERO
        } else if rng.chance(odds(4)) {
            rng.hash() // a parent nobody has
        } else {
            let from = if rng.chance(70) {
                blocks.last()
            } else {
                rng.pick(&blocks)
            };
            let stamps: Vec<Hash32> = from
                .map(|(_, _, ts)| ts.iter().map(|t| t.0).collect())
                .unwrap_or_default();
            rng.pick(&stamps).copied().unwrap_or_else(|| rng.hash())
        };
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(&rng.hash().as_bytes()[..16]);
        let block = Block {
            uuid,
            batch_root: batch(rng, &mut facts),
            parent_timestamp: parent,
        };
        let key = Hash32::digest(&block.encode());
        if i == 0 {
            genesis = key;
        }
        if !rng.chance(odds(3)) {
            facts.push((ObjectKind::Block, Examined::Block { key, block }));
        }
        let mut stamps = Vec::new();
        let n_stamps = match rng.below(20) {
            0 => 0,
            1 => 2,
            _ => 1,
        };
        for _ in 0..n_stamps {
            iat += 1 + rng.below(3);
            let t = rng.hash();
            stamps.push((t, UnixSeconds(iat)));
            facts.push((
                ObjectKind::Timestamp,
                Examined::Timestamp {
                    key: t,
                    attests: key,
                    iat: UnixSeconds(iat),
                },
            ));
        }
        for &(t, t_iat) in &stamps {
            let y = crate::triple::y(&uuid, &t);
            let attest = |rng: &mut Rng, facts: &mut Vec<_>, y: [u8; 48], k: u64| {
                let early = rng.chance(4);
                let document_time = UnixMillis(if early {
                    (t_iat.0 * 1000).saturating_sub(400_000)
                } else {
                    t_iat.0 * 1000 + rng.below(2000)
                });
                facts.push((
                    ObjectKind::Attestation,
                    Examined::Attestation {
                        key: rng.hash(),
                        y,
                        k,
                        document_time,
                    },
                ));
            };
            if rng.chance(odds(7)) {
                continue; // never sequenced
            }
            let k = match rng.below(if rough { 30 } else { 120 }) {
                0 => rng.below(k_next + 3), // out of order
                _ => {
                    if i > 0 && rng.chance(odds(6)) {
                        k_next += 1; // a number nobody gets: a gap
                    }
                    let k = k_next;
                    k_next += 1;
                    k
                }
            };
            attest(rng, &mut facts, y, k);
            if rng.chance(4) {
                attest(rng, &mut facts, y, k); // the same (b, t, k) sequenced again
            }
            if rng.chance(4) {
                attest(rng, &mut facts, y, k_next); // sequenced again, a new number
                k_next += 1;
            }
            if rng.chance(2) {
                // Equivocation: a known number for another y.
                let other = rng.below(k_next + 1);
                let mut y2 = y;
                y2[0] ^= 1;
                attest(rng, &mut facts, y2, other);
            }
        }
        blocks.push((key, block, stamps));
    }
    // Loose objects and invalid ones, some with names that are not hashes.
    for _ in 0..rng.below(4) {
        let kind = *rng.pick(&ObjectKind::ALL).unwrap_or(&ObjectKind::Block);
        let key = if rng.chance(20) {
            format!("not-a-hash-{}", rng.below(1000))
        } else {
            rng.hash().to_hex()
        };
        facts.push((
            kind,
            Examined::Invalid(InvalidObject {
                kind,
                key,
                reason: "invalid".to_owned(),
            }),
        ));
    }
    if rng.chance(20) {
        let y = crate::triple::y(&[7; 16], &rng.hash());
        facts.push((
            ObjectKind::Attestation,
            Examined::Attestation {
                key: rng.hash(),
                y,
                k: rng.below(k_next + 2),
                document_time: UnixMillis(0),
            },
        ));
    }
    // The same name twice in one kind cannot be listed: keep the first.
    let mut seen = BTreeSet::new();
    facts.retain(|(kind, e)| seen.insert((*kind, name_of(e))));
    World {
        genesis,
        facts,
        batches,
    }
}

fn name_of(e: &Examined) -> String {
    match e {
        Examined::Block { key, .. }
        | Examined::Timestamp { key, .. }
        | Examined::Attestation { key, .. }
        | Examined::Batch { key } => key.to_hex(),
        Examined::Invalid(i) => i.key.clone(),
    }
}

fn counts(facts: &[(ObjectKind, Examined)]) -> BTreeMap<ObjectKind, usize> {
    let mut out = BTreeMap::new();
    for (kind, _) in facts {
        *out.entry(*kind).or_insert(0) += 1;
    }
    out
}

/// The full audit of `facts`.
fn full(genesis: Hash32, facts: &[(ObjectKind, Examined)], batches: &Batches) -> Audit {
    let mut builder = AuditBuilder::new(genesis).with_hash_seed(HashSeed::new(1));
    for (kind, e) in facts {
        builder.add(*kind, e.clone());
    }
    builder.finish(batches)
}

/// Gives `st` the new facts `now` of a snapshot that now holds `given` (nothing removed),
/// and checks it against the full audit of `given`.
#[track_caller]
fn give(
    st: &mut ResumableAudit,
    w: &World,
    now: &[(ObjectKind, Examined)],
    given: &[(ObjectKind, Examined)],
    case: u64,
) {
    st.update(
        Changes {
            new: now.to_vec(),
            removed: Vec::new(),
            counts: counts(given),
        },
        &w.batches,
    );
    assert_eq!(
        st.audit(),
        &full(w.genesis, given, &w.batches),
        "case {case}"
    );
}

fn state(genesis: Hash32, seed: u64) -> ResumableAudit {
    ResumableAudit::empty(genesis, [9; 32], HashSeed::new(seed))
}

/// Whether the last increment's audit found the chain's sequencer equivocating
/// (the recompute path), for the coverage of the cases.
#[derive(Default)]
struct Seen {
    equivocation: bool,
    forks: bool,
    gaps: bool,
    missing: bool,
    removals: bool,
    long: bool,
}

#[test]
fn a_resumed_audit_equals_the_full_audit_after_every_increment() {
    let mut seen = Seen::default();
    for case in 0..400u64 {
        let mut rng = Rng(case);
        let w = world(&mut rng);
        let mut order = w.facts.clone();
        // Shuffle (Fisher–Yates).
        for i in (1..order.len()).rev() {
            let j = usize::try_from(rng.below(i as u64 + 1)).unwrap_or(0);
            order.swap(i, j);
        }
        let mut st = state(w.genesis, case);
        let mut given: Vec<(ObjectKind, Examined)> = Vec::new();
        let mut rest = order.as_slice();
        while !rest.is_empty() {
            let take = 1 + usize::try_from(rng.below(rest.len() as u64)).unwrap_or(0);
            let (now, later) = rest.split_at(take);
            rest = later;
            let mut removed = Vec::new();
            if rng.chance(10) && !given.is_empty() {
                let i = usize::try_from(rng.below(given.len() as u64)).unwrap_or(0);
                let (kind, e) = given.remove(i);
                removed.push((kind, name_of(&e)));
                seen.removals = true;
            }
            given.extend(now.iter().cloned());
            let expected = full(w.genesis, &given, &w.batches);
            st.update(
                Changes {
                    new: now.to_vec(),
                    removed,
                    counts: counts(&given),
                },
                &w.batches,
            );
            assert_eq!(
                st.audit(),
                &expected,
                "case {case}: after {} of {} objects",
                given.len(),
                w.facts.len()
            );
            // Every fact given is known and none more.
            for kind in ObjectKind::ALL {
                let names: Vec<String> = given
                    .iter()
                    .filter(|(k, _)| *k == kind)
                    .map(|(_, e)| name_of(e))
                    .collect();
                let diff = st.diff(kind, &Listing::from_names(names));
                assert!(
                    diff.new.is_empty() && diff.removed.is_empty(),
                    "case {case}: {kind:?} {diff:?}"
                );
            }
            seen.equivocation |= !expected.equivocations.is_empty();
            seen.forks |= !expected.forks.is_empty();
            seen.gaps |= matches!(expected.end, ChainEnd::Gap { .. });
            seen.missing |= !expected.missing_batches.is_empty();
            seen.long |= expected.main_chain.len() > 15;
        }
    }
    assert!(
        seen.equivocation && seen.forks && seen.gaps && seen.missing && seen.removals && seen.long,
        "the cases no longer reach every finding: equivocation {}, forks {}, gaps {}, missing {}, removals {}, long {}",
        seen.equivocation,
        seen.forks,
        seen.gaps,
        seen.missing,
        seen.removals,
        seen.long
    );
}

#[test]
fn objects_given_one_by_one_in_chain_order_equal_the_full_audit() {
    // The writer's order: each block's objects after its parent's, one run each.
    for case in 0..40u64 {
        let mut rng = Rng(10_000 + case);
        let w = world(&mut rng);
        let mut st = state(w.genesis, case);
        let mut given = Vec::new();
        for fact in &w.facts {
            given.push(fact.clone());
            give(&mut st, &w, std::slice::from_ref(fact), &given, case);
        }
    }
}

/// A random world (from `seed`) whose facts, and `extra`, a new state (from
/// `state_seed`) has taken in.
fn audited_world(
    seed: u64,
    state_seed: u64,
    extra: Vec<(ObjectKind, Examined)>,
) -> (World, ResumableAudit) {
    let w = world(&mut Rng(seed));
    let mut st = state(w.genesis, state_seed);
    let mut facts = w.facts.clone();
    facts.extend(extra);
    st.update(
        Changes {
            counts: counts(&facts),
            new: facts,
            removed: Vec::new(),
        },
        &w.batches,
    );
    (w, st)
}

/// The names of the world's objects of `kind`.
fn names_in(w: &World, kind: ObjectKind) -> Vec<String> {
    w.facts
        .iter()
        .filter(|(k, _)| *k == kind)
        .map(|(_, e)| name_of(e))
        .collect()
}

#[test]
fn the_listing_diff_names_new_and_removed_objects() {
    let (w, st) = audited_world(7, 1, Vec::new());
    let blocks = names_in(&w, ObjectKind::Block);
    let mut listed = blocks[1..].to_vec();
    let fresh = Hash32::digest(b"fresh").to_hex();
    listed.push(fresh.clone());
    listed.push("ABC".to_owned());
    // An uppercase spelling of a known name is another name.
    listed.push(blocks[0].to_uppercase());
    let diff = st.diff(ObjectKind::Block, &Listing::from_names(listed));
    let new = vec![fresh, "ABC".to_owned(), blocks[0].to_uppercase()];
    assert_eq!(diff.new, Listing::from_names(new));
    assert_eq!(diff.removed, vec![blocks[0].clone()]);
}

/// The three parts as a caller keeps them: each `encode` written at its offsets.
#[derive(Default)]
struct Files {
    main: Vec<u8>,
    finals: Vec<u8>,
    rest: Vec<u8>,
}

impl Files {
    fn store(&mut self, state: &mut ResumableAudit) {
        let bytes = state.encode();
        let at = |offset: u64| usize::try_from(offset).unwrap_or(usize::MAX);
        self.main.truncate(at(bytes.main_offset));
        assert_eq!(
            self.main.len(),
            at(bytes.main_offset),
            "main offset beyond the part"
        );
        self.main.extend_from_slice(&bytes.main);
        self.finals.truncate(at(bytes.finals_offset));
        assert_eq!(
            self.finals.len(),
            at(bytes.finals_offset),
            "finals offset beyond the part"
        );
        self.finals.extend_from_slice(&bytes.finals);
        self.rest = bytes.rest;
        state.mark_written();
    }

    fn load(&self, genesis: Hash32, seed: u64) -> Result<ResumableAudit, StateError> {
        ResumableAudit::decode_for(
            (genesis, [9; 32], HashSeed::new(seed)),
            &self.main,
            &self.finals,
            &self.rest,
        )
    }
}

#[test]
fn a_state_written_in_pieces_reads_back_to_the_same_audit() {
    for case in 0..200u64 {
        let mut rng = Rng(20_000 + case);
        let w = world(&mut rng);
        let mut files = Files::default();
        let mut given = Vec::new();
        let mut rest = w.facts.as_slice();
        let mut first = true;
        while !rest.is_empty() {
            let take = 1 + usize::try_from(rng.below(rest.len() as u64)).unwrap_or(0);
            let (now, later) = rest.split_at(take);
            rest = later;
            given.extend(now.iter().cloned());
            // Each run starts from the stored bytes, as `zipchain audit --state` does.
            let mut st = if first {
                state(w.genesis, case)
            } else {
                files
                    .load(w.genesis, case)
                    .unwrap_or_else(|e| panic!("case {case}: {e}"))
            };
            first = false;
            give(&mut st, &w, now, &given, case);
            files.store(&mut st);
            // Bytes appended by a run that stopped before it replaced the rest part
            // are ignored.
            files.main.extend_from_slice(&[0xa5; 7]);
        }
        let mut again = files
            .load(w.genesis, case)
            .unwrap_or_else(|e| panic!("case {case}: {e}"));
        again.update(
            Changes {
                new: Vec::new(),
                removed: Vec::new(),
                counts: counts(&given),
            },
            &w.batches,
        );
        assert_eq!(
            again.audit(),
            &full(w.genesis, &given, &w.batches),
            "case {case}"
        );
        // A state of another chain, or of another descriptor, is refused.
        let other = ResumableAudit::decode_for(
            (Hash32::ZERO, [9; 32], HashSeed::new(1)),
            &files.main,
            &files.finals,
            &files.rest,
        );
        assert!(matches!(other, Err(StateError::Foreign)) || w.genesis == Hash32::ZERO);
        let other = ResumableAudit::decode_for(
            (w.genesis, [8; 32], HashSeed::new(1)),
            &files.main,
            &files.finals,
            &files.rest,
        );
        assert_eq!(other.err(), Some(StateError::Foreign));
    }
}

#[test]
fn damaged_state_bytes_are_an_error_never_a_panic() {
    let mut rng = Rng(99);
    let w = loop {
        let w = world(&mut rng);
        if w.facts.len() > 30 {
            break w;
        }
    };
    let mut st = state(w.genesis, 1);
    st.update(
        Changes {
            new: w.facts.clone(),
            removed: Vec::new(),
            counts: counts(&w.facts),
        },
        &w.batches,
    );
    let mut files = Files::default();
    files.store(&mut st);
    assert!(files.load(w.genesis, 1).is_ok());
    // Every cut of every part, and flipped bytes of the rest part.
    for cut in 0..files.rest.len() {
        let mut f = Files {
            main: files.main.clone(),
            finals: files.finals.clone(),
            rest: files.rest[..cut].to_vec(),
        };
        assert!(f.load(w.genesis, 1).is_err(), "rest cut at {cut}");
        f.rest = files.rest.clone();
        f.rest[cut] ^= 0xff;
        let _ = f.load(w.genesis, 1);
    }
    for cut in 0..files.main.len() {
        let f = Files {
            main: files.main[..cut].to_vec(),
            finals: files.finals.clone(),
            rest: files.rest.clone(),
        };
        assert_eq!(
            f.load(w.genesis, 1).err(),
            Some(StateError::Truncated { part: "main" })
        );
    }
    for cut in 0..files.finals.len() {
        let f = Files {
            main: files.main.clone(),
            finals: files.finals[..cut].to_vec(),
            rest: files.rest.clone(),
        };
        assert_eq!(
            f.load(w.genesis, 1).err(),
            Some(StateError::Truncated { part: "finals" })
        );
    }
    let f = Files {
        main: files.main.clone(),
        finals: files.finals.clone(),
        rest: b"not a state".to_vec(),
    };
    assert_eq!(f.load(w.genesis, 1).err(), Some(StateError::NotAState));
}

#[test]
fn the_listing_diff_tells_apart_names_that_share_their_first_bytes() {
    // Invalid objects' names are whatever files a snapshot holds: many may share the
    // eight bytes (and the 16 bits) the lookup sorts and buckets by.
    let named = |i: u16| {
        let mut h = [0xabu8; 32];
        h[30..].copy_from_slice(&i.to_be_bytes());
        Hash32(h)
    };
    let invalid = (0..600u16)
        .step_by(2)
        .map(|i| {
            let e = Examined::oversized(ObjectKind::Block, &named(i), 1 << 30);
            (ObjectKind::Block, e)
        })
        .collect();
    let (w, st) = audited_world(11, 2, invalid);
    let mut listed = names_in(&w, ObjectKind::Block);
    // Every third of the known ones listed again, every odd one new.
    listed.extend(
        (0..600u16)
            .filter(|i| i % 3 == 0 || i % 2 == 1)
            .map(|i| named(i).to_hex()),
    );
    let diff = st.diff(ObjectKind::Block, &Listing::from_names(listed));
    let new: Vec<String> = (0..600u16)
        .filter(|i| i % 2 == 1)
        .map(|i| named(i).to_hex())
        .collect();
    let mut removed: Vec<String> = (0..600u16)
        .filter(|i| i % 2 == 0 && i % 3 != 0)
        .map(|i| named(i).to_hex())
        .collect();
    removed.sort();
    assert_eq!(diff.new, Listing::from_names(new));
    assert_eq!(diff.removed, removed);
}

#[test]
fn a_listing_longer_than_a_lookup_batch_is_diffed_whole() {
    let (w, st) = audited_world(12, 3, Vec::new());
    let known = names_in(&w, ObjectKind::Timestamp);
    let fresh: Vec<String> = (0..40_000u32)
        .map(|i| Hash32::digest(&i.to_be_bytes()).to_hex())
        .collect();
    // The known names last but one, after two batches' worth of new ones.
    let mut listed = fresh.clone();
    listed.extend(known.iter().skip(1).cloned());
    let diff = st.diff(ObjectKind::Timestamp, &Listing::from_names(listed));
    assert_eq!(diff.new, Listing::from_names(fresh));
    assert_eq!(
        diff.removed,
        known.first().cloned().into_iter().collect::<Vec<_>>()
    );
}
