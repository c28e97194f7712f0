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

/// Whether every byte of `bytes` is printable ASCII (or DEL, 0x20 to 0x7f)
/// and none is `\\`: a line whose quoted strings need no JSON escaping and
/// whose bytes are UTF-8 as they are. `logpipe parse` asks this of every
/// line; with AVX2 it looks at 32 bytes an instruction, and at the last 32
/// again rather than at a tail byte by byte (the compiler's vector loop
/// for the same test spent half its work on such tails: a twentieth of
/// what `logpipe parse` did for a combined line).
pub fn is_plain_ascii(bytes: &[u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if bytes.len() >= 32 && std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (just checked).
        return unsafe { avx2::is_plain_ascii(bytes) };
    }
    is_plain_ascii_portable(bytes)
}

/// The position of the first `"` or `\\` in `bytes`: where a quoted field
/// of a log line ends, or an escape in it starts. With AVX2, 32 bytes an
/// instruction without `memchr2`'s set-up, which cost more than the search
/// itself on a line's request, referrer and user agent.
pub fn quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if bytes.len() >= 32 && std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (just checked).
        return unsafe { avx2::quote_or_backslash(bytes) };
    }
    memchr::memchr2(b'"', b'\\', bytes)
}

/// [`is_plain_ascii`] a byte at a time (the compiler makes the fold,
/// which has no early exit, a vector loop).
fn is_plain_ascii_portable(bytes: &[u8]) -> bool {
    !bytes.iter().fold(false, |found, &b| {
        // Below 0x20 or from 0x80 up is one unsigned comparison after a shift.
        found | (b.wrapping_sub(0x20) >= 0x60) | (b == b'\\')
    })
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::{
        __m256i, _mm256_cmpeq_epi8, _mm256_cmpgt_epi8, _mm256_loadu_si256, _mm256_movemask_epi8,
        _mm256_or_si256, _mm256_set1_epi8, _mm256_setzero_si256, _mm256_testz_si256,
    };

    /// [`quote_or_backslash`](super::quote_or_backslash) of at least 32
    /// bytes.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn quote_or_backslash(bytes: &[u8]) -> Option<usize> {
        debug_assert!(bytes.len() >= 32);
        let mut at = 0;
        while at + 32 <= bytes.len() {
            // SAFETY: `at + 32 <= bytes.len()`.
            let found = unsafe { quotes_and_backslashes(bytes, at) };
            if found != 0 {
                return Some(at + found.trailing_zeros() as usize);
            }
            at += 32;
        }
        if at == bytes.len() {
            return None;
        }
        // The last 32 bytes, of which those before `at` were looked at.
        let last = bytes.len() - 32;
        // SAFETY: `bytes.len() >= 32`.
        let found = unsafe { quotes_and_backslashes(bytes, last) } >> (at - last);
        (found != 0).then(|| at + found.trailing_zeros() as usize)
    }

    /// A bit for each byte of `bytes[at..at + 32]` that is `"` or `\\`.
    ///
    /// # Safety
    /// `at + 32 <= bytes.len()`, and the CPU must have AVX2.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn quotes_and_backslashes(bytes: &[u8], at: usize) -> u32 {
        // SAFETY: the 32 bytes are inside `bytes` (the caller's promise);
        // the load takes any alignment.
        let chunk = unsafe { _mm256_loadu_si256(bytes.as_ptr().add(at).cast()) };
        let marks = _mm256_or_si256(
            _mm256_cmpeq_epi8(chunk, _mm256_set1_epi8(b'"' as i8)),
            _mm256_cmpeq_epi8(chunk, _mm256_set1_epi8(b'\\' as i8)),
        );
        _mm256_movemask_epi8(marks) as u32
    }

    /// [`is_plain_ascii`](super::is_plain_ascii) of at least 32 bytes.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn is_plain_ascii(bytes: &[u8]) -> bool {
        debug_assert!(bytes.len() >= 32);
        let mut found = _mm256_setzero_si256();
        let mut at = 0;
        while at + 32 <= bytes.len() {
            // SAFETY: `at + 32 <= bytes.len()`.
            found = _mm256_or_si256(found, unsafe { other_than_plain(bytes, at) });
            at += 32;
        }
        // The last 32 bytes, partly looked at already.
        // SAFETY: `bytes.len() >= 32`.
        found = _mm256_or_si256(found, unsafe { other_than_plain(bytes, bytes.len() - 32) });
        _mm256_testz_si256(found, found) == 1
    }

    /// Marks the bytes of `bytes[at..at + 32]` that are below 0x20, from
    /// 0x80 up (both below 0x20 when compared as signed), or `\\`.
    ///
    /// # Safety
    /// `at + 32 <= bytes.len()`, and the CPU must have AVX2.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn other_than_plain(bytes: &[u8], at: usize) -> __m256i {
        // SAFETY: the 32 bytes are inside `bytes` (the caller's promise);
        // the load takes any alignment.
        let chunk = unsafe { _mm256_loadu_si256(bytes.as_ptr().add(at).cast()) };
        _mm256_or_si256(
            _mm256_cmpgt_epi8(_mm256_set1_epi8(0x20), chunk),
            _mm256_cmpeq_epi8(chunk, _mm256_set1_epi8(b'\\' as i8)),
        )
    }
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

    #[test]
    fn plain_ascii_is_printable_ascii_without_backslashes() {
        let reference = |bytes: &[u8]| {
            bytes
                .iter()
                .all(|&b| (0x20..0x80).contains(&b) && b != b'\\')
        };
        // Every length around the vector width, every byte value at each
        // position (the first, the middle, the overlapped last chunk).
        for len in [0, 1, 15, 31, 32, 33, 63, 64, 65, 100] {
            let plain: Vec<u8> = (0..len)
                .map(|i| b' ' + (i % 95) as u8)
                .map(|b| if b == b'\\' { b'/' } else { b })
                .collect();
            assert!(is_plain_ascii(&plain), "{len}");
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut line = plain.clone();
                    line[at] = b;
                    assert_eq!(
                        is_plain_ascii(&line),
                        reference(&line),
                        "len {len}, byte {b:#x} at {at}"
                    );
                    assert_eq!(is_plain_ascii_portable(&line), reference(&line));
                }
            }
        }
    }

    #[test]
    fn finds_the_first_quote_or_backslash() {
        for len in [0, 1, 31, 32, 33, 63, 64, 65, 100] {
            let text = vec![b'a'; len];
            assert_eq!(quote_or_backslash(&text), None, "{len}");
            for at in 0..len {
                for stop in [b'"', b'\\'] {
                    let mut text = text.clone();
                    text[at] = stop;
                    assert_eq!(quote_or_backslash(&text), Some(at), "{len} {at}");
                    // A second one after it does not move the first.
                    if at + 1 < len {
                        text[len - 1] = b'"';
                        assert_eq!(quote_or_backslash(&text), Some(at), "{len} {at}");
                    }
                }
            }
        }
    }
}
