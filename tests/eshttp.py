"""Plain-HTTP helpers for tests that talk to the Elasticsearch API (the local stand-in, or
tests/faultproxy.py in front of it). Standard library only, on purpose: the tests look at
the wire behaviour, not at what a client library makes of it.
"""

import gzip
import json
import os
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ES_URL = os.environ.get("ELASTICSEARCH_URL", "http://127.0.0.1:9200").rstrip("/")
TEMPLATE_FILE = ROOT / "functions" / "logpipe" / "templates" / "access-logs.json"


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"Answer({self.status}, {self.body[:300]!r})"


def call(method, path, body=None, *, base=ES_URL, headers=None, timeout=30, gzip_body=False):
    """One HTTP request; returns an Answer for every HTTP status (never raises on 4xx/5xx).

    body: bytes, str, or anything JSON-serialisable (sent as application/json).
    """
    hdrs = {}
    if body is not None:
        if isinstance(body, str):
            body = body.encode()
        elif not isinstance(body, bytes):
            body = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
        if gzip_body:
            body = gzip.compress(body)
            hdrs["Content-Encoding"] = "gzip"
    hdrs.update(headers or {})
    request = urllib.request.Request(base + path, data=body, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return Answer(answer.status, answer.headers, answer.read())
    except urllib.error.HTTPError as e:
        return Answer(e.code, e.headers, e.read())


def ndjson(actions):
    """actions: iterable of (action_dict, source_dict_or_None) -> NDJSON bytes, newline-terminated."""
    lines = []
    for action, source in actions:
        lines.append(json.dumps(action))
        if source is not None:
            lines.append(json.dumps(source))
    return ("\n".join(lines) + "\n").encode()


def bulk(actions, *, query="", base=ES_URL, **kwargs):
    return call(
        "POST",
        "/_bulk" + query,
        ndjson(actions),
        base=base,
        headers={"Content-Type": "application/x-ndjson", **kwargs.pop("headers", {})},
        **kwargs,
    )


def creates(index, docs):
    """[(id, doc)] -> bulk `create` actions carrying _index and _id, as the indexer sends them."""
    return [({"create": {"_index": index, "_id": doc_id}}, doc) for doc_id, doc in docs]


def access_doc(offset, *, ip=None, status=200, second=0, minute=23, topic="billion_website_logs"):
    """A document shaped like the indexer's (DESIGN.md section 3)."""
    return {
        "ip": ip or f"10.0.{offset // 256 % 256}.{offset % 256}",
        "timestamp": f"2026-01-21T22:{minute:02d}:{second:02d}",
        "method": "GET",
        "endpoint": "/home",
        "protocol": "HTTP/1.1",
        "status": status,
        "size": 1000 + offset,
        "referrer": "-",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
        "kafka": {"topic": topic, "partition": 0, "offset": offset},
    }


def doc_id(offset, topic="billion_website_logs", partition=0):
    return f"{topic}-{partition}-{offset}"


def template():
    return json.loads(TEMPLATE_FILE.read_text())


def unique_name(prefix="logpipe-test"):
    """Index names must be lower case; these never match the real index or its template."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def refresh(index, base=ES_URL):
    answer = call("POST", f"/{index}/_refresh", base=base)
    assert answer.status == 200, answer
    return answer


def count(index, base=ES_URL):
    refresh(index, base=base)
    answer = call("GET", f"/{index}/_count", base=base)
    assert answer.status == 200, answer
    return answer.json()["count"]


def delete_index(index, base=ES_URL):
    call("DELETE", f"/{index}", base=base)


def item_statuses(answer):
    """[(action, _id, status)] from a _bulk answer, in order."""
    out = []
    for item in answer.json()["items"]:
        ((action, result),) = item.items()
        out.append((action, result.get("_id"), result["status"]))
    return out
