//! Lines of every preset and variant, written for these tests from the
//! formats the NGINX (`log_format`, `ngx_http_log_module`) and Apache
//! (`mod_log_config`) documentation define.

use std::borrow::Cow;
use std::net::IpAddr;

use super::*;
use crate::parse::{fast, general};

const ORIGINAL: &str = r#"9.180.123.170 - - [Jan 21 2026, 22:23:40] "DELETE /contact HTTP/1.1" 404 13444 "https://example.com" "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)""#;
const COMBINED: &str = r#"192.0.2.10 - frank [21/Jan/2026:22:23:40 +0100] "GET /catalog/item?id=7 HTTP/1.1" 200 5120 "https://shop.example.org/catalog" "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0""#;
const COMMON: &str =
    r#"192.0.2.10 - alice [21/Jan/2026:22:23:40 +0000] "GET /index.html HTTP/1.0" 200 2326"#;
const NGINX_MAIN: &str = r#"203.0.113.7 - - [21/Jan/2026:22:23:40 +0000] "POST /api/login HTTP/1.1" 401 57 "https://shop.example.org/" "curl/8.5.0" "198.51.100.23, 10.1.0.4""#;
const VHOST_COMBINED: &str = r#"shop.example.org:443 198.51.100.23 - - [21/Jan/2026:22:23:40 +0000] "GET /cart HTTP/2.0" 200 1834 "-" "Mozilla/5.0 (X11; Linux x86_64)""#;

fn ok(line: &str) -> (AccessLog<'_>, Preset) {
    scan(line).unwrap_or_else(|e| panic!("{line}: {e}"))
}

fn err(line: &str) -> ParseError {
    match scan(line) {
        Ok(found) => panic!("{line}: accepted as {found:?}"),
        Err(e) => e,
    }
}

fn ip(text: &str) -> Option<IpAddr> {
    Some(text.parse().unwrap())
}

fn some(text: &str) -> Option<Cow<'_, str>> {
    Some(Cow::Borrowed(text))
}

fn triple<'a>(r: &'a AccessLog<'_>) -> (&'a str, &'a str, &'a str) {
    (&r.method, &r.endpoint, &r.protocol)
}

#[test]
fn preset_names_round_trip() {
    for preset in Preset::ALL {
        assert_eq!(preset.name().parse::<Preset>(), Ok(preset));
        assert_eq!(preset.to_string(), preset.name());
    }
    let e = "apache".parse::<Preset>().unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown log format preset \"apache\": expected one of original, combined, common, nginx-main, vhost-combined"
    );
    assert!("Combined".parse::<Preset>().is_err(), "names are exact");
}

#[test]
fn original() {
    let (r, preset) = ok(ORIGINAL);
    assert_eq!(preset, Preset::Original);
    assert_eq!(Ok(&r), fast::parse_original(ORIGINAL).unwrap().as_ref());
    assert_eq!(r.ip, ip("9.180.123.170"));
    assert_eq!(r.timestamp.to_iso(), "2026-01-21T22:23:40");
    assert_eq!(triple(&r), ("DELETE", "/contact", "HTTP/1.1"));
    assert_eq!((r.status, r.size), (404, Some(13444)));
    assert_eq!(r.referrer, some("https://example.com"));
    assert_eq!(
        r.user_agent,
        some("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)")
    );
    assert!(matches!(r.user_agent, Some(Cow::Borrowed(_))));
    assert_eq!(
        (r.ident, r.user, r.forwarded_for, r.vhost),
        (None, None, None, None)
    );
    assert!(r.extra.is_empty());
}

#[test]
fn combined() {
    let (r, preset) = ok(COMBINED);
    assert_eq!(preset, Preset::Combined);
    assert_eq!(r.ip, ip("192.0.2.10"));
    assert_eq!(
        (r.ident.as_deref(), r.user.as_deref()),
        (None, Some("frank"))
    );
    assert_eq!(r.timestamp.to_iso(), "2026-01-21T22:23:40+01:00");
    assert_eq!(triple(&r), ("GET", "/catalog/item?id=7", "HTTP/1.1"));
    assert_eq!(r.request, None);
    assert_eq!((r.status, r.size), (200, Some(5120)));
    assert_eq!(r.referrer, some("https://shop.example.org/catalog"));
    assert_eq!(
        r.user_agent,
        some("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0")
    );
    assert_eq!(
        (r.client_host, r.forwarded_for, r.vhost),
        (None, None, None)
    );
    assert!(r.extra.is_empty());
}

#[test]
fn combined_agrees_with_the_regex_parser_when_the_user_is_a_dash() {
    let line = COMBINED.replace(" frank ", " - ");
    assert_eq!(Ok(ok(&line).0), general::parse(&line));
}

#[test]
fn common() {
    let (r, preset) = ok(COMMON);
    assert_eq!(preset, Preset::Common);
    assert_eq!(r.ip, ip("192.0.2.10"));
    assert_eq!(r.user.as_deref(), Some("alice"));
    assert_eq!(r.timestamp.to_iso(), "2026-01-21T22:23:40+00:00");
    assert_eq!(triple(&r), ("GET", "/index.html", "HTTP/1.0"));
    assert_eq!((r.status, r.size), (200, Some(2326)));
    assert_eq!((r.referrer, r.user_agent), (None, None));
    assert!(r.extra.is_empty());
}

#[test]
fn any_preset_takes_either_timestamp_shape() {
    // The original's timestamp in a common line is common; the preset is
    // original only for the original's own shape.
    let line = COMMON.replace("21/Jan/2026:22:23:40 +0000", "Jan 21 2026, 22:23:40");
    let (r, preset) = ok(&line);
    assert_eq!(
        (preset, r.timestamp.to_iso()),
        (Preset::Common, "2026-01-21T22:23:40".into())
    );
    let line = ORIGINAL.replace("Jan 21 2026, 22:23:40", "21/Jan/2026:22:23:40 -0500");
    let (r, preset) = ok(&line);
    assert_eq!(
        (preset, r.timestamp.to_iso()),
        (Preset::Combined, "2026-01-21T22:23:40-05:00".into())
    );
    let line = NGINX_MAIN.replace("21/Jan/2026:22:23:40 +0000", "Jan 21 2026, 22:23:40");
    assert_eq!(ok(&line).1, Preset::NginxMain);
    let line = VHOST_COMBINED.replace("21/Jan/2026:22:23:40 +0000", "Jan 21 2026, 22:23:40");
    assert_eq!(ok(&line).1, Preset::VhostCombined);
}

#[test]
fn nginx_main() {
    let (r, preset) = ok(NGINX_MAIN);
    assert_eq!(preset, Preset::NginxMain);
    assert_eq!(r.ip, ip("203.0.113.7"));
    assert_eq!(triple(&r), ("POST", "/api/login", "HTTP/1.1"));
    assert_eq!((r.status, r.size), (401, Some(57)));
    assert_eq!(r.referrer, some("https://shop.example.org/"));
    assert_eq!(r.user_agent, some("curl/8.5.0"));
    assert_eq!(r.forwarded_for, some("198.51.100.23, 10.1.0.4"));
    assert!(r.extra.is_empty());

    // No X-Forwarded-For header: NGINX writes `-`.
    let line = NGINX_MAIN.replace(r#""198.51.100.23, 10.1.0.4""#, r#""-""#);
    let (r, preset) = ok(&line);
    assert_eq!((preset, r.forwarded_for), (Preset::NginxMain, None));
    // What proxies put in the header besides addresses (RFC 7239 §6).
    let line = NGINX_MAIN.replace(
        "198.51.100.23, 10.1.0.4",
        "unknown, [2001:db8::7]:4711, _hidden",
    );
    let (r, preset) = ok(&line);
    assert_eq!(preset, Preset::NginxMain);
    assert_eq!(
        r.forwarded_for,
        some("unknown, [2001:db8::7]:4711, _hidden")
    );
}

#[test]
fn vhost_combined() {
    let (r, preset) = ok(VHOST_COMBINED);
    assert_eq!(preset, Preset::VhostCombined);
    assert_eq!(r.vhost, some("shop.example.org"));
    assert_eq!(r.ip, ip("198.51.100.23"));
    assert_eq!(triple(&r), ("GET", "/cart", "HTTP/2.0"));
    assert_eq!((r.status, r.size), (200, Some(1834)));
    assert_eq!(r.referrer, some("-"));
    assert_eq!(r.user_agent, some("Mozilla/5.0 (X11; Linux x86_64)"));
    assert_eq!(
        r.extra,
        vec![Extra {
            name: Arc::from("server_port"),
            kind: ValueKind::Integer,
            value: Cow::Borrowed("443"),
        }]
    );
    // The name is made once, not per line.
    let (again, _) = ok(VHOST_COMBINED);
    assert!(Arc::ptr_eq(&r.extra[0].name, &again.extra[0].name));
}

#[test]
fn vhost_variants() {
    // An IPv6 client after the vhost: colons in both.
    let line = VHOST_COMBINED.replace("198.51.100.23", "2001:db8::1");
    let (r, preset) = ok(&line);
    assert_eq!(
        (preset, r.ip, r.vhost),
        (
            Preset::VhostCombined,
            ip("2001:db8::1"),
            some("shop.example.org")
        )
    );
    // A server named by its address, IPv4 and bracketed IPv6.
    let line = VHOST_COMBINED.replace("shop.example.org:443", "192.0.2.1:8080");
    let (r, _) = ok(&line);
    assert_eq!(
        (r.vhost, r.extra[0].value.as_ref()),
        (some("192.0.2.1"), "8080")
    );
    let line = VHOST_COMBINED.replace("shop.example.org:443", "[2001:db8::80]:443");
    assert_eq!(ok(&line).0.vhost, some("[2001:db8::80]"));
    // Apache's `%v %h ...` (no port).
    let line = VHOST_COMBINED.replace("shop.example.org:443", "shop.example.org");
    let (r, preset) = ok(&line);
    assert_eq!(
        (preset, r.vhost, r.ip),
        (
            Preset::VhostCombined,
            some("shop.example.org"),
            ip("198.51.100.23")
        )
    );
    assert!(r.extra.is_empty());
    // An address-like vhost that is also a valid IPv6 address (`::1:80`)
    // is still read as vhost and port when the shape says so.
    let line = VHOST_COMBINED.replace("shop.example.org:443", "::1:80");
    let (r, _) = ok(&line);
    assert_eq!((r.vhost, r.extra[0].value.as_ref()), (some("::1"), "80"));
    // vhost + the common shape.
    let line =
        "www.example.com:80 192.0.2.10 - - [21/Jan/2026:22:23:40 +0000] \"GET / HTTP/1.1\" 304 -";
    let (r, preset) = ok(line);
    assert_eq!(
        (preset, r.referrer, r.size),
        (Preset::VhostCombined, None, Some(0))
    );
}

#[test]
fn trailing_fields_are_kept() {
    let trailing = |line: &str| -> (Preset, Vec<(String, ValueKind, String)>) {
        let (r, preset) = ok(line);
        let extra = r
            .extra
            .iter()
            .map(|e| (e.name.to_string(), e.kind, e.value.to_string()))
            .collect();
        (preset, extra)
    };
    let kept = |value: &str| vec![("trailing".to_owned(), ValueKind::Keyword, value.to_owned())];

    let line = format!(r#"{COMBINED} rt=0.123 uct="0.000" uht="0.001" urt="0.002""#);
    assert_eq!(
        trailing(&line),
        (
            Preset::Combined,
            kept(r#"rt=0.123 uct="0.000" uht="0.001" urt="0.002""#)
        )
    );
    // The original's timestamp with trailing fields is no longer its shape.
    let line = format!("{ORIGINAL} 0.004");
    assert_eq!(trailing(&line), (Preset::Combined, kept("0.004")));
    let line = format!("{NGINX_MAIN} 0.052 \"upstream-a\"");
    assert_eq!(
        trailing(&line),
        (Preset::NginxMain, kept("0.052 \"upstream-a\""))
    );
    assert_eq!(ok(&line).0.forwarded_for, some("198.51.100.23, 10.1.0.4"));
    // A quoted field after the agent that is no forwarded-for list.
    let line = format!(r#"{COMBINED} "rt=0.1" "req-42""#);
    assert_eq!(
        trailing(&line),
        (Preset::Combined, kept(r#""rt=0.1" "req-42""#))
    );
    assert_eq!(ok(&line).0.forwarded_for, None);
    // Spaces only: nothing to keep.
    let line = format!("{COMBINED}  ");
    assert_eq!(trailing(&line), (Preset::Combined, vec![]));
    // vhost: the port first, then the trailing text.
    let line = format!("{VHOST_COMBINED} 1234");
    let (preset, extra) = trailing(&line);
    assert_eq!(preset, Preset::VhostCombined);
    assert_eq!(extra[0].0, "server_port");
    assert_eq!(extra[1], kept("1234")[0]);
}

#[test]
fn client_variants() {
    let with_client = |client: &str| COMBINED.replacen("192.0.2.10", client, 1);

    let line = with_client("2001:db8:85a3::8a2e:370:7334");
    assert_eq!(ok(&line).0.ip, ip("2001:db8:85a3::8a2e:370:7334"));

    // NGINX's `$proxy_add_x_forwarded_for`, with spaces.
    let line = with_client("10.0.0.2, 10.0.0.1, 127.0.0.1");
    let (r, preset) = ok(&line);
    assert_eq!(preset, Preset::Combined);
    assert_eq!(
        (r.ip, r.forwarded_for),
        (ip("10.0.0.2"), some("10.0.0.2, 10.0.0.1, 127.0.0.1"))
    );
    assert_eq!(r.user.as_deref(), Some("frank"));

    // Without spaces, and quoted.
    let line = with_client("10.0.0.2,10.0.0.1");
    assert_eq!(ok(&line).0.forwarded_for, some("10.0.0.2,10.0.0.1"));
    let line = with_client(r#""10.0.0.2, 10.0.0.1""#);
    let (r, _) = ok(&line);
    assert_eq!(
        (r.ip, r.forwarded_for),
        (ip("10.0.0.2"), some("10.0.0.2, 10.0.0.1"))
    );

    // The first entry that is an address.
    let line = with_client("unknown, 2001:db8::2, 10.0.0.1");
    let (r, _) = ok(&line);
    assert_eq!(
        (r.ip, r.forwarded_for),
        (ip("2001:db8::2"), some("unknown, 2001:db8::2, 10.0.0.1"))
    );

    // Apache's `HostnameLookups On`.
    for host in [
        "client.example.net",
        "localhost",
        "host-7.example.net.",
        "a_b.example",
    ] {
        let line = with_client(host);
        let (r, _) = ok(&line);
        assert_eq!(
            (r.ip, r.client_host, r.forwarded_for),
            (None, some(host), None),
            "{host}"
        );
    }
}

#[test]
fn what_is_not_a_client() {
    for (client, problem) in [
        ("10.0.0.999", "\"10.0.0.999\""),
        ("2026/01/21", "\"2026/01/21\""),
        ("-host.example", "\"-host.example\""),
        ("unknown, nobody", "\"unknown, nobody\""),
        (r#""-""#, "\"-\""),
        ("unix:", "\"unix:\""),
    ] {
        let line = COMBINED.replacen("192.0.2.10", client, 1);
        let e = err(&line);
        assert_eq!((e.field, e.at), (Field::Ip, 0), "{line}: {e}");
        assert_eq!(
            e.to_string(),
            format!(
                "ip at byte 0: {problem} is not an IP address, an X-Forwarded-For chain with one or a host name"
            )
        );
    }
}

#[test]
fn ident_and_user() {
    let line = COMBINED.replace(" - frank ", " ident-42 frank ");
    let (r, _) = ok(&line);
    assert_eq!((r.ident, r.user), (some("ident-42"), some("frank")));
    let line = COMBINED.replace(" - frank ", " - - ");
    let (r, _) = ok(&line);
    assert_eq!((r.ident, r.user), (None, None));
}

#[test]
fn requests_that_are_not_a_triple() {
    let with_request = |request: &str, status: &str, size: &str| {
        COMBINED
            .replace(r#""GET /catalog/item?id=7 HTTP/1.1""#, request)
            .replace(" 200 5120 ", &format!(" {status} {size} "))
    };
    // Apache's idle keep-alive connection, NGINX's TLS handshake on a plain
    // port, a scanner's bytes in NGINX's `\xHH` escapes (kept as written).
    let raw_tls = r"\x16\x03\x01\x02\x00\x01\x00\x01\xFC\x03\x03";
    for (request, status, size, raw) in [
        (r#""-""#, "408", "-", "-"),
        (r#""""#, "400", "0", ""),
        (&*format!("\"{raw_tls}\""), "400", "157", raw_tls),
        (r#""GET /""#, "400", "150", "GET /"),
    ] {
        let line = with_request(request, status, size);
        let (r, _) = ok(&line);
        assert_eq!(r.request, some(raw), "{line}");
        assert_eq!(triple(&r), ("", "", ""));
        assert_eq!(r.status.to_string(), status);
        assert_eq!(r.size, Some(size.parse().unwrap_or(0)));
    }
    // `\"` inside a request is a quote.
    let line = with_request(r#""GET /say?q=\"hi\" HTTP/1.1""#, "200", "1");
    let (r, _) = ok(&line);
    assert_eq!(r.endpoint, r#"/say?q="hi""#);
    let line = with_request(r#""\"quoted\" junk""#, "400", "1");
    assert_eq!(ok(&line).0.request, some("\"quoted\" junk"));
}

#[test]
fn escapes_in_referrer_and_agent() {
    let line = COMBINED.replace(
        r#""Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0""#,
        r#""Agent \"quoted\" \\ end""#,
    );
    let (r, _) = ok(&line);
    assert_eq!(r.user_agent, some(r#"Agent "quoted" \ end"#));
}

#[test]
fn rejections_name_the_field_and_position() {
    let error_log = r#"2026/01/21 22:23:40 [error] 1234#0: *5 open() "/usr/share/nginx/html/favicon.ico" failed (2: No such file or directory), client: 192.0.2.1, server: localhost, request: "GET /favicon.ico HTTP/1.1", host: "localhost""#;
    let cases: Vec<(String, Field, usize, &str)> = vec![
        (error_log.into(), Field::Ip, 0, "\"2026/01/21\" is not an IP address"),
        ("".into(), Field::Ip, 0, "is missing"),
        (" 1.2.3.4 - - [".into(), Field::Ip, 0, "expected a client address"),
        ("hello".into(), Field::Ident, 5, "is missing"),
        ("1.2.3.4 - -".into(), Field::Timestamp, 11, "is missing"),
        ("1.2.3.4 - - x [".into(), Field::Timestamp, 11, "expected ` [` and the timestamp, found \" x [\""),
        (
            r#"1.2.3.4 - - [21/Jan/2026:22:23:40 +0000 "GET / HTTP/1.1" 200 1"#.into(),
            Field::Timestamp,
            12,
            "opening `[` is never closed",
        ),
        (
            r#"1.2.3.4 - - [21/Jan/2026:22:23:40 +0000] "GET / HTTP/1.1 200 1"#.into(),
            Field::Request,
            41,
            "opening `\"` is never closed",
        ),
        (
            r#"1.2.3.4 - - [21/Jan/2026:22:23:40 +0000] "GET / HTTP/1.1" 200 1 "-" "curl"#.into(),
            Field::UserAgent,
            68,
            "opening `\"` is never closed",
        ),
        (
            r#"1.2.3.4 - - [21/Jan/2026:22:23:40 +0000] "GET / HTTP/1.1" 200 1 "-" "curl" "10.0.0.1"#.into(),
            Field::ForwardedFor,
            75,
            "opening `\"` is never closed",
        ),
        (
            r#"1.2.3.4 - - [21/Jan/2026:22:23:40 +0000] "GET / HTTP/1.1" 200 1 "-""#.into(),
            Field::UserAgent,
            67,
            "is missing",
        ),
        (
            r#"1.2.3.4 - - [21/Jan/2026:22:23:40 +0000] "GET / HTTP/1.1" 200 1 rt=0.1"#.into(),
            Field::Referrer,
            63,
            "expected the end of the line (common) or ` \"` and the referrer (combined), found \" rt=0.1\"",
        ),
        (
            r#"1.2.3.4 - - [21/Jan/2026:22:23:40 +0000] "GET / HTTP/1.1" 2000 1"#.into(),
            Field::Status,
            58,
            "\"2000\" is not a 3-digit HTTP status code",
        ),
        (
            r#"1.2.3.4 - - [21/Jan/2026:22:23:40 +0000] "GET / HTTP/1.1" 200 x1"#.into(),
            Field::Size,
            62,
            "\"x1\" is not a byte count",
        ),
        (
            r#"1.2.3.4 - - [32/Jan/2026:22:23:40 +0000] "GET / HTTP/1.1" 200 1"#.into(),
            Field::Timestamp,
            13,
            "2026-01-32 is not a date",
        ),
        (
            r#"1.2.3.4 - - [21/Jan/2026:22:23:40 +0000] "GET / HTTP/1.1" 200 1 "-" "curl"x"#.into(),
            Field::Line,
            74,
            "unexpected text after the last field: \"x\"",
        ),
        (
            r#"1.2.3.4 - - [21/Jan/2026:22:23:40 +0000] "GET / HTTP/1.1" 200 1 "-" "curl" "-"x"#.into(),
            Field::Line,
            78,
            "unexpected text after the last field: \"x\"",
        ),
        (
            r#"1.2.3.4 - - [21/Jan/2026:22:23:40 +0000]"GET / HTTP/1.1" 200 1"#.into(),
            Field::Request,
            40,
            "expected ` \"` before the request",
        ),
        // A bad port is no vhost, so the first token is a bad client.
        (VHOST_COMBINED.replace(":443", ":99999"), Field::Ip, 0, "\"shop.example.org:99999\" is not"),
        // A vhost and port, then a bad client: said of the client.
        (VHOST_COMBINED.replace("198.51.100.23", "198.51.100.999"), Field::Ip, 21, "\"198.51.100.999\" is not"),
    ];
    for (line, field, at, message) in &cases {
        let e = err(line);
        assert_eq!((e.field, e.at), (*field, *at), "{line}: {e}");
        assert!(e.to_string().contains(message), "{line}: {e}");
    }
}

/// Every prefix of a valid line is read or rejected, never a panic; the
/// prefixes that are themselves a whole line of a shorter preset are read.
#[test]
fn truncated_lines_parse_or_fail_cleanly() {
    let lines = [ORIGINAL, COMBINED, COMMON, NGINX_MAIN, VHOST_COMBINED];
    for line in lines {
        let mut accepted = 0;
        for end in (0..=line.len()).filter(|&end| line.is_char_boundary(end)) {
            let prefix = &line[..end];
            match scan(prefix) {
                Ok(_) => accepted += 1,
                Err(e) => assert!(e.at <= prefix.len(), "{prefix}: {e}"),
            }
        }
        assert!(accepted >= 1, "{line}");
    }
    // The common line inside the combined one.
    let size_end = COMBINED.find(" \"https").unwrap();
    assert_eq!(ok(&COMBINED[..size_end]).1, Preset::Common);
    // Cut inside the referrer or agent: rejected.
    assert_eq!(err(&COMBINED[..size_end + 5]).field, Field::Referrer);
    assert_eq!(err(&COMBINED[..COMBINED.len() - 1]).field, Field::UserAgent);
}

#[test]
fn no_copy_for_a_line_without_escapes() {
    let (r, _) = ok(NGINX_MAIN);
    for text in [&r.method, &r.endpoint, &r.protocol] {
        assert!(matches!(text, Cow::Borrowed(_)));
    }
    for text in [&r.referrer, &r.user_agent, &r.forwarded_for] {
        assert!(matches!(text, Some(Cow::Borrowed(_))));
    }
}

#[test]
fn host_names() {
    for name in [
        "localhost",
        "a.example",
        "x-1.example.net.",
        "_dmarc.example.org",
        "EXAMPLE.COM",
    ] {
        assert!(client::is_host_name(name), "{name}");
    }
    let long_label = "a".repeat(64);
    for not in [
        "",
        ".",
        "a..b",
        "-a.example",
        "a-.example",
        "1.2.3.4",
        "10.0.0.999",
        "a.1",
        "a b",
        "é.example",
        "a:b",
        &long_label,
    ] {
        assert!(!client::is_host_name(not), "{not}");
    }
}

/// The rule of [`client::is_host_name`] written label by label, as it was
/// before it became one pass over the bytes: the two agree on every
/// string of a small alphabet up to five characters and on the limits.
fn host_name_by_labels(text: &str) -> bool {
    let name = text.strip_suffix('.').unwrap_or(text);
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    let label_ok = |label: &str| {
        let b = label.as_bytes();
        !b.is_empty()
            && b.len() <= 63
            && b.iter()
                .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
    };
    let last_is_numeric = name
        .rsplit('.')
        .next()
        .is_some_and(|last| last.bytes().all(|c| c.is_ascii_digit()));
    name.split('.').all(label_ok) && !last_is_numeric
}

#[test]
fn host_names_one_pass_agrees_with_label_by_label() {
    let alphabet = ["a", "Z", "1", "-", "_", ".", ":", " ", "é"];
    let mut texts = vec![String::new()];
    let mut checked = 0;
    for _ in 0..5 {
        let mut longer = Vec::new();
        for text in &texts {
            for c in alphabet {
                let text = format!("{text}{c}");
                assert_eq!(
                    client::is_host_name(&text),
                    host_name_by_labels(&text),
                    "{text:?}"
                );
                checked += usize::from(host_name_by_labels(&text));
                longer.push(text);
            }
        }
        texts = longer;
    }
    assert!(checked > 1000, "{checked} names among the strings");
    let label = |n| "a".repeat(n);
    for text in [
        label(63),
        label(64),
        format!("{}.{}", label(63), label(63)),
        [label(63).as_str(); 4].join("."),
        format!("{}.", [label(63).as_str(); 4].join(".")),
        format!("{}.a", [label(63).as_str(); 3].join(".")),
        format!("{}.ab", [label(63).as_str(); 3].join(".")),
        format!("{}.ab.", [label(63).as_str(); 3].join(".")),
    ] {
        assert_eq!(
            client::is_host_name(&text),
            host_name_by_labels(&text),
            "{} bytes",
            text.len()
        );
    }
}

/// The rule of `looks_forwarded` written entry by entry, as it was before
/// it became one pass: the two agree on every string of a small alphabet
/// up to six characters.
fn forwarded_by_entries(text: &str) -> bool {
    text == "-"
        || text.split(',').all(|entry| {
            let entry = entry.trim_matches(' ');
            !entry.is_empty()
                && entry.bytes().all(|b| {
                    b.is_ascii_alphanumeric()
                        || matches!(b, b'.' | b':' | b'[' | b']' | b'_' | b'-')
                })
        })
}

#[test]
fn forwarded_one_pass_agrees_with_entry_by_entry() {
    let alphabet = ["a", "1", ",", " ", "-", ":", "=", "\""];
    let mut texts = vec![String::new()];
    let mut forwarded = 0;
    for _ in 0..6 {
        let mut longer = Vec::new();
        for text in &texts {
            for c in alphabet {
                let text = format!("{text}{c}");
                let expected = forwarded_by_entries(&text);
                assert_eq!(looks_forwarded(&text), expected, "{text:?}");
                forwarded += usize::from(expected);
                longer.push(text);
            }
        }
        texts = longer;
    }
    assert!(forwarded > 1000, "{forwarded} chains among the strings");
}
