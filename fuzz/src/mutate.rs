//! Deterministic mutations of an input, for the tests that run every target over its
//! seeds and for the differential tests: the same input always gives the same
//! mutations, so a failure names one that can be made again.
//!
//! Kinds, in turn: a bit flipped, the input cut short, a byte set to a value that length
//! and tag fields treat specially (`0x00`, `0x7f`, `0x80`, `0x81`, `0x84`, `0xff`, …), a
//! splice of this input's head and another's tail, a run of bytes deleted or repeated,
//! and a byte added to or taken from (a length field is a byte like any other).

/// Bytes that DER and CBOR heads and lengths treat specially.
const INTERESTING: [u8; 12] = [
    0x00, 0x01, 0x17, 0x18, 0x1f, 0x3f, 0x7f, 0x80, 0x81, 0x84, 0xfe, 0xff,
];

/// splitmix64: a small, fixed PRNG so that mutations do not depend on a crate's version.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

/// The `i`-th mutation of `input` (with `others` to splice from), deterministic in
/// `(input, others, i)`.
pub fn mutation(input: &[u8], others: &[&[u8]], i: usize) -> Vec<u8> {
    let mut rng = Rng::new(i as u64 ^ (input.len() as u64).rotate_left(32));
    let mut out = input.to_vec();
    let len = out.len();
    match i % 8 {
        0 if len > 0 => {
            let at = rng.below(len * 8);
            out[at / 8] ^= 0x80 >> (at % 8);
        }
        1 => out.truncate(rng.below(len + 1)),
        2 if len > 0 => {
            let at = rng.below(len);
            out[at] = INTERESTING[rng.below(INTERESTING.len())];
        }
        3 if !others.is_empty() => {
            let other = others[rng.below(others.len())];
            out.truncate(rng.below(len + 1));
            out.extend_from_slice(&other[rng.below(other.len() + 1)..]);
        }
        4 if len > 0 => {
            let at = rng.below(len);
            let n = 1 + rng.below((len - at).min(64));
            out.drain(at..at + n);
        }
        5 if len > 0 => {
            let at = rng.below(len);
            let n = 1 + rng.below((len - at).min(64));
            let run = out[at..at + n].to_vec();
            out.splice(at..at, run);
        }
        6 if len > 0 => {
            let at = rng.below(len);
            let delta = [1u8, 2, 0x10, 0x80][rng.below(4)];
            out[at] = if rng.below(2) == 0 {
                out[at].wrapping_add(delta)
            } else {
                out[at].wrapping_sub(delta)
            };
        }
        _ if len > 0 => {
            // Two bit flips at once.
            for _ in 0..2 {
                let at = rng.below(len * 8);
                out[at / 8] ^= 0x80 >> (at % 8);
            }
        }
        _ => out.push(INTERESTING[rng.below(INTERESTING.len())]),
    }
    out
}

/// The first `count` mutations of `input`.
pub fn mutations<'a>(
    input: &'a [u8],
    others: &'a [&'a [u8]],
    count: usize,
) -> impl Iterator<Item = Vec<u8>> + 'a {
    (0..count).map(move |i| mutation(input, others, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_deterministic_and_differ_from_the_input() {
        let input = b"0123456789abcdef".as_slice();
        let others = [b"XYZ".as_slice()];
        let a: Vec<Vec<u8>> = mutations(input, &others, 200).collect();
        let b: Vec<Vec<u8>> = mutations(input, &others, 200).collect();
        assert_eq!(a, b);
        let changed = a.iter().filter(|m| m.as_slice() != input).count();
        assert!(
            changed > 180,
            "only {changed} of 200 mutations changed the input"
        );
        assert!(mutations(b"", &[], 16).all(|m| m.len() <= 1));
    }
}
