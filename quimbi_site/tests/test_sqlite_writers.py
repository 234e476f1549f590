"""The embedded SQLite database takes concurrent writers in turn (the dev server serves requests
in threads): a transaction that reads before it writes waits for another writer, never fails."""

import threading

import pytest
from django.conf import settings
from django.db import connections, transaction

ALIAS = "sqlite_writers"


@pytest.fixture
def sqlite_file(tmp_path, django_db_blocker):
    """A file database with the project's SQLite options, as `ALIAS` (each thread connects anew)."""
    db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "db.sqlite3")}
    db["OPTIONS"] = dict(settings.SQLITE_OPTIONS, timeout=10)
    configured = connections.configure_settings({"default": connections.settings["default"], ALIAS: db})
    connections.settings[ALIAS] = configured[ALIAS]
    with django_db_blocker.unblock():
        try:
            with connections[ALIAS].cursor() as cursor:
                cursor.execute("CREATE TABLE counter (n INTEGER NOT NULL)")
                cursor.execute("INSERT INTO counter VALUES (0)")
            yield
        finally:
            connections[ALIAS].close()
            del connections[ALIAS]
            del connections.settings[ALIAS]


def _increment(hold: threading.Event | None, after: threading.Event | None, errors: list) -> None:
    try:
        if after is not None:
            after.wait(5)
        with transaction.atomic(using=ALIAS), connections[ALIAS].cursor() as cursor:
            cursor.execute("SELECT n FROM counter")  # read, then write: a request's shape
            (n,) = cursor.fetchone()
            cursor.execute("UPDATE counter SET n = %s", [n + 1])
            if hold is not None:
                hold.set()
                threading.Event().wait(0.5)  # the other writer arrives meanwhile
    except Exception as exc:  # asserted by the test
        errors.append(exc)
    finally:
        connections[ALIAS].close()


def test_a_writer_that_read_first_waits_for_the_other(sqlite_file):
    wrote, errors = threading.Event(), []
    threads = [
        threading.Thread(target=_increment, args=(wrote, None, errors)),
        threading.Thread(target=_increment, args=(None, wrote, errors)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert errors == []
    with connections[ALIAS].cursor() as cursor:
        cursor.execute("SELECT n FROM counter")
        assert cursor.fetchone() == (2,)  # neither increment lost
