//! Any invocation payload: decoded or refused with an error, never a panic;
//! no record of a readable event is lost on the way to its first `_bulk`
//! action; and every action is a JSON document Elasticsearch can read.

#![no_main]

use std::fmt;

use libfuzzer_sys::fuzz_target;
use logpipe::indexer::{
    Invocation, Prepared, Target, decode_event_json, decode_event_json_general, decode_invocation,
    prepare,
};
use logpipe::parse::LogFormat;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};

fuzz_target!(|data: &[u8]| {
    // The Lambda runtime hands the handler a `str`.
    let Ok(payload) = std::str::from_utf8(data) else {
        return;
    };
    // The fast reader of the usual event reads exactly what the general
    // path reads, and refuses nothing the general path takes.
    assert_eq!(decode_event_json(payload), decode_event_json_general(payload), "{payload:?}");
    let event = match decode_invocation(payload) {
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
        Ok(Invocation::Drain(request) | Invocation::Redrive(request) | Invocation::Replay(request)) => {
            assert!(serde_json::from_str::<IgnoredAny>(request.get()).is_ok());
            return;
        }
        Ok(Invocation::Event(event)) => event,
    };
    // The event path agrees with the invocation path.
    let again = decode_event_json(payload).expect("decode_invocation took it as an event");
    assert_eq!(again.records, event.records);

    // Nothing lost: as many records as the event's arrays hold, counted
    // independently (when serde_json can read the event at all).
    if let Ok(Counted(Some(expected))) = serde_json::from_str::<Counted>(payload) {
        assert_eq!(event.records.len(), expected, "{payload:?}");
    }
    // Every record can be named: by its id in the indices. (Its batch key
    // repeats the event's, which may be empty: `batchItemFailures` must
    // echo whatever the event said.)
    for record in &event.records {
        assert!(!record.id().is_empty());
    }

    // Every record gets exactly one first action, in order: two JSON lines,
    // the `create` and a document Elasticsearch can read.
    let Prepared { lines, actions } = prepare(&event.records, ("logs", "logs-deadletter"), &LogFormat::Auto);
    assert_eq!(actions.len(), event.records.len());
    for (i, action) in actions.iter().enumerate() {
        assert_eq!(action.record, i);
        assert_eq!(json_lines(lines.of(action)), 2, "action {i}");
        if event.records[i].value.is_err() {
            assert_eq!(action.target, Target::DeadLetters);
        }
    }
    // The `_bulk` body: two JSON lines an action.
    assert_eq!(json_lines(&lines.body(&actions)), 2 * actions.len());
});

/// How many lines `ndjson` holds, each one JSON and ended by a newline.
fn json_lines(ndjson: &[u8]) -> usize {
    let lines: Vec<&[u8]> = ndjson.split(|&b| b == b'\n').collect();
    assert!(lines.last().is_some_and(|l| l.is_empty()), "ends with a newline");
    for line in &lines[..lines.len() - 1] {
        if let Err(e) = serde_json::from_slice::<IgnoredAny>(line) {
            panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(line));
        }
    }
    lines.len() - 1
}

/// The number of records in an event's `records` object (every array's
/// length, repeated keys included), or `None` without one.
struct Counted(Option<usize>);

impl<'de> serde::Deserialize<'de> for Counted {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Top;
        impl<'de> Visitor<'de> for Top {
            type Value = Counted;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an event")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Counted, M::Error> {
                let mut count = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key == "records" {
                        if count.is_some() {
                            return Err(serde::de::Error::custom("two `records`"));
                        }
                        count = map.next_value::<Option<Groups>>()?.map(|g| g.0);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(Counted(count))
            }
        }
        deserializer.deserialize_map(Top)
    }
}

struct Groups(usize);

impl<'de> serde::Deserialize<'de> for Groups {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Arrays;
        impl<'de> Visitor<'de> for Arrays {
            type Value = Groups;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of arrays")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Groups, M::Error> {
                let mut n = 0;
                while let Some((_, group)) = map.next_entry::<IgnoredAny, Vec<IgnoredAny>>()? {
                    n += group.len();
                }
                Ok(Groups(n))
            }
        }
        deserializer.deserialize_map(Arrays)
    }
}
