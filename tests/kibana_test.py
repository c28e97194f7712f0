"""The Kibana saved objects in infra/kibana/logpipe.ndjson (two data views, visualizations, a
dashboard), checked against the index templates the indexer installs: every reference resolves
to an object of the file, every field a data view or an aggregation names exists in its index's
mapping, with a type Kibana can aggregate on. No Kibana runs here (no registry carries it), so
these checks stand in for an import; the aggregations are also run against the local stack's
Elasticsearch API on documents the indexer's template maps, so a field name or type that Kibana
would choke on fails here first.
"""

import json
import uuid
from pathlib import Path

import pytest

import eshttp

ROOT = Path(__file__).resolve().parent.parent
NDJSON = ROOT / "infra" / "kibana" / "logpipe.ndjson"
TEMPLATES = ROOT / "functions" / "logpipe" / "templates"
AGGREGATABLE = {"keyword", "ip", "date", "short", "integer", "long", "float", "double", "boolean"}
# Aggregations and the field types they accept.
FIELD_TYPES = {"terms": AGGREGATABLE, "date_histogram": {"date"}}


def load():
    lines = NDJSON.read_text().splitlines()
    objects = [json.loads(line) for line in lines]
    summary = objects.pop()  # the export's trailing summary line
    assert summary["exportedCount"] == len(objects) and summary["missingRefCount"] == 0
    return objects


def fields_of(mapping, prefix=""):
    """{dotted field name: type} of a mapping's properties, sub-fields included."""
    out = {}
    for name, spec in mapping["properties"].items():
        path = prefix + name
        if "properties" in spec:
            out.update(fields_of(spec, path + "."))
            continue
        out[path] = spec["type"]
        for sub, sub_spec in spec.get("fields", {}).items():
            out[f"{path}.{sub}"] = sub_spec["type"]
    return out


def template_fields():
    """{index name: {field: type}} of the templates the indexer installs."""
    out = {}
    for path in TEMPLATES.glob("*.json"):
        template = json.loads(path.read_text())
        for pattern in template["index_patterns"]:
            out[pattern] = fields_of(template["template"]["mappings"])
    return out


OBJECTS = load()
BY_KEY = {(o["type"], o["id"]): o for o in OBJECTS}
FIELDS = template_fields()


def data_view_of(obj):
    """The data view a visualization searches, through its reference."""
    source = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    ref = next(r for r in obj["references"] if r["name"] == source["indexRefName"])
    assert ref["type"] == "index-pattern"
    return BY_KEY[("index-pattern", ref["id"])]


def visualizations():
    return [o for o in OBJECTS if o["type"] == "visualization"]


def test_the_export_holds_data_views_visualizations_and_a_dashboard():
    kinds = sorted({o["type"] for o in OBJECTS})
    assert kinds == ["dashboard", "index-pattern", "visualization"]
    assert len(BY_KEY) == len(OBJECTS), "duplicate id"
    for obj in OBJECTS:
        assert {"id", "type", "attributes", "references"} <= obj.keys()


def test_every_reference_resolves_to_an_object_of_the_file():
    for obj in OBJECTS:
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in BY_KEY, f"{obj['id']}: dangling reference {ref}"


def test_data_views_name_template_indices_and_their_time_fields():
    views = {o["attributes"]["title"]: o["attributes"]["timeFieldName"] for o in OBJECTS
             if o["type"] == "index-pattern"}
    assert views == {"billion_website_logs": "timestamp", "billion_website_logs-deadletter": "failed_at"}
    for title, time_field in views.items():
        assert FIELDS[title][time_field] == "date"


def test_aggregations_name_fields_of_the_mapping_with_aggregatable_types():
    checked = 0
    for vis in visualizations():
        state = json.loads(vis["attributes"]["visState"])
        assert state["title"] == vis["attributes"]["title"]
        fields = FIELDS[data_view_of(vis)["attributes"]["title"]]
        for agg in state["aggs"]:
            field = agg["params"].get("field")
            if field is None:
                assert agg["type"] == "count"
                continue
            assert field in fields, f"{vis['id']}: no field {field!r} in the mapping"
            assert fields[field] in FIELD_TYPES[agg["type"]], f"{vis['id']}: {agg['type']} on a {fields[field]}"
            checked += 1
    assert checked >= 4


def test_the_dashboard_shows_status_codes_over_time_top_endpoints_and_dead_letters():
    dashboard = BY_KEY[("dashboard", "logpipe-access-logs-dashboard")]
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    refs = {r["name"]: r for r in dashboard["references"]}
    shown = set()
    for panel in panels:
        ref = refs[f"{panel['panelIndex']}:{panel['panelRefName']}"]
        vis = BY_KEY[(ref["type"], ref["id"])]
        state = json.loads(vis["attributes"]["visState"])
        shown.add((data_view_of(vis)["attributes"]["title"],
                   tuple((a["type"], a["params"].get("field")) for a in state["aggs"])))
        grid = panel["gridData"]
        assert grid["x"] + grid["w"] <= 48 and grid["i"] == panel["panelIndex"]
    assert ("billion_website_logs",
            (("count", None), ("date_histogram", "timestamp"), ("terms", "status"))) in shown
    assert ("billion_website_logs", (("count", None), ("terms", "endpoint"))) in shown
    assert ("billion_website_logs-deadletter", (("count", None),)) in shown
    # No two panels overlap.
    cells = [(x, y) for p in panels for x in range(p["gridData"]["x"], p["gridData"]["x"] + p["gridData"]["w"])
             for y in range(p["gridData"]["y"], p["gridData"]["y"] + p["gridData"]["h"])]
    assert len(cells) == len(set(cells))


@pytest.fixture
def indices():
    """Fresh indices made with the templates' mappings, with a few documents."""
    run = uuid.uuid4().hex[:8]
    names = {"billion_website_logs": f"kibana-{run}", "billion_website_logs-deadletter": f"kibana-{run}-dead"}
    for pattern, name in names.items():
        template = next(json.loads(p.read_text()) for p in TEMPLATES.glob("*.json")
                        if pattern in json.loads(p.read_text())["index_patterns"])
        answer = eshttp.call("PUT", f"/{name}", {"mappings": template["template"]["mappings"]})
        assert answer.status == 200, answer
    docs = [{"ip": "1.2.3.4", "timestamp": f"2026-01-21T22:0{n % 3}:00", "method": "GET",
             "endpoint": ["/home", "/about"][n % 2], "protocol": "HTTP/1.1", "status": [200, 404][n % 2],
             "size": 100, "referrer": "-", "user_agent": "x",
             "kafka": {"topic": "t", "partition": 0, "offset": n}} for n in range(6)]
    letter = {"reason": "bad", "stage": "parse", "raw": "x", "failed_at": "2026-01-21T22:00:00Z",
              "kafka": {"topic": "t", "partition": 0, "offset": 9}}
    body = "".join(json.dumps({"create": {"_index": names["billion_website_logs"], "_id": str(n)}}) + "\n"
                   + json.dumps(doc) + "\n" for n, doc in enumerate(docs))
    body += json.dumps({"create": {"_index": names["billion_website_logs-deadletter"], "_id": "9"}}) + "\n"
    body += json.dumps(letter) + "\n"
    answer = eshttp.call("POST", "/_bulk?refresh=true", body, headers={"Content-Type": "application/x-ndjson"})
    assert answer.status == 200 and not answer.json()["errors"], answer
    yield names
    for name in names.values():
        eshttp.delete_index(name)


def test_the_visualizations_aggregations_run_on_the_mapped_indices(indices):
    """Each visualization's aggregations, as Kibana would send them, on indices with the
    templates' mappings: they answer buckets, not a mapping error."""
    for vis in visualizations():
        state = json.loads(vis["attributes"]["visState"])
        index = indices[data_view_of(vis)["attributes"]["title"]]
        aggs = {}
        for agg in state["aggs"]:
            if agg["type"] == "terms":
                aggs[agg["id"]] = {"terms": {"field": agg["params"]["field"], "size": agg["params"]["size"]}}
            elif agg["type"] == "date_histogram":
                aggs[agg["id"]] = {"date_histogram": {"field": agg["params"]["field"], "fixed_interval": "1m"}}
        answer = eshttp.call("POST", f"/{index}/_search", {"size": 0, "track_total_hits": True, "aggs": aggs})
        assert answer.status == 200, (vis["id"], answer)
        body = answer.json()
        assert body["hits"]["total"]["value"] in (6, 1), vis["id"]
        for agg_id in aggs:
            assert body["aggregations"][agg_id]["buckets"], (vis["id"], agg_id)
