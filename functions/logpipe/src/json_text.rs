//! JSON strings as bytes: where one that needs no escaping ends. The
//! indexer reads event fields and writes document fields through this, and
//! almost none of them hold anything to escape.

/// The position of the first byte a JSON string cannot hold as it is: `"`,
/// `\\` or a control character. Eight bytes at a time (SWAR: our strings are
/// a few bytes to a few dozen, too short for memchr's or a SIMD loop's
/// set-up to pay), then byte by byte for the last few.
pub fn escape_or_quote(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // The high bit of each byte of `word` that is below `n` (n <= 0x80).
    // Borrows can mark bytes after the first one found, never before it,
    // so the lowest mark is exact.
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS;
    let equal = |word: u64, byte: u8| below(word ^ (ONES * u64::from(byte)), 1);
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().ok()?);
        let found = equal(word, b'"') | equal(word, b'\\') | below(word, 0x20);
        if found != 0 {
            return Some(at + found.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    let rest = bytes[at..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    Some(at + rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_byte_to_escape() {
        let reference = |bytes: &[u8]| {
            bytes
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        };
        let mut bytes = b"billion_website_logs-0\"".to_vec();
        for stop in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
            for at in 0..bytes.len() {
                let mut text = bytes.clone();
                text[at] = stop;
                // Bytes just above the limits, and non-ASCII, do not stop it.
                text.extend_from_slice(&[0x20, 0x21, 0x5d, 0x7f, 0x80, 0xff]);
                assert_eq!(escape_or_quote(&text), reference(&text), "{text:?}");
                assert_eq!(escape_or_quote(&text[at..]), Some(0));
            }
        }
        bytes.pop();
        assert_eq!(escape_or_quote(&bytes), None, "no end in sight");
        assert_eq!(escape_or_quote(&[0xe2, 0x82, 0xac, b'"']), Some(3));
    }
}
