//! Lines of a byte stream (a file, stdin), read in large chunks and handed
//! out as slices of the chunk: no read call, copy or allocation per line,
//! which is what a per-line `read_until` costs a reader of millions of
//! short lines.

use std::io::{self, Read};

/// What the buffer starts at; it doubles for a line longer than that.
const CHUNK: usize = 1 << 20;

/// Calls `each` with every line of `reader` in order, without its `\n` and
/// a `\r` before it; a last line without a newline is a line too (a `\r`
/// at its end is dropped as well). Stops at the first error, of reading or
/// of `each`.
pub fn for_each_line<E: From<io::Error>>(
    mut reader: impl Read,
    mut each: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let mut buf = vec![0u8; CHUNK];
    // `buf[..kept]` is the start of a line whose end is not read yet.
    let mut kept = 0;
    loop {
        if kept == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let read = match reader.read(&mut buf[kept..]) {
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        let end = kept + read;
        if read == 0 {
            return match kept {
                0 => Ok(()),
                _ => each(trim_line_end(&buf[..end])),
            };
        }
        let mut start = 0;
        // The kept part holds no newline: look in what was just read.
        for newline in memchr::memchr_iter(b'\n', &buf[kept..end]) {
            let newline = kept + newline;
            each(trim_line_end(&buf[start..newline]))?;
            start = newline + 1;
        }
        if start > 0 {
            buf.copy_within(start..end, 0);
        }
        kept = end - start;
    }
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that gives at most `step` bytes a call, so that lines
    /// straddle reads as they do at chunk boundaries.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn lines(data: &[u8], step: usize) -> Vec<Vec<u8>> {
        let mut found = Vec::new();
        for_each_line::<io::Error>(Trickle { data, step }, |line| {
            found.push(line.to_vec());
            Ok(())
        })
        .unwrap();
        found
    }

    #[test]
    fn the_same_lines_as_read_until_whatever_the_reads() {
        let long = "x".repeat(3 * CHUNK + 17);
        let cases = [
            String::new(),
            "\n".to_owned(),
            "a".to_owned(),
            "a\n".to_owned(),
            "a\r\nb\n\nc".to_owned(),
            "one\ntwo\r\nthree\r".to_owned(),
            format!("{long}\nshort\n{long}"),
        ];
        for data in &cases {
            let expected: Vec<Vec<u8>> = data
                .as_bytes()
                .split_inclusive(|&b| b == b'\n')
                .map(|l| {
                    let l = l.strip_suffix(b"\n").unwrap_or(l);
                    l.strip_suffix(b"\r").unwrap_or(l).to_vec()
                })
                .collect();
            // Byte by byte over a few lines; in pages over megabytes.
            let steps: &[usize] = match data.len() {
                0..1000 => &[1, 2, 7, 4096, usize::MAX],
                _ => &[4096, 65_537, usize::MAX],
            };
            for &step in steps {
                assert_eq!(lines(data.as_bytes(), step), expected, "step {step}");
            }
        }
    }

    #[test]
    fn an_error_of_the_callback_stops_the_reading() {
        let mut seen = 0;
        let result = for_each_line(&b"a\nb\nc\n"[..], |_| {
            seen += 1;
            if seen == 2 {
                Err(io::Error::other("stop"))
            } else {
                Ok(())
            }
        });
        assert_eq!(result.unwrap_err().to_string(), "stop");
        assert_eq!(seen, 2);
    }

    #[test]
    fn a_read_error_is_returned() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        let result = for_each_line::<io::Error>(Broken, |_| Ok(()));
        assert_eq!(result.unwrap_err().to_string(), "disk on fire");
    }
}
