"""HTTP edge middleware: body size limits, JSON 404s under /api/ and Idempotency-Key replay."""

import hashlib
import json
import logging

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection
from django.http import HttpResponse

from quimbi_site import idempotency
from quimbi_site.api.exceptions import json_error_response

logger = logging.getLogger("quimbi.idempotency")


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


class ApiNotFoundMiddleware:
    """An /api/ path that matches nothing answers the JSON envelope, in debug mode too (a custom
    `handler404` would serve only with DEBUG off); other paths keep Django's HTML page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 404
            and request.path.startswith("/api/")
            and response.get("Content-Type", "").startswith("text/html")
        ):
            return json_error_response("not_found", "Not found.", 404)
        return response


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
        # The key is stored and looked up as text: PostgreSQL text cannot hold a NUL.
        if not key or len(key) > 255 or "\x00" in key:
            return json_error_response(
                "idempotency_error", "Idempotency-Key must be 1 to 255 characters, none of them NUL.", 400
            )
        owner = _owner(request)
        if owner is None:
            # Anonymous calls either fail authentication or are signed webhooks,
            # which deduplicate on their own delivery ids.
            return self.get_response(request)
        fingerprint = _fingerprint(request)
        try:
            record, created = idempotency.record_begin(
                owner=owner, key=key, fingerprint=fingerprint, path=request.path
            )
        except IntegrityError:
            # Another request inserted the same key between our read and insert.
            return _in_flight()
        except (OperationalError, InterfaceError):
            response = json_error_response(
                "dependency_unavailable", "The database is unavailable; retry later.", 503
            )
            response["Retry-After"] = "5"
            return response
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
            _bookkeep(idempotency.record_abandon, record=record)
            raise
        if 200 <= response.status_code < 300 and not getattr(response, "streaming", False):
            _bookkeep(idempotency.record_complete, record=record, response=response)
        else:
            # Failed requests are not remembered: the client's retry runs again.
            _bookkeep(idempotency.record_abandon, record=record)
        return response


def _owner(request) -> str | None:
    """The caller the key belongs to: a hash of the API key sent, or the session user."""
    raw_key = request.META.get("HTTP_X_API_KEY")
    if raw_key:
        return "key:" + hashlib.sha256(raw_key.encode("utf-8", "replace")).hexdigest()[:40]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


def _fingerprint(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(request.path.encode())
    digest.update(b"\0")
    digest.update(_canonical_body(request))
    return digest.hexdigest()


def _canonical_body(request) -> bytes:
    """A JSON body in one canonical form (keys sorted, no spaces, escapes resolved), so that a
    client retrying with the same data serialised again, keys in another order, is recognised as
    the same request, as Stripe compares parameters rather than bytes. Other bodies, and JSON that
    does not parse (the view answers 400 for it), are compared byte for byte."""
    body = request.body
    if request.content_type != "application/json":
        return body
    try:
        # The standard library keeps every integer exact: two bodies differing only in a long
        # integer's last digit must not look the same.
        data = json.loads(body)
    except (ValueError, RecursionError):
        return body
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def _bookkeep(write, **kwargs) -> None:
    """Complete or abandon the key's record, even when the request's database connection died
    on the way (killed, failover): the broken connection is dropped and the write tried once
    more on a fresh one. Otherwise the key would answer 409 "in flight" until it goes stale,
    and the request's own answer would be replaced by a 500."""
    for attempt in (1, 2):
        try:
            write(**kwargs)
            return
        except (OperationalError, InterfaceError) as exc:
            if attempt == 2 or connection.in_atomic_block:
                # The database is really gone: the record goes stale and is then taken over.
                logger.warning("idempotency record not updated: %s", exc)
                return
            connection.close_if_unusable_or_obsolete()


def _in_flight():
    response = json_error_response(
        "idempotency_conflict",
        "A request with this Idempotency-Key is still being processed; retry shortly.",
        409,
    )
    response["Retry-After"] = "1"
    return response


class AuditContextMiddleware:
    """Makes the current request known to audit receivers (actor and client IP).

    Place after AuthenticationMiddleware; API-key callers are resolved later by
    DRF, which writes `user`/`auth` back onto this same request object.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from quimbi_site.audit import audit_request

        with audit_request(request):
            return self.get_response(request)


CSP_DEFAULT_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI's page initialises itself with an inline <script> (SpectacularSwaggerView).
CSP_INLINE_SCRIPT_POLICY = CSP_DEFAULT_POLICY.replace(
    "script-src 'self'", "script-src 'self' 'unsafe-inline'"
)


class ContentSecurityPolicyMiddleware:
    """Adds a Content-Security-Policy header to HTML responses that have none.

    No template of ours has inline scripts, so scripts come only from our own
    origin; inline styles stay allowed (style="width: ..%" bars). Paths listed in
    QUIMBI_CSP_INLINE_SCRIPT_PATHS (prefixes) also allow inline scripts.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        content_type = response.get("Content-Type", "")
        if "Content-Security-Policy" in response or not content_type.startswith("text/html"):
            return response
        policy = getattr(settings, "QUIMBI_CSP_POLICY", CSP_DEFAULT_POLICY)
        inline_paths = getattr(settings, "QUIMBI_CSP_INLINE_SCRIPT_PATHS", ("/api/docs/",))
        if any(request.path.startswith(p) for p in inline_paths):
            policy = getattr(settings, "QUIMBI_CSP_INLINE_SCRIPT_POLICY", CSP_INLINE_SCRIPT_POLICY)
        response["Content-Security-Policy"] = policy
        return response
