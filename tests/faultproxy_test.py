"""tests/faultproxy.py against the real Elasticsearch stand-in of the local stack.

Each test starts its own proxy on a free loopback port in front of $ELASTICSEARCH_URL
(default http://127.0.0.1:9200), switches it through its admin endpoints, and checks both
what the client is told and what the backend really holds (asked directly, not through the
proxy). Run with the stack started; it fails (does not skip) when the stack is down.
"""

import gzip
import http.client
import json
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from eshttp import (
    ES_URL,
    access_doc,
    bulk,
    call,
    count,
    creates,
    delete_index,
    doc_id,
    item_statuses,
    ndjson,
    template,
    unique_name,
)
from faultproxy import FaultProxy

HERE = Path(__file__).resolve().parent


@pytest.fixture
def proxy():
    with FaultProxy(ES_URL) as p:
        yield p


@pytest.fixture
def index():
    """A unique index with the project's template (strict mapping), cleaned up afterwards."""
    name = unique_name("faultproxy-test")
    body = template()
    body["index_patterns"] = [name]
    assert call("PUT", f"/_index_template/{name}", body).status == 200
    yield name
    delete_index(name)
    call("DELETE", f"/_index_template/{name}")


def set_mode(proxy, **mode):
    """Through the admin endpoint, as a test in another process would."""
    answer = call("POST", "/_fault/mode", mode, base=proxy.url)
    assert answer.status == 200, answer
    return answer.json()


def stats(proxy):
    return call("GET", "/_fault/stats", base=proxy.url).json()


def ten_docs():
    return [(doc_id(i), access_doc(i)) for i in range(10)]


def backend_has(index, ids):
    """Which of `ids` the backend holds (asked directly)."""
    return {i for i in ids if call("GET", f"/{index}/_doc/{i}").status == 200}


def raw_request(base, method, path, body=None, headers=None, timeout=10):
    """http.client, so that a dropped connection surfaces as the exception it is."""
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


# ------------------------------------------------------------------ pass-through


def test_pass_through_is_transparent(proxy, index):
    assert call("GET", "/", base=proxy.url).json() == call("GET", "/").json()
    assert call("HEAD", f"/_index_template/{index}", base=proxy.url).status == 200
    assert call("HEAD", f"/_index_template/{index}-missing", base=proxy.url).status == 404

    answer = bulk(creates(index, ten_docs()), base=proxy.url)
    assert answer.status == 200
    assert [s for _, _, s in item_statuses(answer)] == [201] * 10
    assert count(index, base=proxy.url) == 10
    missing = call("GET", f"/{index}/_doc/nope", base=proxy.url)
    assert missing.status == 404 and missing.json()["found"] is False

    # gzip request bodies pass through untouched.
    zipped = call(
        "POST",
        "/_bulk",
        gzip.compress(ndjson(creates(index, [(doc_id(10), access_doc(10))]))),
        base=proxy.url,
        headers={"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"},
    )
    assert item_statuses(zipped) == [("create", doc_id(10), 201)]

    s = stats(proxy)
    assert s["requests"] == s["forwarded"] == 8
    assert s["paths"]["POST /_bulk"] == 2
    assert s["bulk_items_injected"] == 0


def test_keep_alive_connection_is_reused(proxy):
    conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=10)
    try:
        for _ in range(3):
            conn.request("GET", "/")
            answer = conn.getresponse()
            assert answer.status == 200
            answer.read()
        first_socket = conn.sock
        conn.request("GET", "/")
        conn.getresponse().read()
        assert conn.sock is first_socket
    finally:
        conn.close()


# ------------------------------------------------------------------ per-item faults in _bulk


def test_bulk_items_429_on_3_of_10_then_retry(proxy, index):
    mode = set_mode(proxy, mode="bulk_items", status=429, items=[1, 4, 8])
    assert mode["mode"] == "bulk_items" and mode["items"] == [1, 4, 8]
    docs = ten_docs()
    answer = bulk(creates(index, docs), base=proxy.url)

    assert answer.status == 200
    body = answer.json()
    assert body["errors"] is True
    rejected = {1, 4, 8}
    assert item_statuses(answer) == [("create", doc_id(i), 429 if i in rejected else 201) for i in range(10)]
    for i in rejected:
        item = body["items"][i]["create"]
        assert item["_index"] == index
        assert item["error"]["type"] == "es_rejected_execution_exception"
    # The backend holds exactly the 7 reported created.
    assert count(index) == 7
    ids = [d for d, _ in docs]
    assert backend_has(index, ids) == {doc_id(i) for i in range(10) if i not in rejected}
    s = stats(proxy)
    assert (s["bulk_items_seen"], s["bulk_items_injected"], s["bulk_items_forwarded"]) == (10, 3, 7)

    # Retry only the rejected ones, after the cluster "recovered".
    set_mode(proxy, mode="pass")
    retry = bulk(creates(index, [docs[i] for i in sorted(rejected)]), base=proxy.url)
    assert item_statuses(retry) == [("create", doc_id(i), 201) for i in sorted(rejected)]
    assert count(index) == 10
    # Replaying everything (what at-least-once delivery does) creates nothing new.
    replay = bulk(creates(index, docs), base=proxy.url)
    assert [s for _, _, s in item_statuses(replay)] == [409] * 10
    assert count(index) == 10


def test_bulk_items_503_random_count_keeps_backend_consistent(proxy, index):
    set_mode(proxy, mode="bulk_items", status=503, count=3, pick="random", seed=1234)
    docs = ten_docs()
    answer = bulk(creates(index, docs), base=proxy.url)
    statuses = item_statuses(answer)
    failed = {d for _, d, s in statuses if s == 503}
    created = {d for _, d, s in statuses if s == 201}
    assert len(failed) == 3 and len(created) == 7
    assert {answer.json()["items"][i]["create"].get("error", {}).get("type") for i in range(10)} == {
        None,
        "unavailable_shards_exception",
    }
    assert backend_has(index, [d for d, _ in docs]) == created
    assert count(index) == 7


def test_bulk_items_share_applies_times_then_passes(proxy, index):
    set_mode(proxy, mode="bulk_items", share=0.3, pick="first", times=1)
    first = bulk(creates(index, ten_docs()), base=proxy.url)
    assert [s for _, _, s in item_statuses(first)] == [429] * 3 + [201] * 7
    assert call("GET", "/_fault/mode", base=proxy.url).json()["mode"] == "pass"
    second = bulk(creates(index, ten_docs()[:3]), base=proxy.url)
    assert [s for _, _, s in item_statuses(second)] == [201] * 3
    assert count(index) == 10


def test_bulk_items_with_gzip_body_and_index_in_path(proxy, index):
    set_mode(proxy, mode="bulk_items", items=[0], error={"type": "custom_exception", "reason": "test"})
    actions = [({"create": {"_id": d}}, doc) for d, doc in ten_docs()[:4]]  # _index from the path
    answer = call(
        "POST",
        f"/{index}/_bulk",
        gzip.compress(ndjson(actions)),
        base=proxy.url,
        headers={"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"},
    )
    assert answer.status == 200
    assert item_statuses(answer) == [("create", doc_id(0), 429)] + [("create", doc_id(i), 201) for i in (1, 2, 3)]
    first = answer.json()["items"][0]["create"]
    assert first["_index"] == index
    assert first["error"] == {"type": "custom_exception", "reason": "test"}
    assert count(index) == 3


def test_bulk_items_all_rejected_reaches_no_backend(proxy, index):
    set_mode(proxy, mode="bulk_items", items=[0, 1])
    answer = bulk(creates(index, ten_docs()[:2]), base=proxy.url)
    assert answer.status == 200
    assert [s for _, _, s in item_statuses(answer)] == [429, 429]
    assert stats(proxy)["forwarded"] == 0
    assert call("HEAD", f"/{index}").status == 404  # not even auto-created


def test_bulk_items_leaves_other_paths_alone(proxy, index):
    set_mode(proxy, mode="bulk_items", items=[0])
    assert call("GET", "/", base=proxy.url).status == 200
    assert call("PUT", f"/{index}", {}, base=proxy.url).status == 200
    assert call("GET", f"/{index}/_count", base=proxy.url).json()["count"] == 0


# ------------------------------------------------------------------ whole-request faults


@pytest.mark.parametrize("status, error_type", [(503, "unavailable_shards_exception"), (429, "es_rejected_execution_exception")])
def test_whole_request_error_is_not_forwarded(proxy, index, status, error_type):
    set_mode(proxy, mode="status", status=status)
    answer = bulk(creates(index, ten_docs()), base=proxy.url)
    assert answer.status == status
    assert answer.json()["error"]["type"] == error_type
    assert answer.json()["status"] == status
    assert call("HEAD", f"/{index}").status == 404
    assert stats(proxy)["status_injected"] == 1


def test_whole_request_error_after_forwarding(proxy, index):
    """The cluster did the work, the client only sees a 503: a retry must meet 409s."""
    set_mode(proxy, mode="status", status=503, forward=True, times=1)
    assert bulk(creates(index, ten_docs()), base=proxy.url).status == 503
    assert count(index) == 10
    retry = bulk(creates(index, ten_docs()), base=proxy.url)
    assert [s for _, _, s in item_statuses(retry)] == [409] * 10


def test_match_limits_a_fault_to_some_paths(proxy, index):
    set_mode(proxy, mode="status", status=503, match=r"/_bulk$")
    assert call("GET", "/", base=proxy.url).status == 200
    assert bulk(creates(index, ten_docs()), base=proxy.url).status == 503


def test_delay_delays_the_answer(proxy, index):
    set_mode(proxy, mode="delay", delay_ms=700)
    started = time.monotonic()
    answer = bulk(creates(index, ten_docs()[:2]), base=proxy.url)
    took = time.monotonic() - started
    assert answer.status == 200
    assert [s for _, _, s in item_statuses(answer)] == [201, 201]
    assert 0.7 <= took < 5
    assert stats(proxy)["delayed"] == 1

    # A client that gives up earlier times out, although the request was carried out.
    set_mode(proxy, mode="delay", delay_ms=1500)
    with pytest.raises(TimeoutError):
        raw_request(proxy.url, "POST", "/_bulk", ndjson(creates(index, ten_docs()[2:4])),
                    {"Content-Type": "application/x-ndjson"}, timeout=0.5)
    time.sleep(1.2)  # let the proxy finish
    assert count(index) == 4

    set_mode(proxy, mode="pass")
    started = time.monotonic()
    call("GET", "/", base=proxy.url)
    assert time.monotonic() - started < 0.5


def test_hold_keeps_a_request_from_the_backend_and_a_stop_drops_it(index):
    with FaultProxy(ES_URL) as proxy:
        # Let through after the hold: carried out, late.
        set_mode(proxy, mode="hold", delay_ms=600, match=r"/_bulk$")
        started = time.monotonic()
        answer = bulk(creates(index, ten_docs()[:2]), base=proxy.url)
        assert answer.status == 200 and time.monotonic() - started >= 0.6
        assert count(index) == 2

        # Held past the client's patience: nothing of it reaches the backend meanwhile...
        set_mode(proxy, mode="hold", delay_ms=60_000, match=r"/_bulk$")
        with pytest.raises(TimeoutError):
            raw_request(proxy.url, "POST", "/_bulk", ndjson(creates(index, ten_docs()[2:4])),
                        {"Content-Type": "application/x-ndjson"}, timeout=0.5)
        time.sleep(0.5)
        assert count(index) == 2
        assert stats(proxy)["held"] == 2
        assert call("GET", "/", base=proxy.url).status == 200, "other paths pass"
    # ...and the proxy's stop ends the hold without forwarding it.
    time.sleep(0.5)
    assert count(index) == 2


def test_disconnect_drops_the_connection_without_forwarding(proxy, index):
    set_mode(proxy, mode="disconnect")
    body = ndjson(creates(index, ten_docs()))
    with pytest.raises(http.client.RemoteDisconnected):
        raw_request(proxy.url, "POST", "/_bulk", body, {"Content-Type": "application/x-ndjson"})
    assert stats(proxy)["disconnects"] == 1
    assert stats(proxy)["forwarded"] == 0
    assert call("HEAD", f"/{index}").status == 404


def test_disconnect_after_forwarding_then_retry_meets_409(proxy, index):
    set_mode(proxy, mode="disconnect", forward=True, reset=True, times=1)
    body = ndjson(creates(index, ten_docs()))
    with pytest.raises(ConnectionResetError):
        raw_request(proxy.url, "POST", "/_bulk", body, {"Content-Type": "application/x-ndjson"})
    assert count(index) == 10
    status, answer = raw_request(proxy.url, "POST", "/_bulk", body, {"Content-Type": "application/x-ndjson"})
    assert status == 200
    assert {item["create"]["status"] for item in json.loads(answer)["items"]} == {409}


# ------------------------------------------------------------------ admin, bounds, CLI


def test_admin_rejects_bad_modes_and_resets(proxy):
    for bad in ({"mode": "nope"}, {"mode": "bulk_items"}, {"mode": "status", "status": 200}, {"mode": "pass", "x": 1}):
        answer = call("POST", "/_fault/mode", bad, base=proxy.url)
        assert answer.status == 400, bad
    assert call("POST", "/_fault/mode", b"{not json", base=proxy.url).status == 400
    assert call("GET", "/_fault/nothing", base=proxy.url).status == 404
    set_mode(proxy, mode="status", status=503)
    call("GET", "/", base=proxy.url)
    reset = call("POST", "/_fault/reset", base=proxy.url).json()
    assert reset["mode"]["mode"] == "pass"
    assert reset["stats"]["requests"] == 0
    assert call("GET", "/", base=proxy.url).status == 200


def test_loopback_only():
    with pytest.raises(ValueError):
        FaultProxy(ES_URL, listen="0.0.0.0:0")
    with pytest.raises(ValueError):
        FaultProxy("http://192.0.2.1:9200")
    with pytest.raises(ValueError):
        FaultProxy("https://127.0.0.1:9200")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_command_line(index):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "faultproxy.py"), "--listen", f"127.0.0.1:{port}", "--backend", ES_URL,
         "--mode", '{"mode": "bulk_items", "items": [0]}'],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if call("GET", "/_fault/mode", base=url, timeout=1).json()["mode"] == "bulk_items":
                    break
            except OSError:
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline, "proxy did not come up within 10 s"
                time.sleep(0.1)
        answer = bulk(creates(index, ten_docs()[:2]), base=url)
        assert [s for _, _, s in item_statuses(answer)] == [429, 201]
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
    assert b"stopped" in proc.stderr.read()

    refused = subprocess.run(
        [sys.executable, str(HERE / "faultproxy.py"), "--listen", "0.0.0.0:0", "--backend", ES_URL],
        capture_output=True, timeout=10,
    )
    assert refused.returncode == 2
    assert b"loopback" in refused.stderr
