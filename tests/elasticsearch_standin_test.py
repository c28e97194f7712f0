"""What the local Elasticsearch stand-in (noida-db, started by `infra/local/stack start`) really
does on the wire, checked with plain HTTP (no Elasticsearch client library).

Two groups:
- behaviour logpipe relies on, which matches Elasticsearch 8;
- `test_quirk_*`: where the stand-in differs from Elasticsearch 8. These assert the stand-in's
  behaviour, so a noida-db upgrade that changes it shows up here; infra/local/README.md lists
  them with what real Elasticsearch does instead. Code under test must not depend on them.

Run with the stack started (uses $ELASTICSEARCH_URL, default http://127.0.0.1:9200). It fails
(does not skip) when the stack is down. Every test uses its own index and template names
and deletes them afterwards.
"""

import gzip
import os
import signal
import socket
import subprocess
import time
import zlib
from pathlib import Path

import pytest

from eshttp import (
    ROOT,
    access_doc,
    bulk,
    call,
    count,
    creates,
    delete_index,
    doc_id,
    item_statuses,
    ndjson,
    refresh,
    template,
    unique_name,
)


@pytest.fixture
def index():
    """A unique index name, deleted (with any template of the same name) after the test."""
    name = unique_name()
    yield name
    delete_index(name)
    call("DELETE", f"/_index_template/{name}")


def put_template_for(index, name=None):
    """Installs the project's access-logs template, with its pattern narrowed to `index`."""
    body = template()
    body["index_patterns"] = [index]
    answer = call("PUT", f"/_index_template/{name or index}", body)
    assert answer.status == 200, answer
    assert answer.json() == {"acknowledged": True}
    return body


# ------------------------------------------------------------------ same as Elasticsearch 8


def test_root_identifies_as_elasticsearch_8():
    answer = call("GET", "/")
    assert answer.status == 200
    assert answer.headers["X-Elastic-Product"] == "Elasticsearch"
    assert answer.json()["version"]["number"].startswith("8.")


def test_index_template_put_get_head_delete(index):
    body = put_template_for(index)

    assert call("HEAD", f"/_index_template/{index}").status == 200
    assert call("HEAD", f"/_index_template/{index}-missing").status == 404

    got = call("GET", f"/_index_template/{index}")
    assert got.status == 200
    (entry,) = got.json()["index_templates"]
    assert entry["name"] == index
    stored = entry["index_template"]
    assert stored["index_patterns"] == [index]
    assert stored["priority"] == 200
    assert stored["template"]["mappings"] == body["template"]["mappings"]

    missing = call("GET", f"/_index_template/{index}-missing")
    assert missing.status == 404

    assert call("DELETE", f"/_index_template/{index}").json() == {"acknowledged": True}
    assert call("HEAD", f"/_index_template/{index}").status == 404
    gone = call("DELETE", f"/_index_template/{index}")
    assert gone.status == 404
    assert gone.json()["error"]["type"] == "index_template_missing_exception"


def test_template_applies_to_index_auto_created_by_bulk(index):
    """Top level: a user format's unknown fields come in as keywords; `kafka` is ours alone."""
    body = put_template_for(index)
    answer = bulk(creates(index, [(doc_id(1), access_doc(1))]))
    assert answer.status == 200
    assert item_statuses(answer) == [("create", doc_id(1), 201)]

    mapping = call("GET", f"/{index}/_mapping").json()[index]["mappings"]
    assert mapping == body["template"]["mappings"]
    assert mapping["properties"]["kafka"]["dynamic"] == "strict"

    top = access_doc(2)
    top["my_header"] = "x"
    nested = access_doc(3)
    nested["kafka"]["extra"] = 1
    answer = bulk(creates(index, [(doc_id(2), top), (doc_id(3), nested)]))
    assert answer.status == 200
    assert answer.json()["errors"] is True
    assert item_statuses(answer) == [("create", doc_id(2), 201), ("create", doc_id(3), 400)]
    error = answer.json()["items"][1]["create"]["error"]
    assert error["type"] == "strict_dynamic_mapping_exception"
    assert "dynamic introduction of [extra] within [kafka]" in error["reason"]
    props = call("GET", f"/{index}/_mapping").json()[index]["mappings"]["properties"]
    assert props["my_header"] == {"type": "keyword", "ignore_above": 8191}
    assert count(index) == 2


def test_same_priority_overlapping_templates_are_rejected(index):
    put_template_for(index, name=index)
    other = template()
    other["index_patterns"] = [f"{index}*"]  # overlaps, same priority (200)
    answer = call("PUT", f"/_index_template/{index}-other", other)
    try:
        assert answer.status == 400
        assert answer.json()["error"]["type"] == "illegal_argument_exception"
        assert "same priority" in answer.json()["error"]["reason"]
    finally:
        call("DELETE", f"/_index_template/{index}-other")


def test_put_index_with_mappings_and_strict(index):
    mappings = template()["template"]["mappings"]
    answer = call("PUT", f"/{index}", {"mappings": mappings})
    assert answer.status == 200
    assert answer.json() == {"acknowledged": True, "index": index, "shards_acknowledged": True}
    assert call("HEAD", f"/{index}").status == 200
    assert call("GET", f"/{index}/_mapping").json()[index]["mappings"] == mappings

    again = call("PUT", f"/{index}", {"mappings": mappings})
    assert again.status == 400
    assert again.json()["error"]["type"] == "resource_already_exists_exception"

    doc = access_doc(1)
    doc["kafka"]["unknown"] = True
    answer = bulk(creates(index, [(doc_id(1), doc)]))
    assert item_statuses(answer) == [("create", doc_id(1), 400)]
    assert answer.json()["items"][0]["create"]["error"]["type"] == "strict_dynamic_mapping_exception"


def test_without_template_dynamic_mapping_makes_ip_a_string(index):
    """Why the template must be in place before the first write: the index is auto-created."""
    bulk(creates(index, [(doc_id(1), access_doc(1))]))
    props = call("GET", f"/{index}/_mapping").json()[index]["mappings"]["properties"]
    assert props["ip"]["type"] == "text"
    assert props["ip"]["fields"]["keyword"]["type"] == "keyword"
    assert props["status"]["type"] == "long"
    assert props["timestamp"]["type"] == "date"


def test_bulk_create_per_item_statuses(index):
    put_template_for(index)
    good = [(doc_id(i), access_doc(i)) for i in range(5)]
    bad_ip = (doc_id(5), access_doc(5, ip="not-an-ip"))
    bad_date = (doc_id(6), {**access_doc(6), "timestamp": "Jan 21 2026, 22:23:40"})
    bad_short = (doc_id(7), access_doc(7, status=70000))
    repeat = (doc_id(0), access_doc(0))  # same _id as the first one, in the same request

    answer = bulk(creates(index, good + [bad_ip, bad_date, bad_short, repeat]))
    assert answer.status == 200
    body = answer.json()
    assert body["errors"] is True
    assert item_statuses(answer) == (
        [("create", doc_id(i), 201) for i in range(5)]
        + [("create", doc_id(5), 400), ("create", doc_id(6), 400), ("create", doc_id(7), 400)]
        + [("create", doc_id(0), 409)]
    )
    items = [item["create"] for item in body["items"]]
    assert all(item["_index"] == index for item in items)
    assert items[0]["result"] == "created"
    assert items[0]["_version"] == 1

    ip_error = items[5]["error"]
    assert ip_error["type"] == "document_parsing_exception"
    assert "failed to parse field [ip] of type [ip]" in ip_error["reason"]
    assert ip_error["caused_by"]["type"] == "illegal_argument_exception"
    assert items[6]["error"]["type"] == "document_parsing_exception"
    assert "[timestamp] of type [date]" in items[6]["error"]["reason"]
    assert items[7]["error"]["type"] == "document_parsing_exception"
    assert "out of range for a short" in items[7]["error"]["caused_by"]["reason"]
    assert items[8]["error"]["type"] == "version_conflict_engine_exception"

    # A replay of the whole request (what a retry after a lost answer does): all 409 or 400.
    replay = bulk(creates(index, good + [bad_ip]))
    assert [s for _, _, s in item_statuses(replay)] == [409] * 5 + [400]
    assert count(index) == 5

    # filter_path (what an indexer can use to keep answers small) is honoured.
    small = bulk(creates(index, good[:1]), query="?filter_path=errors,items.*.status,items.*.error.type")
    assert small.json() == {
        "errors": True,
        "items": [{"create": {"status": 409, "error": {"type": "version_conflict_engine_exception"}}}],
    }


def test_refresh_count_and_realtime_get(index):
    put_template_for(index)
    assert bulk(creates(index, [(doc_id(i), access_doc(i)) for i in range(3)])).status == 200
    # GET by id is real-time (no refresh needed), as in Elasticsearch.
    assert call("GET", f"/{index}/_doc/{doc_id(2)}").json()["found"] is True
    assert refresh(index).json()["_shards"]["failed"] == 0
    answer = call("GET", f"/{index}/_count")
    assert answer.status == 200
    assert answer.json()["count"] == 3
    # ?refresh=wait_for makes the documents searchable before the answer comes back.
    bulk(creates(index, [(doc_id(3), access_doc(3))]), query="?refresh=wait_for")
    assert call("GET", f"/{index}/_count").json()["count"] == 4
    assert call("GET", f"/{index}-missing/_count").status == 404


def test_terms_and_date_histogram_aggregations(index):
    put_template_for(index)
    statuses = [200] * 5 + [404] * 3 + [500] * 2
    minutes = [23] * 6 + [24] * 3 + [26]
    docs = [(doc_id(i), access_doc(i, status=statuses[i], minute=minutes[i], second=i)) for i in range(10)]
    assert bulk(creates(index, docs), query="?refresh=true").json()["errors"] is False

    answer = call(
        "POST",
        f"/{index}/_search",
        {
            "size": 0,
            "aggs": {
                "by_status": {"terms": {"field": "status"}},
                "per_minute": {"date_histogram": {"field": "timestamp", "calendar_interval": "1m"}},
                "avg_size": {"avg": {"field": "size"}},
            },
        },
    )
    assert answer.status == 200
    body = answer.json()
    assert body["hits"]["total"] == {"value": 10, "relation": "eq"}
    aggs = body["aggregations"]
    assert [(b["key"], b["doc_count"]) for b in aggs["by_status"]["buckets"]] == [(200, 5), (404, 3), (500, 2)]
    # Empty buckets in between are filled (min_doc_count 0), as Elasticsearch does.
    assert [(b["key_as_string"], b["doc_count"]) for b in aggs["per_minute"]["buckets"]] == [
        ("2026-01-21T22:23:00.000Z", 6),
        ("2026-01-21T22:24:00.000Z", 3),
        ("2026-01-21T22:25:00.000Z", 0),
        ("2026-01-21T22:26:00.000Z", 1),
    ]
    assert aggs["avg_size"]["value"] == 1004.5


def test_get_doc_found_and_missing(index):
    put_template_for(index)
    doc = access_doc(42)
    bulk(creates(index, [(doc_id(42), doc)]))
    found = call("GET", f"/{index}/_doc/{doc_id(42)}")
    assert found.status == 200
    body = found.json()
    assert body["found"] is True
    assert body["_id"] == doc_id(42)
    assert body["_index"] == index
    assert body["_source"] == doc
    missing = call("GET", f"/{index}/_doc/{doc_id(43)}")
    assert missing.status == 404
    assert missing.json()["found"] is False


def test_gzip_request_body_is_accepted_and_responses_can_be_gzipped(index):
    put_template_for(index)
    body = ndjson(creates(index, [(doc_id(i), access_doc(i)) for i in range(3)]))
    answer = call(
        "POST",
        "/_bulk",
        gzip.compress(body),
        headers={"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"},
    )
    assert answer.status == 200
    assert [s for _, _, s in item_statuses(answer)] == [201] * 3
    assert count(index) == 3

    zipped = call("GET", f"/{index}/_count", headers={"Accept-Encoding": "gzip"})
    assert zipped.status == 200
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert b'"count":3' in gzip.decompress(zipped.body)


# ------------------------------------------------------------------ differs from Elasticsearch 8


def test_quirk_authorization_is_not_checked(index):
    """Elasticsearch 8 (security on by default) answers 401 to a wrong or missing key."""
    variants = [{"Authorization": "ApiKey bm90LWEta2V5Om5vcGU="}, {"Authorization": "Basic !!"}, {}]
    for i, headers in enumerate(variants):
        assert call("GET", "/", headers=headers).status == 200
        answer = bulk(creates(index, [(doc_id(i), access_doc(i))]), headers=headers)
        assert item_statuses(answer) == [("create", doc_id(i), 201)]
    assert count(index) == 3


def test_quirk_bulk_without_final_newline_is_accepted(index):
    """Elasticsearch 8: 400 'The bulk request must be terminated by a newline [\\n]'."""
    body = ndjson(creates(index, [(doc_id(1), access_doc(1))]))[:-1]
    answer = call("POST", "/_bulk", body, headers={"Content-Type": "application/x-ndjson"})
    assert answer.status == 200
    assert item_statuses(answer) == [("create", doc_id(1), 201)]


def test_quirk_empty_bulk_is_accepted():
    """Elasticsearch 8: 400 (request body is required / no requests added)."""
    answer = call("POST", "/_bulk", b"", headers={"Content-Type": "application/x-ndjson"})
    assert answer.status == 200
    assert answer.json()["items"] == []


def test_quirk_malformed_action_line_is_a_per_item_error():
    """Elasticsearch 8 fails the whole request with 400 (illegal_argument_exception)."""
    answer = call("POST", "/_bulk", b"this is not json\n{}\n", headers={"Content-Type": "application/x-ndjson"})
    assert answer.status == 200
    assert answer.json()["errors"] is True
    (item,) = answer.json()["items"]
    assert item["index"]["status"] == 400
    assert item["index"]["error"]["type"] == "parse_exception"


def test_quirk_any_content_type_is_accepted(index):
    """Elasticsearch 8: 406 for text/plain."""
    body = ndjson(creates(index, [(doc_id(1), access_doc(1))]))
    answer = call("POST", "/_bulk", body, headers={"Content-Type": "text/plain"})
    assert answer.status == 200
    assert item_statuses(answer) == [("create", doc_id(1), 201)]


def test_quirk_deflate_request_body_is_not_decoded(index):
    """Only gzip is decoded; a deflate body reaches the bulk parser as bytes (Elasticsearch's
    HTTP layer decodes deflate too)."""
    body = ndjson(creates(index, [(doc_id(1), access_doc(1))]))
    answer = call(
        "POST",
        "/_bulk",
        zlib.compress(body),
        headers={"Content-Type": "application/x-ndjson", "Content-Encoding": "deflate"},
    )
    assert answer.status == 200
    assert answer.json()["errors"] is True
    assert answer.json()["items"][0]["index"]["error"]["type"] == "parse_exception"
    assert call("HEAD", f"/{index}").status == 404


def test_quirk_template_mappings_are_not_validated(index):
    """Elasticsearch 8 validates a template's mappings on PUT (400 mapper_parsing_exception);
    PUT /<index> with the same mappings is rejected here too."""
    bad = {"index_patterns": [index], "template": {"mappings": {"properties": {"a": {"type": "no_such_type"}}}}}
    assert call("PUT", f"/_index_template/{index}", bad).status == 200
    answer = call("PUT", f"/{index}", {"mappings": bad["template"]["mappings"]})
    assert answer.status == 400
    assert answer.json()["error"]["type"] == "mapper_parsing_exception"


def test_quirk_compatible_with_9_headers_are_accepted(index):
    """Elasticsearch 8 accepts compatible-with=7 or 8 and answers 400 to 9."""
    body = ndjson(creates(index, [(doc_id(1), access_doc(1))]))
    answer = call(
        "POST",
        "/_bulk",
        body,
        headers={
            "Content-Type": "application/vnd.elasticsearch+x-ndjson; compatible-with=9",
            "Accept": "application/vnd.elasticsearch+json; compatible-with=9",
        },
    )
    assert answer.status == 200
    assert item_statuses(answer) == [("create", doc_id(1), 201)]


def test_quirk_ip_queries_compare_strings(index):
    """An `ip` field is validated on write, but range and sort compare the text and a CIDR
    term matches nothing. Elasticsearch compares addresses: 9 hits, 5 hits, 9 hits."""
    put_template_for(index)
    ips = [f"10.0.0.{n}" for n in range(0, 250, 30)]  # .0 .30 .60 ... .240
    bulk(creates(index, [(doc_id(i), access_doc(i, ip=ip)) for i, ip in enumerate(ips)]), query="?refresh=true")

    def hits(query):
        return call("POST", f"/{index}/_count", {"query": query}).json()["count"]

    assert hits({"range": {"ip": {"gte": "10.0.0.0", "lte": "10.0.0.255"}}}) == 6  # .30 .60 .90 sort after .255
    assert hits({"range": {"ip": {"gte": "10.0.0.100"}}}) == 8
    assert hits({"term": {"ip": "10.0.0.0/24"}}) == 0
    assert hits({"term": {"ip": "10.0.0.30"}}) == 1  # exact terms work
    sorted_ips = call("POST", f"/{index}/_search", {"size": 3, "sort": [{"ip": "asc"}]}).json()
    assert [h["_source"]["ip"] for h in sorted_ips["hits"]["hits"]] == ["10.0.0.0", "10.0.0.120", "10.0.0.150"]


# ------------------------------------------------------------------ persistence (own instance)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def noida_binary():
    state = Path(os.environ.get("LOGPIPE_STATE_DIR", ROOT / ".local"))
    binary = state / "bin" / "noida-db"
    assert binary.exists(), f"{binary} missing: run infra/local/stack install"
    return binary


class OwnNoida:
    """A second noida-db on a free port with its own data dir; stopped by its PID."""

    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [str(noida_binary()), "start", "--data-dir", str(self.data_dir), "--host", "127.0.0.1",
             "--only", "elasticsearch", "--elasticsearch-port", str(self.port)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                if call("GET", "/", base=self.url, timeout=1).status == 200:
                    return
            except OSError:
                pass
            assert self.proc.poll() is None, "noida-db exited during start-up"
            assert time.monotonic() < deadline, "noida-db did not answer within 15 s"
            time.sleep(0.1)

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


@pytest.fixture
def own_server(tmp_path):
    server = OwnNoida(tmp_path / "data")
    try:
        server.start()
        yield server
    finally:
        server.stop()


def test_quirk_index_name_with_leading_underscore_is_accepted_and_then_undeletable(own_server):
    """Elasticsearch 8: per-item 400 invalid_index_name_exception. Here bulk creates the index,
    and DELETE then refuses the name, so this runs on a throw-away server."""
    name = "_" + unique_name()
    answer = bulk(creates(name, [("1", {"a": 1})]), base=own_server.url)
    assert item_statuses(answer) == [("create", "1", 201)]
    delete = call("DELETE", f"/{name}", base=own_server.url)
    assert delete.status == 400
    assert delete.json()["error"]["type"] == "invalid_index_name_exception"


def test_data_survives_restart(tmp_path):
    server = OwnNoida(tmp_path / "data")
    index = unique_name()
    try:
        server.start()
        put = call("PUT", f"/_index_template/{index}", {**template(), "index_patterns": [index]}, base=server.url)
        assert put.status == 200
        docs = [(doc_id(i), access_doc(i)) for i in range(3)]
        assert bulk(creates(index, docs), base=server.url).json()["errors"] is False
        server.stop(signal.SIGTERM)
        assert (tmp_path / "data" / "elasticsearch.json").exists()

        server.start()
        assert count(index, base=server.url) == 3
        assert call("HEAD", f"/_index_template/{index}", base=server.url).status == 200

        # Saved in the background: after ~1 s a write survives even SIGKILL. (Killed within
        # ~0.5 s of the answer, acknowledged writes were lost here: see infra/local/README.md.)
        more = [(doc_id(i), access_doc(i)) for i in range(3, 5)]
        assert bulk(creates(index, more), base=server.url).json()["errors"] is False
        time.sleep(2.5)
        server.stop(signal.SIGKILL)
        server.start()
        assert count(index, base=server.url) == 5
    finally:
        server.stop()
