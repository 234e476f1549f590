from django.core.cache import caches
from rest_framework.throttling import ScopedRateThrottle

from quimbi_site.api.auth import request_owner


class ScopedDatabaseThrottle(ScopedRateThrottle):
    """Scoped rates per API key or user, counted in the database cache.

    Counters in the database keep limits true while Redis is down.
    """

    cache = caches["throttle"]

    def get_cache_key(self, request, view):
        owner = request_owner(request)
        ident = owner if owner != "anonymous" else f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
