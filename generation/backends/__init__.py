"""Pluggable generation backends, named by dotted path in settings.GENERATION_BACKEND."""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string

from generation.backends.base import BackendResult, GenerationBackend, MessageRequest

__all__ = ["BackendResult", "GenerationBackend", "MessageRequest", "get_backend", "get_offline_backend"]

DEFAULT_BACKEND = "generation.backends.offline.OfflineBackend"


def get_backend() -> GenerationBackend:
    """The configured backend (one instance per dotted path and process)."""
    return _backend(getattr(settings, "GENERATION_BACKEND", DEFAULT_BACKEND) or DEFAULT_BACKEND)


def get_offline_backend() -> GenerationBackend:
    return _backend(DEFAULT_BACKEND)


@lru_cache(maxsize=8)
def _backend(path: str) -> GenerationBackend:
    return import_string(path)()
