//! The CBOR head (RFC 8949 §3): the initial byte and its argument, read and written
//! once for the crate's two strict CBOR readers, batches (`batch`) and NSM documents
//! (`nsm::cbor`). Each reader adds its own rules (definite lengths, shortest form,
//! allowed types) and its own typed errors on top.

/// Additional information 31: an indefinite length, or a "break".
pub(crate) const INDEFINITE: u8 = 31;

/// A head as read: the major type, the additional information, and the argument
/// (`None` for additional information 31).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Head {
    /// The major type, 0 to 7.
    pub(crate) major: u8,
    /// The additional information, 0 to 31.
    pub(crate) info: u8,
    /// The argument; `None` for additional information 31.
    pub(crate) argument: Option<u64>,
    /// The bytes the head takes, 1 to 9.
    pub(crate) len: usize,
}

impl Head {
    /// Whether the argument is written in the fewest bytes that hold it (RFC 8949
    /// §4.2.1's preferred serialization); true for additional information 31.
    pub(crate) fn is_shortest(&self) -> bool {
        let Some(argument) = self.argument else {
            return true;
        };
        argument >= shortest_min(self.info)
    }
}

/// The least argument that needs additional information `info` (24 to 27) in its
/// shortest form: 24, 2^8, 2^16, 2^32; 0 for the others.
pub(crate) fn shortest_min(info: u8) -> u64 {
    match info {
        24 => 24,
        25 => 0x100,
        26 => 0x1_0000,
        27 => 0x1_0000_0000,
        _ => 0,
    }
}

/// Why no head could be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeadError {
    /// The input ends inside the head: `needed` more bytes after the initial byte (1
    /// when there is no byte at all), of which `available` are there.
    Truncated {
        /// Bytes the head's argument takes (or 1 for the missing initial byte).
        needed: usize,
        /// Bytes that remain after the initial byte (0 when it is missing).
        available: usize,
    },
    /// Additional information 28, 29 or 30, which RFC 8949 reserves.
    Reserved {
        /// The additional information found.
        info: u8,
    },
}

/// Reads the head at the start of `input`.
///
/// # Errors
/// [`HeadError`] when the input ends inside it or it uses reserved additional
/// information.
pub(crate) fn read_head(input: &[u8]) -> Result<Head, HeadError> {
    let Some((&initial, rest)) = input.split_first() else {
        return Err(HeadError::Truncated {
            needed: 1,
            available: 0,
        });
    };
    let (major, info) = (initial >> 5, initial & 0x1f);
    let extra = match info {
        0..=23 => {
            return Ok(Head {
                major,
                info,
                argument: Some(u64::from(info)),
                len: 1,
            });
        }
        24 => 1,
        25 => 2,
        26 => 4,
        27 => 8,
        INDEFINITE => {
            return Ok(Head {
                major,
                info,
                argument: None,
                len: 1,
            });
        }
        _ => return Err(HeadError::Reserved { info }),
    };
    let bytes = rest.get(..extra).ok_or(HeadError::Truncated {
        needed: extra,
        available: rest.len(),
    })?;
    let argument = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    Ok(Head {
        major,
        info,
        argument: Some(argument),
        len: 1 + extra,
    })
}

/// Appends the head of major type `major` with argument `argument` in its shortest
/// form.
pub(crate) fn write_head(out: &mut Vec<u8>, major: u8, argument: u64) {
    let be = argument.to_be_bytes();
    let (info, len) = match argument {
        0..=23 => (argument as u8, 0),
        24..=0xff => (24, 1),
        0x100..=0xffff => (25, 2),
        0x1_0000..=0xffff_ffff => (26, 4),
        _ => (27, 8),
    };
    out.push(major << 5 | info);
    out.extend_from_slice(&be[8 - len..]);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn heads_round_trip_in_their_shortest_form() {
        for argument in [
            0,
            23,
            24,
            255,
            256,
            65_535,
            65_536,
            u32::MAX.into(),
            u64::MAX,
        ] {
            for major in 0..=6 {
                let mut out = Vec::new();
                write_head(&mut out, major, argument);
                let head = read_head(&out).unwrap();
                assert_eq!(head.major, major);
                assert_eq!(head.argument, Some(argument));
                assert_eq!(head.len, out.len());
                assert!(head.is_shortest(), "{argument}");
            }
        }
    }

    #[test]
    fn long_truncated_reserved_and_indefinite_heads() {
        let long = read_head(&[0x58, 0x05]).unwrap();
        assert_eq!((long.argument, long.is_shortest()), (Some(5), false));
        assert!(!read_head(&[0x19, 0x00, 0xff]).unwrap().is_shortest());
        assert_eq!(
            read_head(&[0x1a, 0x00]),
            Err(HeadError::Truncated {
                needed: 4,
                available: 1
            })
        );
        assert_eq!(
            read_head(&[]),
            Err(HeadError::Truncated {
                needed: 1,
                available: 0
            })
        );
        assert_eq!(read_head(&[0x1c]), Err(HeadError::Reserved { info: 28 }));
        let indefinite = read_head(&[0x9f]).unwrap();
        assert_eq!((indefinite.major, indefinite.argument), (4, None));
        assert!(indefinite.is_shortest());
    }
}
