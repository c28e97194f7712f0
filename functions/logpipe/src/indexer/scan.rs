//! The usual event, read in one pass by hand.
//!
//! Lambda writes its Kafka events one way: an object with `eventSource` and
//! `records`, each record an object of plain fields whose `value` is base64.
//! This reader takes exactly that and nothing it is unsure of: a string with
//! an escape, a repeated field, a `null` where a string is expected, a
//! fractional partition, nesting deeper than [`MAX_NESTING`] all make it give
//! up (`None`), and the general path (serde_json, record by record, with the
//! errors it names) reads the event instead. So it never accepts an event
//! the general path refuses, nor reads one differently; the `decode_event`
//! fuzz target holds the two together.
//!
//! Why by hand: serde's visitor over each record's object was a quarter of
//! the indexer's CPU, and checking an event's nesting before a recursive
//! parser another tenth; this reader counts the depth as it goes and looks
//! at each key once.

use std::borrow::Cow;

use super::event::{GroupKey, IncomingRecord, MAX_NESTING, WireRecord, from_wire};
use crate::json_text::escape_or_quote;

/// The records of a well-formed event and its `eventSource`, or `None` when
/// the event is anything else.
pub(super) fn well_formed(text: &str) -> Option<(&str, Vec<IncomingRecord>)> {
    let mut scanner = Scanner {
        text,
        bytes: text.as_bytes(),
        at: 0,
        depth: 0,
    };
    let (mut source, mut records) = (None, None);
    scanner.object(|s, key| {
        match key {
            "eventSource" if source.is_none() => source = Some(s.plain_string()?),
            "records" if records.is_none() => records = Some(s.groups()?),
            // A drain, redrive or replay request, or a field named twice: the general path
            // says what it is.
            "eventSource" | "records" | "drain" | "redrive" | "replay" => return None,
            _ => s.skip_value()?,
        }
        Some(())
    })?;
    scanner.skip_whitespace();
    if scanner.at != scanner.bytes.len() {
        return None;
    }
    Some((source?, records?))
}

/// The most records Lambda puts in one Kafka event.
const MAX_BATCH_RECORDS: usize = 10_000;

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    depth: usize,
}

impl<'a> Scanner<'a> {
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    /// The next byte after whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes.get(self.at).copied()
    }

    /// Consumes `byte` if it comes next.
    fn eat(&mut self, byte: u8) -> bool {
        // Compact JSON, the usual kind, has no whitespace to skip first.
        let next = self.bytes.get(self.at) == Some(&byte) || self.peek() == Some(byte);
        if next {
            self.at += 1;
        }
        next
    }

    /// Consumes `literal` if it comes next, whitespace not allowed.
    #[inline]
    fn exactly<const N: usize>(&mut self, literal: &[u8; N]) -> bool {
        let next = self.bytes[self.at..].first_chunk() == Some(literal);
        if next {
            self.at += N;
        }
        next
    }

    fn literal(&mut self, word: &str) -> bool {
        self.skip_whitespace();
        let found = self.bytes[self.at..].starts_with(word.as_bytes());
        if found {
            self.at += word.len();
        }
        found
    }

    fn enter(&mut self, open: u8) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_NESTING && self.eat(open)).then_some(())
    }

    /// Calls `field` with each key of an object, the scanner at its value.
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.sequence(b'{', b'}', |s| {
            let key = s.key()?;
            s.eat(b':').then_some(())?;
            field(s, key)
        })
    }

    /// Calls `element` with the scanner at each element of an array.
    fn array(&mut self, element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.sequence(b'[', b']', element)
    }

    /// `open`, items separated by commas (`item` reads one), `close`.
    fn sequence(
        &mut self,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.enter(open)?;
        if !self.eat(close) {
            loop {
                item(self)?;
                if !self.eat(b',') {
                    break;
                }
            }
            if !self.eat(close) {
                return None;
            }
        }
        self.depth -= 1;
        Some(())
    }

    /// An object's key: one Lambda writes in every record is recognised by
    /// a comparison or two of its bytes, any other one read as a string.
    fn key(&mut self) -> Option<&'a str> {
        self.skip_whitespace();
        let rest = &self.bytes[self.at..];
        // Literal patterns, so that each comparison is a load or two.
        let key = match rest.get(1) {
            Some(b't') if rest.starts_with(b"\"topic\"") => "topic",
            Some(b't') if rest.starts_with(b"\"timestamp\"") => "timestamp",
            Some(b't') if rest.starts_with(b"\"timestampType\"") => "timestampType",
            Some(b'p') if rest.starts_with(b"\"partition\"") => "partition",
            Some(b'o') if rest.starts_with(b"\"offset\"") => "offset",
            Some(b'k') if rest.starts_with(b"\"key\"") => "key",
            Some(b'v') if rest.starts_with(b"\"value\"") => "value",
            Some(b'h') if rest.starts_with(b"\"headers\"") => "headers",
            _ => return self.plain_string(),
        };
        self.at += key.len() + 2;
        Some(key)
    }

    /// A short string with no escape (and so no control character allowed
    /// unescaped either): borrowed from the event.
    fn plain_string(&mut self) -> Option<&'a str> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.at;
        let len = escape_or_quote(&self.bytes[start..])?;
        self.end_string(start, start + len)
    }

    /// A long string (a base64 value) with no escape, its end found by
    /// memchr. Control characters are not looked for here: base64 has
    /// none, and a value that does not decode is looked at again.
    fn long_string(&mut self) -> Option<&'a str> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.at;
        let end = start + memchr::memchr2(b'"', b'\\', &self.bytes[start..])?;
        self.end_string(start, end)
    }

    fn end_string(&mut self, start: usize, end: usize) -> Option<&'a str> {
        if self.bytes[end] != b'"' {
            return None;
        }
        self.at = end + 1;
        // Both ends are next to an ASCII quote, so on character boundaries.
        self.text.get(start..end)
    }

    /// A string or `null`.
    fn nullable(&mut self, string: fn(&mut Self) -> Option<&'a str>) -> Option<Option<&'a str>> {
        if self.bytes.get(self.at) == Some(&b'"') {
            string(self).map(Some)
        } else if self.literal("null") {
            Some(None)
        } else {
            string(self).map(Some)
        }
    }

    /// A non-negative integer as Kafka partitions and offsets are, written
    /// plainly (no sign, no leading zero, no fraction or exponent).
    fn integer(&mut self) -> Option<i64> {
        self.skip_whitespace();
        let digits = &self.bytes[self.at..];
        let len = leading_digits(digits);
        // 18 digits always fit an i64; a 19th is left to the general path.
        if len == 0 || len > 18 || (len > 1 && digits[0] == b'0') {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = digits.get(len) {
            return None;
        }
        self.at += len;
        Some(
            digits[..len]
                .iter()
                .fold(0, |value, digit| value * 10 + i64::from(digit - b'0')),
        )
    }

    /// Any JSON value we do not read, checked as strictly as serde_json
    /// would (or given up on).
    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.plain_string().map(drop),
            b'{' => self.object(|s, _| s.skip_value()),
            b'[' => self.array(Self::skip_value),
            b't' => self.literal("true").then_some(()),
            b'f' => self.literal("false").then_some(()),
            b'n' => self.literal("null").then_some(()),
            b'-' | b'0'..=b'9' => self.skip_number(),
            _ => None,
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn skip_number(&mut self) -> Option<()> {
        let digits = |s: &mut Self| {
            let n = s.bytes[s.at..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            s.at += n;
            n
        };
        if self.bytes[self.at] == b'-' {
            self.at += 1;
        }
        let leading_zero = self.bytes.get(self.at) == Some(&b'0');
        match digits(self) {
            0 => return None,
            n if n > 1 && leading_zero => return None,
            _ => {}
        }
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            if digits(self) == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.at) {
            self.at += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.at) {
                self.at += 1;
            }
            if digits(self) == 0 {
                return None;
            }
        }
        Some(())
    }

    /// The `records` object: groups of records under `<topic>-<partition>`,
    /// in the event's order, a repeated key's records kept.
    fn groups(&mut self) -> Option<Vec<IncomingRecord>> {
        let mut records = Vec::new();
        self.object(|s, key| {
            let key = GroupKey::new(key);
            s.array(|s| {
                let start = s.at;
                records.push(s.record(&key)?);
                if records.len() == 1 {
                    // Room for as many records as the rest of the event
                    // holds if they are like the first (up to a full
                    // Lambda batch): 10,000 records are then not copied
                    // over and over as the vector grows.
                    let like_it = (s.bytes.len() - s.at) / (s.at - start);
                    records.reserve(like_it.min(MAX_BATCH_RECORDS));
                }
                Some(())
            })
        })?;
        Some(records)
    }

    fn record(&mut self, key: &GroupKey) -> Option<IncomingRecord> {
        let (start, depth) = (self.at, self.depth);
        let wire = match self.record_as_lambda_writes_it() {
            Some(wire) => wire,
            None => {
                (self.at, self.depth) = (start, depth);
                self.record_in_any_order()?
            }
        };
        let record = from_wire(key, wire);
        // A value that did not decode may hold a control character, which
        // makes the event itself invalid JSON: the general path says so.
        if let Err(undecodable) = &record.value
            && let Some(raw) = &undecodable.raw
            && raw.bytes().any(|b| b < 0x20)
        {
            return None;
        }
        Some(record)
    }

    /// A record as Lambda writes it, compact and its fields in Lambda's
    /// order, its keys compared as literals:
    /// `{"topic":…,"partition":…,"offset":…,"timestamp":…,"timestampType":…,"key":…,"value":…,"headers":[…]}`.
    /// `None` on the first difference; the record is then read again in
    /// any order.
    fn record_as_lambda_writes_it(&mut self) -> Option<WireRecord<'a>> {
        self.depth += 1;
        if self.depth > MAX_NESTING || !self.exactly(b"{\"topic\":") {
            self.depth -= 1;
            return None;
        }
        let topic = self.nullable(Self::plain_string)?;
        self.exactly(b",\"partition\":").then_some(())?;
        let partition = self.integer()?;
        self.exactly(b",\"offset\":").then_some(())?;
        let offset = self.integer()?;
        // The fields we skip, in the shape they usually have first: each
        // is then a comparison or a run of digits.
        self.exactly(b",\"timestamp\":").then_some(())?;
        if self.integer().is_none() {
            self.skip_value()?;
        }
        self.exactly(b",\"timestampType\":").then_some(())?;
        if !self.exactly(b"\"CREATE_TIME\"") {
            self.nullable(Self::plain_string)?;
        }
        self.exactly(b",\"key\":").then_some(())?;
        self.nullable(Self::plain_string)?;
        self.exactly(b",\"value\":").then_some(())?;
        let value = self.nullable(Self::long_string)?;
        self.exactly(b",\"headers\":").then_some(())?;
        if !self.exactly(b"[]}") {
            self.skip_value()?;
            self.exactly(b"}").then_some(())?;
        }
        self.depth -= 1;
        Some(WireRecord {
            topic: topic.map(Cow::Borrowed),
            partition,
            offset,
            value: value.map(Cow::Borrowed),
        })
    }

    /// A record's fields in any order, with any whitespace.
    fn record_in_any_order(&mut self) -> Option<WireRecord<'a>> {
        let (mut topic, mut partition, mut offset, mut value) = (None, None, None, None);
        self.object(|s, field| {
            match RecordField::of(field) {
                RecordField::Topic if topic.is_none() => {
                    topic = Some(s.nullable(Self::plain_string)?)
                }
                RecordField::Partition if partition.is_none() => partition = Some(s.integer()?),
                RecordField::Offset if offset.is_none() => offset = Some(s.integer()?),
                RecordField::Value if value.is_none() => {
                    value = Some(s.nullable(Self::long_string)?)
                }
                RecordField::Other => s.skip_value()?,
                // Named twice: the general path says so.
                _ => return None,
            }
            Some(())
        })?;
        Some(WireRecord {
            topic: topic.flatten().map(Cow::Borrowed),
            partition: partition?,
            offset: offset?,
            value: value.flatten().map(Cow::Borrowed),
        })
    }
}

/// How many ASCII digits `bytes` starts with: eight bytes at a time (SWAR),
/// since a record's timestamp alone has 13.
fn leading_digits(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut n = 0;
    while let Some(chunk) = bytes.get(n..n + 8) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        // A digit becomes 0..=9; adding 0x76 to its low seven bits then
        // leaves the high bit clear, and only for a digit. No byte carries
        // into the next (at most 0x7f + 0x76).
        let x = u64::from_le_bytes(word) ^ (ONES * 0x30);
        let not_digits = ((x & !HIGHS).wrapping_add(ONES * 0x76) | x) & HIGHS;
        if not_digits != 0 {
            return n + not_digits.trailing_zeros() as usize / 8;
        }
        n += 8;
    }
    n + bytes[n..].iter().take_while(|b| b.is_ascii_digit()).count()
}

/// The fields of a record we read; matched by length first, so that each
/// key costs at most one comparison of its bytes.
#[derive(Clone, Copy)]
enum RecordField {
    Topic,
    Partition,
    Offset,
    Value,
    Other,
}

impl RecordField {
    fn of(key: &str) -> Self {
        match (key.len(), key.as_bytes().first()) {
            (5, Some(b't')) if key == "topic" => RecordField::Topic,
            (5, Some(b'v')) if key == "value" => RecordField::Value,
            (9, Some(b'p')) if key == "partition" => RecordField::Partition,
            (6, Some(b'o')) if key == "offset" => RecordField::Offset,
            _ => RecordField::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many records the reader took, after checking that the general
    /// path reads the same event the same way.
    fn scan(text: &str) -> Option<usize> {
        let (_, records) = well_formed(text)?;
        let general = super::super::decode_event_json_general(text)
            .expect("the general path takes what the reader takes");
        assert_eq!(general.records, records, "{text}");
        Some(records.len())
    }

    const RECORD: &str = r#"{"topic":"t","partition":0,"offset":5,"timestamp":1700000000000,"timestampType":"CREATE_TIME","key":null,"value":"bGluZQ==","headers":[{"h":[104,-61,-87]}]}"#;

    #[test]
    fn reads_the_usual_event() {
        let text = format!(
            r#" {{ "eventSource" : "aws:kafka", "bootstrapServers":"b-1:9092,b-2:9092",
                "records": {{"t-0": [{RECORD}, {RECORD}], "t-1": []}} }} "#
        );
        assert_eq!(scan(&text), Some(2));
        let (source, records) = well_formed(&text).unwrap();
        assert_eq!(source, "aws:kafka");
        assert_eq!(records[0].id(), "t-0-5");
        assert_eq!(records[0].value.as_deref(), Ok(&b"line"[..]));
    }

    /// Records laid out as Lambda writes them, and valid ways of departing
    /// from that layout part-way through a record: each is read, and read as
    /// the general path reads it.
    #[test]
    fn counts_leading_digits_as_a_byte_loop_would() {
        let reference = |bytes: &[u8]| bytes.iter().take_while(|b| b.is_ascii_digit()).count();
        let digits = b"12345678901234567890".to_vec();
        for len in 0..=digits.len() {
            for stop in (0..=255u8).filter(|b| !b.is_ascii_digit()) {
                let mut text = digits[..len].to_vec();
                text.push(stop);
                text.extend_from_slice(b"123");
                assert_eq!(leading_digits(&text), len, "{text:?}");
            }
            assert_eq!(leading_digits(&digits[..len]), len);
            assert_eq!(leading_digits(&digits[len..]), reference(&digits[len..]));
        }
    }

    #[test]
    fn reads_lambda_layout_and_any_other() {
        let event = |record: &str| {
            format!(r#"{{"eventSource":"aws:kafka","records":{{"t-0":[{record},{RECORD}]}}}}"#)
        };
        let variants = [
            RECORD.to_owned(),
            RECORD.replace(r#","key":null"#, ""),
            RECORD.replace(r#""key":null"#, r#""key":"azE=""#),
            RECORD.replace(r#","headers""#, r#" , "headers""#),
            RECORD.replace(r#":1700000000000"#, ":-1"),
            RECORD.replace(r#""CREATE_TIME""#, "7"),
            RECORD.replace(r#""value":"bGluZQ==""#, r#""value":null"#),
            RECORD.replace(r#""topic":"t""#, r#""topic":null"#),
            RECORD.replace("]}]}", r#"]}],"extra":{"a":[1]}}"#),
            RECORD.replace(r#"{"topic":"t","#, "{"),
            RECORD.replace(r#""offset":5"#, r#""offset":999999999999999999"#),
            RECORD.replace(r#"[{"h":[104,-61,-87]}]"#, "[]"),
            RECORD.replace(r#"[{"h":[104,-61,-87]}]"#, "[] "),
            RECORD.replace(r#"[{"h":[104,-61,-87]}]"#, r#"[],"x":1"#),
            RECORD.replace(":1700000000000", ":1.5e3"),
            RECORD.replace(":1700000000000", ":17000000000000000000"),
            RECORD.replace("CREATE_TIME", "LOG_APPEND_TIME"),
        ];
        for record in &variants {
            assert_eq!(scan(&event(record)), Some(2), "{record}");
        }
        let mut lambda = Scanner {
            text: RECORD,
            bytes: RECORD.as_bytes(),
            at: 0,
            depth: 0,
        };
        assert!(lambda.record_as_lambda_writes_it().is_some());
        assert_eq!((lambda.at, lambda.depth), (RECORD.len(), 0));
        // Named twice after Lambda's layout: left to the general path.
        let twice = RECORD.replace("]}]}", r#"]}],"offset":6}"#);
        assert_eq!(scan(&event(&twice)), None);
        let deep = RECORD.replace(
            "[104,-61,-87]",
            &format!("{}{}", "[".repeat(130), "]".repeat(130)),
        );
        assert_eq!(scan(&event(&deep)), None);
        for invalid in [":01,", ":1.,", ":-,"] {
            let record = RECORD.replace(":1700000000000,", invalid);
            assert_eq!(scan(&event(&record)), None, "{record}");
        }
    }

    /// What the general path must read instead: it accepts some of these
    /// and refuses others, with errors this reader does not write.
    #[test]
    fn gives_up_on_anything_unusual() {
        let event = |records: &str| format!(r#"{{"eventSource":"aws:kafka","records":{records}}}"#);
        let with = |field: &str| {
            event(&format!(
                r#"{{"t-0":[{{"partition":0,"offset":1,{field}}}]}}"#
            ))
        };
        for text in [
            event("null"),
            event("{}") + "x",
            format!(r#"{{"drain":{{}},{}"#, &event("{}")[1..]),
            r#"{"eventSource":"aws:kafka","eventSource":"aws:kafka","records":{}}"#.to_owned(),
            with(r#""value":"bGluZQ\u003d\u003d""#),
            with(r#""topic":"t\"""#),
            with(r#""topic":"t","topic":"t""#),
            with(r#""value":"bGlu	ZQ==""#),
            with(r#""partition":1"#),
            with(r#""x":1.5e"#),
            with(r#""x":01"#),
            with(r#""x":[1,]"#),
            with(r#""x":"\n""#),
            event(r#"{"t-0":[{"partition":0.0,"offset":1}]}"#),
            event(r#"{"t-0":[{"partition":-1,"offset":1}]}"#),
            event(r#"{"t-0":[{"partition":0,"offset":1e3}]}"#),
            event(r#"{"t-0":[{"partition":0,"offset":1000000000000000000}]}"#),
            event(r#"{"t-0":[{"partition":0}]}"#),
            event(r#"{"t-0":{}}"#),
            with(&format!(r#""x":{}{}"#, "[".repeat(200), "]".repeat(200))),
        ] {
            assert_eq!(scan(&text), None, "{text}");
        }
        // A value that is not base64 but is valid JSON is the record's dead letter, not a reason to give up.
        assert_eq!(scan(&with(r#""value":"not base64!""#)), Some(1));
        assert_eq!(
            scan(&with(
                r#""x":[-0.5e+3,true,false,null,{"a":[]}],"topic":null"#
            )),
            Some(1)
        );
    }
}
