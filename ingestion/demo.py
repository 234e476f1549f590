"""This app's part of `manage.py seed_demo` (idempotent)."""


def seed(*, stdout) -> None:
    return None
