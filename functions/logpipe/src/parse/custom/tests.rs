//! Formats from the NGINX and Apache documentation, with lines written
//! here the way those servers write them.

use std::borrow::Cow;
use std::net::IpAddr;

use super::*;
use crate::parse::{Field as ErrorField, Problem};
use crate::record::ValueKind;
use crate::timestamp::LogTime;

const NGINX_MAIN: &str = r#"log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';"#;
const COMMON: &str = r#"LogFormat "%h %l %u %t \"%r\" %>s %b" common"#;
const COMBINED: &str =
    r#"LogFormat "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\"" combined"#;
const VHOST_COMBINED: &str = r#"LogFormat "%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"" vhost_combined"#;
const COMBINED_NGINX: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#;

fn compile(spec: &str) -> CompiledFormat {
    CompiledFormat::compile(spec).unwrap_or_else(|e| panic!("{spec}: {e}"))
}

fn ip(text: &str) -> Option<IpAddr> {
    Some(text.parse().unwrap())
}

fn stamp(text: &str) -> LogTime {
    LogTime::parse_common(text).unwrap()
}

fn extra<'r>(record: &'r AccessLog<'_>, name: &str) -> Option<(ValueKind, &'r str)> {
    record
        .extra
        .iter()
        .find(|e| &*e.name == name)
        .map(|e| (e.kind, &*e.value))
}

fn format_error(spec: &str) -> FormatError {
    match CompiledFormat::compile(spec) {
        Ok(format) => panic!("{spec} compiled: {format:?}"),
        Err(e) => e,
    }
}

/// Writes `record` with `format` and reads it back.
fn round_trip(format: &CompiledFormat, record: &AccessLog<'_>) -> String {
    let mut out = Vec::new();
    format.write(record, &mut out);
    let line = String::from_utf8(out).unwrap();
    assert_eq!(format.parse(&line).as_ref(), Ok(record), "{line}");
    line
}

#[test]
fn nginx_main_directive_pasted_verbatim() {
    let format = compile(NGINX_MAIN);
    assert_eq!(format.syntax(), Syntax::Nginx);
    assert!(format.quotes_its_strings());
    let line = r#"203.0.113.7 - alice [21/Jan/2026:22:23:40 +0100] "GET /index.html?lang=en HTTP/1.1" 200 612 "https://example.org/start" "curl/8.5.0" "198.51.100.4, 10.0.0.1""#;
    let r = format.parse(line).unwrap();
    assert_eq!(r.ip, ip("203.0.113.7"));
    assert_eq!(r.user.as_deref(), Some("alice"));
    assert_eq!(r.timestamp, stamp("21/Jan/2026:22:23:40 +0100"));
    assert_eq!(
        (&*r.method, &*r.endpoint, &*r.protocol),
        ("GET", "/index.html?lang=en", "HTTP/1.1")
    );
    assert_eq!(r.request, None);
    assert_eq!((r.status, r.size), (200, Some(612)));
    assert_eq!(r.referrer.as_deref(), Some("https://example.org/start"));
    assert_eq!(r.user_agent.as_deref(), Some("curl/8.5.0"));
    assert_eq!(r.forwarded_for.as_deref(), Some("198.51.100.4, 10.0.0.1"));
    assert!(r.extra.is_empty());
    assert_eq!(round_trip(&format, &r), line);

    // Nothing forwarded, no user: `-`, absent.
    let line = r#"203.0.113.7 - - [21/Jan/2026:22:23:40 +0100] "GET / HTTP/2.0" 304 0 "-" "Mozilla/5.0 (X11; Linux x86_64)" "-""#;
    let r = format.parse(line).unwrap();
    assert_eq!((r.user, r.forwarded_for), (None, None));
    assert_eq!(r.referrer.as_deref(), Some("-"));
}

#[test]
fn nginx_directive_forms() {
    // Double quotes, no `;`, escape=, one part; a bare word part.
    for spec in [
        r#"log_format combined "$remote_addr [$time_local] $status""#,
        "log_format combined escape=json '$remote_addr [$time_local] $status';",
        "log_format combined escape=none\n  '$remote_addr '\n  '[$time_local] $status' ;",
        "log_format x $remote_addr ' [$time_local] ' $status;",
    ] {
        let r = compile(spec)
            .parse("192.0.2.1 [21/Jan/2026:22:23:40 +0000] 404")
            .unwrap_or_else(|e| panic!("{spec}: {e}"));
        assert_eq!((r.ip, r.status), (ip("192.0.2.1"), 404), "{spec}");
    }
    // The configuration's escapes inside a quoted part.
    let format = compile(r#"log_format t '$remote_addr\t[$time_local]\t\'$status\'';"#);
    let r = format
        .parse("192.0.2.1\t[21/Jan/2026:22:23:40 +0000]\t'500'")
        .unwrap();
    assert_eq!(r.status, 500);
}

#[test]
fn apache_common_combined_and_vhost_combined() {
    let common = compile(COMMON);
    assert_eq!(common.syntax(), Syntax::Apache);
    let line =
        r#"192.0.2.10 - bob [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#;
    let r = common.parse(line).unwrap();
    assert_eq!(r.ip, ip("192.0.2.10"));
    assert_eq!((r.ident.as_deref(), r.user.as_deref()), (None, Some("bob")));
    assert_eq!(r.timestamp.to_iso(), "2000-10-10T13:55:36-07:00");
    assert_eq!(&*r.endpoint, "/apache_pb.gif");
    assert_eq!((r.status, r.size), (200, Some(2326)));
    assert_eq!((&r.referrer, &r.user_agent), (&None, &None));
    assert_eq!(round_trip(&common, &r), line);
    // The same format given bare, as the LogFormat's argument.
    let bare = compile(r#"%h %l %u %t \"%r\" %>s %b"#);
    assert_eq!(bare.parse(line), common.parse(line));
    // An idle keep-alive connection closed by the server.
    let r = common
        .parse(r#"192.0.2.10 - - [10/Oct/2000:13:55:36 -0700] "-" 408 -"#)
        .unwrap();
    assert_eq!(
        (r.request.as_deref(), r.status, r.size),
        (Some("-"), 408, Some(0))
    );

    let combined = compile(COMBINED);
    assert!(combined.quotes_its_strings());
    let line = r#"192.0.2.10 - - [10/Oct/2000:13:55:36 -0700] "GET /a%20b HTTP/1.1" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#;
    let r = combined.parse(line).unwrap();
    assert_eq!(
        r.referrer.as_deref(),
        Some("http://www.example.com/start.html")
    );
    assert_eq!(
        r.user_agent.as_deref(),
        Some("Mozilla/4.08 [en] (Win98; I ;Nav)")
    );
    assert_eq!(round_trip(&combined, &r), line);

    let vhost = compile(VHOST_COMBINED);
    let line = r#"www.example.com:443 2001:db8::7 - - [10/Oct/2000:13:55:36 -0700] "POST /login HTTP/2.0" 302 871 "-" "Mozilla/5.0""#;
    let r = vhost.parse(line).unwrap();
    assert_eq!(r.vhost.as_deref(), Some("www.example.com"));
    assert_eq!(extra(&r, "server_port"), Some((ValueKind::Integer, "443")));
    assert_eq!(r.ip, ip("2001:db8::7"));
    assert_eq!(r.size, None);
    assert_eq!(extra(&r, "bytes_sent"), Some((ValueKind::Integer, "871")));
    assert_eq!(round_trip(&vhost, &r), line);
}

#[test]
fn user_format_equivalent_to_combined_reads_what_the_combined_parser_reads() {
    let format = compile(COMBINED_NGINX);
    for line in [
        r#"9.180.123.170 - - [21/Jan/2026:22:23:40 +0000] "DELETE /contact HTTP/1.1" 404 13444 "https://example.com" "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)""#,
        r#"10.1.2.3 - carol [01/Feb/2024:00:00:00 +0530] "GET /q?a=\"x\" HTTP/1.1" 200 - "-" "agent \"quoted\"""#,
    ] {
        let mut expected = crate::parse::parse_line(line).unwrap();
        // The combined parser of this commit does not keep the user yet.
        expected.user = format.parse(line).unwrap().user;
        assert_eq!(format.parse(line), Ok(expected), "{line}");
    }
}

#[test]
fn client_as_address_host_name_or_chain() {
    let format = compile("$remote_addr [$time_local] $status");
    let t = "[21/Jan/2026:22:23:40 +0000] 200";
    let line = format!("::1 {t}");
    let r = format.parse(&line).unwrap();
    assert_eq!((r.ip, r.client_host), (ip("::1"), None));
    let line = format!("client7.example.net {t}");
    let r = format.parse(&line).unwrap();
    assert_eq!(
        (r.ip, r.client_host.as_deref()),
        (None, Some("client7.example.net"))
    );
    // A chain, unquoted: its `, ` does not end the field.
    let line = format!("10.0.0.2, 10.0.0.1, 127.0.0.1 {t}");
    let r = format.parse(&line).unwrap();
    assert_eq!(r.ip, ip("10.0.0.2"));
    assert_eq!(
        r.forwarded_for.as_deref(),
        Some("10.0.0.2, 10.0.0.1, 127.0.0.1")
    );
    assert_eq!(round_trip(&format, &r), line);
    let line = format!("unknown, 10.0.0.1 {t}");
    let r = format.parse(&line).unwrap();
    assert_eq!(r.ip, ip("10.0.0.1"));
    let line = format!("- {t}");
    let r = format.parse(&line).unwrap();
    assert_eq!((r.ip, r.client_host, r.forwarded_for), (None, None, None));
}

#[test]
fn nginx_times() {
    let t = stamp("21/Jan/2026:22:23:40 +0000");
    for (spec, line) in [
        ("$time_local|$status", "21/Jan/2026:22:23:40 +0000|200"),
        ("$time_local $status", "21/Jan/2026:22:23:40 +0000 200"),
        ("${time_iso8601} $status", "2026-01-21T22:23:40+00:00 200"),
        ("$msec $status", "1769034220.000 200"),
    ] {
        let format = compile(spec);
        let r = format.parse(line).unwrap_or_else(|e| panic!("{spec}: {e}"));
        assert_eq!((r.timestamp, r.status), (t, 200), "{spec}");
        assert_eq!(round_trip(&format, &r), line);
    }
    let r = compile("$msec $status")
        .parse("1769034220.123 200")
        .unwrap();
    assert_eq!(r.timestamp.to_iso(), "2026-01-21T22:23:40+00:00");
    // Only the first time is the timestamp; the others keep their names.
    let r = compile("$time_local $time_iso8601 $msec $status")
        .parse("21/Jan/2026:22:23:40 +0000 2026-01-21T22:23:40+00:00 1769034220.123 200")
        .unwrap();
    assert_eq!(
        extra(&r, "time_iso8601"),
        Some((ValueKind::Keyword, "2026-01-21T22:23:40+00:00"))
    );
    assert_eq!(
        extra(&r, "msec"),
        Some((ValueKind::Float, "1769034220.123"))
    );
    let e = compile("$msec $status")
        .parse("17690x4220.123 200")
        .unwrap_err();
    assert_eq!(e.field, ErrorField::Timestamp);
    assert!(e.to_string().contains("$msec"), "{e}");
    let e = compile("[$time_local] $status")
        .parse("[21/Jan/2026 22:23:40 +0000] 200")
        .unwrap_err();
    assert_eq!((e.field, e.at), (ErrorField::Timestamp, 1));
}

#[test]
fn nginx_request_parts() {
    let format =
        compile(r#"[$time_local] "$request_method $request_uri $server_protocol" $status"#);
    let line = r#"[21/Jan/2026:22:23:40 +0000] "PUT /items/7?x=1 HTTP/1.1" 201"#;
    let r = format.parse(line).unwrap();
    assert_eq!(
        (&*r.method, &*r.endpoint, &*r.protocol),
        ("PUT", "/items/7?x=1", "HTTP/1.1")
    );
    assert_eq!(round_trip(&format, &r), line);
    let format = compile("[$time_local] $request_method $uri$is_args$args $status");
    let r = format
        .parse("[21/Jan/2026:22:23:40 +0000] GET /search?q=rust 200")
        .unwrap();
    assert_eq!((&*r.method, &*r.endpoint), ("GET", "/search?q=rust"));
    // With the whole request line present, the parts are fields of their own.
    let format = compile(r#"[$time_local] "$request" $request_method $status"#);
    let r = format
        .parse(r#"[21/Jan/2026:22:23:40 +0000] "GET / HTTP/1.1" GET 200"#)
        .unwrap();
    assert_eq!(&*r.method, "GET");
    assert_eq!(
        extra(&r, "request_method"),
        Some((ValueKind::Keyword, "GET"))
    );
}

#[test]
fn requests_that_are_not_a_triple_are_kept_raw() {
    let format = compile(COMBINED_NGINX);
    for (request, raw) in [
        (r#""""#, ""),
        (r#""-""#, "-"),
        (r#""\x16\x03\x01\x00\xA5\x01""#, r"\x16\x03\x01\x00\xA5\x01"),
        (
            r#""GET /a\x22b HTTP/1.1 junk""#,
            r"GET /a\x22b HTTP/1.1 junk",
        ),
    ] {
        let line = format!(r#"192.0.2.1 - - [21/Jan/2026:22:23:40 +0000] {request} 400 0 "-" "-""#);
        let r = format.parse(&line).unwrap();
        assert_eq!(r.request.as_deref(), Some(raw), "{line}");
        assert_eq!((&*r.method, r.status), ("", 400));
        // NGINX's `\xHH` are kept as written: the writer escapes their `\`.
        round_trip(&format, &r);
    }
}

#[test]
fn sizes_and_statuses() {
    let r = compile("[$time_local] $status $bytes_sent")
        .parse("[21/Jan/2026:22:23:40 +0000] 200 1024")
        .unwrap();
    assert_eq!(r.size, Some(1024));
    // body_bytes_sent is the size wherever it is; bytes_sent is then a count.
    let r = compile("[$time_local] $status $bytes_sent $body_bytes_sent")
        .parse("[21/Jan/2026:22:23:40 +0000] 200 1270 1024")
        .unwrap();
    assert_eq!(r.size, Some(1024));
    assert_eq!(extra(&r, "bytes_sent"), Some((ValueKind::Integer, "1270")));
    // Apache: %>s is the status beside %<s or %s.
    for spec in ["%t %<s %>s %B", "%t %s %>s %B"] {
        let r = compile(spec)
            .parse("[21/Jan/2026:22:23:40 +0000] 302 200 0")
            .unwrap();
        assert_eq!(r.status, 200, "{spec}");
        assert_eq!(
            extra(&r, "original_status"),
            Some((ValueKind::Integer, "302"))
        );
        assert_eq!(r.size, Some(0));
    }
    let r = compile("%t %s %b %B")
        .parse("[21/Jan/2026:22:23:40 +0000] 404 - 0")
        .unwrap();
    assert_eq!((r.status, r.size), (404, Some(0)));
    assert_eq!(extra(&r, "body_bytes"), Some((ValueKind::Integer, "0")));
    let e = compile("%t %>s %b")
        .parse("[21/Jan/2026:22:23:40 +0000] 2000 5")
        .unwrap_err();
    assert_eq!((e.field, e.at), (ErrorField::Status, 29));
    let e = compile("%t %>s %b")
        .parse("[21/Jan/2026:22:23:40 +0000] 200 5k")
        .unwrap_err();
    assert_eq!((e.field, e.at), (ErrorField::Size, 33));
}

#[test]
fn other_standard_nginx_variables() {
    let format = compile(
        r#"$host $remote_user [$time_local] $status "$http_referer" "$http_user_agent" "$http_x_forwarded_for""#,
    );
    let line = r#"shop.example.com dave [21/Jan/2026:22:23:40 +0000] 200 "https://a.example/?q=\"x\"" "Wget/1.21" "203.0.113.9""#;
    let r = format.parse(line).unwrap();
    assert_eq!(r.vhost.as_deref(), Some("shop.example.com"));
    assert_eq!(r.user.as_deref(), Some("dave"));
    assert_eq!(r.referrer.as_deref(), Some(r#"https://a.example/?q="x""#));
    assert_eq!(r.user_agent.as_deref(), Some("Wget/1.21"));
    assert_eq!(r.forwarded_for.as_deref(), Some("203.0.113.9"));
    assert_eq!(round_trip(&format, &r), line);
    let r = format
        .parse(r#"- - [21/Jan/2026:22:23:40 +0000] 200 "-" "-" "-""#)
        .unwrap();
    assert_eq!((r.vhost, r.user, r.forwarded_for), (None, None, None));
}

#[test]
fn nginx_extras_are_typed_as_nginx_documents_them() {
    let format = compile(
        "[$time_local] $status rt=$request_time uct=$upstream_connect_time urt=$upstream_response_time us=$upstream_status ua=$upstream_addr len=$request_length conn=$connection id=$request_id ratio=$gzip_ratio",
    );
    assert!(format.quotes_its_strings(), "no request, referrer or agent");
    let line = "[21/Jan/2026:22:23:40 +0000] 502 rt=0.250 uct=0.001, - urt=0.100, 0.050 : 0.100 us=502, 504 : 502 ua=10.0.0.5:8080, unix:/run/app.sock len=312 conn=1187 id=7f3a9c1e2b4d ratio=-";
    let r = format.parse(line).unwrap();
    assert_eq!(extra(&r, "request_time"), Some((ValueKind::Float, "0.250")));
    assert_eq!(
        extra(&r, "upstream_connect_time"),
        Some((ValueKind::FloatList, "0.001, -"))
    );
    assert_eq!(
        extra(&r, "upstream_response_time"),
        Some((ValueKind::FloatList, "0.100, 0.050 : 0.100"))
    );
    assert_eq!(
        extra(&r, "upstream_status"),
        Some((ValueKind::IntegerList, "502, 504 : 502"))
    );
    assert_eq!(
        extra(&r, "upstream_addr"),
        Some((ValueKind::KeywordList, "10.0.0.5:8080, unix:/run/app.sock"))
    );
    assert_eq!(
        extra(&r, "request_length"),
        Some((ValueKind::Integer, "312"))
    );
    assert_eq!(extra(&r, "connection"), Some((ValueKind::Integer, "1187")));
    assert_eq!(
        extra(&r, "request_id"),
        Some((ValueKind::Keyword, "7f3a9c1e2b4d"))
    );
    assert_eq!(extra(&r, "gzip_ratio"), None, "`-` is absent");
    assert_eq!(round_trip(&format, &r), line);

    let e = format
        .parse("[21/Jan/2026:22:23:40 +0000] 200 rt=fast uct=- urt=- us=- ua=- len=1 conn=1 id=- ratio=-")
        .unwrap_err();
    assert_eq!(e.at, 36);
    assert_eq!(
        e.problem,
        Problem::NotOfKind {
            variable: "$request_time".into(),
            expected: "a number",
            value: "fast".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "line at byte 36: $request_time \"fast\" is not a number"
    );
    for bad in ["rt=inf", "rt=NaN", "len=3.5", "us=200, OK", "urt=0.1, x"] {
        let line = format!("[21/Jan/2026:22:23:40 +0000] 200 {bad} ");
        let mut full = String::from(
            "[21/Jan/2026:22:23:40 +0000] 200 rt=- uct=- urt=- us=- ua=- len=1 conn=1 id=- ratio=-",
        );
        let key = &bad[..bad.find('=').unwrap() + 1];
        let at = full.find(&format!(" {key}")).unwrap() + 1;
        let end = full[at..].find(' ').map_or(full.len(), |e| e + at);
        full.replace_range(at..end, bad);
        let e = format.parse(&full).unwrap_err();
        assert!(
            matches!(e.problem, Problem::NotOfKind { .. }),
            "{line}: {e}"
        );
    }
}

/// `%t %>s DIRECTIVE` with a line `[...] 200 VALUE`: the extra it gives.
fn apache_extra(directive: &str, value: &str) -> (String, ValueKind, String) {
    let format = compile(&format!("%t %>s {directive}"));
    let line = format!("[21/Jan/2026:22:23:40 +0000] 200 {value}");
    let r = format
        .parse(&line)
        .unwrap_or_else(|e| panic!("{directive}: {e}"));
    assert_eq!(round_trip(&format, &r), line);
    match r.extra.as_slice() {
        [e] => (e.name.to_string(), e.kind, e.value.to_string()),
        other => panic!("{directive}: {other:?}"),
    }
}

#[test]
fn apache_directives_with_their_documented_names() {
    use ValueKind::{Integer, Keyword};
    for (directive, value, name, kind) in [
        ("%D", "15203", "request_time_us", Integer),
        ("%{us}T", "15203", "request_time_us", Integer),
        ("%T", "2", "request_time_s", Integer),
        ("%{s}T", "2", "request_time_s", Integer),
        ("%{ms}T", "15", "request_time_ms", Integer),
        ("%I", "512", "bytes_received", Integer),
        ("%O", "2734", "bytes_sent", Integer),
        ("%S", "3246", "bytes_transferred", Integer),
        ("%p", "443", "server_port", Integer),
        ("%{canonical}p", "443", "server_port", Integer),
        ("%{local}p", "8443", "local_port", Integer),
        ("%{remote}p", "51234", "client_port", Integer),
        ("%P", "4711", "process_id", Integer),
        ("%{pid}P", "4711", "process_id", Integer),
        ("%{tid}P", "140234", "thread_id", Integer),
        ("%{hextid}P", "7f1c2a", "thread_id_hex", Keyword),
        ("%k", "3", "keepalive_requests", Integer),
        ("%X", "+", "connection_status", Keyword),
        ("%L", "Y5qL3sCoAAEAAC1mX0kAAAAB", "log_id", Keyword),
        ("%R", "php-fpm", "handler", Keyword),
        ("%f", "/var/www/html/index.html", "filename", Keyword),
        ("%A", "192.0.2.1", "local_ip", Keyword),
        ("%V", "www.example.com", "server_name", Keyword),
        ("%q", "?id=7", "query_string", Keyword),
        (
            "%{X-Request-ID}i",
            "abc-123",
            "request_header_x_request_id",
            Keyword,
        ),
        (
            "%{Content-Type}o",
            "text/html",
            "response_header_content_type",
            Keyword,
        ),
        ("%{session}C", "s3cr3t", "cookie_session", Keyword),
        ("%{UNIQUE_ID}e", "Y5qL3s", "env_unique_id", Keyword),
        ("%{ratio}n", "42", "note_ratio", Keyword),
        ("%{SSL_PROTOCOL}x", "TLSv1.3", "ssl_protocol", Keyword),
        (
            "%{Server-Timing}^to",
            "db;dur=53",
            "response_trailer_server_timing",
            Keyword,
        ),
        ("%{Checksum}^ti", "abc", "request_trailer_checksum", Keyword),
        ("%{Host}i", "example.com", "request_header_host", Keyword),
    ] {
        assert_eq!(
            apache_extra(directive, value),
            (name.to_owned(), kind, value.to_owned()),
            "{directive}"
        );
    }
}

#[test]
fn apache_standard_directives() {
    let t = "[21/Jan/2026:22:23:40 +0000]";
    let format = compile(
        r#"%a %{c}h %l %u %t \"%m %U%q %H\" %>s %B %v \"%{Referer}i\" \"%{User-Agent}i\" \"%{X-Forwarded-For}i\""#,
    );
    let line = format!(
        r#"198.51.100.7 10.0.0.9 ident7 erin {t} "GET /search?q=a%20b HTTP/1.1" 200 0 www.example.com "-" "Mozilla/5.0" "198.51.100.7, 10.0.0.9""#
    );
    let r = format.parse(&line).unwrap();
    assert_eq!(r.ip, ip("198.51.100.7"));
    assert_eq!(
        extra(&r, "peer_host"),
        Some((ValueKind::Keyword, "10.0.0.9"))
    );
    assert_eq!(
        (r.ident.as_deref(), r.user.as_deref()),
        (Some("ident7"), Some("erin"))
    );
    assert_eq!(
        (&*r.method, &*r.endpoint, &*r.protocol),
        ("GET", "/search?q=a%20b", "HTTP/1.1")
    );
    assert_eq!((r.status, r.size), (200, Some(0)));
    assert_eq!(r.vhost.as_deref(), Some("www.example.com"));
    assert_eq!(r.referrer.as_deref(), Some("-"));
    assert_eq!(r.user_agent.as_deref(), Some("Mozilla/5.0"));
    assert_eq!(r.forwarded_for.as_deref(), Some("198.51.100.7, 10.0.0.9"));
    assert_eq!(round_trip(&format, &r), line);
    // %U%q with no query.
    let about = line.replace("/search?q=a%20b", "/about");
    let r = format.parse(&about).unwrap();
    assert_eq!(&*r.endpoint, "/about");
    // %h as a host name.
    let line = format!("host7.example.org {t} 200");
    let r = compile("%h %t %>s").parse(&line).unwrap();
    assert_eq!(r.client_host.as_deref(), Some("host7.example.org"));
}

#[test]
fn apache_times() {
    let t = stamp("21/Jan/2026:22:23:40 +0000");
    for (directive, value) in [
        ("%{sec}t", "1769034220"),
        ("%{msec}t", "1769034220000"),
        ("%{usec}t", "1769034220000000"),
        ("%{begin:msec}t", "1769034220000"),
        ("%{end:sec}t", "1769034220"),
    ] {
        let format = compile(&format!("{directive} %>s"));
        let line = format!("{value} 200");
        let r = format.parse(&line).unwrap();
        assert_eq!(r.timestamp, t, "{directive}");
        assert_eq!(round_trip(&format, &r), line);
    }
    let r = compile("%{msec}t %>s").parse("1769034220123 200").unwrap();
    let mut out = Vec::new();
    compile("%{usec}t %>s").write(&r, &mut out);
    assert_eq!(out, b"1769034220123000 200");
    let e = compile("%{sec}t %>s").parse("-5 200").unwrap_err();
    assert_eq!(e.field, ErrorField::Timestamp);
}

#[test]
fn apache_conditions_percent_and_escapes() {
    let format = compile(
        r#"%t %>s 100%% \"%400,501{User-agent}i\" \"%!200,304,302{Referer}i\" %{X}i\t%<{Y}o"#,
    );
    let line = "[21/Jan/2026:22:23:40 +0000] 400 100% \"curl/8\" \"-\" x\ty";
    let r = format.parse(line).unwrap();
    assert_eq!(r.user_agent.as_deref(), Some("curl/8"));
    assert_eq!(r.referrer.as_deref(), Some("-"));
    assert_eq!(
        extra(&r, "request_header_x"),
        Some((ValueKind::Keyword, "x"))
    );
    assert_eq!(
        extra(&r, "response_header_y"),
        Some((ValueKind::Keyword, "y"))
    );
    assert_eq!(round_trip(&format, &r), line);
}

#[test]
fn json_like_nginx_format() {
    let format = compile(
        r#"log_format json escape=json '{"time":"$time_iso8601","addr":"$remote_addr","req":"$request","status":$status,"rt":$request_time,"ua":"$http_user_agent"}';"#,
    );
    assert!(format.quotes_its_strings());
    let line = r#"{"time":"2026-01-21T22:23:40+00:00","addr":"192.0.2.1","req":"GET /a HTTP/1.1","status":200,"rt":0.004,"ua":"say \"hi\""}"#;
    let r = format.parse(line).unwrap();
    assert_eq!(r.user_agent.as_deref(), Some(r#"say "hi""#));
    assert_eq!(extra(&r, "request_time"), Some((ValueKind::Float, "0.004")));
    assert_eq!(round_trip(&format, &r), line);
}

#[test]
fn lines_that_do_not_fit_are_named_errors() {
    let format = compile(COMBINED_NGINX);
    let good = r#"192.0.2.1 - - [21/Jan/2026:22:23:40 +0000] "GET / HTTP/1.1" 200 5 "-" "agent""#;
    assert!(format.parse(good).is_ok());
    // Truncated: the agent's quote never closes.
    let e = format.parse(&good[..good.len() - 1]).unwrap_err();
    assert_eq!(e.problem, Problem::Unterminated('"'));
    // Cut inside the time.
    let e = format.parse(&good[..20]).unwrap_err();
    assert!(
        matches!(e.problem, Problem::Missing | Problem::ExpectedText { .. }),
        "{e}"
    );
    // Text after the last literal.
    let e = format.parse(&format!("{good} extra")).unwrap_err();
    assert_eq!(e.problem, Problem::Unterminated('"'));
    let e = compile("$remote_addr [$time_local] $status")
        .parse("192.0.2.1 [21/Jan/2026:22:23:40 +0000]")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "line at byte 11: expected \"] \" (from the format), found \"21/Jan/2026:22:23:40 +0000]\""
    );
    let e = compile("$remote_addr [$time_local] $status")
        .parse("192.0.2.1 [")
        .unwrap_err();
    assert_eq!((e.at, e.problem), (11, Problem::Missing));
    let e = compile("x=$remote_addr [$time_local] $status")
        .parse("y=192.0.2.1 [21/Jan/2026:22:23:40 +0000] 200")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "line at byte 0: expected \"x=\" (from the format), found \"y=192.0.2.1 [21/Jan/2026:22:23:40 +0000]\""
    );
    let e = compile("[$time_local] $status end")
        .parse("[21/Jan/2026:22:23:40 +0000] 200 fin")
        .unwrap_err();
    assert!(matches!(e.problem, Problem::ExpectedText { .. }), "{e}");
}

#[test]
fn bad_formats_are_named_errors_with_positions() {
    let cases: &[(&str, &str)] = &[
        ("", "the format is empty at byte 0"),
        ("   ", "the format is empty at byte 0"),
        (
            "%h %l %u %t %Q %>s",
            "unknown Apache directive %Q at byte 12",
        ),
        (
            r#"%h %l %u %t \"%r\" %>s %b %Q"#,
            "unknown Apache directive %Q at byte 26",
        ),
        ("%h %t %>s %", "unknown Apache directive % at byte 10"),
        ("%h %t %>s %{Referer", "`%{` is never closed at byte 10"),
        (
            "$remote_addr ${time_local [x] $status",
            "`${` is never closed at byte 13",
        ),
        (
            "$remote_addr $ [$time_local] $status",
            "`$` without a variable name at byte 13",
        ),
        (
            r#"$remote_addr [$time_local] "$request $status"#,
            "this `\"` is never closed at byte 27",
        ),
        (r#"%h %t \"%r %>s"#, "this `\"` is never closed at byte 6"),
        (
            "$remote_addr$remote_user [$time_local] $status",
            "$remote_addr and $remote_user have nothing between them to tell where one ends at byte 12",
        ),
        (
            "%h%l %t %>s",
            "%h and %l have nothing between them to tell where one ends at byte 2",
        ),
        (
            "$remote_addr $status",
            "no time ($time_local, $time_iso8601, $msec; %t, %{sec|msec|usec}t) in the format at byte 20",
        ),
        (
            "%h %t %b",
            "no status ($status; %>s, %s) in the format at byte 8",
        ),
        (
            "plain text",
            "the format has neither NGINX $variables nor Apache %directives at byte 0",
        ),
        (
            "$remote_addr %t $status",
            "the format mixes NGINX $variables and Apache %directives ($ at byte 0, % at byte 13) at byte 13",
        ),
        (
            "%{%d/%b/%Y %T}t %>s",
            "%{%d/%b/%Y %T}t is not supported: strftime time formats; use %t, %{sec}t, %{msec}t or %{usec}t at byte 0",
        ),
        (
            "%t %>s %{msec_frac}t",
            "%{msec_frac}t is not supported: a fraction of a second alone; use %{msec}t or %{usec}t at byte 7",
        ),
        (
            "%t %>s %i",
            "%i is not supported: it without its {argument} at byte 7",
        ),
        (
            "[$time_local] $status $status",
            "$status would be the field `status`, which is a standard field another variable fills at byte 22",
        ),
        (
            "[$time_local] $status $request_time $request_time",
            "$request_time would be the field `request_time`, which an earlier variable fills at byte 36",
        ),
        (
            "[$time_local] $status $user",
            "$user would be the field `user`, which is a standard field another variable fills at byte 22",
        ),
        (
            "log_format main '$remote_addr [$time_local] $status",
            "this `'` is never closed at byte 16",
        ),
        (
            "log_format '$remote_addr [$time_local] $status';",
            "not a log_format directive: `log_format` needs a name before its format at byte 11",
        ),
        (
            "log_format main;",
            "not a log_format directive: `log_format` has no format string at byte 16",
        ),
        (
            "log_format main escape=xml '$status [$time_local]';",
            "not a log_format directive: escape= takes default, json or none at byte 16",
        ),
        (
            "log_format main '[$time_local] $status'; extra",
            "not a log_format directive: text after the closing `;` at byte 41",
        ),
        (
            r#"LogFormat "%h %t %>s" common extra"#,
            "not a LogFormat directive: text after the nickname at byte 29",
        ),
        (
            r#"LogFormat "%h %t %>s"#,
            "the `\"` around the format is never closed at byte 10",
        ),
        (
            r#"%h %t %>s\n"#,
            "\\n is not supported: a line break inside a line at byte 9",
        ),
    ];
    for (spec, message) in cases {
        assert_eq!(format_error(spec).to_string(), *message, "{spec:?}");
    }
    assert_eq!(
        format_error("%h %l %u %t %Q %>s"),
        FormatError {
            at: 12,
            problem: FormatProblem::UnknownDirective("%Q".into())
        }
    );
}

#[test]
fn quotes_its_strings_says_whether_strings_are_quoted() {
    assert!(compile(COMMON).quotes_its_strings());
    assert!(compile(COMBINED).quotes_its_strings());
    assert!(!compile("[$time_local] $request $status").quotes_its_strings());
    assert!(!compile(r#"[$time_local] "$request" $status $http_user_agent"#).quotes_its_strings());
}

#[test]
fn writing_a_record_the_format_lacks_fields_for() {
    let format = compile(
        r#"$remote_addr [$time_local] "$request" $status $body_bytes_sent "$http_user_agent" $request_time"#,
    );
    let mut record = AccessLog::new(None, stamp("21/Jan/2026:22:23:40 +0000"), 503);
    let mut out = Vec::new();
    format.write(&record, &mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"- [21/Jan/2026:22:23:40 +0000] "-" 503 - "-" -"#
    );
    // What reads back: `-` is a request kept raw and a size of 0.
    record.user_agent = Some(Cow::Borrowed(r#"a "b" \c"#));
    record.request = Some(Cow::Borrowed("-"));
    record.size = Some(0);
    assert_eq!(
        round_trip(&format, &record),
        r#"- [21/Jan/2026:22:23:40 +0000] "-" 503 0 "a \"b\" \\c" -"#
    );
}
