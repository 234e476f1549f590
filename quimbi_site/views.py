"""Site-level views: health check, home, JSON 404/500 for the API."""

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static

from quimbi_site.api.exceptions import json_error_response


def healthz(request):
    """Database and cache status; 503 when the database is down."""
    checks = {"database": _database_ok(), "cache": _cache_ok()}
    healthy = checks["database"]
    body = {
        "status": "ok" if healthy and checks["cache"] else ("degraded" if healthy else "down"),
        "checks": {name: "ok" if ok else "unavailable" for name, ok in checks.items()},
    }
    return JsonResponse(body, status=200 if healthy else 503)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


def _cache_ok() -> bool:
    try:
        cache.set("healthz", "1", 5)
        return cache.get("healthz") == "1"
    except Exception:
        return False


def home(request):
    if request.user.is_authenticated and request.user.is_staff:
        return redirect("/intelligence/")
    return redirect("/support/")


def favicon(request):
    """Browsers ask for /favicon.ico on pages that name no icon (the admin's): the site's icon,
    rather than a 404 in every console. Resolved per request: the static files' manifest
    exists only after collectstatic."""
    return redirect(static("quimbi/favicon.svg"), permanent=True)


def handler500(request):
    if request.path.startswith("/api/"):
        return json_error_response("internal_error", "An unexpected error occurred.", 500)
    from django.views.defaults import server_error

    return server_error(request)
