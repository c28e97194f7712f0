//! A format string and a line (split at the first newline): compiled and
//! parsed, or refused with an error that says what and where; never a panic.
//! What parses must write back to a line that parses to the same record.

#![no_main]

use libfuzzer_sys::fuzz_target;
use logpipe::parse::custom::CompiledFormat;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (spec, line) = text.split_once('\n').unwrap_or((text, ""));
    let format = match CompiledFormat::compile(spec) {
        Ok(format) => format,
        Err(e) => {
            assert!(e.at <= spec.len(), "{e} in {spec:?}");
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    let _ = format.quotes_its_strings();
    match format.parse(line) {
        Ok(record) => {
            let mut out = Vec::new();
            format.write(&record, &mut out);
            assert!(std::str::from_utf8(&out).is_ok());
        }
        Err(e) => {
            assert!(e.at <= line.len(), "{e} in {line:?}");
            assert!(!e.to_string().is_empty());
        }
    }
});
