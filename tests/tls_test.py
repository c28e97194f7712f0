"""TLS verification towards Elasticsearch: on by default, against the system's roots or a CA
the user names (ELASTICSEARCH_CA_CERT), and off only when ELASTICSEARCH_TLS_VERIFY=false says
so, with a warning. The server is the local Elasticsearch stand-in behind an https:// front
(tests/faultproxy.py with a certificate from a throw-away CA).

Kafka's side (librdkafka settings) is checked by the unit tests of `kafka::client_config`:
the tansu build the stack uses does not serve TLS.
"""

import ssl

import pytest

import kafka_events as ke
from faultproxy import FaultProxy
from tls_certs import make_certificates

TOPIC = "tls-test"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def https(certificates):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates["cert"], certificates["key"])
    with FaultProxy(ke.ES_URL, tls=context) as proxy:
        yield proxy


@pytest.fixture
def index():
    name = ke.unique_index("tls")
    yield name
    ke.drop_index(name)
    ke.drop_index(f"{name}-deadletter")


def run(index, url, **settings):
    lines = ke.generate_lines(20, seed=5)
    event = ke.build_event([ke.KRecord(TOPIC, 0, n, line) for n, line in enumerate(lines)])
    return ke.run_index(event, ke.index_env(index, es_url=url, **settings), cli_timeout=20, timeout=60)


def test_an_unknown_certificate_is_refused_by_default(https, index):
    done = run(index, https.url)
    assert done.code != 0 and done.out is None, done.stderr
    assert "certificate" in done.stderr.lower() and https.url.removeprefix("https://") in done.stderr, done.stderr
    assert ke.count(index) == 0


def test_the_named_ca_is_trusted(https, index, certificates):
    done = run(index, https.url, ELASTICSEARCH_CA_CERT=str(certificates["ca"]))
    assert done.code == 0, done.stderr
    assert done.report["indexed"] == 20
    assert "verification" not in done.stderr
    # The PEM text itself works too, as a secret would hold it.
    again = run(index, https.url, ELASTICSEARCH_CA_CERT=certificates["ca"].read_text())
    assert again.code == 0 and again.report["failed"] == 0, again.stderr
    assert ke.count(index) == 20


def test_verification_off_is_explicit_and_warned_about(https, index):
    done = run(index, https.url, ELASTICSEARCH_TLS_VERIFY="false")
    assert done.code == 0, done.stderr
    assert done.report["indexed"] == 20
    assert "TLS certificate verification towards Elasticsearch is OFF" in done.stderr, done.stderr


def test_a_bad_ca_setting_is_named(index, tmp_path):
    (tmp_path / "ca.pem").write_text("not a certificate")
    done = run(index, "https://127.0.0.1:1", ELASTICSEARCH_CA_CERT=str(tmp_path / "ca.pem"))
    assert done.code != 0 and done.out is None
    assert "ELASTICSEARCH_CA_CERT" in done.stderr and "holds no PEM certificate" in done.stderr, done.stderr
