"""The secret watch itself: it finds a leaked value, and it is wired to the processes the
tests start (so that its verdict at the end of the session means something)."""

import subprocess
import uuid

import kafka_events as ke
import secret_watch


def test_a_leaked_secret_is_found_and_not_repeated_in_the_report():
    watch = secret_watch.Watch()
    watch.saw_process(["logpipe"], {"KAFKA_SASL_PASSWORD": "hunter22-secret", "ELASTICSEARCH_PASSWORD": "p:w"})
    assert watch.secrets["hunter22-secret"] == "KAFKA_SASL_PASSWORD"
    assert "p:w" not in watch.secrets  # too short to watch
    leaks = watch.leaks([("logpipe produce", "fine\nconnecting with hunter22-secret\n")])
    assert leaks == [("KAFKA_SASL_PASSWORD", "logpipe produce", "connecting with <KAFKA_SASL_PASSWORD>")]
    assert watch.leaks([("logpipe produce", "nothing to see")]) == []


def test_the_processes_of_the_tests_are_watched():
    key = f"watched-{uuid.uuid4().hex}"
    event = ke.build_event([ke.KRecord("watch", 0, 0, b"not a log line")])
    index = ke.unique_index("watch")
    try:
        run = ke.run_index(event, ke.index_env(index, ELASTICSEARCH_API_KEY=key))
        assert run.code == 0, run.stderr
    finally:
        ke.drop_index(index)
        ke.drop_index(f"{index}-deadletter")
    assert secret_watch.WATCH.secrets[key] == "ELASTICSEARCH_API_KEY"
    assert any("logpipe index" in command for command, _ in secret_watch.WATCH.outputs)
    assert subprocess.Popen is secret_watch.WatchedPopen
