"""A circuit breaker shared by processes through the Django cache.

closed -> (N consecutive failures) -> open -> (cooldown) -> half-open: one
trial call; success closes it, failure opens it again. When the cache is down
(django-redis ignores errors and returns None) the process-local state is used.
"""

from __future__ import annotations

import threading
import time

from django.core.cache import cache


class CircuitBreaker:
    def __init__(self, name: str, *, failure_threshold: int = 5, cooldown_seconds: float = 60.0):
        self.name = name
        self.failure_threshold = failure_threshold
        self.cooldown_seconds = cooldown_seconds
        self._local: dict[str, float] = {"failures": 0, "opened_at": 0.0}
        self._lock = threading.Lock()

    @property
    def _key(self) -> str:
        return f"generation:breaker:{self.name}"

    def _load(self) -> dict[str, float]:
        try:
            state = cache.get(self._key)
        except Exception:  # a broken cache backend must not break generation
            state = None
        return dict(state) if isinstance(state, dict) else dict(self._local)

    def _save(self, state: dict[str, float]) -> None:
        self._local = dict(state)
        try:
            cache.set(self._key, state, timeout=max(int(self.cooldown_seconds * 10), 600))
        except Exception:  # noqa: S110 - the local copy above is the fallback
            pass

    def state(self) -> str:
        state = self._load()
        if state["failures"] < self.failure_threshold:
            return "closed"
        if time.time() - state["opened_at"] >= self.cooldown_seconds:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """May a call go out now? In half-open state, only one trial per cooldown."""
        with self._lock:
            current = self.state()
            if current == "closed":
                return True
            if current == "open":
                return False
            state = self._load()
            state["opened_at"] = time.time()  # the trial claims the next cooldown window
            self._save(state)
            return True

    def record_success(self) -> None:
        with self._lock:
            self._save({"failures": 0, "opened_at": 0.0})

    def record_failure(self) -> None:
        with self._lock:
            state = self._load()
            state["failures"] = state["failures"] + 1
            if state["failures"] >= self.failure_threshold:
                state["opened_at"] = time.time()
            self._save(state)

    def reset(self) -> None:
        self.record_success()
