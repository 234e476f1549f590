"""Who may call the support API: keys granted the "support" scope, staff, and agents."""

from rest_framework import permissions

from support.selectors import agent_for_user


def request_key(request):
    """The ClientApiKey behind the request (duck-typed: apps never import quimbi_site)."""
    auth = getattr(request, "auth", None)
    return auth if hasattr(auth, "allows") and hasattr(auth, "grants") else None


class IsSupportClient(permissions.BasePermission):
    message = "A valid X-API-Key with the support scope, or an agent or staff session, is required."

    def has_permission(self, request, view) -> bool:
        key = request_key(request)
        if key is not None:
            return key.allows(getattr(view, "api_scope", "support"))
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return bool(user.is_staff or agent_for_user(user=user) is not None)
