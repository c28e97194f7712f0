"""A session-wide guard: no secret the tests hand our programs ever shows in what they print.

Every process the tests start through `subprocess` is watched. When it is one of ours (the
logpipe CLI, the Lambdas, `cargo lambda`, `sam`), the values of the secret settings in its
environment become watched secrets, and what it printed to pipes is kept; the files the
emulators log to (.local/log/) are read at the end. Any watched secret found there fails
the session, naming the setting, the command and the line.

Loaded by the conftest.py files of tests/, tests/sam and tests/dags (`install()`).
"""

import os
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / ".local" / "log"
SECRET_SETTINGS = ("ELASTICSEARCH_API_KEY", "ELASTICSEARCH_PASSWORD", "KAFKA_SASL_PASSWORD",
                   # The AWS credentials SigV4 signs with (a Lambda role's come with a session token).
                   "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
OURS = {"logpipe", "producer", "indexer", "bootstrap", "cargo", "cargo-lambda", "sam"}
# Shorter values could match by chance (the tests use "p:w" as a password).
MIN_SECRET_LENGTH = 6


class Watch:
    def __init__(self):
        self.started = time.time()
        # value -> setting name; the API key the stack writes into its Secrets Manager secrets,
        # which our programs read without it being in their environment.
        self.secrets = {os.environ.get("LOGPIPE_ES_API_KEY", "local-test-api-key"): "ELASTICSEARCH_API_KEY (stack secret)"}
        self.outputs = []  # (command, text)

    def is_ours(self, args):
        first = args if isinstance(args, (str, bytes)) else (args[0] if args else "")
        return os.path.basename(os.fsdecode(first).split()[0] if first else "") in OURS

    def saw_process(self, args, env):
        for name in SECRET_SETTINGS:
            value = (env if env is not None else os.environ).get(name)
            if value and len(value) >= MIN_SECRET_LENGTH:
                self.secrets[value] = name

    def saw_output(self, args, *streams):
        command = args if isinstance(args, str) else " ".join(os.fsdecode(a) for a in args)
        for stream in streams:
            if stream:
                self.outputs.append((command, stream.decode(errors="replace") if isinstance(stream, bytes) else stream))

    def log_files(self):
        """What the emulators and servers of ours wrote during the session."""
        if not LOGS.is_dir():
            return []
        return [(str(path), path.read_text(errors="replace")) for path in sorted(LOGS.glob("*.log"))
                if path.stat().st_mtime >= self.started and path.name.startswith(("lambda-watch", "sam"))]

    def leaks(self, sources=None):
        """[(setting, source, line)] for every watched secret found."""
        found = []
        for source, text in sources if sources is not None else self.outputs + self.log_files():
            for value, name in self.secrets.items():
                if value in text:
                    line = next(line for line in text.splitlines() if value in line)
                    found.append((name, source, line.replace(value, f"<{name}>")[:300]))
        return found


WATCH = Watch()


class WatchedPopen(subprocess.Popen):
    def __init__(self, args, *rest, **kwargs):
        self._watched = WATCH.is_ours(args)
        if self._watched:
            WATCH.saw_process(args, kwargs.get("env"))
        super().__init__(args, *rest, **kwargs)

    def communicate(self, *args, **kwargs):
        out, err = super().communicate(*args, **kwargs)
        if self._watched:
            WATCH.saw_output(self.args, out, err)
        return out, err


def install():
    """Watch every process started from here on (subprocess.run goes through Popen)."""
    subprocess.Popen = WatchedPopen


def report(session):
    """At the end of a session: fail it if a secret leaked."""
    leaks = WATCH.leaks()
    if leaks:
        lines = [f"  {name} printed by `{source[:120]}`: {line}" for name, source, line in leaks[:20]]
        print("\nsecret_watch: secret values in the output of our programs:\n" + "\n".join(lines))
        session.exitstatus = 1
    else:
        print(f"\nsecret_watch: {len(WATCH.secrets)} secret values, {len(WATCH.outputs)} outputs "
              f"and {len(WATCH.log_files())} log files checked: no secret found")
