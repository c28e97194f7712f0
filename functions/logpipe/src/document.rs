//! Elasticsearch documents and `_bulk` request bodies.

use std::borrow::Cow;
use std::mem::MaybeUninit;

use serde::Serialize;

use std::net::IpAddr;

use crate::json_text::{escape_or_quote, is_plain_ascii};
use crate::record::{AccessLog, Extra, ValueKind};
use crate::timestamp::{DIGIT_PAIRS, ISO_TEXT_CAPACITY};

/// Where a record came from in Kafka; also what makes its document id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KafkaCoordinates<'a> {
    pub topic: Cow<'a, str>,
    pub partition: i32,
    pub offset: i64,
}

impl KafkaCoordinates<'_> {
    /// `{topic}-{partition}-{offset}`: the same record always gets the same
    /// id, so a redelivered record cannot be indexed twice (DESIGN.md §3).
    pub fn document_id(&self) -> String {
        let mut id = String::with_capacity(self.topic.len() + 24);
        id.push_str(&self.topic);
        id.push('-');
        id.push_str(itoa::Buffer::new().format(self.partition));
        id.push('-');
        id.push_str(itoa::Buffer::new().format(self.offset));
        id
    }

    /// The [`document_id`](Self::document_id) as a JSON string, appended
    /// without building it first: the indexer writes one per record.
    pub fn write_id_json(&self, out: &mut Vec<u8>) {
        if escape_or_quote(self.topic.as_bytes()).is_some() {
            return write_json_str(out, &self.document_id());
        }
        out.push(b'"');
        out.extend_from_slice(self.topic.as_bytes());
        out.push(b'-');
        out.extend_from_slice(itoa::Buffer::new().format(self.partition).as_bytes());
        out.push(b'-');
        out.extend_from_slice(itoa::Buffer::new().format(self.offset).as_bytes());
        out.push(b'"');
    }
}

/// A record as indexed: its fields, plus `kafka.*` when it came from Kafka.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document<'r, 'a> {
    pub record: &'r AccessLog<'a>,
    pub kafka: Option<&'r KafkaCoordinates<'a>>,
}

/// Written out rather than `#[serde(flatten)]`, which goes through a map
/// and costs the indexer a third of its CPU. A map, not a struct: a user
/// format's fields have names known only at run time.
impl Serialize for Document<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let r = self.record;
        let mut s = serializer.serialize_map(None)?;
        if let Some(ip) = &r.ip {
            s.serialize_entry("ip", ip)?;
        }
        if let Some(host) = &r.client_host {
            s.serialize_entry("client_host", host)?;
        }
        if let Some(chain) = &r.forwarded_for {
            let (ips, other) = split_chain(chain);
            if !ips.is_empty() {
                s.serialize_entry("forwarded_for", &ips)?;
            }
            if !other.is_empty() {
                s.serialize_entry("forwarded_for_other", &other)?;
            }
        }
        for (name, value) in [("vhost", &r.vhost), ("ident", &r.ident), ("user", &r.user)] {
            if let Some(value) = value {
                s.serialize_entry(name, value)?;
            }
        }
        s.serialize_entry("timestamp", &r.timestamp)?;
        if r.request.is_none() {
            s.serialize_entry("method", &r.method)?;
            s.serialize_entry("endpoint", &r.endpoint)?;
            s.serialize_entry("protocol", &r.protocol)?;
        }
        if let Some(request) = &r.request {
            s.serialize_entry("request", request)?;
        }
        s.serialize_entry("status", &r.status)?;
        if let Some(size) = &r.size {
            s.serialize_entry("size", size)?;
        }
        if let Some(referrer) = &r.referrer {
            s.serialize_entry("referrer", referrer)?;
        }
        if let Some(user_agent) = &r.user_agent {
            s.serialize_entry("user_agent", user_agent)?;
        }
        for extra in &r.extra {
            s.serialize_entry(&*extra.name, &ExtraJson(extra))?;
        }
        if let Some(kafka) = self.kafka {
            s.serialize_entry("kafka", kafka)?;
        }
        s.end()
    }
}

/// An X-Forwarded-For chain's addresses, and its entries that are not one
/// (`unknown`, an address with a port, a forged value): kept, never a
/// reason to reject the line.
fn split_chain(chain: &str) -> (Vec<IpAddr>, Vec<&str>) {
    let mut ips = Vec::new();
    let mut other = Vec::new();
    for entry in chain.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        match entry.parse() {
            Ok(ip) => ips.push(ip),
            Err(_) => other.push(entry),
        }
    }
    (ips, other)
}

/// An extra field's value as its kind's JSON (checked when parsed, so a
/// value that does not read as its kind cannot reach here; if one did, it
/// would be written as a string rather than as broken JSON).
struct ExtraJson<'r, 'a>(&'r Extra<'a>);

impl Serialize for ExtraJson<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let Extra { kind, value, .. } = self.0;
        match kind {
            ValueKind::Keyword => serializer.serialize_str(value),
            ValueKind::Integer | ValueKind::Float => NumberJson(value).serialize(serializer),
            ValueKind::IntegerList | ValueKind::FloatList | ValueKind::KeywordList => {
                let mut seq = serializer.serialize_seq(None)?;
                for item in list_items(value) {
                    match kind {
                        ValueKind::KeywordList => seq.serialize_element(item)?,
                        _ => seq.serialize_element(&NumberJson(item))?,
                    }
                }
                seq.end()
            }
        }
    }
}

/// The items of one of NGINX's per-upstream lists: `, ` between the
/// servers of one group, ` : ` between groups (an internal redirect); both
/// flattened. A `-` item (an upstream that never answered: `0.001, -`)
/// has no value and is left out, as a `-` field is.
pub fn list_items(value: &str) -> impl Iterator<Item = &str> {
    // ` : ` with its spaces: an item may hold a `:` (`10.0.0.5:8080`).
    value
        .split(',')
        .flat_map(|group| group.split(" : "))
        .map(str::trim)
        .filter(|item| !item.is_empty() && *item != "-")
}

/// A number as logged: a whole number as an integer, else as a float;
/// text that is neither (never checked-in data) as a string.
struct NumberJson<'t>(&'t str);

impl Serialize for NumberJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let Ok(n) = self.0.parse::<i64>() {
            serializer.serialize_i64(n)
        } else if let Some(x) = self.0.parse::<f64>().ok().filter(|x| x.is_finite()) {
            serializer.serialize_f64(x)
        } else {
            serializer.serialize_str(self.0)
        }
    }
}

impl Document<'_, '_> {
    /// Appends the document's JSON, byte for byte what `serde_json` writes
    /// for it (a property test holds the two together), without going
    /// through `Serializer`: the indexer writes 10,000 of these per event
    /// and this is a third of its CPU.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        self.write_json_of_line(out, false);
    }

    /// [`write_json`](Self::write_json) of a record parsed from a line of
    /// which `plain_line` says what [`PartitionDocuments::write`]'s does:
    /// then its quoted strings are copied without a check for escapes
    /// (`logpipe parse` writes one document per line).
    pub fn write_json_of_line(&self, out: &mut Vec<u8>, plain_line: bool) {
        self.write_fields_of_line(out, plain_line);
        if let Some(kafka) = self.kafka {
            write_kafka_head(out, &kafka.topic, kafka.partition);
            out.extend_from_slice(itoa::Buffer::new().format(kafka.offset).as_bytes());
            out.push(b'}');
        }
        out.push(b'}');
    }

    /// The document without its `kafka` object and closing brace. The
    /// request line's parts, referrer and user agent are written between
    /// their quotes, copied when `plain_line` (see
    /// [`PartitionDocuments::write`]), else escaped where JSON needs it;
    /// every other text is checked.
    fn write_fields_of_line(&self, out: &mut Vec<u8>, plain_line: bool) {
        if plain_line {
            self.write_fields::<true>(out);
        } else {
            self.write_fields::<false>(out);
        }
    }

    /// [`write_fields_of_line`](Self::write_fields_of_line) made once for
    /// each kind of line, so that the copy of a plain line's strings is
    /// inlined rather than called through a pointer.
    ///
    /// The fields every format has go into [`Room`] reserved for them at
    /// once: a `Vec`'s capacity check and length update on every `push`
    /// and `extend_from_slice` were a twelfth of what `logpipe parse` did
    /// for a line. Real servers' client fields (rare) and a user format's
    /// fields go through the `Vec`.
    fn write_fields<const PLAIN: bool>(&self, out: &mut Vec<u8>) {
        let contents: fn(&mut Room<'_>, &str) = if PLAIN {
            copy_contents
        } else {
            escape_contents
        };
        let r = self.record;
        // Every document has a timestamp: fields before it open with `{`
        // or `,` as they come.
        let mut opening = b'{';
        let mut ip = r.ip;
        if r.client_host.is_some() || r.forwarded_for.is_some() || r.vhost.is_some() {
            write_client_fields(r, out, &mut opening);
            ip = None;
        }
        Room::write(out, room_needed::<PLAIN>(r), |room| {
            let mut key = |room: &mut Room<'_>, quoted_key: &[u8]| {
                room.byte(opening);
                opening = b',';
                room.put(quoted_key);
            };
            if let Some(ip) = ip {
                key(room, b"\"ip\":");
                let (text, len) = ip_json(ip);
                room.put_padded(&text, len);
            }
            if let Some(ident) = &r.ident {
                key(room, b"\"ident\":");
                room.json_str(ident);
            }
            if let Some(user) = &r.user {
                key(room, b"\"user\":");
                room.json_str(user);
            }
            key(room, b"\"timestamp\":\"");
            let (iso, len) = r.timestamp.iso_text();
            room.put_padded(&iso, len);
            match &r.request {
                None => {
                    room.put(b"\",\"method\":\"");
                    contents(room, &r.method);
                    room.put(b"\",\"endpoint\":\"");
                    contents(room, &r.endpoint);
                    room.put(b"\",\"protocol\":\"");
                    contents(room, &r.protocol);
                    room.put(b"\",\"status\":");
                }
                Some(request) => {
                    room.put(b"\",\"request\":");
                    room.json_str(request);
                    room.put(b",\"status\":");
                }
            }
            put_status(room, r.status);
            if let Some(size) = r.size {
                room.put(b",\"size\":");
                room.put(itoa::Buffer::new().format(size).as_bytes());
            }
            if let Some(referrer) = &r.referrer {
                room.put(b",\"referrer\":\"");
                contents(room, referrer);
                room.byte(b'"');
            }
            if let Some(user_agent) = &r.user_agent {
                room.put(b",\"user_agent\":\"");
                contents(room, user_agent);
                room.byte(b'"');
            }
        });
        for extra in &r.extra {
            out.push(b',');
            write_json_str(out, &extra.name);
            out.push(b':');
            // Numbers and lists are rare and short: serde's writer is
            // what the property test compares with anyway.
            match extra.kind {
                ValueKind::Keyword => write_json_str(out, &extra.value),
                _ => {
                    let _ = serde_json::to_writer(&mut *out, &ExtraJson(extra));
                }
            }
        }
    }
}

/// Room reserved at the end of a `Vec<u8>` and written a piece at a time:
/// each piece is a bounds check and a copy, the `Vec`'s length set once at
/// the end. A piece beyond the room is a panic (a wrong bound is a bug),
/// never a write outside the `Vec`.
struct Room<'v> {
    spare: &'v mut [MaybeUninit<u8>],
    filled: usize,
}

impl Room<'_> {
    /// Reserves `needed` bytes at the end of `out` and appends what
    /// `write` puts in them.
    #[inline(always)]
    fn write(out: &mut Vec<u8>, needed: usize, write: impl FnOnce(&mut Room<'_>)) {
        out.reserve(needed);
        let mut room = Room {
            spare: &mut out.spare_capacity_mut()[..needed],
            filled: 0,
        };
        write(&mut room);
        let filled = room.filled;
        // SAFETY: `put` and `byte` wrote the first `filled` bytes of the
        // spare capacity, within it (their slicing checks that).
        unsafe { out.set_len(out.len() + filled) };
    }

    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        let end = self.filled + bytes.len();
        let to = &mut self.spare[self.filled..end];
        // SAFETY: `to` is exactly `bytes.len()` bytes of the room (checked
        // by the slicing above), and a `Vec`'s spare capacity cannot
        // overlap a borrowed slice.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), to.as_mut_ptr().cast(), bytes.len())
        };
        self.filled = end;
    }

    /// The first `len` bytes of `text`, copied with the rest (a copy of a
    /// length known when compiled is a few moves, where one of `len` bytes
    /// is a call to `memcpy`): the room must hold all `N`.
    #[inline(always)]
    fn put_padded<const N: usize>(&mut self, text: &[u8; N], len: usize) {
        let to = &mut self.spare[self.filled..self.filled + N];
        // SAFETY: `to` is exactly `N` bytes of the room (checked by the
        // slicing above); the room and a borrowed array cannot overlap.
        unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), to.as_mut_ptr().cast(), N) };
        self.filled += len.min(N);
    }

    #[inline(always)]
    fn byte(&mut self, b: u8) {
        self.spare[self.filled].write(b);
        self.filled += 1;
    }

    /// A JSON string, escaped as `serde_json` escapes it.
    fn json_str(&mut self, text: &str) {
        self.byte(b'"');
        escape_contents(self, text);
        self.byte(b'"');
    }
}

/// What [`Document::write_fields`] may put in its [`Room`]: the keys with
/// their quotes, commas and colons (under 130 bytes), an address (48, see
/// [`Room::put_padded`]), a timestamp (`ISO_TEXT_CAPACITY`), a status
/// and a size (up to 25): under `ROOM_FIXED`; and each text as long as it
/// may grow, six times (`\u00xx` a byte) where it is escaped.
fn room_needed<const PLAIN: bool>(r: &AccessLog<'_>) -> usize {
    const ROOM_FIXED: usize = 256;
    const _: () = assert!(130 + 48 + ISO_TEXT_CAPACITY + 25 <= ROOM_FIXED);
    let len = |text: &Option<Cow<'_, str>>| text.as_ref().map_or(0, |t| t.len());
    let checked = len(&r.ident) + len(&r.user) + len(&r.request);
    let quoted = r.method.len()
        + r.endpoint.len()
        + r.protocol.len()
        + len(&r.referrer)
        + len(&r.user_agent);
    ROOM_FIXED + 6 * checked + if PLAIN { quoted } else { 6 * quoted }
}

/// A quoted field's text between the quotes already written and those to
/// come, when nothing in it needs escaping.
#[inline(always)]
fn copy_contents(room: &mut Room<'_>, text: &str) {
    room.put(text.as_bytes());
}

/// `text` as the inside of a JSON string, escaped as `serde_json` escapes
/// it (the property test compares the two byte for byte): `\"`, `\\`,
/// the short escapes of `\b`, `\t`, `\n`, `\f`, `\r`, and `\u00xx` for
/// the other control characters.
fn escape_contents(room: &mut Room<'_>, text: &str) {
    let bytes = text.as_bytes();
    let mut start = 0;
    while let Some(found) = escape_or_quote(&bytes[start..]) {
        let at = start + found;
        room.put(&bytes[start..at]);
        let b = bytes[at];
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            b'\t' => b't',
            b'\n' => b'n',
            0x0c => b'f',
            b'\r' => b'r',
            _ => 0,
        };
        if short != 0 {
            room.put(&[b'\\', short]);
        } else {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let (high, low) = (HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]);
            room.put(&[b'\\', b'u', b'0', b'0', high, low]);
        }
        start = at + 1;
    }
    room.put(&bytes[start..]);
}

/// An HTTP status: three digits at once (every status a parser takes is
/// one), anything else by `itoa`.
fn put_status(room: &mut Room<'_>, status: u16) {
    if (100..1000).contains(&status) {
        let [tens, ones] = DIGIT_PAIRS[usize::from(status % 100)];
        room.put(&[b'0' + (status / 100) as u8, tens, ones]);
    } else {
        room.put(itoa::Buffer::new().format(status).as_bytes());
    }
}

/// The address, then `client_host`, `forwarded_for` (and what in it is not
/// an address), `vhost`: out of line, real servers' lines only.
#[inline(never)]
fn write_client_fields(r: &AccessLog<'_>, out: &mut Vec<u8>, opening: &mut u8) {
    let mut key = |out: &mut Vec<u8>, name: &[u8]| {
        out.push(*opening);
        *opening = b',';
        out.push(b'"');
        out.extend_from_slice(name);
        out.extend_from_slice(b"\":");
    };
    if let Some(ip) = r.ip {
        key(out, b"ip");
        let (text, len) = ip_json(ip);
        out.extend_from_slice(&text[..len]);
    }
    if let Some(host) = &r.client_host {
        key(out, b"client_host");
        write_json_str(out, host);
    }
    if let Some(chain) = &r.forwarded_for {
        let (ips, other) = split_chain(chain);
        if !ips.is_empty() {
            key(out, b"forwarded_for");
            let _ = serde_json::to_writer(&mut *out, &ips);
        }
        if !other.is_empty() {
            key(out, b"forwarded_for_other");
            let _ = serde_json::to_writer(&mut *out, &other);
        }
    }
    if let Some(vhost) = &r.vhost {
        key(out, b"vhost");
        write_json_str(out, vhost);
    }
}

/// An address as a JSON string, in a stack buffer (an IPv6 address is
/// written in at most 45 characters, 39 as Rust writes it). An IPv4 address is assembled from a
/// table of its octets' digits.
fn ip_json(ip: IpAddr) -> ([u8; 48], usize) {
    let mut text = [b'"'; 48];
    match ip {
        IpAddr::V4(ip) => {
            let mut len = 1;
            for octet in ip.octets() {
                let (digits, n) = OCTET_TEXT[usize::from(octet)];
                text[len..len + 4].copy_from_slice(&digits);
                len += n;
            }
            // The last octet's `.` becomes the closing quote.
            text[len - 1] = b'"';
            (text, len)
        }
        IpAddr::V6(ip) => {
            use std::io::Write;
            let mut rest = &mut text[1..];
            // Fits: an IPv6 address is at most 45 characters.
            let _ = write!(rest, "{ip}\"");
            let len = 48 - rest.len();
            (text, len)
        }
    }
}

/// Each octet's decimal digits followed by a `.` (padded to four bytes),
/// and how many of those bytes count.
static OCTET_TEXT: [([u8; 4], usize); 256] = {
    let mut table = [([0u8; 4], 0usize); 256];
    let mut n = 0;
    while n < 256 {
        let digits = [(n / 100) as u8, (n / 10 % 10) as u8, (n % 10) as u8];
        let (text, len) = if n >= 100 {
            (
                [b'0' + digits[0], b'0' + digits[1], b'0' + digits[2], b'.'],
                4,
            )
        } else if n >= 10 {
            ([b'0' + digits[1], b'0' + digits[2], b'.', 0], 3)
        } else {
            ([b'0' + digits[2], b'.', 0, 0], 2)
        };
        table[n] = (text, len);
        n += 1;
    }
    table
};

/// `,"kafka":{"topic":<topic>,"partition":<partition>,"offset":`
fn write_kafka_head(out: &mut Vec<u8>, topic: &str, partition: i32) {
    out.extend_from_slice(b",\"kafka\":{\"topic\":");
    write_json_str(out, topic);
    out.extend_from_slice(b",\"partition\":");
    out.extend_from_slice(itoa::Buffer::new().format(partition).as_bytes());
    out.extend_from_slice(b",\"offset\":");
}

/// The `_bulk` actions of the documents of one Kafka partition: what they
/// all repeat (index, topic, partition) is written once, so a record adds
/// only its fields and its offset. Byte for byte a [`CreateLine`] with the
/// record's [`KafkaCoordinates::write_id_json`] and its
/// [`Document::write_json`] (a property test holds them together).
#[derive(Debug, Clone)]
pub struct PartitionDocuments {
    /// `{"create":{"_index":<index>,"_id":"<topic>-<partition>-`
    id_head: Vec<u8>,
    /// `,"kafka":{"topic":<topic>,"partition":<partition>,"offset":`
    kafka_head: Vec<u8>,
}

impl PartitionDocuments {
    pub fn new(index: &str, topic: &str, partition: i32) -> Self {
        let mut id_head = CreateLine::new(index).head;
        // Digits and `-` need no escaping: the id's JSON string is the
        // prefix's without its closing quote, then the offset.
        write_json_str(&mut id_head, &format!("{topic}-{partition}-"));
        id_head.pop();
        let mut kafka_head = Vec::new();
        write_kafka_head(&mut kafka_head, topic, partition);
        PartitionDocuments {
            id_head,
            kafka_head,
        }
    }

    /// Appends the `create` line and the document of the record at
    /// `offset`. `plain_line`: the record was parsed from a line that holds
    /// no `\\` and no control character (see [`is_plain_line`]) by a format
    /// that quotes its request, referrer and user agent
    /// ([`LogFormat::quotes_its_strings`](crate::parse::LogFormat::quotes_its_strings)),
    /// so those strings, stretches of the line between quotes, hold nothing
    /// to escape and are copied without looking.
    pub fn write(&self, out: &mut Vec<u8>, record: &AccessLog<'_>, offset: i64, plain_line: bool) {
        let mut digits = itoa::Buffer::new();
        let offset = digits.format(offset).as_bytes();
        out.extend_from_slice(&self.id_head);
        out.extend_from_slice(offset);
        out.extend_from_slice(b"\"}}\n");
        let document = Document {
            record,
            kafka: None,
        };
        document.write_fields_of_line(out, plain_line);
        out.extend_from_slice(&self.kafka_head);
        out.extend_from_slice(offset);
        out.extend_from_slice(b"}}\n");
    }
}

/// A JSON string: copied when nothing in it needs escaping (the usual
/// case), else escaped by `serde_json`.
pub(crate) fn write_json_str(out: &mut Vec<u8>, text: &str) {
    if escape_or_quote(text.as_bytes()).is_none() {
        write_plain_str(out, text);
    } else {
        // Writing a `str` into a `Vec` cannot fail.
        let _ = serde_json::to_writer(&mut *out, text);
    }
}

/// Whether a line holds no `\\` and no control character: one pass over
/// the whole line (a fold without early exit, which the compiler makes a
/// SIMD loop) instead of one a field.
pub fn is_plain_line(line: &[u8]) -> bool {
    !line
        .iter()
        .fold(false, |found, &b| found | (b < 0x20) | (b == b'\\'))
}

/// `line` as text when it is plain ASCII: no `\\`, no control character
/// (as [`is_plain_line`] asks) and no byte of 0x80 or above. One look at
/// the bytes answers both questions `logpipe parse` asks of a line,
/// whether it is UTF-8 and whether it is plain, for nearly every line;
/// `None` for the others, which `std::str::from_utf8` then checks.
pub fn plain_ascii_text(line: &[u8]) -> Option<&str> {
    if !is_plain_ascii(line) {
        return None;
    }
    // SAFETY: every byte is below 0x80 (checked just above): the bytes are
    // ASCII, and ASCII is valid UTF-8. This saves `from_utf8`'s second pass
    // over the line (a twentieth of what `logpipe parse` does for a line).
    Some(unsafe { std::str::from_utf8_unchecked(line) })
}

fn write_plain_str(out: &mut Vec<u8>, text: &str) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
}

/// The `_bulk` action lines, `{"create":{"_index":…,"_id":…}}\n`, of one
/// index: all but the id written once.
#[derive(Debug, Clone)]
pub struct CreateLine {
    /// `{"create":{"_index":"<index>","_id":`
    head: Vec<u8>,
}

impl CreateLine {
    pub fn new(index: &str) -> Self {
        let mut head = b"{\"create\":{\"_index\":".to_vec();
        write_json_str(&mut head, index);
        head.extend_from_slice(b",\"_id\":");
        CreateLine { head }
    }

    /// Appends the line of the document whose id `write_id` appends as a
    /// JSON string.
    pub fn write(&self, out: &mut Vec<u8>, write_id: impl FnOnce(&mut Vec<u8>)) {
        out.extend_from_slice(&self.head);
        write_id(out);
        out.extend_from_slice(b"}}\n");
    }

    /// Its length without the id.
    pub fn frame_len(&self) -> usize {
        self.head.len() + 3
    }
}

/// An NDJSON `_bulk` body of `create` actions.
///
/// `create` (not `index`) so that a replayed record answers `409` instead of
/// overwriting: with deterministic ids that makes retries idempotent.
#[derive(Debug, Clone, Default)]
pub struct BulkBody {
    ndjson: Vec<u8>,
    actions: usize,
}

#[derive(Serialize)]
struct CreateAction<'a> {
    create: ActionTarget<'a>,
}

#[derive(Serialize)]
struct ActionTarget<'a> {
    #[serde(rename = "_index")]
    index: &'a str,
    #[serde(rename = "_id")]
    id: &'a str,
}

impl BulkBody {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `{"create":{"_index":…,"_id":…}}` and the document.
    pub fn push_create<T: Serialize>(
        &mut self,
        index: &str,
        id: &str,
        document: &T,
    ) -> Result<(), serde_json::Error> {
        let rollback = self.ndjson.len();
        let action = CreateAction {
            create: ActionTarget { index, id },
        };
        let written = serde_json::to_writer(&mut self.ndjson, &action).and_then(|()| {
            self.ndjson.push(b'\n');
            serde_json::to_writer(&mut self.ndjson, document)
        });
        if let Err(e) = written {
            // Leave no half action behind: the body stays valid NDJSON.
            self.ndjson.truncate(rollback);
            return Err(e);
        }
        self.ndjson.push(b'\n');
        self.actions += 1;
        Ok(())
    }

    /// Number of actions.
    pub fn len(&self) -> usize {
        self.actions
    }

    pub fn is_empty(&self) -> bool {
        self.actions == 0
    }

    /// Size of the body in bytes, for sizing requests.
    pub fn byte_len(&self) -> usize {
        self.ndjson.len()
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.ndjson
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.ndjson
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_line;

    #[test]
    fn plain_ascii_lines_are_text_and_plain() {
        for line in [&b""[..], b"a", LINE.as_bytes(), b" !~\x7f", &[b'x'; 100]] {
            assert_eq!(plain_ascii_text(line).map(str::as_bytes), Some(line));
            assert!(is_plain_line(line));
        }
        let mut bytes = LINE.as_bytes().to_vec();
        for at in [0, 7, 31, 32, 33, bytes.len() - 1] {
            for other in [b'\\', b'\n', b'\r', 0x00, 0x1f, 0x80, 0xc3, 0xff] {
                let saved = bytes[at];
                bytes[at] = other;
                assert_eq!(plain_ascii_text(&bytes), None, "{other:#x} at {at}");
                bytes[at] = saved;
            }
        }
        // UTF-8 that is not ASCII is left to `from_utf8` (and may be plain).
        let text = "GET /caf\u{e9} \"Mozilla\" \u{1f600}";
        assert_eq!(plain_ascii_text(text.as_bytes()), None);
        assert!(is_plain_line(text.as_bytes()));
    }

    #[test]
    fn nginx_lists_split_into_items() {
        let items = |value| list_items(value).collect::<Vec<_>>();
        assert_eq!(items("0.051, 0.052"), ["0.051", "0.052"]);
        assert_eq!(
            items("10.0.0.5:8080, 10.0.0.6:8080 : unix:/run/app.sock"),
            ["10.0.0.5:8080", "10.0.0.6:8080", "unix:/run/app.sock"]
        );
        assert_eq!(items("502, - : 200"), ["502", "200"]);
        assert!(items("-").is_empty());
    }

    const LINE: &str = r#"9.180.123.170 - - [Jan 21 2026, 22:23:40] "DELETE /contact HTTP/1.1" 404 13444 "https://example.com" "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)""#;

    #[test]
    fn document_fields_and_types() {
        let record = parse_line(LINE).unwrap();
        let kafka = KafkaCoordinates {
            topic: "billion_website_logs".into(),
            partition: 2,
            offset: 41,
        };
        let doc = Document {
            record: &record,
            kafka: Some(&kafka),
        };
        let json = serde_json::to_value(&doc).unwrap();
        let record_json = serde_json::to_value(&record).unwrap();
        for (field, value) in record_json.as_object().unwrap() {
            assert_eq!(
                &json[field], value,
                "the document carries the record's {field}"
            );
        }
        assert_eq!(
            json,
            serde_json::json!({
                "ip": "9.180.123.170",
                "timestamp": "2026-01-21T22:23:40",
                "method": "DELETE",
                "endpoint": "/contact",
                "protocol": "HTTP/1.1",
                "status": 404,
                "size": 13444,
                "referrer": "https://example.com",
                "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)",
                "kafka": {"topic": "billion_website_logs", "partition": 2, "offset": 41}
            })
        );
        assert_eq!(kafka.document_id(), "billion_website_logs-2-41");
        for topic in ["billion_website_logs", "odd\"topic\\\u{1}"] {
            let kafka = KafkaCoordinates {
                topic: topic.into(),
                ..kafka.clone()
            };
            let mut json = Vec::new();
            kafka.write_id_json(&mut json);
            assert_eq!(json, serde_json::to_vec(&kafka.document_id()).unwrap());
        }
    }

    /// The room reserved for a document's usual fields holds the longest
    /// of each: every text all control characters (six bytes each when
    /// escaped), the longest IPv6 address, the largest numbers, a timestamp
    /// of a six-digit year with an offset. The writing is serde's.
    #[test]
    fn the_room_holds_the_longest_fields() {
        use chrono::{FixedOffset, TimeZone};
        let worst = |n: usize| Cow::Owned("\u{1}".repeat(n));
        let longest_ip: IpAddr = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"
            .parse()
            .unwrap();
        let time = FixedOffset::west_opt(23 * 3600 + 59 * 60 + 59)
            .unwrap()
            .with_ymd_and_hms(-200_000, 12, 31, 23, 59, 59)
            .unwrap();
        for request in [None, Some(worst(300))] {
            let record = AccessLog {
                ident: Some(worst(100)),
                user: Some(worst(100)),
                method: worst(10),
                endpoint: worst(1000),
                protocol: worst(10),
                request: request.clone(),
                size: Some(u64::MAX),
                referrer: Some(worst(500)),
                user_agent: Some(worst(500)),
                ..AccessLog::new(Some(longest_ip), time.into(), u16::MAX)
            };
            let document = Document {
                record: &record,
                kafka: None,
            };
            let mut written = Vec::new();
            document.write_json(&mut written);
            assert_eq!(written, serde_json::to_vec(&document).unwrap());
            // Plain lines' strings are copied, in room for their length.
            let plain = AccessLog {
                ident: Some("i".repeat(100).into()),
                user: Some("u".repeat(100).into()),
                method: "m".repeat(10).into(),
                endpoint: "e".repeat(1000).into(),
                protocol: "p".repeat(10).into(),
                request: request.map(|r| "r".repeat(r.len()).into()),
                referrer: Some("f".repeat(500).into()),
                user_agent: Some("a".repeat(500).into()),
                ..record.clone()
            };
            let document = Document {
                record: &plain,
                kafka: None,
            };
            let mut written = Vec::new();
            document.write_json_of_line(&mut written, true);
            assert_eq!(written, serde_json::to_vec(&document).unwrap());
        }
    }

    #[test]
    fn bulk_body_is_ndjson_of_create_actions() {
        let record = parse_line(LINE).unwrap();
        let doc = Document {
            record: &record,
            kafka: None,
        };
        let mut body = BulkBody::new();
        body.push_create("logs", "t-0-1", &doc).unwrap();
        body.push_create("logs", "t-0-\"2\"", &doc).unwrap();
        assert_eq!(body.len(), 2);
        let text = std::str::from_utf8(body.as_bytes()).unwrap();
        assert!(text.ends_with('\n'));
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[0],
            serde_json::json!({"create": {"_index": "logs", "_id": "t-0-1"}})
        );
        assert_eq!(lines[2]["create"]["_id"], "t-0-\"2\"");
        assert_eq!(lines[1]["status"], 404);
        assert_eq!(body.byte_len(), text.len());
    }

    #[test]
    fn prewritten_documents_make_the_same_body() {
        let record = parse_line(LINE).unwrap();
        let doc = Document {
            record: &record,
            kafka: None,
        };
        let mut json = Vec::new();
        doc.write_json(&mut json);
        let (mut by_serde, mut prewritten) = (BulkBody::new(), Vec::new());
        for (index, id) in [("logs", "t-0-1"), ("lo\\gs", "t-0-\"2\"\n")] {
            by_serde.push_create(index, id, &doc).unwrap();
            CreateLine::new(index).write(&mut prewritten, |out| write_json_str(out, id));
            prewritten.extend_from_slice(&json);
            prewritten.push(b'\n');
        }
        assert_eq!(
            std::str::from_utf8(&prewritten).unwrap(),
            std::str::from_utf8(by_serde.as_bytes()).unwrap()
        );
        assert_eq!(by_serde.len(), 2);
    }
}
