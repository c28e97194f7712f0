//! Any bytes: parsed or rejected with an error, never a panic; and whenever the
//! fast scanner takes a line, the regex parser gives the same answer.

#![no_main]

use libfuzzer_sys::fuzz_target;
use logpipe::parse::{fast, general};
use logpipe::{LineFormat, format_line, parse_bytes};

fuzz_target!(|data: &[u8]| {
    let parsed = parse_bytes(data);
    let Ok(line) = std::str::from_utf8(data) else {
        assert!(parsed.is_err());
        return;
    };
    if let Some(fast) = fast::parse_original(line) {
        let general = general::parse(line);
        assert_eq!(fast.is_ok(), general.is_ok(), "{line:?}");
        if let (Ok(a), Ok(b)) = (&fast, &general) {
            assert_eq!(a, b);
        }
    }
    // What parses must format back to a line that parses to the same record.
    if let Ok(record) = parsed {
        let format = match record.timestamp.seconds_east() {
            None => LineFormat::Original,
            Some(_) => LineFormat::Combined,
        };
        let again = format_line(&record, format);
        assert_eq!(logpipe::parse_line(&again).as_ref(), Ok(&record), "{again:?}");
    }
});
