"""API authentication: `X-API-Key` for clients, Django sessions for people."""

from dataclasses import dataclass

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from quimbi_site.models import ClientApiKey

API_KEY_HEADER = "HTTP_X_API_KEY"


@dataclass(frozen=True)
class ApiClient:
    """The principal behind a valid API key (request.user for key requests)."""

    key_id: str
    name: str
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_staff: bool = False
    is_superuser: bool = False

    @property
    def pk(self) -> str:
        return f"key:{self.key_id}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticates `X-API-Key`; a present but invalid key is always a 401."""

    def authenticate(self, request):
        raw_key = request.META.get(API_KEY_HEADER)
        if raw_key is None:
            return None
        key = _valid_key(raw_key.strip())
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired API key.")
        return ApiClient(key_id=key.id, name=key.name), key

    def authenticate_header(self, request) -> str:
        return 'X-API-Key realm="api"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents X-API-Key in the OpenAPI schema (registered on import)."""

    target_class = ApiKeyAuthentication
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-API-Key"}


def _valid_key(raw_key: str) -> ClientApiKey | None:
    # No key holds a NUL, and PostgreSQL cannot compare its prefix with one (a 500, not a 401).
    if not raw_key or len(raw_key) > 200 or "." not in raw_key or "\x00" in raw_key:
        return None
    try:
        key = ClientApiKey.objects.get_from_key(raw_key)
    except ClientApiKey.DoesNotExist:
        return None
    if key.has_expired or key.revoked:
        return None
    now = timezone.now()
    # One write per minute at most: the timestamp is for operators, not auditing.
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ClientApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def request_api_key(request) -> ClientApiKey | None:
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ClientApiKey) else None


def request_owner(request) -> str:
    """A stable string naming the caller: the API key or the user."""
    key = request_api_key(request)
    if key is not None:
        return f"key:{key.id}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return "anonymous"


class HasApiKeyOrStaff(permissions.BasePermission):
    """A valid API key granted the view's `api_scope`, or a staff session."""

    message = "A valid X-API-Key (or a staff session) is required."

    def has_permission(self, request, view) -> bool:
        key = request_api_key(request)
        if key is not None:
            scope = getattr(view, "api_scope", None)
            return scope is None or key.allows(scope)
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff)


class HasApiKeyOrUser(HasApiKeyOrStaff):
    """Like HasApiKeyOrStaff, but any logged-in user (e.g. a support agent)."""

    def has_permission(self, request, view) -> bool:
        if request_api_key(request) is not None:
            return super().has_permission(request, view)
        user = request.user
        return bool(user and user.is_authenticated)
