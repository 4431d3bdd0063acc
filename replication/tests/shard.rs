//! The shard format and the 3+3 code: round trips, any three of six, strict decoding.

mod common;

use common::block;
use verifier_core::hash::Hash32;
use verifier_core::snapshot::ObjectKind;
use zipchain_replication::shard::{HEADER_LEN, MAGIC, TOTAL_SHARDS};
use zipchain_replication::{Shard, ShardError, decode, encode};

// One 1 MiB object only: SHA3 in a debug build hashes about 2 MB/s, and each round trip
// hashes the object and its shards several times.
const SIZES: [usize; 10] = [0, 1, 2, 3, 4, 5, 81, 1000, 4097, 1 << 20];

/// Every choice of three indices out of six: 20 of them.
fn triples() -> Vec<[usize; 3]> {
    let mut out = Vec::new();
    for a in 0..6 {
        for b in a + 1..6 {
            for c in b + 1..6 {
                out.push([a, b, c]);
            }
        }
    }
    out
}

#[test]
fn round_trip_of_many_sizes() {
    for (seed, n) in SIZES.into_iter().enumerate() {
        let (key, bytes) = block(seed as u64, n);
        let shards = encode(ObjectKind::Block, key, &bytes);
        for (i, shard) in shards.iter().enumerate() {
            assert_eq!(shard.index(), i);
            assert_eq!(shard.kind(), ObjectKind::Block);
            assert_eq!(*shard.key(), key);
            assert_eq!(shard.original_len(), n as u64);
            assert_eq!(*shard.original_hash(), Hash32::digest(&bytes));
            assert_eq!(shard.payload().len(), n.div_ceil(3).max(1));
            let stored = shard.to_bytes();
            assert_eq!(stored.len(), HEADER_LEN + shard.payload().len());
            assert_eq!(stored[..4], MAGIC);
            assert_eq!(Shard::from_bytes(&stored).unwrap(), *shard);
        }
        assert_eq!(decode(shards).unwrap(), bytes, "size {n}");
    }
}

#[test]
fn any_three_of_six_decode() {
    let triples = triples();
    assert_eq!(triples.len(), 20);
    for (seed, n) in [0usize, 1, 2, 3, 1000, 65_537].into_iter().enumerate() {
        let (key, bytes) = block(100 + seed as u64, n);
        let shards = encode(ObjectKind::Timestamp, key, &bytes);
        for t in &triples {
            // In a scrambled order, through the stored form.
            let chosen =
                [t[2], t[0], t[1]].map(|i| Shard::from_bytes(&shards[i].to_bytes()).unwrap());
            assert_eq!(decode(chosen).unwrap(), bytes, "size {n}, shards {t:?}");
        }
        // Fewer than three never decode.
        for a in 0..6 {
            for b in a + 1..6 {
                let two = [shards[a].clone(), shards[b].clone()];
                assert_eq!(
                    decode(two),
                    Err(ShardError::TooFewShards {
                        got: 2,
                        expected: 3
                    })
                );
            }
        }
    }
}

#[test]
fn repeated_indices_count_once() {
    let (key, bytes) = block(7, 500);
    let s = encode(ObjectKind::Block, key, &bytes);
    let got = decode([s[1].clone(), s[1].clone(), s[4].clone(), s[4].clone()]);
    assert_eq!(
        got,
        Err(ShardError::TooFewShards {
            got: 2,
            expected: 3
        })
    );
    assert_eq!(
        decode([s[1].clone(), s[1].clone(), s[4].clone(), s[5].clone()]).unwrap(),
        bytes
    );
}

#[test]
fn a_corrupted_payload_byte_is_detected_alone() {
    let (key, bytes) = block(8, 1000);
    let shards = encode(ObjectKind::Block, key, &bytes);
    for shard in &shards {
        let mut stored = shard.to_bytes();
        let last = stored.len() - 1;
        stored[last] ^= 0x01;
        assert!(matches!(
            Shard::from_bytes(&stored),
            Err(ShardError::PayloadHash { expected, .. }) if expected == *shard.payload_hash()
        ));
    }
}

#[test]
fn strict_header_decoding() {
    let (key, bytes) = block(9, 10);
    let good = encode(ObjectKind::Attestation, key, &bytes)[4].to_bytes();
    let with = |at: usize, value: u8| {
        let mut b = good.clone();
        b[at] = value;
        Shard::from_bytes(&b)
    };
    assert_eq!(
        Shard::from_bytes(&good[..HEADER_LEN - 1]),
        Err(ShardError::TooShort {
            got: HEADER_LEN - 1,
            expected: HEADER_LEN
        })
    );
    assert_eq!(with(0, b'X'), Err(ShardError::BadMagic { got: *b"XCSH" }));
    assert_eq!(
        with(4, 2),
        Err(ShardError::UnsupportedVersion {
            got: 2,
            expected: 1
        })
    );
    assert_eq!(with(5, 4), Err(ShardError::UnknownKind { got: 4 }));
    assert_eq!(with(6, 6), Err(ShardError::IndexOutOfRange { got: 6 }));
    assert_eq!(
        with(7, 4),
        Err(ShardError::BadGeometry { data: 4, parity: 3 })
    );
    assert_eq!(
        with(8, 2),
        Err(ShardError::BadGeometry { data: 3, parity: 2 })
    );
    // A trailing byte, or one missing: the payload length no longer fits the original length.
    let mut longer = good.clone();
    longer.push(0);
    assert_eq!(
        Shard::from_bytes(&longer),
        Err(ShardError::PayloadLength {
            got: 5,
            expected: 4,
            original_len: 10
        })
    );
    assert_eq!(
        Shard::from_bytes(&good[..good.len() - 1]),
        Err(ShardError::PayloadLength {
            got: 3,
            expected: 4,
            original_len: 10
        })
    );
    // A huge original length cannot make the reader allocate: the payload is what is there.
    let mut huge = good.clone();
    huge[41..49].copy_from_slice(&u64::MAX.to_be_bytes());
    assert!(matches!(
        Shard::from_bytes(&huge),
        Err(ShardError::PayloadLength {
            original_len: u64::MAX,
            ..
        })
    ));
}

#[test]
fn shards_of_different_objects_do_not_mix() {
    let (k1, b1) = block(10, 300);
    let (k2, b2) = block(11, 300);
    let s1 = encode(ObjectKind::Block, k1, &b1);
    let s2 = encode(ObjectKind::Block, k2, &b2);
    assert_eq!(
        decode([s1[0].clone(), s1[1].clone(), s2[2].clone()]),
        Err(ShardError::HeaderMismatch {
            first: 0,
            index: 2,
            field: "key"
        })
    );
    let s3 = encode(ObjectKind::Timestamp, k1, &b1);
    assert_eq!(
        decode([s1[0].clone(), s3[1].clone(), s1[2].clone()]),
        Err(ShardError::HeaderMismatch {
            first: 0,
            index: 1,
            field: "kind"
        })
    );
}

/// A shard whose payload was replaced and whose payload hash was recomputed to match: it
/// passes on its own, and only the rebuilt object's hash can tell.
fn forge(shard: &Shard) -> Shard {
    let mut stored = shard.to_bytes();
    let payload = HEADER_LEN..stored.len();
    for b in &mut stored[payload.clone()] {
        *b ^= 0x5a;
    }
    let hash = Hash32::digest(&stored[payload]);
    stored[81..113].copy_from_slice(&hash.0);
    Shard::from_bytes(&stored).unwrap()
}

#[test]
fn a_forged_self_consistent_shard_never_yields_wrong_bytes() {
    let (key, bytes) = block(12, 999);
    let s = encode(ObjectKind::Block, key, &bytes);
    let forged = forge(&s[0]);
    // With exactly three, one forged: the rebuild is caught by the original hash.
    assert!(matches!(
        decode([forged.clone(), s[1].clone(), s[2].clone()]),
        Err(ShardError::OriginalHash { expected, .. }) if expected == Hash32::digest(&bytes)
    ));
    // With more than three, another choice of three rebuilds the object.
    for extra in 3..TOTAL_SHARDS {
        let got = decode([forged.clone(), s[1].clone(), s[2].clone(), s[extra].clone()]);
        assert_eq!(got.unwrap(), bytes);
    }
}

#[test]
fn the_key_is_checked_against_the_rebuilt_object() {
    let (_, bytes) = block(13, 81);
    let wrong = Hash32([7; 32]);
    let s = encode(ObjectKind::Block, wrong, &bytes);
    assert_eq!(
        decode(s),
        Err(ShardError::KeyMismatch {
            kind: ObjectKind::Block,
            got: Hash32::digest(&bytes),
            expected: wrong
        })
    );
    // A batch is named by its Merkle root, so its bytes must be a batch.
    let s = encode(ObjectKind::Batch, wrong, &bytes);
    assert!(matches!(
        decode(s),
        Err(ShardError::NotABatch { key, .. }) if key == wrong
    ));
}

#[test]
fn errors_say_what_was_expected() {
    let e = ShardError::PayloadLength {
        got: 5,
        expected: 4,
        original_len: 10,
    };
    assert_eq!(
        e.to_string(),
        "shard payload is 5 bytes, expected 4 for an original of 10 bytes"
    );
}
