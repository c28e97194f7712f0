# The shared helpers (lambda_emulator, sam_local, kafka_events, ...) live one level up.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import secret_watch  # noqa: E402

secret_watch.install()


def pytest_sessionfinish(session):
    secret_watch.report(session)
