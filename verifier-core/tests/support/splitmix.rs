//! SplitMix64, the small seeded generator the randomised tests share: the same cases on
//! every run and platform, without a dependency. Shared by `tests/crypto_differential.rs`
//! and the unit tests of `src/chain/resume_tests.rs` through `#[path]`; each adds the
//! helpers it draws with (`below`, `chance`, `bytes`) in an `impl` of its own.

/// SplitMix64 (Steele, Lea and Flood, 2014) from its seed.
pub(crate) struct SplitMix64(pub(crate) u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
