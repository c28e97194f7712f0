//! The `logpipe` binary, run as a user would.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn logpipe(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_logpipe"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("logpipe starts");
    let mut input = child.stdin.take().expect("stdin is piped");
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || input.write_all(&stdin));
    let output = child.wait_with_output().expect("logpipe runs");
    writer.join().expect("stdin writer").expect("stdin written");
    output
}

fn json_lines(bytes: &[u8]) -> Vec<Value> {
    std::str::from_utf8(bytes)
        .expect("UTF-8 output")
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[test]
fn generate_then_parse_100k_lines_without_rejection() {
    let generated = logpipe(&["generate", "--count", "100000", "--seed", "7"], b"");
    assert!(generated.status.success());
    assert_eq!(
        generated.stdout.iter().filter(|&&b| b == b'\n').count(),
        100_000
    );

    let parsed = logpipe(&["parse"], &generated.stdout);
    assert_eq!(
        parsed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    let docs = json_lines(&parsed.stdout);
    assert_eq!(docs.len(), 100_000);
    let stderr = String::from_utf8_lossy(&parsed.stderr);
    assert_eq!(
        stderr.trim(),
        "logpipe parse: 100000 lines, 100000 parsed, 0 rejected"
    );

    let fields: Vec<&str> = docs[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "ip",
        "timestamp",
        "method",
        "endpoint",
        "protocol",
        "status",
        "size",
        "referrer",
        "user_agent",
    ];
    let mut sorted = fields.clone();
    sorted.sort_unstable();
    expected.sort_unstable();
    assert_eq!(sorted, expected);
    assert!(
        docs.iter()
            .all(|d| d["status"].is_u64() && d["size"].is_u64())
    );
}

#[test]
fn same_seed_and_start_give_the_same_bytes() {
    let args = [
        "generate",
        "-n",
        "500",
        "--seed",
        "42",
        "--start",
        "2026-01-21T22:23:40",
    ];
    let a = logpipe(&args, b"");
    let b = logpipe(&args, b"");
    assert_eq!(a.stdout, b.stdout);
    let text = String::from_utf8(a.stdout).unwrap();
    assert!(
        text.lines()
            .all(|l| l.contains(" - - [Jan 21 2026, 22:23:40] \""))
    );
}

#[test]
fn parse_reports_each_rejection_and_exits_2() {
    let good = logpipe(&["generate", "-n", "2", "--seed", "1"], b"").stdout;
    let good = String::from_utf8(good).unwrap();
    let mut good_lines = good.lines();
    let mut input = Vec::new();
    writeln!(input, "{}", good_lines.next().unwrap()).unwrap();
    input.extend_from_slice(
        b"1.2.3.4 - - [Feb 30 2026, 10:00:00] \"GET / HTTP/1.1\" 200 1 \"-\" \"a\"\n",
    );
    input.extend_from_slice(b"\xff\xfe not utf-8\r\n");
    input.extend_from_slice(b"\n");
    writeln!(input, "{}", good_lines.next().unwrap()).unwrap();

    let out = logpipe(&["parse"], &input);
    assert_eq!(out.status.code(), Some(2));
    let docs = json_lines(&out.stdout);
    assert_eq!(docs.len(), 2, "valid lines still come out, in order");
    let rejected = json_lines(&out.stderr);
    assert_eq!(rejected.len(), 3);
    assert_eq!(rejected[0]["line"], 2);
    assert_eq!(
        rejected[0]["reason"],
        "timestamp at byte 13: 2026-02-30 is not a date"
    );
    assert!(
        rejected[0]["raw"]
            .as_str()
            .unwrap()
            .starts_with("1.2.3.4 - - [Feb 30")
    );
    assert_eq!(rejected[1]["line"], 3);
    assert_eq!(rejected[1]["reason"], "line at byte 0: is not valid UTF-8");
    assert_eq!(
        rejected[1]["raw_base64"], "//4gbm90IHV0Zi04",
        "exact bytes, without the CRLF"
    );
    assert_eq!(rejected[2]["line"], 4);
    assert_eq!(rejected[2]["reason"], "line at byte 0: is empty");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.ends_with("logpipe parse: 5 lines, 2 parsed, 3 rejected\n"),
        "{stderr}"
    );
}

#[test]
fn parse_reads_files_in_order_and_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.log");
    let b = dir.path().join("b.log");
    std::fs::write(
        &a,
        logpipe(&["generate", "-n", "3", "--seed", "1"], b"").stdout,
    )
    .unwrap();
    std::fs::write(&b, "garbage\n").unwrap();
    let out = logpipe(&["parse", a.to_str().unwrap(), b.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json_lines(&out.stdout).len(), 3);
    let rejected = json_lines(&out.stderr);
    assert_eq!(rejected[0]["file"], b.to_str().unwrap());
    assert_eq!(rejected[0]["line"], 1);

    let missing = logpipe(&["parse", "/nonexistent/x.log"], b"");
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("opening /nonexistent/x.log"));
}

#[test]
fn combined_format_and_realistic_traffic_parse_back() {
    let lines = logpipe(
        &[
            "generate",
            "-n",
            "2000",
            "--seed",
            "3",
            "--realistic",
            "--format",
            "combined",
            "--utc-offset",
            "-07:00",
        ],
        b"",
    );
    assert!(lines.status.success());
    let out = logpipe(&["parse"], &lines.stdout);
    assert_eq!(out.status.code(), Some(0));
    let docs = json_lines(&out.stdout);
    assert_eq!(docs.len(), 2000);
    assert!(docs[0]["timestamp"].as_str().unwrap().ends_with("-07:00"));
    assert!(
        docs.iter().any(|d| d["ip"].as_str().unwrap().contains(':')),
        "some IPv6"
    );
}

/// Each server format's lines have its shape (the parsers' own tests read
/// them back); `-` where a format has nothing to write.
#[test]
fn every_server_format_is_generated() {
    let head = r#"(\S+) - (-|\w+) \[21/Jan/2026:22:23:40 \+0000\] "[A-Z]+ \S+ HTTP/1\.1" \d{3} "#;
    let tail = r#" "[^"]+" "[^"]+""#;
    for (format, shape) in [
        ("combined", format!(r"^{head}\d+{tail}$")),
        ("common", format!(r"^{head}(\d+|-)$")),
        ("nginx-main", format!(r#"^{head}\d+{tail} "[^"]+"$"#)),
        (
            "vhost-combined",
            format!(r"^[a-z.]+\.example\.com:(80|443) {head}\d+{tail}$"),
        ),
    ] {
        let out = logpipe(
            &[
                "generate",
                "-n",
                "300",
                "--seed",
                "5",
                "--start",
                "2026-01-21T22:23:40",
                "--format",
                format,
            ],
            b"",
        );
        assert!(out.status.success(), "{format}");
        let shape = regex::Regex::new(&shape).unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(text.lines().count(), 300);
        for line in text.lines() {
            assert!(shape.is_match(line), "{format}: {line}");
        }
        assert!(
            text.lines().any(|l| !l.contains(" - - [")),
            "{format}: some users"
        );
    }
    let out = logpipe(&["generate", "-n", "1", "--utc-offset", "+01:00"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the original format has no offset"));
}

#[test]
fn bad_arguments_are_explained() {
    let out = logpipe(&["generate", "-n", "1", "--ipv6-share", "2"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a share between 0 and 1"));
    let out = logpipe(&["generate", "-n", "1", "--start", "yesterday"], b"");
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a date and time"));
}

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["generate", "--help"],
        &["parse", "--help"],
    ] {
        let out = logpipe(args, b"");
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage: logpipe"),
            "{args:?}"
        );
    }
}
