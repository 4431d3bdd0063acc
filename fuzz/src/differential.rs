//! The bookkeeping of a differential test (`tests/differential_*.rs`): what our reader
//! and the crate it replaced made of each input, and the checks every such test makes.

use std::collections::BTreeMap;
use std::fmt::Debug;

/// What two readers made of a set of inputs.
#[derive(Debug)]
pub struct Tally {
    /// The crate ours is compared with, for messages.
    theirs: &'static str,
    /// Inputs recorded.
    pub inputs: usize,
    /// Inputs both read, to the same value.
    pub both: usize,
    /// Inputs both refused.
    pub neither: usize,
    /// Inputs only theirs read, by the listed reason ours refused them for.
    pub stricter: BTreeMap<&'static str, usize>,
}

impl Tally {
    /// An empty tally against the crate `theirs`.
    pub fn new(theirs: &'static str) -> Self {
        Self {
            theirs,
            inputs: 0,
            both: 0,
            neither: 0,
            stricter: BTreeMap::new(),
        }
    }

    /// Records `input`, read by ours and by theirs. Panics when both read it to different
    /// values, when ours reads what theirs refuses, or when ours refuses what theirs reads
    /// for a reason that contains none of the fragments of `rows` (fragment, row name).
    #[track_caller]
    pub fn record<T: PartialEq + Debug>(
        &mut self,
        input: &[u8],
        ours: Result<T, String>,
        theirs: Result<T, String>,
        rows: &[(&str, &'static str)],
    ) {
        self.inputs += 1;
        let name = self.theirs;
        match (ours, theirs) {
            (Ok(a), Ok(b)) => {
                assert!(
                    a == b,
                    "ours and {name} both read {} but differ:\nours   {a:?}\ntheirs {b:?}",
                    hex::encode(input)
                );
                self.both += 1;
            }
            (Ok(a), Err(why)) => panic!(
                "ours reads what {name} refuses ({why}): {a:?} from {}",
                hex::encode(input)
            ),
            (Err(reason), Ok(_)) => {
                let row = rows
                    .iter()
                    .find(|(fragment, _)| reason.contains(fragment))
                    .map(|(_, row)| *row)
                    .unwrap_or_else(|| {
                        panic!(
                            "ours refuses what {name} reads, for a reason no row lists: {reason}\n{}",
                            hex::encode(input)
                        )
                    });
                *self.stricter.entry(row).or_default() += 1;
            }
            (Err(_), Err(_)) => self.neither += 1,
        }
    }

    /// Prints the tally, one line for each row of ours being stricter.
    pub fn print(&self) {
        eprintln!(
            "{} inputs against {}: both read {}, both refuse {}, ours stricter {}",
            self.inputs,
            self.theirs,
            self.both,
            self.neither,
            self.stricter.values().sum::<usize>()
        );
        for (row, n) in &self.stricter {
            eprintln!("  {n:5}  {row}");
        }
    }
}
