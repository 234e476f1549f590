"""Audit log of security-relevant actions: `audit_record` writes one `AuditEvent`.

Actors and targets are ids ("user:5", "key:<prefix>", "ticket:12"); free text is
stripped of control characters (no forged log lines) and shortened; values that
could identify a person (a username typed into a failed login) are hashed with
`identifier_hash`. Who acted is taken, in order, from the `actor` argument, the
`audit_actor()` context (commands, tasks) or the current request, which
`quimbi_site.middleware.AuditContextMiddleware` makes known to signal receivers.
Events older than QUIMBI_AUDIT_RETENTION_DAYS are removed by `audit_events_prune`
(daily beat task, or `manage.py prune_audit`).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import ipaddress
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from quimbi_site.audit_models import AuditEvent

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_MAX_TEXT = 200
PRUNE_BATCH = 5_000
_current_actor: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_actor", default=None)
_current_request: contextvars.ContextVar[Any] = contextvars.ContextVar("audit_request", default=None)


def clean_text(value: Any, *, limit: int = _MAX_TEXT) -> str:
    """One line of at most `limit` characters: CR, LF and other control characters become spaces."""
    return _CONTROL.sub(" ", str(value)).strip()[:limit]


def identifier_hash(value: str) -> str:
    """A stable, non-reversible label for a personal identifier (sha256 prefix)."""
    return "sha256:" + hashlib.sha256(value.strip().lower().encode("utf-8", "replace")).hexdigest()[:16]


def _clean_details(value: Any, *, depth: int = 0) -> Any:
    if depth > 3:
        return None
    if isinstance(value, dict):
        return {
            clean_text(k, limit=60): _clean_details(v, depth=depth + 1) for k, v in list(value.items())[:30]
        }
    if isinstance(value, list | tuple | set):
        return [_clean_details(v, depth=depth + 1) for v in list(value)[:30]]
    if value is None or isinstance(value, bool | int | float):
        return value
    return clean_text(value)


@contextlib.contextmanager
def audit_actor(actor: str) -> Iterator[None]:
    """Names the actor of everything audited inside the block (e.g. "command:create_api_key")."""
    token = _current_actor.set(clean_text(actor, limit=100))
    try:
        yield
    finally:
        _current_actor.reset(token)


@contextlib.contextmanager
def audit_request(request) -> Iterator[None]:
    """Makes `request` the source of actor and IP for audits inside the block."""
    token = _current_request.set(request)
    try:
        yield
    finally:
        _current_request.reset(token)


def actor_of(request) -> str:
    """The caller of `request` as an id: "key:<prefix>", "user:<pk>" or "anonymous"."""
    if request is None:
        return "system"
    key = getattr(request, "auth", None)
    prefix = getattr(key, "prefix", None)
    if prefix and getattr(key, "hashed_key", None) is not None:
        return f"key:{clean_text(prefix, limit=20)}"
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{clean_text(user.pk, limit=60)}"
    return "anonymous"


def ip_of(request) -> str | None:
    if request is None:
        return None
    raw = (getattr(request, "META", None) or {}).get("REMOTE_ADDR", "")
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


def audit_record(
    *,
    action: str,
    target: str = "",
    outcome: str = AuditEvent.Outcome.SUCCESS,
    actor: str | None = None,
    request=None,
    details: dict | None = None,
) -> AuditEvent:
    """Write one audit event. Only ids and hashed identifiers belong in `details`."""
    request = request if request is not None else _current_request.get()
    actor = actor or _current_actor.get() or actor_of(request)
    return AuditEvent.objects.create(
        actor=clean_text(actor, limit=100),
        action=clean_text(action, limit=64),
        target=clean_text(target),
        outcome=outcome,
        ip=ip_of(request),
        details=_clean_details(details or {}),
    )


def audit_events_prune(*, older_than_days: int | None = None, batch_size: int = PRUNE_BATCH) -> int:
    """Delete audit events older than the retention (QUIMBI_AUDIT_RETENTION_DAYS); returns how many.

    Oldest first, `batch_size` rows per DELETE, each its own short transaction, so a
    large backlog never holds one long lock on the table. The pruning itself is audited.
    """
    days = settings.QUIMBI_AUDIT_RETENTION_DAYS if older_than_days is None else older_than_days
    if days < 1:
        raise ValueError("The audit retention is at least 1 day.")
    cutoff = timezone.now() - timedelta(days=days)
    expired = AuditEvent.objects.filter(occurred_at__lt=cutoff).order_by("occurred_at", "id")
    removed = 0
    while ids := list(expired.values_list("pk", flat=True)[:batch_size]):
        removed += AuditEvent.objects.filter(pk__in=ids).delete()[0]
    if removed:
        audit_record(
            action="audit.prune",
            target="audit_log",
            details={"removed": removed, "retention_days": days, "cutoff": cutoff.isoformat()},
        )
    return removed
