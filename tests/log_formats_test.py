"""Real servers' lines through the whole pipeline (issue: log formats).

The producer Lambda publishes every built-in format; lines as NGINX and Apache really write
them (idle keep-alive 408s, TLS handshakes, scanners' bytes, X-Forwarded-For chains, host
names, trailing fields) go to the topic beside them; `logpipe esm` feeds the indexer Lambda
with `LOG_FORMAT` unset (`auto`). Nothing but the one line that is no access log is
dead-lettered, and every document is exactly what `logpipe parse` says of its line.
A user's own NGINX `log_format` is indexed with its variables typed as NGINX documents them.
Test lines are written here from the NGINX and Apache documentation.
"""

import json
import os
import subprocess
import uuid

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

import eshttp
import kafka_events as ke
from lambda_emulator import LambdaEmulator

PRESETS = ["original", "combined", "common", "nginx-main", "vhost-combined"]
PER_PRESET = 200

# (line, fields its document must have, fields it must not have)
REAL_LINES = [
    # Apache closes an idle keep-alive connection: no request line at all.
    ('192.0.2.10 - - [21/Jan/2026:22:23:40 +0000] "-" 408 - "-" "-"',
     {"request": "-", "status": 408, "size": 0}, {"method", "endpoint", "protocol"}),
    # NGINX: a TLS handshake sent to a plain-HTTP port (stock `main` format).
    ('198.51.100.23 - - [21/Jan/2026:22:23:41 +0000] "" 400 0 "-" "-" "-"',
     {"request": "", "status": 400}, {"method", "forwarded_for"}),
    # NGINX writes a scanner's binary bytes with \xHH escapes; kept as written.
    ('203.0.113.99 - - [21/Jan/2026:22:23:42 +0000] "\\x16\\x03\\x01\\x00\\xF1\\x01" 400 157 "-" "-" "-"',
     {"request": "\\x16\\x03\\x01\\x00\\xF1\\x01", "status": 400, "size": 157}, {"method"}),
    # The client field as an X-Forwarded-For chain.
    ('10.0.0.2, 10.0.0.1, 127.0.0.1 - - [21/Jan/2026:22:23:43 +0000] "GET /status HTTP/1.1" 200 12 "-" "kube-probe/1.29"',
     {"ip": "10.0.0.2", "forwarded_for": ["10.0.0.2", "10.0.0.1", "127.0.0.1"], "endpoint": "/status"}, set()),
    # Apache with HostnameLookups On, and an authenticated user.
    ('client-7.example.net - alice [21/Jan/2026:22:23:44 +0100] "POST /login HTTP/1.1" 302 - "https://www.example.com/" "Mozilla/5.0 (X11; Linux x86_64)"',
     {"client_host": "client-7.example.net", "user": "alice", "timestamp": "2026-01-21T22:23:44+01:00"}, {"ip"}),
    # NGINX `main` with a proxy's X-Forwarded-For header.
    ('192.0.2.30 - - [21/Jan/2026:22:23:45 +0000] "GET /api/items?page=2 HTTP/2.0" 200 5120 "-" "curl/8.5.0" "203.0.113.7, 10.1.2.3"',
     {"ip": "192.0.2.30", "forwarded_for": ["203.0.113.7", "10.1.2.3"], "protocol": "HTTP/2.0"}, set()),
    # Combined with timings appended: kept, not a reason to reject.
    ('192.0.2.44 - - [21/Jan/2026:22:23:46 +0000] "GET / HTTP/1.1" 200 1042 "-" "curl/8.5.0" rt=0.012 uct="0.000"',
     {"trailing": 'rt=0.012 uct="0.000"'}, set()),
    # Apache vhost_combined.
    ('www.example.com:443 192.0.2.45 - - [21/Jan/2026:22:23:47 +0000] "GET / HTTP/1.1" 200 1042 "-" "Mozilla/5.0"',
     {"vhost": "www.example.com", "server_port": 443, "ip": "192.0.2.45"}, set()),
    # Apache common, with a user.
    ('192.0.2.46 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326',
     {"user": "frank", "size": 2326}, {"referrer", "user_agent"}),
]
# An NGINX error-log line is not an access log: its dead letter says which formats were tried.
ERROR_LOG_LINE = ('2026/01/21 22:23:48 [error] 1234#1234: *5 open() "/usr/share/nginx/html/favicon.ico" failed '
                  '(2: No such file or directory), client: 192.0.2.1, server: localhost, '
                  'request: "GET /favicon.ico HTTP/1.1", host: "localhost"')


@pytest.fixture
def pipeline():
    run = uuid.uuid4().hex[:10]
    env = dict(os.environ, KAFKA_TOPIC=f"formats-{run}", ELASTICSEARCH_INDEX=f"formats-{run}",
               ELASTICSEARCH_DEADLETTER_INDEX=f"formats-{run}-dead", RUST_LOG="warn")
    env.pop("LOG_FORMAT", None)
    admin = AdminClient({"bootstrap.servers": ke.BOOTSTRAP})
    for future in admin.create_topics([NewTopic(env["KAFKA_TOPIC"], 3, 1)]).values():
        future.result(15)
    yield env
    for index in (env["ELASTICSEARCH_INDEX"], env["ELASTICSEARCH_DEADLETTER_INDEX"]):
        eshttp.delete_index(index)


def esm(env, lambdas, group):
    done = subprocess.run(
        [ke.LOGPIPE, "esm", "-q", "--endpoint", f"http://127.0.0.1:{lambdas.port}", "--function", "indexer",
         "--group", group, "--idle-seconds", "2", "--max-seconds", "240"],
        env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr + lambdas.function_log()[-3000:]
    return json.loads(done.stdout)


def parse_documents(lines, log_format=None):
    """`logpipe parse` of each line (bytes): its document, or None when rejected."""
    env = dict(os.environ)
    env.pop("LOG_FORMAT", None)
    args = [str(ke.LOGPIPE), "parse"] + (["--log-format", log_format] if log_format else [])
    done = subprocess.run(args, input=b"".join(line + b"\n" for line in lines), env=env,
                          capture_output=True, timeout=60)
    assert done.returncode in (0, 2), done.stderr
    rejected = {json.loads(x)["line"] for x in done.stderr.splitlines() if x.startswith(b"{")}
    docs = iter(json.loads(x) for x in done.stdout.splitlines())
    return [None if n in rejected else next(docs) for n in range(1, len(lines) + 1)]


def test_every_built_in_format_and_real_servers_lines_are_indexed(pipeline):
    topic = pipeline["KAFKA_TOPIC"]
    with LambdaEmulator(env=pipeline) as lambdas:
        for seed, preset in enumerate(PRESETS):
            answer = lambdas.invoke("producer", {"count": PER_PRESET, "seed": seed, "format": preset,
                                                 "start": "2026-01-21T22:00:00", "rate": 50})
            assert answer["produced"] == PER_PRESET, answer
        real = ke.produce([line.encode() for line, _, _ in REAL_LINES] + [ERROR_LOG_LINE.encode()],
                          topic=topic)
        total = PER_PRESET * len(PRESETS) + len(real)
        report = esm(pipeline, lambdas, f"{topic}-esm")
        assert (report["records"], report["failed"]) == (total, 0), report

    indexed = ke.all_docs(pipeline["ELASTICSEARCH_INDEX"])
    letters = ke.dead_letters(pipeline["ELASTICSEARCH_DEADLETTER_INDEX"])
    error_line = real[-1]
    assert list(letters) == [error_line.doc_id], "only the error-log line is a dead letter"
    reason = letters[error_line.doc_id]["reason"]
    assert all(name in reason for name in PRESETS), reason
    assert len(indexed) == total - 1

    # Every document is `logpipe parse`'s document of its line, field for field.
    placed = [ke.KRecord(topic, d["kafka"]["partition"], d["kafka"]["offset"], None) for d in indexed.values()]
    records = [r for r in ke.consume(ke.ranges_of(placed), topic=topic) if r.doc_id in indexed]
    assert len(records) == len(indexed)
    parsed = parse_documents([r.value for r in records])
    for record, document in zip(records, parsed):
        stored = dict(indexed[record.doc_id])
        assert stored.pop("kafka") == {"topic": topic, "partition": record.partition, "offset": record.offset}
        assert stored == document, record.value

    # And the real servers' lines carry what their servers meant.
    for krecord, (line, has, has_not) in zip(real, REAL_LINES):
        doc = indexed[krecord.doc_id]
        for field, value in has.items():
            assert doc.get(field) == value, (line, field, doc)
        assert not has_not & doc.keys(), (line, doc)

    # The producer's presets each came through with their own fields.
    docs = list(indexed.values())
    assert sum("vhost" in d and "server_port" in d for d in docs) >= PER_PRESET
    assert sum("referrer" not in d for d in docs) >= PER_PRESET, "common lines have no referrer"
    assert any("forwarded_for" in d for d in docs), "nginx-main lines carry X-Forwarded-For"


NGINX_FORMAT = ("log_format timed '$remote_addr - $remote_user [$time_local] \"$request\" '\n"
                "    '$status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" '\n"
                "    'rt=$request_time urt=\"$upstream_response_time\" us=\"$upstream_status\" '\n"
                "    'ua=\"$upstream_addr\" $host $request_id';")
TIMED_LINES = [
    # Two upstreams tried (the first answered 502), as NGINX lists them.
    '192.0.2.7 - bob [21/Jan/2026:22:23:40 +0000] "GET /api/cart HTTP/1.1" 200 812 "-" "curl/8.5.0" '
    'rt=0.105 urt="0.051, 0.052" us="502, 200" ua="10.0.0.5:8080, 10.0.0.6:8080" shop.example.com '
    '5f0c6c7e1d2b4a6f8e9d0c1b2a3f4e5d',
    # Served from cache: no upstream, `-` everywhere NGINX had nothing.
    '192.0.2.8 - - [21/Jan/2026:22:23:41 +0000] "GET /static/app.js HTTP/1.1" 200 10240 "-" "Mozilla/5.0" '
    'rt=0.000 urt="-" us="-" ua="-" shop.example.com 0123456789abcdef0123456789abcdef',
]


def test_a_users_nginx_log_format_is_indexed_with_typed_fields(pipeline):
    index = pipeline["ELASTICSEARCH_INDEX"]
    records = ke.produce([line.encode() for line in TIMED_LINES], topic=pipeline["KAFKA_TOPIC"], partition=0)
    done = ke.run_index(ke.build_event(records), ke.index_env(index, LOG_FORMAT=NGINX_FORMAT))
    assert done.code == 0, done.stderr
    assert (done.out["report"]["indexed"], done.out["report"]["dead_lettered"]) == (2, 0), done.out

    first, cached = (ke.get_doc(index, r.doc_id) for r in records)
    assert first["user"] == "bob" and first["vhost"] == "shop.example.com"
    assert first["request_time"] == 0.105
    assert first["upstream_response_time"] == [0.051, 0.052]
    assert first["upstream_status"] == [502, 200]
    assert first["upstream_addr"] == ["10.0.0.5:8080", "10.0.0.6:8080"]
    assert first["request_id"] == "5f0c6c7e1d2b4a6f8e9d0c1b2a3f4e5d"
    assert cached["request_time"] == 0.0
    assert not {"upstream_response_time", "upstream_status", "upstream_addr", "user"} & cached.keys()
    # Typed by the template, not guessed by dynamic mapping.
    props = eshttp.call("GET", f"/{index}/_mapping").json()[index]["mappings"]["properties"]
    assert props["request_time"]["type"] == "float"
    assert props["upstream_status"]["type"] == "short"
    assert props["upstream_addr"]["type"] == "keyword"
    assert props["request_id"]["type"] == "keyword"

    # `logpipe parse --log-format` gives the same documents.
    for krecord, document in zip(records, parse_documents([r.value for r in records], NGINX_FORMAT)):
        stored = ke.get_doc(index, krecord.doc_id)
        stored.pop("_version")
        stored.pop("kafka")
        assert stored == document
    ke.drop_index(index)


def test_a_format_that_does_not_compile_stops_the_start_naming_it(pipeline):
    records = ke.produce([TIMED_LINES[0].encode()], topic=pipeline["KAFKA_TOPIC"])
    bad = '$remote_addr [$time_local] "$request $status'
    done = ke.run_index(ke.build_event(records),
                        ke.index_env(pipeline["ELASTICSEARCH_INDEX"], LOG_FORMAT=bad))
    assert done.code != 0 and done.out is None
    assert "LOG_FORMAT (from the environment) is invalid" in done.stderr, done.stderr
    assert "at byte 27" in done.stderr, done.stderr
    assert ke.count(pipeline["ELASTICSEARCH_INDEX"]) == 0
