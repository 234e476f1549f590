"""HTTP edge middleware: body size limits and Idempotency-Key replay."""

import hashlib

from django.conf import settings
from django.db import IntegrityError
from django.http import HttpResponse

from quimbi_site import idempotency
from quimbi_site.api.exceptions import json_error_response


class ApiRequestSizeLimitMiddleware:
    """Answers 413 before reading an /api/ body larger than the limit."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > settings.QUIMBI_MAX_REQUEST_BYTES:
                return json_error_response(
                    "payload_too_large",
                    f"The request body is larger than {settings.QUIMBI_MAX_REQUEST_BYTES} bytes.",
                    413,
                )
        return self.get_response(request)


class IdempotencyKeyMiddleware:
    """Stores the first successful response to an /api/ POST with an
    Idempotency-Key and replays it for retries (Stripe's semantics).

    Runs after authentication so keys are scoped per caller. Records live in
    the database, so replays stay exact while the cache is down.
    """

    header = "HTTP_IDEMPOTENCY_KEY"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.META.get(self.header)
        if request.method != "POST" or key is None or not request.path.startswith("/api/"):
            return self.get_response(request)
        if not key or len(key) > 255:
            return json_error_response(
                "idempotency_error", "Idempotency-Key must be 1 to 255 characters.", 400
            )
        owner = _owner(request)
        fingerprint = _fingerprint(request)
        try:
            record, created = idempotency.record_begin(
                owner=owner, key=key, fingerprint=fingerprint, path=request.path
            )
        except IntegrityError:
            # Another request inserted the same key between our read and insert.
            return _in_flight()
        if not created:
            if record.request_fingerprint != fingerprint:
                return json_error_response(
                    "idempotency_error",
                    "This Idempotency-Key was used with a different request.",
                    400,
                )
            if record.in_flight:
                return _in_flight()
            replay = HttpResponse(
                bytes(record.response_body or b""),
                status=record.status_code,
                content_type=record.response_content_type or "application/json",
            )
            replay["Idempotent-Replayed"] = "true"
            return replay

        try:
            response = self.get_response(request)
        except BaseException:
            idempotency.record_abandon(record=record)
            raise
        if 200 <= response.status_code < 300 and not getattr(response, "streaming", False):
            idempotency.record_complete(record=record, response=response)
        else:
            # Failed requests are not remembered: the client's retry runs again.
            idempotency.record_abandon(record=record)
        return response


def _owner(request) -> str:
    raw_key = request.META.get("HTTP_X_API_KEY")
    if raw_key:
        return "key:" + hashlib.sha256(raw_key.encode()).hexdigest()[:40]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return "anonymous"


def _fingerprint(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(request.path.encode())
    digest.update(b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def _in_flight():
    response = json_error_response(
        "idempotency_conflict",
        "A request with this Idempotency-Key is still being processed; retry shortly.",
        409,
    )
    response["Retry-After"] = "1"
    return response
