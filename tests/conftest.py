"""Every run of the tests checks that no secret reaches our programs' output (secret_watch)."""

import secret_watch

secret_watch.install()


def pytest_sessionfinish(session):
    secret_watch.report(session)
