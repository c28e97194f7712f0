//! Properties that must hold for every record and every line.

use std::borrow::Cow;
use std::net::IpAddr;

use chrono::{FixedOffset, NaiveDate, NaiveDateTime};
use logpipe::document::{CreateLine, PartitionDocuments, is_plain_line};
use logpipe::parse::clf::{self, Preset};
use logpipe::parse::{fast, general};
use logpipe::{
    AccessLog, Document, Generator, GeneratorConfig, KafkaCoordinates, LineFormat, LogTime,
    format_line, parse_line,
};
use proptest::prelude::*;

fn naive_time() -> impl Strategy<Value = NaiveDateTime> {
    (
        1i32..=9999,
        1u32..=12,
        1u32..=31,
        0u32..24,
        0u32..60,
        0u32..60,
    )
        .prop_filter_map("a real date", |(y, mo, d, h, mi, s)| {
            NaiveDate::from_ymd_opt(y, mo, d)?.and_hms_opt(h, mi, s)
        })
}

fn offset() -> impl Strategy<Value = FixedOffset> {
    (-(23 * 60 + 59)..=(23 * 60 + 59))
        .prop_filter_map("an offset", |m: i32| FixedOffset::east_opt(m * 60))
}

/// Any record a log line can carry, with timestamps of the given kind.
fn record(with_offset: bool) -> impl Strategy<Value = AccessLog<'static>> {
    let timestamp = (naive_time(), offset()).prop_filter_map("representable", move |(t, tz)| {
        if with_offset {
            t.and_local_timezone(tz).single().map(LogTime::from)
        } else {
            Some(LogTime::from(t))
        }
    });
    (
        any::<IpAddr>(),
        timestamp,
        "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}",
        "[^ \r\n]{1,60}",
        prop::sample::select(vec!["HTTP/1.0", "HTTP/1.1", "HTTP/2.0", "HTTP/2", "HTTP/3"]),
        100u16..=599,
        any::<u64>(),
        "[^\r\n]{0,40}",
        "[^\r\n]{0,80}",
    )
        .prop_map(
            |(ip, timestamp, method, endpoint, protocol, status, size, referrer, user_agent)| {
                AccessLog {
                    method: Cow::Owned(method),
                    endpoint: Cow::Owned(endpoint),
                    protocol: Cow::Borrowed(protocol),
                    size: Some(size),
                    referrer: Some(Cow::Owned(referrer)),
                    user_agent: Some(Cow::Owned(user_agent)),
                    ..AccessLog::new(Some(ip), timestamp, status)
                }
            },
        )
}

fn generator_config() -> impl Strategy<Value = GeneratorConfig> {
    (
        any::<u64>(),
        any::<bool>(),
        any::<bool>(),
        0.0..=1.0f64,
        prop::option::of(1.0..1000.0f64),
    )
        .prop_map(
            |(seed, weighted, extended_endpoints, ipv6_share, rate)| GeneratorConfig {
                seed: Some(seed),
                weighted,
                extended_endpoints,
                ipv6_share,
                rate,
                ..GeneratorConfig::default()
            },
        )
}

/// Both parsers on a line: when the fast one takes it, they must agree.
fn assert_parsers_agree(line: &str) -> Result<(), TestCaseError> {
    if let Some(fast) = fast::parse_original(line) {
        let general = general::parse(line);
        prop_assert_eq!(
            fast.is_ok(),
            general.is_ok(),
            "{:?}: {:?} vs {:?}",
            line,
            fast,
            general
        );
        if let (Ok(a), Ok(b)) = (fast, general) {
            prop_assert_eq!(a, b);
        }
    }
    Ok(())
}

/// The Common Log Format family's scanner against the regex parser on a
/// line: what the regex takes, the scanner takes with the same fields (the
/// regex drops ident and user, the scanner keeps them); what only the
/// scanner takes must be one of the shapes the regex does not know.
fn assert_clf_agrees_with_general(line: &str) -> Result<(), TestCaseError> {
    match (general::parse(line), clf::scan(line)) {
        (Ok(general), Ok((mut scanned, preset))) => {
            prop_assert!(
                matches!(preset, Preset::Combined | Preset::Original),
                "{:?}: {:?}",
                line,
                preset
            );
            scanned.ident = None;
            scanned.user = None;
            prop_assert_eq!(scanned, general, "{:?}", line);
        }
        (Ok(general), Err(e)) => {
            return Err(TestCaseError::fail(format!(
                "{line:?}: the regex takes it ({general:?}), the scanner says {e}"
            )));
        }
        (Err(_), Ok((scanned, preset))) => {
            let beyond_the_regex = matches!(
                preset,
                Preset::Common | Preset::NginxMain | Preset::VhostCombined
            ) || !scanned.extra.is_empty()
                || scanned.client_host.is_some()
                || scanned.forwarded_for.is_some()
                || line.ends_with(' ');
            prop_assert!(
                beyond_the_regex,
                "{:?}: only the scanner takes it: {:?}",
                line,
                scanned
            );
        }
        (Err(_), Err(_)) => {}
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// A combined line scans back to the record the regex parser reads.
    #[test]
    fn clf_reads_combined_lines_as_the_regex_does(record in record(true)) {
        let line = format_line(&record, LineFormat::Combined);
        let (scanned, preset) = clf::scan(&line).map_err(|e| TestCaseError::fail(format!("{line}: {e}")))?;
        prop_assert_eq!(preset, Preset::Combined);
        let general = general::parse(&line);
        prop_assert_eq!(Ok(&scanned), general.as_ref(), "{}", line);
        prop_assert_eq!(&scanned, &record);
        prop_assert_eq!(scanned.timestamp.to_iso(), record.timestamp.to_iso());
    }

    /// An original line scans to the original fast path's record.
    #[test]
    fn clf_reads_original_lines_as_the_fast_path_does(record in record(false)) {
        let line = format_line(&record, LineFormat::Original);
        let (scanned, preset) = clf::scan(&line).map_err(|e| TestCaseError::fail(format!("{line}: {e}")))?;
        prop_assert_eq!(preset, Preset::Original);
        prop_assert_eq!(Some(Ok(scanned)), fast::parse_original(&line));
    }

    #[test]
    fn clf_and_the_regex_agree_on_damaged_lines(
        record in record(true),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<char>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let line = format_line(&record, LineFormat::Combined);
        let mut chars: Vec<char> = line.chars().collect();
        for (at, c) in &edits {
            let i = at.index(chars.len());
            chars[i] = *c;
        }
        let damaged: String = chars.iter().collect();
        assert_clf_agrees_with_general(&damaged)?;
        let truncated: String = chars[..cut.index(chars.len())].iter().collect();
        assert_clf_agrees_with_general(&truncated)?;
    }

    /// Damage drawn from the characters that give the line its structure.
    #[test]
    fn clf_and_the_regex_agree_on_lines_damaged_with_separators(
        record in record(true),
        edits in prop::collection::vec(
            (any::<prop::sample::Index>(), prop::sample::select(vec![' ', '"', '\\', '[', ']', ',', ':', '-', 'x', '1'])),
            1..3,
        ),
    ) {
        let line = format_line(&record, LineFormat::Combined);
        let mut chars: Vec<char> = line.chars().collect();
        for (at, c) in &edits {
            let i = at.index(chars.len());
            chars[i] = *c;
        }
        assert_clf_agrees_with_general(&chars.iter().collect::<String>())?;
    }

    /// The indexer's hand-written document JSON is serde's, byte for byte,
    /// whatever the fields hold (quotes, backslashes, control characters,
    /// any Unicode, IPv6, offsets); and its actions written a partition at a
    /// time are the `create` line and that document.
    #[test]
    fn document_json_is_serdes(
        record in prop_oneof![record(false), record(true)],
        field in any::<String>(),
        topic in "\\PC{0,20}",
        index in "\\PC{0,20}",
        partition in any::<i32>(),
        offset in any::<i64>(),
    ) {
        let mut record = record;
        record.user_agent = Some(Cow::Owned(field));
        let kafka = KafkaCoordinates { topic: Cow::Owned(topic), partition, offset };
        for document in [
            Document { record: &record, kafka: Some(&kafka) },
            Document { record: &record, kafka: None },
        ] {
            let mut written = Vec::new();
            document.write_json(&mut written);
            let serde = serde_json::to_vec(&document).expect("serializable");
            prop_assert_eq!(String::from_utf8_lossy(&written), String::from_utf8_lossy(&serde));
        }
        let mut one_by_one = Vec::new();
        CreateLine::new(&index).write(&mut one_by_one, |out| kafka.write_id_json(out));
        Document { record: &record, kafka: Some(&kafka) }.write_json(&mut one_by_one);
        one_by_one.push(b'\n');
        let mut by_partition = Vec::new();
        PartitionDocuments::new(&index, &kafka.topic, partition)
            .write(&mut by_partition, &record, offset, false);
        prop_assert_eq!(String::from_utf8_lossy(&by_partition), String::from_utf8_lossy(&one_by_one));
    }

    /// A line with no `\\` and no control character gives a document whose
    /// strings need no escaping, whatever else the line holds (quotes in odd
    /// places included) and whichever parser read it: the indexer's
    /// unchecked writing of it is the checked one, byte for byte.
    #[test]
    fn plain_lines_need_no_escaping(
        config in generator_config(),
        combined in any::<bool>(),
        insert in "[^\\\\\\p{Cc}]{0,8}",
        at in any::<prop::sample::Index>(),
    ) {
        let format = if combined { LineFormat::Combined } else { LineFormat::Original };
        let record = Generator::new(config).record();
        let mut line = format_line(&record, format);
        let mut at = at.index(line.len() + 1);
        while !line.is_char_boundary(at) {
            at -= 1;
        }
        line.insert_str(at, &insert);
        prop_assume!(is_plain_line(line.as_bytes()));
        if let Ok(parsed) = parse_line(&line) {
            let documents = PartitionDocuments::new("logs", "t", 0);
            let (mut checked, mut unchecked) = (Vec::new(), Vec::new());
            documents.write(&mut checked, &parsed, 1, false);
            documents.write(&mut unchecked, &parsed, 1, true);
            prop_assert_eq!(String::from_utf8_lossy(&unchecked), String::from_utf8_lossy(&checked));
            let document = Document { record: &parsed, kafka: None };
            let (mut checked, mut unchecked) = (Vec::new(), Vec::new());
            document.write_json(&mut checked);
            document.write_json_of_line(&mut unchecked, true);
            prop_assert_eq!(String::from_utf8_lossy(&unchecked), String::from_utf8_lossy(&checked));
        }
    }

    #[test]
    fn generate_format_parse_is_identity(config in generator_config(), n in 1usize..50) {
        for record in Generator::new(config).take(n) {
            let line = format_line(&record, LineFormat::Original);
            let parsed = parse_line(&line);
            prop_assert_eq!(parsed.as_ref(), Ok(&record), "{}", line);
        }
    }

    #[test]
    fn original_format_round_trips_any_record(record in record(false)) {
        let line = format_line(&record, LineFormat::Original);
        let parsed = parse_line(&line);
        prop_assert_eq!(parsed.as_ref(), Ok(&record), "{}", line);
        assert_parsers_agree(&line)?;
    }

    #[test]
    fn combined_format_round_trips_any_record(record in record(true)) {
        let line = format_line(&record, LineFormat::Combined);
        let parsed = parse_line(&line).map_err(|e| TestCaseError::fail(format!("{line}: {e}")))?;
        prop_assert_eq!(&parsed, &record);
        // DateTime equality ignores the offset; its rendering does not.
        prop_assert_eq!(parsed.timestamp.to_iso(), record.timestamp.to_iso());
    }

    #[test]
    fn parsers_agree_on_original_lines(record in record(false)) {
        assert_parsers_agree(&format_line(&record, LineFormat::Original))?;
    }

    #[test]
    fn parsers_agree_on_damaged_lines(
        record in record(false),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<char>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let line = format_line(&record, LineFormat::Original);
        let mut chars: Vec<char> = line.chars().collect();
        for (at, c) in &edits {
            let i = at.index(chars.len());
            chars[i] = *c;
        }
        let damaged: String = chars.iter().collect();
        assert_parsers_agree(&damaged)?;
        let truncated: String = chars[..cut.index(chars.len())].iter().collect();
        assert_parsers_agree(&truncated)?;
    }

    #[test]
    fn any_input_is_parsed_or_rejected_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = logpipe::parse_bytes(&bytes);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            assert_parsers_agree(text)?;
            if let Err(e) = clf::scan(text) {
                prop_assert!(e.at <= text.len(), "{:?}: {}", text, e);
            }
        }
    }
}
