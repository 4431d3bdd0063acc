//! Several inputs in one fuzz input: each part but the last is a 4-byte little-endian
//! length then its bytes; the last part is what remains. Lengths beyond the input are cut
//! to it, so every input splits into `N` parts.

/// Splits `data` into `N` parts.
pub fn split<const N: usize>(data: &[u8]) -> [&[u8]; N] {
    let mut parts = [&[][..]; N];
    let mut rest = data;
    for (i, part) in parts.iter_mut().enumerate() {
        if i + 1 == N {
            *part = rest;
            break;
        }
        let (len, tail) = match rest.split_first_chunk::<4>() {
            Some((len, tail)) => (u32::from_le_bytes(*len) as usize, tail),
            None => (0, &[][..]),
        };
        let (head, tail) = tail.split_at(len.min(tail.len()));
        *part = head;
        rest = tail;
    }
    parts
}

/// Joins `parts` so that [`split`] gives them back.
///
/// # Panics
/// When a part but the last is 4 GiB or longer.
pub fn join(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 < parts.len() {
            let len = u32::try_from(part.len()).expect("a part under 4 GiB");
            out.extend_from_slice(&len.to_le_bytes());
        }
        out.extend_from_slice(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_then_split_gives_the_parts() {
        let parts: [&[u8]; 3] = [b"abc", b"", b"rest of it"];
        assert_eq!(split::<3>(&join(&parts)), parts);
        // Short or lying lengths still give N parts.
        let empty: [&[u8]; 3] = [&[], &[], &[]];
        assert_eq!(split::<3>(&[]), empty);
        assert_eq!(split::<2>(&[9, 0, 0, 0, 1]), [&[1][..], &[][..]]);
    }
}
